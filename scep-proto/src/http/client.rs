//! Client side: the HTTP request for a SCEP operation (S-1, S-3, S-5).

use core::fmt;

use percent_encoding::utf8_percent_encode;

use super::message::{QUERY_VALUE, encode_get_message};
use super::{ContentType, Method, Operation, ScepRequest};
use crate::caps::Capabilities;

/// An HTTP request a SCEP client sends, built from an operation (S-1, S-5).
///
/// The driver sends `method` and `target` on the request line to the CA's host, the
/// `Content-Type` header if `content_type` is set, and the body with its `Content-Length`
/// for POST. `target` is `<path>?operation=<Name>[&message=<escaped>]` with the exact
/// operation-name case of S-1.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// GET, or POST for PKIOperation when the CA allows it (S-5).
    pub method: Method,
    /// The request-target: the enrolment URL's path and the query.
    pub target: String,
    /// `application/x-pki-message` for a POST; `None` for a GET.
    pub content_type: Option<&'static str>,
    /// The POST body (the raw pkiMessage); empty for a GET.
    pub body: Vec<u8>,
}

impl ClientRequest {
    /// `GET <path>?operation=GetCACert[&message=<ca_ident>]` (S-1, S-2).
    ///
    /// `path` is the enrolment URL's path (e.g. `/cgi-bin/pkiclient.exe`); an empty path is
    /// sent as `/`, and a path that already has a query gets the SCEP parameters appended.
    /// `ca_ident` is free text naming the CA (IOS sends its CA name); `None` or empty omits
    /// the parameter.
    #[must_use]
    pub fn get_ca_cert(path: &str, ca_ident: Option<&str>) -> Self {
        Self::plain_get(path, Operation::GetCaCert, ca_ident)
    }

    /// `GET <path>?operation=GetCACaps[&message=<ca_ident>]` (S-1, S-2). See
    /// [`ClientRequest::get_ca_cert`] for the arguments.
    #[must_use]
    pub fn get_ca_caps(path: &str, ca_ident: Option<&str>) -> Self {
        Self::plain_get(path, Operation::GetCaCaps, ca_ident)
    }

    /// `GET <path>?operation=GetNextCACert[&message=<ca_ident>]` (S-1, S-33). See
    /// [`ClientRequest::get_ca_cert`] for the arguments.
    #[must_use]
    pub fn get_next_ca_cert(path: &str, ca_ident: Option<&str>) -> Self {
        Self::plain_get(path, Operation::GetNextCaCert, ca_ident)
    }

    /// `GET <path>?operation=GetCRL[&message=<ca_ident>]`, the plain CRL fetch (S-36). See
    /// [`ClientRequest::get_ca_cert`] for the arguments.
    #[must_use]
    pub fn get_crl(path: &str, ca_ident: Option<&str>) -> Self {
        Self::plain_get(path, Operation::GetCrl, ca_ident)
    }

    /// A PKIOperation carrying `message` (a DER pkiMessage), with the method S-5 picks from
    /// the CA's capabilities: POST iff `POSTPKIOperation` or `SCEPStandard`, else GET.
    ///
    /// # Example
    /// ```
    /// use scep_proto::{Capabilities, ClientRequest, Method};
    ///
    /// let caps = Capabilities::parse(b"GetNextCACert\r\nRenewal\r\nSHA-1\r\n");
    /// let req = ClientRequest::pki_operation("/cgi-bin/pkiclient.exe", caps, &[0xfb, 0xff]);
    /// assert_eq!(req.method, Method::Get);
    /// assert_eq!(req.target, "/cgi-bin/pkiclient.exe?operation=PKIOperation&message=%2B%2F8%3D");
    ///
    /// let caps = Capabilities::parse(b"SCEPStandard\n");
    /// let req = ClientRequest::pki_operation("/scep", caps, &[0x30, 0x00]);
    /// assert_eq!((req.method, req.target.as_str()), (Method::Post, "/scep?operation=PKIOperation"));
    /// assert_eq!(req.content_type, Some("application/x-pki-message"));
    /// ```
    #[must_use]
    pub fn pki_operation(path: &str, caps: Capabilities, message: &[u8]) -> Self {
        Self::pki_operation_via(path, caps.pki_operation_method(), message)
    }

    /// A PKIOperation with a chosen method: POST with the raw message as body and
    /// `Content-Type: application/x-pki-message` (S-4), or GET with the message as
    /// percent-encoded base64 in `message=` (S-3). An empty message makes a request the
    /// server rejects as [`HttpError::MissingMessage`](super::HttpError::MissingMessage).
    #[must_use]
    pub fn pki_operation_via(path: &str, method: Method, message: &[u8]) -> Self {
        match method {
            Method::Post => Self {
                method,
                target: target(path, Operation::PkiOperation, None),
                content_type: Some(ContentType::PkiMessage.as_str()),
                body: message.to_vec(),
            },
            Method::Get => Self {
                method,
                target: target(
                    path,
                    Operation::PkiOperation,
                    Some(&encode_get_message(message)),
                ),
                content_type: None,
                body: Vec::new(),
            },
        }
    }

    /// The request a client sends to make a server parse `request` back (what
    /// [`ScepRequest::parse`] reads): same operation, `ca_ident` and message, and for
    /// PKIOperation the method in `via`.
    #[must_use]
    pub fn from_scep_request(path: &str, request: &ScepRequest) -> Self {
        match request {
            ScepRequest::GetCaCert { ca_ident } => Self::get_ca_cert(path, ca_ident.as_deref()),
            ScepRequest::GetCaCaps { ca_ident } => Self::get_ca_caps(path, ca_ident.as_deref()),
            ScepRequest::GetNextCaCert { ca_ident } => {
                Self::get_next_ca_cert(path, ca_ident.as_deref())
            }
            ScepRequest::GetCrl { ca_ident } => Self::get_crl(path, ca_ident.as_deref()),
            ScepRequest::PkiOperation { message, via } => {
                Self::pki_operation_via(path, *via, message)
            }
        }
    }

    /// A GET whose `message` is free text.
    fn plain_get(path: &str, operation: Operation, ca_ident: Option<&str>) -> Self {
        let escaped = ca_ident
            .filter(|s| !s.is_empty())
            .map(|s| utf8_percent_encode(s, QUERY_VALUE).to_string());
        Self {
            method: Method::Get,
            target: target(path, operation, escaped.as_deref()),
            content_type: None,
            body: Vec::new(),
        }
    }
}

impl fmt::Debug for ClientRequest {
    /// Prints lengths, not the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.method)
            .field("target_len", &self.target.len())
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// `<path>?operation=<name>[&message=<escaped_message>]`; `escaped_message` is already
/// percent-encoded.
fn target(path: &str, operation: Operation, escaped_message: Option<&str>) -> String {
    let name = operation.name().unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut target = String::with_capacity(
        path.len()
            .saturating_add(name.len())
            .saturating_add(escaped_message.map_or(0, str::len))
            .saturating_add(24),
    );
    target.push_str(path);
    target.push(separator);
    target.push_str("operation=");
    target.push_str(name);
    if let Some(message) = escaped_message {
        target.push_str("&message=");
        target.push_str(message);
    }
    target
}
