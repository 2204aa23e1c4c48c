//! Plain HTTP/1.1 over `ureq`: one agent per thread, connections kept alive between requests.

use std::time::Duration;

use scep_proto::{ClientRequest, Method};

use super::LoadError;

/// Largest reply body read (the S-6 body limit; a CertRep is a few KiB).
const MAX_BODY: u64 = 256 * 1024;

/// A SCEP URL split into the origin the agent connects to and the path requests carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://host[:port]`.
    pub origin: String,
    /// The URL's path (`/` when it has none), for [`ClientRequest`]'s constructors.
    pub path: String,
}

impl Target {
    /// Splits `http://host[:port][/path]`; anything else (https, user info) is refused.
    pub fn parse(url: &str) -> Result<Self, LoadError> {
        let invalid = || LoadError::InvalidUrl {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("http://").ok_or_else(invalid)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) {
            return Err(invalid());
        }
        Ok(Self {
            origin: format!("http://{authority}"),
            path: path.to_owned(),
        })
    }
}

/// An HTTP answer: status, `Content-Type` and body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// An agent for one thread: statuses are answers (not errors), no redirects, `timeout` for
/// each whole exchange. `ureq` pools the connection, so consecutive requests reuse it.
#[must_use]
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Sends `request` to `target`'s origin and reads the whole answer.
pub fn send(
    agent: &ureq::Agent,
    target: &Target,
    request: &ClientRequest,
) -> Result<Reply, ureq::Error> {
    let uri = format!("{}{}", target.origin, request.target);
    let mut response = match request.method {
        Method::Post => {
            let mut post = agent.post(&uri);
            if let Some(ct) = request.content_type {
                post = post.header("Content-Type", ct);
            }
            post.send(&request.body[..])?
        }
        // ClientRequest only makes GET and POST (S-1).
        _ => agent.get(&uri).call()?,
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()?;
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn url_forms() {
        let t = Target::parse("http://127.0.0.1:8080/scep").unwrap();
        assert_eq!(t.origin, "http://127.0.0.1:8080");
        assert_eq!(t.path, "/scep");
        assert_eq!(Target::parse("http://ca").unwrap().path, "/");
        for bad in ["https://ca/scep", "ca/scep", "http://", "http://u@ca/"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
