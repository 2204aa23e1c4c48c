//! The PEM files a host keeps next to its trustpoint: what servers, VPN daemons and web
//! clients read.

use std::path::{Path, PathBuf};

use crate::pem::{certificate_to_pem, certificates_to_pem, private_key_to_pem, write_atomic};
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
/// whose key is not yet in `key.pem`. A file whose content is unchanged is not rewritten (a
/// renewal with the same key leaves `key.pem` alone); after a renewal with a new key the two
/// files change a moment apart, so reload what reads them after this function returns.
///
/// # Errors
/// Any I/O error (files written before it stay written).
pub fn write_identity_files(tp: &Trustpoint, dir: &Path) -> std::io::Result<IdentityFiles> {
    let encode = |e: crate::pem::PemError| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut out = IdentityFiles::default();
    if let (Some(cert), Some(key)) = (tp.identity_cert(), tp.identity_key()) {
        let path = dir.join(KEY_FILE);
        update(&path, &private_key_to_pem(key).map_err(encode)?, true)?;
        out.key = Some(path);
        let path = dir.join(CERT_FILE);
        update(&path, &certificate_to_pem(cert).map_err(encode)?, false)?;
        out.certificate = Some(path);
        if let Some(ca) = tp.ca_cert() {
            let path = dir.join(CHAIN_FILE);
            update(
                &path,
                &certificates_to_pem([cert, ca]).map_err(encode)?,
                false,
            )?;
            out.chain = Some(path);
        }
    }
    if let Some(ca) = tp.ca_cert() {
        let path = dir.join(CA_FILE);
        update(&path, &certificate_to_pem(ca).map_err(encode)?, false)?;
        out.ca = Some(path);
    }
    let next = dir.join(NEXT_CA_FILE);
    match tp.rollover_ca_cert() {
        Some(ca) => {
            update(&next, &certificate_to_pem(ca).map_err(encode)?, false)?;
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

/// [`write_atomic`] unless `path` already holds `text` (and, for a key, is private).
fn update(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    let same = std::fs::read(path).is_ok_and(|old| old == text.as_bytes());
    #[cfg(unix)]
    let same = same
        && (!private || {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
        });
    if same {
        return Ok(());
    }
    write_atomic(path, text.as_bytes(), private)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::*;

    #[test]
    fn unchanged_files_are_not_rewritten_and_a_loose_key_file_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cert.pem");
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        update(&p, "one", false).unwrap();
        let first = ino(&p);
        update(&p, "one", false).unwrap();
        assert_eq!(ino(&p), first, "same content: left alone");
        update(&p, "two", false).unwrap();
        assert_ne!(ino(&p), first);
        let k = dir.path().join("key.pem");
        std::fs::write(&k, "key").unwrap();
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
        update(&k, "key", true).unwrap();
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
