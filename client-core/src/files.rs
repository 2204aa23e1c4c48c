//! The PEM files a host keeps next to its trustpoint: what servers, VPN daemons and web
//! clients read.

use std::path::{Path, PathBuf};

use crate::pem::{certificate_to_pem, certificates_to_pem, write_atomic, write_private_key};
use crate::trustpoint::Trustpoint;

/// The identity's private key, PKCS #8 PEM, mode 0600.
pub const KEY_FILE: &str = "key.pem";
/// The identity certificate.
pub const CERT_FILE: &str = "cert.pem";
/// The identity certificate followed by its CA certificate.
pub const CHAIN_FILE: &str = "chain.pem";
/// The active CA certificate.
pub const CA_FILE: &str = "ca.pem";
/// The rollover CA certificate, while one is stored and not yet active (K-8, K-9).
pub const NEXT_CA_FILE: &str = "ca-next.pem";

/// What [`write_identity_files`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityFiles {
    /// `key.pem`, if the trustpoint has an identity.
    pub key: Option<PathBuf>,
    /// `cert.pem`, if the trustpoint has an identity.
    pub certificate: Option<PathBuf>,
    /// `chain.pem`, if the trustpoint has an identity and a CA.
    pub chain: Option<PathBuf>,
    /// `ca.pem`, if the trustpoint has a CA.
    pub ca: Option<PathBuf>,
    /// `ca-next.pem`, if a rollover CA is stored (else the file is removed).
    pub next_ca: Option<PathBuf>,
}

/// Writes the trustpoint's identity and CA certificates into `dir`: [`KEY_FILE`] (mode 0600)
/// first, then [`CERT_FILE`], [`CHAIN_FILE`], [`CA_FILE`], and [`NEXT_CA_FILE`] while a
/// rollover CA waits (removed when there is none). Every file is replaced atomically, so a
/// reader sees the old or the new content, never a part; `cert.pem` never holds a certificate
/// whose key is not yet in `key.pem`.
///
/// # Errors
/// Any I/O error (files written before it stay written).
pub fn write_identity_files(tp: &Trustpoint, dir: &Path) -> std::io::Result<IdentityFiles> {
    let encode = |e: crate::pem::PemError| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut out = IdentityFiles::default();
    if let (Some(cert), Some(key)) = (tp.identity_cert(), tp.identity_key()) {
        let path = dir.join(KEY_FILE);
        write_private_key(&path, key)?;
        out.key = Some(path);
        let path = dir.join(CERT_FILE);
        write_atomic(
            &path,
            certificate_to_pem(cert).map_err(encode)?.as_bytes(),
            false,
        )?;
        out.certificate = Some(path);
        if let Some(ca) = tp.ca_cert() {
            let path = dir.join(CHAIN_FILE);
            write_atomic(
                &path,
                certificates_to_pem([cert, ca]).map_err(encode)?.as_bytes(),
                false,
            )?;
            out.chain = Some(path);
        }
    }
    if let Some(ca) = tp.ca_cert() {
        let path = dir.join(CA_FILE);
        write_atomic(
            &path,
            certificate_to_pem(ca).map_err(encode)?.as_bytes(),
            false,
        )?;
        out.ca = Some(path);
    }
    let next = dir.join(NEXT_CA_FILE);
    match tp.rollover_ca_cert() {
        Some(ca) => {
            write_atomic(
                &next,
                certificate_to_pem(ca).map_err(encode)?.as_bytes(),
                false,
            )?;
            out.next_ca = Some(next);
        }
        None => match std::fs::remove_file(&next) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        },
    }
    Ok(out)
}
