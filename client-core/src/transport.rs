//! How a trustpoint reaches its CA: one SCEP HTTP exchange per call (ARCHITECTURE.md).
//!
//! The trustpoint state machine never opens a socket; it hands a [`ClientRequest`] (built by
//! `scep-proto`, method and target per S-1 … S-5) to a [`Transport`] and reads back an
//! [`HttpReply`]. Two transports ship here: [`InProcess`], which calls a closure (tests,
//! simulations, a CA linked into the same process), and, with the `http` feature,
//! [`HttpTransport`](crate::HttpTransport), a blocking HTTP/1.1 client with timeouts.

#[cfg(feature = "http")]
pub(crate) mod http;

use scep_proto::{ClientRequest, ContentType};

/// What came back from the CA: the HTTP status, the Content-Type header as sent, and the body.
///
/// Judging it is the trustpoint's job (K-14: a status other than 200 for PKIOperation or
/// GetNextCACert, or a wrong content type, is a transport failure; S-9: GetCACaps accepts
/// anything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// The Content-Type header value, if any, unparsed.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The Content-Type as one of the SCEP types (parameters such as `; charset=` ignored), or
    /// `None` when absent or not a SCEP type.
    #[must_use]
    pub fn scep_content_type(&self) -> Option<ContentType> {
        self.content_type
            .as_deref()
            .and_then(ContentType::from_header)
    }
}

/// Why an exchange produced no reply at all. Every variant is a transport failure in K-14's
/// sense: the trustpoint retries the same transaction later (T-11). The message names the
/// server and, where there is one, the underlying cause (the operating system's error, the TLS
/// alert).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The enrolment URL cannot be used.
    #[error("enrolment URL {url:?} is not usable: {problem}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// No connection could be made (refused, unreachable, unknown host).
    #[error("cannot connect to the CA at {host}: {source}")]
    Connect {
        /// The server, `host[:port]`.
        host: String,
        /// Why, e.g. "Connection refused (os error 111)".
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The CA did not answer within the configured time.
    #[error("the CA at {host} did not answer in time")]
    Timeout {
        /// The server, `host[:port]`.
        host: String,
    },
    /// The answer was larger than the configured limit.
    #[error("the answer of the CA at {host} exceeds {limit} bytes")]
    BodyTooLarge {
        /// The server, `host[:port]`.
        host: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The TLS handshake with an `https://` server failed (for example, its certificate does
    /// not chain to a trusted root or does not name the host).
    #[error("TLS with the CA at {host} failed: {source}")]
    Tls {
        /// The server, `host[:port]`.
        host: String,
        /// The TLS library's reason.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection broke or the peer did not speak HTTP.
    #[error("HTTP exchange with the CA at {host} failed: {source}")]
    Protocol {
        /// The server, `host[:port]`.
        host: String,
        /// What went wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A CA bundle for `https://` held no usable certificate.
    #[error("the TLS trust bundle holds no PEM certificate that decodes")]
    InvalidTlsRoots,
    /// The CA is not reachable by design in this transport (e.g. an in-process CA that is
    /// switched off in a simulation of an outage).
    #[error("the CA is unavailable")]
    Unavailable,
}

impl TransportError {
    /// A [`TransportError::Protocol`] for `host` with a fixed reason.
    #[must_use]
    pub fn protocol(host: &str, reason: &'static str) -> Self {
        Self::Protocol {
            host: host.to_owned(),
            source: reason.into(),
        }
    }
}

/// What is wrong with an enrolment URL ([`TransportError::InvalidUrl`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    /// Not `http://` or `https://`.
    #[error("it must start with http:// or https://")]
    Scheme,
    /// `https://` in a build without the `https` feature.
    #[error("https:// needs client-core's `https` feature")]
    HttpsNotBuilt,
    /// No host, or a host with spaces.
    #[error("it names no usable host")]
    Host,
    /// `user@host`: credentials do not belong in an enrolment URL.
    #[error("user information (user@host) is not supported")]
    UserInfo,
    /// A query or fragment: every request sets its own `?operation=` (S-1).
    #[error("it must not carry a query or fragment (requests add ?operation=… themselves)")]
    Query,
}

/// One SCEP HTTP exchange: send `request`, return what came back.
///
/// Contract: a reply with any HTTP status is `Ok` (the trustpoint judges it); `Err` means no
/// reply was obtained. Implementations must not retry on their own: retry timing belongs to
/// the trustpoint (T-11).
pub trait Transport {
    /// Sends one request and waits for its reply.
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        (**self).send(request)
    }
}

/// A transport that calls a function: for tests, simulations and a CA in the same process.
///
/// ```
/// use client_core::{HttpReply, InProcess, Transport};
/// use scep_proto::{Capabilities, CapsProfile, ClientRequest};
///
/// let mut ca = InProcess::new(|_req: &ClientRequest| {
///     Ok(HttpReply {
///         status: 200,
///         content_type: Some("text/plain".into()),
///         body: CapsProfile::Full.capabilities().to_text().into_bytes(),
///     })
/// });
/// let reply = ca.send(&ClientRequest::get_ca_caps("/scep", None))?;
/// assert!(Capabilities::from_http_response(reply.status, &reply.body).supports_post());
/// # Ok::<(), client_core::TransportError>(())
/// ```
pub struct InProcess<F> {
    handler: F,
}

impl<F> InProcess<F>
where
    F: FnMut(&ClientRequest) -> Result<HttpReply, TransportError>,
{
    /// Wraps `handler`, called once per request.
    pub fn new(handler: F) -> Self {
        Self { handler }
    }
}

impl<F> Transport for InProcess<F>
where
    F: FnMut(&ClientRequest) -> Result<HttpReply, TransportError>,
{
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        (self.handler)(request)
    }
}

impl<F> std::fmt::Debug for InProcess<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess(..)")
    }
}
