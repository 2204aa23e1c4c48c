//! HTTP through client-core's [`HttpTransport`]: one per thread, and ureq keeps its
//! connection alive between requests.

use std::time::Duration;

use client_core::{HttpTransport, HttpTransportConfig};

use super::LoadError;

/// A transport to `url` (`http://host[:port][/path]`) whose whole exchange must finish within
/// `timeout`.
///
/// # Errors
/// [`LoadError::InvalidUrl`] for anything but a plain `http://` URL.
pub fn connect(url: &str, timeout: Duration) -> Result<HttpTransport, LoadError> {
    let mut config = HttpTransportConfig::default();
    config.total_timeout = timeout;
    config.connect_timeout = config.connect_timeout.min(timeout);
    HttpTransport::new(url, config).map_err(|_| LoadError::InvalidUrl {
        url: url.to_owned(),
    })
}
