//! The blocking HTTP transport (feature `http`), over `ureq`; `https://` URLs with the `https`
//! feature (rustls, the system's trust store or a given CA bundle).

use std::time::Duration;

use scep_proto::{ClientRequest, Method};

use crate::transport::{HttpReply, Transport, TransportError, UrlProblem};

/// Which certificate authorities the server certificate of an `https://` enrolment URL may
/// chain to. SCEP protects its messages itself (CMS); TLS here is about reaching servers that
/// only speak HTTPS (many NDES/Intune and step-ca deployments) without trusting a man in the
/// middle with the challenge password's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The operating system's trust store (the default).
    #[default]
    System,
    /// Only these certificates (DER), e.g. a private CA's bundle; see [`TlsRoots::from_pem`].
    Certificates(Vec<Vec<u8>>),
}

impl TlsRoots {
    /// Every `CERTIFICATE` block of a PEM bundle (such as a `ca-bundle.pem` file's contents).
    ///
    /// # Errors
    /// [`TransportError::InvalidTlsRoots`] when the text holds no certificate or a block does
    /// not decode.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TransportError> {
        use der::Encode as _;
        let certs = x509_cert::Certificate::load_pem_chain(pem)
            .map_err(|_| TransportError::InvalidTlsRoots)?;
        if certs.is_empty() {
            return Err(TransportError::InvalidTlsRoots);
        }
        certs
            .iter()
            .map(|c| c.to_der().map_err(|_| TransportError::InvalidTlsRoots))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Certificates)
    }
}

/// Timeouts, limits and TLS trust of [`HttpTransport`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpTransportConfig {
    /// Longest wait for the TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// Longest wait for the whole exchange, connection included (default 60 s).
    pub total_timeout: Duration,
    /// Largest reply body accepted (default 256 KiB, the S-6 body limit).
    pub max_body_len: u64,
    /// Trust for `https://` URLs (default: the system's store). Ignored for `http://`.
    pub tls_roots: TlsRoots,
}

impl Default for HttpTransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            max_body_len: 256 * 1024,
            tls_roots: TlsRoots::System,
        }
    }
}

/// A blocking HTTP/1.1 transport to one CA.
///
/// Built from the enrolment URL (`http://host[:port][/path]`, or `https://…` with the `https`
/// feature); [`HttpTransport::path`] is the path every request goes to (`/` when the URL has
/// none). Redirects are not followed (a SCEP answer is never a redirect), and no request is
/// retried here (T-11 is the trustpoint's).
pub struct HttpTransport {
    agent: ureq::Agent,
    origin: String,
    host: String,
    path: String,
    max_body_len: u64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("origin", &self.origin)
            .field("path", &self.path)
            .finish()
    }
}

impl HttpTransport {
    /// A transport for `enrollment_url`.
    ///
    /// # Errors
    /// [`TransportError::InvalidUrl`] for anything but `http://host[:port][/path]` (and
    /// `https://…` when the `https` feature is on), saying what is wrong with it.
    pub fn new(enrollment_url: &str, config: HttpTransportConfig) -> Result<Self, TransportError> {
        let url = split_url(enrollment_url).map_err(|problem| TransportError::InvalidUrl {
            url: enrollment_url.to_owned(),
            problem,
        })?;
        let builder = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.total_timeout))
            .http_status_as_error(false)
            .max_redirects(0);
        #[cfg(feature = "https")]
        let builder = builder.tls_config(tls_config(&config.tls_roots));
        Ok(Self {
            agent: builder.build().into(),
            origin: url.origin,
            host: url.authority,
            path: url.path,
            max_body_len: config.max_body_len,
        })
    }

    /// The enrolment URL's path (`/` when it has none): the path of every request.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The server's `host[:port]`, as errors name it.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }
}

#[cfg(feature = "https")]
fn tls_config(roots: &TlsRoots) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let roots = match roots {
        TlsRoots::System => RootCerts::PlatformVerifier,
        TlsRoots::Certificates(ders) => RootCerts::new_with_certs(
            &ders
                .iter()
                .map(|d| Certificate::from_der(d).to_owned())
                .collect::<Vec<_>>(),
        ),
    };
    TlsConfig::builder().root_certs(roots).build()
}

/// An enrolment URL taken apart.
#[derive(Debug, PartialEq, Eq)]
struct SplitUrl {
    /// `scheme://host[:port]`.
    origin: String,
    /// `host[:port]`.
    authority: String,
    /// The path, `/` when none.
    path: String,
}

/// Splits `http[s]://host[:port][/path]`.
fn split_url(url: &str) -> Result<SplitUrl, UrlProblem> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlProblem::Scheme)?;
    match scheme {
        "http" => {}
        "https" if cfg!(feature = "https") => {}
        "https" => return Err(UrlProblem::HttpsNotBuilt),
        _ => return Err(UrlProblem::Scheme),
    }
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(UrlProblem::Host);
    }
    if authority.contains('@') {
        return Err(UrlProblem::UserInfo);
    }
    if authority.contains(char::is_whitespace) {
        return Err(UrlProblem::Host);
    }
    // The trustpoint appends `?operation=…` itself (S-1): a query or fragment here would be
    // sent on no request, so it is refused rather than silently dropped.
    if path.contains(['?', '#']) {
        return Err(UrlProblem::Query);
    }
    Ok(SplitUrl {
        origin: format!("{scheme}://{authority}"),
        authority: authority.to_owned(),
        path: path.to_owned(),
    })
}

impl Transport for HttpTransport {
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        let uri = format!("{}{}", self.origin, request.target);
        let result = match request.method {
            Method::Get => self.agent.get(&uri).call(),
            Method::Post => {
                let mut post = self.agent.post(&uri);
                if let Some(ct) = request.content_type {
                    post = post.header("Content-Type", ct);
                }
                post.send(&request.body[..])
            }
            // SCEP uses only GET and POST (S-1); nothing else is sent.
            _ => return Err(TransportError::protocol(&self.host, "unsupported method")),
        };
        let mut response = result.map_err(|e| self.map_error(e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_body_len)
            .read_to_vec()
            .map_err(|e| self.map_error(e))?;
        Ok(HttpReply {
            status,
            content_type,
            body,
        })
    }
}

impl HttpTransport {
    /// Names the host and keeps the cause (the OS error, the TLS alert) for the message.
    fn map_error(&self, e: ureq::Error) -> TransportError {
        let host = self.host.clone();
        match e {
            ureq::Error::Timeout(_) => TransportError::Timeout { host },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                TransportError::Timeout { host }
            }
            ureq::Error::HostNotFound => TransportError::Connect {
                host,
                source: "the host name does not resolve".into(),
            },
            ureq::Error::ConnectionFailed => TransportError::Connect {
                host,
                source: "no address of the host accepted a connection".into(),
            },
            ureq::Error::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable
                        | std::io::ErrorKind::AddrNotAvailable
                ) =>
            {
                TransportError::Connect {
                    host,
                    source: Box::new(io),
                }
            }
            // rustls reports a refused certificate through the stream, as an I/O error.
            #[cfg(feature = "https")]
            ureq::Error::Io(io)
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
            {
                TransportError::Tls {
                    host,
                    source: Box::new(io),
                }
            }
            ureq::Error::BodyExceedsLimit(limit) => TransportError::BodyTooLarge { host, limit },
            #[cfg(feature = "https")]
            ureq::Error::Rustls(tls) => TransportError::Tls {
                host,
                source: Box::new(tls),
            },
            ureq::Error::Tls(what) => TransportError::Tls {
                host,
                source: what.into(),
            },
            other => TransportError::Protocol {
                host,
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SplitUrl, split_url};
    use crate::transport::UrlProblem;

    fn ok(origin: &str, path: &str) -> Result<SplitUrl, UrlProblem> {
        Ok(SplitUrl {
            origin: origin.into(),
            authority: origin.split_once("://").unwrap().1.into(),
            path: path.into(),
        })
    }

    #[test]
    fn k2_enrollment_url_forms() {
        assert_eq!(split_url("http://ca.example"), ok("http://ca.example", "/"));
        assert_eq!(
            split_url("http://127.0.0.1:8080/scep"),
            ok("http://127.0.0.1:8080", "/scep")
        );
        assert_eq!(
            split_url("http://[::1]:80/cgi-bin/pkiclient.exe"),
            ok("http://[::1]:80", "/cgi-bin/pkiclient.exe")
        );
        #[cfg(feature = "https")]
        assert_eq!(
            split_url("https://ca.example/certsrv/mscep/mscep.dll"),
            ok("https://ca.example", "/certsrv/mscep/mscep.dll")
        );
        for (bad, why) in [
            ("ca.example/scep", UrlProblem::Scheme),
            ("ftp://ca", UrlProblem::Scheme),
            ("http://", UrlProblem::Host),
            ("http:///scep", UrlProblem::Host),
            ("http://user@ca/", UrlProblem::UserInfo),
            ("http://ca/scep?operation=GetCACert", UrlProblem::Query),
            ("http://ca/scep#x", UrlProblem::Query),
        ] {
            assert_eq!(split_url(bad), Err(why), "{bad}");
        }
    }
}
