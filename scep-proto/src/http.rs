//! The SCEP HTTP mapping without an HTTP library (SPEC S-1 … S-9, S-36).
//!
//! Server side: [`ScepRequest::parse`] turns (method, request-target, body) into a typed
//! request; [`ScepResponse::to_http`] turns a typed answer into ([`HttpResponse`]) status,
//! Content-Type and body. Client side: [`ClientRequest`] builds what to send, and
//! [`Capabilities::from_http_response`](crate::Capabilities::from_http_response) reads the
//! GetCACaps answer.
//!
//! The HTTP driver (server or client) owns sockets, headers and framing. It MUST always send a
//! `Content-Length` header with a body (S-8: IOS speaks HTTP/1.0 and cannot read chunked
//! bodies), and SHOULD send the [`HttpResponse::allow`] header when present.
//!
//! Two small, widely used crates do the byte work: `base64` decodes and encodes the GET
//! `message` (its configurable padding and alphabets give the S-3 tolerance without a
//! hand-written decoder on attacker input), and `percent-encoding` does the single
//! percent-decoding pass and the client's escaping with an explicit character set.

mod client;
mod message;
mod request;
mod response;

use core::fmt;

pub use client::ClientRequest;
pub use message::{decode_get_message, encode_get_message};
pub use request::ScepRequest;
pub use response::{ErrorStatus, HttpResponse, ScepResponse};

/// The HTTP methods SCEP uses (S-1). Anything else is answered 405 (S-8).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: every operation; PKIOperation with a base64 `message` (S-3).
    Get,
    /// `POST`: PKIOperation with the raw pkiMessage as body (S-4).
    Post,
}

impl Method {
    /// The method token as sent on the wire.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }

    /// The method named by an HTTP method token, or `None` for any other method. Matched
    /// ASCII-case-insensitively: being lenient here costs nothing.
    #[must_use]
    pub fn from_token(token: &str) -> Option<Self> {
        [Self::Get, Self::Post]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of the `operation` query parameter (S-1, S-36).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GetCACert` (S-31).
    GetCaCert,
    /// `GetCACaps` (S-32).
    GetCaCaps,
    /// `GetNextCACert` (S-33).
    GetNextCaCert,
    /// `PKIOperation`: a pkiMessage request (S-3, S-4).
    PkiOperation,
    /// `GetCRL` as a plain GET without pkiMessage, an IOS-style extension (S-36).
    GetCrl,
    /// Any other name.
    Unknown,
}

impl Operation {
    /// Every known operation.
    const KNOWN: [Self; 5] = [
        Self::GetCaCert,
        Self::GetCaCaps,
        Self::GetNextCaCert,
        Self::PkiOperation,
        Self::GetCrl,
    ];

    /// The operation name with the exact case clients MUST send (S-1); `None` for
    /// [`Operation::Unknown`].
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::GetCaCert => Some("GetCACert"),
            Self::GetCaCaps => Some("GetCACaps"),
            Self::GetNextCaCert => Some("GetNextCACert"),
            Self::PkiOperation => Some("PKIOperation"),
            Self::GetCrl => Some("GetCRL"),
            Self::Unknown => None,
        }
    }

    /// The operation named `name`, matched ASCII-case-insensitively as a server SHOULD (S-1);
    /// [`Operation::Unknown`] for anything else.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|op| op.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .unwrap_or(Self::Unknown)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or("unknown operation"))
    }
}

/// The Content-Type values of SCEP (S-4, S-7, S-36), with their exact strings.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/x-x509-ca-cert`: GetCACert answer, one DER certificate.
    CaCert,
    /// `application/x-x509-ca-ra-cert`: GetCACert answer, certs-only SignedData (S-30).
    CaRaCert,
    /// `application/x-x509-next-ca-cert`: GetNextCACert answer (S-33).
    NextCaCert,
    /// `application/x-pki-message`: a pkiMessage (PKIOperation request body and answer).
    PkiMessage,
    /// `text/plain`: GetCACaps answer and error bodies.
    TextPlain,
    /// `application/pkix-crl`: plain GetCRL answer (S-36).
    PkixCrl,
}

impl ContentType {
    /// Every content type.
    const ALL: [Self; 6] = [
        Self::CaCert,
        Self::CaRaCert,
        Self::NextCaCert,
        Self::PkiMessage,
        Self::TextPlain,
        Self::PkixCrl,
    ];

    /// The exact header value (S-7).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CaCert => "application/x-x509-ca-cert",
            Self::CaRaCert => "application/x-x509-ca-ra-cert",
            Self::NextCaCert => "application/x-x509-next-ca-cert",
            Self::PkiMessage => "application/x-pki-message",
            Self::TextPlain => "text/plain",
            Self::PkixCrl => "application/pkix-crl",
        }
    }

    /// Reads a received Content-Type header value: parameters (`; charset=…`) and surrounding
    /// whitespace are ignored and the media type is matched ASCII-case-insensitively. `None`
    /// for any other media type.
    #[must_use]
    pub fn from_header(value: &str) -> Option<Self> {
        let media = value.split(';').next().unwrap_or(value).trim();
        Self::ALL
            .into_iter()
            .find(|ct| ct.as_str().eq_ignore_ascii_case(media))
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Size limits applied by [`ScepRequest::parse_with_limits`] (S-6, S-40).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request-target (or raw query) accepted, in bytes. S-6 requires at least 64 KiB.
    pub max_target_len: usize,
    /// Longest POST body accepted, in bytes (S-6: 256 KiB).
    pub max_body_len: usize,
    /// Longest pkiMessage accepted after GET decoding, in bytes (S-40: 256 KiB), so both
    /// methods accept the same messages.
    pub max_message_len: usize,
}

impl HttpLimits {
    /// The limits of SPEC S-6 / S-40: bodies and messages up to 256 KiB; request-targets up
    /// to 512 KiB, enough for a GET carrying a pkiMessage of 256 KiB in base64 with the usual
    /// share of escaped `+`, `/` and `=`.
    pub const DEFAULT: Self = Self {
        max_target_len: 512 * 1024,
        max_body_len: 256 * 1024,
        max_message_len: 256 * 1024,
    };

    /// No limit at all: for tests and fuzzing only, never for a server facing a network.
    pub const UNLIMITED: Self = Self {
        max_target_len: usize::MAX,
        max_body_len: usize::MAX,
        max_message_len: usize::MAX,
    };
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which part of a request broke a size limit (S-6).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestPart {
    /// The request-target (path and query).
    Target,
    /// The POST body.
    Body,
    /// The pkiMessage decoded from a GET `message` parameter.
    Message,
}

impl fmt::Display for RequestPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Target => "request-target",
            Self::Body => "request body",
            Self::Message => "decoded message",
        })
    }
}

/// Why an HTTP request is not a SCEP request (S-1 … S-6). Every variant is caused by the
/// peer's request; [`HttpError::status`] gives the HTTP answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    // --- The request line.
    /// A method other than GET or POST (S-8: 405).
    #[error("HTTP method not allowed (SCEP uses GET and POST)")]
    MethodNotAllowed,
    /// No `operation` query parameter (S-1).
    #[error("missing `operation` query parameter")]
    MissingOperation,
    /// An `operation` value that names no SCEP operation (S-1).
    #[error("unknown SCEP operation")]
    UnknownOperation,

    // --- The PKIOperation message.
    /// PKIOperation without a message: GET without (or with an empty) `message`, or POST
    /// with an empty body and no `message` either.
    #[error("PKIOperation without a message")]
    MissingMessage,
    /// A GET `message` that is not base64 in either alphabet after the S-3 clean-up.
    #[error("PKIOperation `message` is not base64")]
    MessageNotBase64,

    // --- Size limits (S-6).
    /// Some part of the request is larger than its [`HttpLimits`] entry.
    #[error("{part} too large: {len} bytes, limit {limit}")]
    TooLarge {
        /// Which part.
        part: RequestPart,
        /// Its length in bytes.
        len: usize,
        /// The limit it broke.
        limit: usize,
    },
}

impl HttpError {
    /// The HTTP answer to this error (S-6, S-8): the one place that maps errors to statuses.
    #[must_use]
    pub const fn status(&self) -> ErrorStatus {
        match self {
            Self::MethodNotAllowed => ErrorStatus::MethodNotAllowed,
            Self::MissingOperation
            | Self::UnknownOperation
            | Self::MissingMessage
            | Self::MessageNotBase64 => ErrorStatus::BadRequest,
            Self::TooLarge { .. } => ErrorStatus::PayloadTooLarge,
        }
    }
}
