//! The blocking HTTP transport (feature `http`), over `ureq` without TLS.

use std::time::Duration;

use scep_proto::{ClientRequest, Method};

use crate::transport::{HttpReply, Transport, TransportError};

/// Timeouts and limits of [`HttpTransport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpTransportConfig {
    /// Longest wait for the TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// Longest wait for the whole exchange, connection included (default 60 s).
    pub total_timeout: Duration,
    /// Largest reply body accepted (default 256 KiB, the S-6 body limit).
    pub max_body_len: u64,
}

impl Default for HttpTransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            max_body_len: 256 * 1024,
        }
    }
}

/// A blocking HTTP/1.1 transport to one CA.
///
/// Built from the enrolment URL (`http://host[:port][/path]`); [`HttpTransport::path`] is the
/// path the trustpoint puts into its requests. Redirects are not followed (a SCEP answer is
/// never a redirect), and no request is retried here (T-11 is the trustpoint's).
pub struct HttpTransport {
    agent: ureq::Agent,
    origin: String,
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
    /// A transport for `enrollment_url`; fails on anything but `http://host[:port][/path]`.
    pub fn new(enrollment_url: &str, config: HttpTransportConfig) -> Result<Self, TransportError> {
        let (origin, path) =
            split_url(enrollment_url).ok_or_else(|| TransportError::InvalidUrl {
                url: enrollment_url.to_owned(),
            })?;
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.total_timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Self {
            agent,
            origin,
            path,
            max_body_len: config.max_body_len,
        })
    }

    /// The enrolment URL's path (`/` when it has none), for building requests.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Splits `http://host[:port][/path]` into (`http://host[:port]`, `/path`).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return None;
    }
    Some((format!("http://{authority}"), path.to_owned()))
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
            _ => return Err(TransportError::Protocol),
        };
        let mut response = result.map_err(map_error)?;
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
            .map_err(map_error)?;
        Ok(HttpReply {
            status,
            content_type,
            body,
        })
    }
}

fn map_error(e: ureq::Error) -> TransportError {
    match e {
        ureq::Error::Timeout(_) => TransportError::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportError::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportError::Connect
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => TransportError::Timeout,
        ureq::Error::BodyExceedsLimit(limit) => TransportError::BodyTooLarge { limit },
        ureq::Error::BadUri(uri) => TransportError::InvalidUrl { url: uri },
        _ => TransportError::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn k2_enrollment_url_forms() {
        let s = split_url;
        assert_eq!(
            s("http://ca.example"),
            Some(("http://ca.example".into(), "/".into()))
        );
        assert_eq!(
            s("http://127.0.0.1:8080/scep"),
            Some(("http://127.0.0.1:8080".into(), "/scep".into()))
        );
        assert_eq!(
            s("http://[::1]:80/cgi-bin/pkiclient.exe"),
            Some(("http://[::1]:80".into(), "/cgi-bin/pkiclient.exe".into()))
        );
        for bad in [
            "https://ca",
            "ca.example/scep",
            "http://",
            "http:///scep",
            "http://user@ca/",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }
}
