//! Server side: a typed SCEP answer to (status, Content-Type, body) (S-7, S-8, S-36).

use core::fmt;

use super::{ContentType, HttpError};
use crate::caps::Capabilities;

/// What a SCEP server answers, before the HTTP mapping (S-7, S-8, S-36).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum ScepResponse {
    /// GetCACert without RA: the DER CA certificate (`application/x-x509-ca-cert`).
    CaCert(Vec<u8>),
    /// GetCACert with RA certificates or a chain: a certs-only SignedData (S-30) holding all
    /// of them (`application/x-x509-ca-ra-cert`).
    CaRaCerts(Vec<u8>),
    /// GetCACaps: the capability set, sent as S-16 text (`text/plain`).
    Caps(Capabilities),
    /// GetNextCACert with a rollover: the signed answer of S-33
    /// (`application/x-x509-next-ca-cert`).
    NextCaCert(Vec<u8>),
    /// PKIOperation: a DER CertRep pkiMessage, whatever its pkiStatus
    /// (`application/x-pki-message`).
    CertRep(Vec<u8>),
    /// Plain GetCRL: the DER CRL (`application/pkix-crl`, S-36).
    Crl(Vec<u8>),
    /// No SCEP answer can be given: a short `text/plain` error (S-8).
    Error(ErrorStatus),
}

impl ScepResponse {
    /// The HTTP answer: status, exact Content-Type and body (S-7, S-8). Call it once per
    /// answer and hand the result to the HTTP driver, which MUST send `Content-Length`.
    #[must_use]
    pub fn into_http(self) -> HttpResponse {
        let ok = |content_type: ContentType, body: Vec<u8>| HttpResponse {
            status: 200,
            content_type: content_type.as_str(),
            body,
            allow: None,
        };
        match self {
            Self::CaCert(der) => ok(ContentType::CaCert, der),
            Self::CaRaCerts(der) => ok(ContentType::CaRaCert, der),
            Self::Caps(caps) => ok(ContentType::TextPlain, caps.to_text().into_bytes()),
            Self::NextCaCert(der) => ok(ContentType::NextCaCert, der),
            Self::CertRep(der) => ok(ContentType::PkiMessage, der),
            Self::Crl(der) => ok(ContentType::PkixCrl, der),
            Self::Error(status) => status.to_http(),
        }
    }

    /// As [`ScepResponse::into_http`], copying the body.
    #[must_use]
    pub fn to_http(&self) -> HttpResponse {
        self.clone().into_http()
    }
}

impl From<HttpError> for ScepResponse {
    /// The answer to a request that could not be parsed ([`HttpError::status`]).
    fn from(err: HttpError) -> Self {
        Self::Error(err.status())
    }
}

impl fmt::Debug for ScepResponse {
    /// Prints kinds and lengths, not the DER.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, len) = match self {
            Self::CaCert(b) => ("CaCert", b.len()),
            Self::CaRaCerts(b) => ("CaRaCerts", b.len()),
            Self::NextCaCert(b) => ("NextCaCert", b.len()),
            Self::CertRep(b) => ("CertRep", b.len()),
            Self::Crl(b) => ("Crl", b.len()),
            Self::Caps(caps) => return f.debug_tuple("Caps").field(caps).finish(),
            Self::Error(status) => return f.debug_tuple("Error").field(status).finish(),
        };
        write!(f, "{kind}({len} bytes)")
    }
}

/// The non-200 answers of a SCEP server (S-6, S-8). Each has a fixed short `text/plain` body.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// 400: no CertRep can be built (missing/unknown operation, undecodable message, not a
    /// pkiMessage, transactionID or senderNonce missing or malformed).
    BadRequest,
    /// 404: GetNextCACert while no rollover CA certificate exists (S-33, Q-6).
    NotFound,
    /// 405: a method other than GET or POST.
    MethodNotAllowed,
    /// 413: request-target, body or message over the limits (S-6).
    PayloadTooLarge,
    /// 503: the CA is not operational (C-4).
    ServiceUnavailable,
}

impl ErrorStatus {
    /// The HTTP status code.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The short `text/plain` body sent with it (one line, LF-terminated).
    #[must_use]
    pub const fn body_text(self) -> &'static str {
        match self {
            Self::BadRequest => "bad SCEP request\n",
            Self::NotFound => "no next CA certificate\n",
            Self::MethodNotAllowed => "only GET and POST are supported\n",
            Self::PayloadTooLarge => "SCEP request too large\n",
            Self::ServiceUnavailable => "CA not operational\n",
        }
    }

    /// The full HTTP answer.
    #[must_use]
    pub fn to_http(self) -> HttpResponse {
        HttpResponse {
            status: self.code(),
            content_type: ContentType::TextPlain.as_str(),
            body: self.body_text().as_bytes().to_vec(),
            allow: match self {
                Self::MethodNotAllowed => Some("GET, POST"),
                _ => None,
            },
        }
    }
}

/// An HTTP answer ready for the driver (S-7, S-8).
///
/// The driver sends `status`, a `Content-Type: {content_type}` header, the `Allow` header if
/// `allow` is set, and **always** `Content-Length: {body.len()}` (S-8: never chunked, IOS
/// speaks HTTP/1.0).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code: 200 for every SCEP answer, including CertRep FAILURE/PENDING.
    pub status: u16,
    /// The exact Content-Type value (S-7).
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Value of the `Allow` header a 405 answer must carry; `None` otherwise.
    pub allow: Option<&'static str>,
}

impl fmt::Debug for HttpResponse {
    /// Prints the body length, not the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .field("allow", &self.allow)
            .finish()
    }
}
