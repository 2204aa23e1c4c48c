//! Server side: an HTTP request to a typed SCEP request (S-1 … S-6, S-36).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::message::decode_get_message;
use super::{HttpError, HttpLimits, Method, Operation, RequestPart};

/// A SCEP request as the server sees it, after the HTTP mapping (S-1 … S-4, S-36).
///
/// `ca_ident` is the optional free-text `message` of the non-PKIOperation requests (S-2): a
/// CA name such as IOS's `message=Test-Router`, or certmonger's `0`/`1`. A single-CA server
/// ignores it. It is form-decoded (`+` and `%20` are spaces), lossily converted to UTF-8, and
/// `None` when absent or empty.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScepRequest {
    /// `GetCACert` (S-31).
    GetCaCert {
        /// Free-text CA name (S-2).
        ca_ident: Option<String>,
    },
    /// `GetCACaps` (S-32).
    GetCaCaps {
        /// Free-text CA name (S-2).
        ca_ident: Option<String>,
    },
    /// `GetNextCACert` (S-33).
    GetNextCaCert {
        /// Free-text CA name (S-2).
        ca_ident: Option<String>,
    },
    /// `PKIOperation` (S-3, S-4): the pkiMessage bytes, still BER/DER-encoded.
    PkiOperation {
        /// The pkiMessage: the POST body, or the decoded GET `message`.
        message: Vec<u8>,
        /// The HTTP method it came with.
        via: Method,
    },
    /// Plain `GetCRL` without pkiMessage, an IOS-style extension (S-36).
    GetCrl {
        /// Free-text CA name (S-2).
        ca_ident: Option<String>,
    },
}

impl ScepRequest {
    /// Parses an HTTP request with the [`HttpLimits::DEFAULT`] limits. See
    /// [`ScepRequest::parse_with_limits`].
    ///
    /// # Errors
    /// As [`ScepRequest::parse_with_limits`].
    ///
    /// # Example
    /// A server's dispatch, answering parse errors with their status (S-8):
    /// ```
    /// use scep_proto::{CapsProfile, ErrorStatus, ScepRequest, ScepResponse};
    ///
    /// let http = match ScepRequest::parse("GET", "/cgi-bin/pkiclient.exe?operation=GetCACaps", b"") {
    ///     Ok(ScepRequest::GetCaCaps { .. }) => ScepResponse::Caps(CapsProfile::Full.capabilities()),
    ///     Ok(_other) => ScepResponse::Error(ErrorStatus::ServiceUnavailable), // the CA decides
    ///     Err(err) => ScepResponse::from(err),
    /// }
    /// .to_http();
    /// assert_eq!((http.status, http.content_type), (200, "text/plain"));
    ///
    /// // certmonger-style GET: percent-encoded base64 in `message`.
    /// let req = ScepRequest::parse("GET", "/scep?operation=PKIOperation&message=MII%2BAA%3D%3D", b"");
    /// assert!(matches!(req, Ok(ScepRequest::PkiOperation { message, .. }) if message == [0x30, 0x82, 0x3e, 0x00]));
    /// ```
    pub fn parse(method: &str, target: &str, body: &[u8]) -> Result<Self, HttpError> {
        Self::parse_with_limits(method, target, body, &HttpLimits::DEFAULT)
    }

    /// Parses an HTTP request into a SCEP request. Call it once per received request, with:
    ///
    /// - `method`: the request method token (`GET`, `POST`; anything else is 405);
    /// - `target`: the raw request-target as received (`/any/path?operation=…`, absolute
    ///   form, or just the raw query string without `?`), *not* form-decoded: the path is
    ///   opaque and ignored (S-1);
    /// - `body`: the request body (ignored except for POST PKIOperation).
    ///
    /// There is deliberately no Content-Type argument: a POST body is the raw pkiMessage
    /// whatever the client labelled it (S-4). The `operation` value is matched
    /// case-insensitively (S-1); the first `operation` and the first `message` parameter
    /// count, later duplicates are ignored. A POST PKIOperation with an empty body but a
    /// GET-style `message` in the query is accepted as if the message were the body.
    ///
    /// # Errors
    /// [`HttpError::MethodNotAllowed`], [`HttpError::TooLarge`] (target, POST body, decoded
    /// message), [`HttpError::MissingOperation`], [`HttpError::UnknownOperation`],
    /// [`HttpError::MissingMessage`], [`HttpError::MessageNotBase64`]. Map them to an HTTP
    /// answer with [`HttpError::status`].
    pub fn parse_with_limits(
        method: &str,
        target: &str,
        body: &[u8],
        limits: &HttpLimits,
    ) -> Result<Self, HttpError> {
        let method = Method::from_token(method).ok_or(HttpError::MethodNotAllowed)?;
        check_len(RequestPart::Target, target.len(), limits.max_target_len)?;
        if method == Method::Post {
            check_len(RequestPart::Body, body.len(), limits.max_body_len)?;
        }
        let query = Query::parse(target);
        let operation = query
            .operation
            .map(form_decode)
            .ok_or(HttpError::MissingOperation)?;
        let operation = operation.trim();
        if operation.is_empty() {
            return Err(HttpError::MissingOperation);
        }
        let ca_ident = || {
            query
                .message
                .map(form_decode)
                .filter(|m| !m.is_empty())
                .map(Cow::into_owned)
        };
        match Operation::from_name(operation) {
            Operation::GetCaCert => Ok(Self::GetCaCert {
                ca_ident: ca_ident(),
            }),
            Operation::GetCaCaps => Ok(Self::GetCaCaps {
                ca_ident: ca_ident(),
            }),
            Operation::GetNextCaCert => Ok(Self::GetNextCaCert {
                ca_ident: ca_ident(),
            }),
            Operation::GetCrl => Ok(Self::GetCrl {
                ca_ident: ca_ident(),
            }),
            Operation::PkiOperation => {
                let message = if method == Method::Post && !body.is_empty() {
                    body.to_vec()
                } else {
                    let raw = query.message.ok_or(HttpError::MissingMessage)?;
                    decode_get_message(raw)?
                };
                check_len(RequestPart::Message, message.len(), limits.max_message_len)?;
                Ok(Self::PkiOperation {
                    message,
                    via: method,
                })
            }
            Operation::Unknown => Err(HttpError::UnknownOperation),
        }
    }

    /// The operation this request is for.
    #[must_use]
    pub const fn operation(&self) -> Operation {
        match self {
            Self::GetCaCert { .. } => Operation::GetCaCert,
            Self::GetCaCaps { .. } => Operation::GetCaCaps,
            Self::GetNextCaCert { .. } => Operation::GetNextCaCert,
            Self::PkiOperation { .. } => Operation::PkiOperation,
            Self::GetCrl { .. } => Operation::GetCrl,
        }
    }
}

/// `Err(TooLarge)` when `len > limit`.
fn check_len(part: RequestPart, len: usize, limit: usize) -> Result<(), HttpError> {
    if len > limit {
        Err(HttpError::TooLarge { part, len, limit })
    } else {
        Ok(())
    }
}

/// The raw (undecoded) values of the query parameters SCEP uses.
struct Query<'a> {
    /// First `operation` value.
    operation: Option<&'a str>,
    /// First `message` value.
    message: Option<&'a str>,
}

impl<'a> Query<'a> {
    /// Splits the query out of `target` and picks the SCEP parameters. Parameter names are
    /// form-decoded and matched ASCII-case-insensitively.
    fn parse(target: &'a str) -> Self {
        let query = match target.split_once('?') {
            Some((_, query)) => query,
            // A path (origin or absolute form) without query.
            None if target.starts_with('/') || has_scheme(target) => "",
            // Already just the query string.
            None => target,
        };
        // A fragment never reaches a server, but drop one rather than mistake it for data.
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let mut out = Query {
            operation: None,
            message: None,
        };
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name);
            let slot = if name.eq_ignore_ascii_case("operation") {
                &mut out.operation
            } else if name.eq_ignore_ascii_case("message") {
                &mut out.message
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        out
    }
}

/// Whether `target` is in absolute form (`scheme://…`), as opposed to a bare query string.
fn has_scheme(target: &str) -> bool {
    target.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    })
}

/// Decodes a query component as an HTML form does: `+` is a space, then one percent-decoding
/// pass, then lossy UTF-8.
fn form_decode(raw: &str) -> Cow<'_, str> {
    if raw.contains('+') {
        let spaced = raw.replace('+', " ");
        Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
    } else {
        percent_decode_str(raw).decode_utf8_lossy()
    }
}
