//! TLS to the database (feature `tls`): rustls with the ring provider, trusting the operating
//! system's roots and any extra PEM roots the caller gives.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::OpenError;

/// The rustls connector for the pool and the store's own connections.
pub(crate) fn make(extra_pem: Option<&[u8]>) -> Result<MakeRustlsConnect, OpenError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: the extra roots may be all that is needed.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| OpenError::Tls(format!("extra roots: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| OpenError::Tls(format!("extra roots: {e}")))?;
        }
    }
    if roots.is_empty() {
        return Err(OpenError::Tls(
            "no trust anchors: the system has none and no extra roots were given".to_owned(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OpenError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
