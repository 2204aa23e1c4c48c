//! PEM in and out for what a trustpoint holds (certificates, chains, its private key), on the
//! `der` crate's RFC 7468 codec, and files written the way keys must be written: atomically
//! (temporary file, fsync, rename, directory fsync) and, for keys, mode 0600 from the start.

use std::io::Write as _;
use std::path::Path;

use der::pem::{self, LineEnding};
use der::{Decode as _, Encode as _};
use scep_proto::{Certificate, PrivateKey};

/// Why PEM text could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// The text is not PEM (no `-----BEGIN …-----` block, bad base64, bad armour).
    #[error("not PEM: {0}")]
    Malformed(String),
    /// A block has another label than expected.
    #[error("expected a PEM {expected} block, found {found}")]
    Label {
        /// What was expected (e.g. `CERTIFICATE`).
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The text holds no block at all.
    #[error("no PEM {0} block in the text")]
    Empty(&'static str),
    /// The block decodes but is not a certificate, or not an RSA key of 1024–4096 bits.
    #[error("the PEM {0} block does not hold a usable value")]
    Content(&'static str),
    /// An `ENCRYPTED PRIVATE KEY`: decrypt it with
    /// `PrivateKey::from_encrypted_pkcs8_pem` and a password.
    #[error("the private key is encrypted: it needs its password")]
    Encrypted,
    /// A value could not be encoded.
    #[error("cannot encode the {0}")]
    Encode(&'static str),
}

const CERTIFICATE: &str = "CERTIFICATE";
const PRIVATE_KEY: &str = "PRIVATE KEY";
const RSA_PRIVATE_KEY: &str = "RSA PRIVATE KEY";

/// A certificate as one PEM `CERTIFICATE` block.
///
/// # Errors
/// [`PemError::Encode`] if the certificate does not encode.
pub fn certificate_to_pem(cert: &Certificate) -> Result<String, PemError> {
    let der = cert.to_der().map_err(|_| PemError::Encode("certificate"))?;
    pem::encode_string(CERTIFICATE, LineEnding::LF, &der)
        .map_err(|_| PemError::Encode("certificate"))
}

/// Certificates as consecutive `CERTIFICATE` blocks, in the order given (a chain file:
/// identity first, then its CA).
///
/// # Errors
/// [`PemError::Encode`] if a certificate does not encode.
pub fn certificates_to_pem<'a>(
    certs: impl IntoIterator<Item = &'a Certificate>,
) -> Result<String, PemError> {
    certs
        .into_iter()
        .map(certificate_to_pem)
        .collect::<Result<String, _>>()
}

/// The first `CERTIFICATE` block of `text`.
///
/// # Errors
/// [`PemError`] when there is none or it does not decode.
pub fn certificate_from_pem(text: &str) -> Result<Certificate, PemError> {
    certificates_from_pem(text)?
        .into_iter()
        .next()
        .ok_or(PemError::Empty(CERTIFICATE))
}

/// Every block of `text`, which must all be `CERTIFICATE` blocks (text between blocks is
/// ignored, as in bundles with comments).
///
/// # Errors
/// [`PemError`] when there is no block, a block has another label or does not decode.
pub fn certificates_from_pem(text: &str) -> Result<Vec<Certificate>, PemError> {
    let certs = blocks(text)?
        .into_iter()
        .map(|(label, der)| {
            if label != CERTIFICATE {
                return Err(PemError::Label {
                    expected: CERTIFICATE,
                    found: label,
                });
            }
            Certificate::from_der(&der).map_err(|_| PemError::Content(CERTIFICATE))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(PemError::Empty(CERTIFICATE));
    }
    Ok(certs)
}

/// A private key as an unencrypted PKCS #8 `PRIVATE KEY` block (what `openssl pkey` writes).
/// Keep it out of logs; [`write_private_key`] puts it in a 0600 file.
///
/// # Errors
/// [`PemError::Encode`] if the key does not encode.
pub fn private_key_to_pem(key: &PrivateKey) -> Result<String, PemError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|_| PemError::Encode("private key"))?;
    pem::encode_string(PRIVATE_KEY, LineEnding::LF, der.as_bytes())
        .map_err(|_| PemError::Encode("private key"))
}

/// An RSA private key from a `PRIVATE KEY` (PKCS #8) or `RSA PRIVATE KEY` (PKCS #1) block, as
/// `openssl genpkey`/`genrsa` write them.
///
/// # Errors
/// [`PemError::Encrypted`] for an `ENCRYPTED PRIVATE KEY`; [`PemError`] for anything else
/// that is not an RSA key of 1024–4096 bits.
pub fn private_key_from_pem(text: &str) -> Result<PrivateKey, PemError> {
    let (label, der) = blocks(text)?
        .into_iter()
        .next()
        .ok_or(PemError::Empty(PRIVATE_KEY))?;
    match label.as_str() {
        PRIVATE_KEY => PrivateKey::from_pkcs8_der(&der).map_err(|_| PemError::Content(PRIVATE_KEY)),
        RSA_PRIVATE_KEY => {
            let wrapped = pkcs1_to_pkcs8(&der).ok_or(PemError::Content(RSA_PRIVATE_KEY))?;
            PrivateKey::from_pkcs8_der(&wrapped).map_err(|_| PemError::Content(RSA_PRIVATE_KEY))
        }
        "ENCRYPTED PRIVATE KEY" => Err(PemError::Encrypted),
        _ => Err(PemError::Label {
            expected: PRIVATE_KEY,
            found: label,
        }),
    }
}

/// Every PEM block of `text` (label, DER), skipping text outside blocks.
fn blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, PemError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = rest.get(start..).unwrap_or("");
        let label_end = block
            .get(BEGIN.len()..)
            .and_then(|b| b.find("-----"))
            .ok_or_else(|| PemError::Malformed(String::from("unterminated BEGIN line")))?;
        let label = block
            .get(BEGIN.len()..BEGIN.len().saturating_add(label_end))
            .unwrap_or("");
        let end_line = format!("-----END {label}-----");
        let end = block
            .find(&end_line)
            .ok_or_else(|| PemError::Malformed(format!("no END line for {label}")))?
            .saturating_add(end_line.len());
        let one = block.get(..end).unwrap_or("");
        let (label, der) =
            pem::decode_vec(one.as_bytes()).map_err(|e| PemError::Malformed(e.to_string()))?;
        out.push((label.to_owned(), der));
        rest = block.get(end..).unwrap_or("");
    }
    Ok(out)
}

/// rsaEncryption PrivateKeyInfo around a PKCS #1 RSAPrivateKey.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Option<Vec<u8>> {
    const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let algorithm = x509_cert::spki::AlgorithmIdentifierOwned {
        oid: RSA_ENCRYPTION,
        parameters: Some(der::Any::null()),
    };
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER (0), algorithm, privateKey OCTET STRING }
    let mut body = 0u8.to_der().ok()?;
    body.extend(algorithm.to_der().ok()?);
    body.extend(der::asn1::OctetString::new(pkcs1).ok()?.to_der().ok()?);
    der::Any::new(der::Tag::Sequence, body).ok()?.to_der().ok()
}

/// Replaces `path` with `bytes` atomically: a new temporary file beside it (created
/// exclusively, so a planted file or symlink is never written through), fsync, rename over
/// `path`, fsync of the directory. Readers see the old content or the new, never a part.
/// `private`: mode 0600 (on Unix) from creation on, else 0644.
///
/// # Errors
/// Any I/O error; `path` is then unchanged and the temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path names no file")
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let (tmp, mut file) = loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match options.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `key` as PKCS #8 PEM to `path` with [`write_atomic`], mode 0600.
///
/// # Errors
/// An I/O error, or [`std::io::ErrorKind::InvalidData`] if the key does not encode.
pub fn write_private_key(path: &Path, key: &PrivateKey) -> std::io::Result<()> {
    let text = private_key_to_pem(key).map_err(std::io::Error::other)?;
    write_atomic(path, text.as_bytes(), true)
}

/// Reads a private key from the PEM file at `path` (see [`private_key_from_pem`]).
///
/// # Errors
/// An I/O error, or [`std::io::ErrorKind::InvalidData`] with the [`PemError`] inside.
pub fn read_private_key(path: &Path) -> std::io::Result<PrivateKey> {
    let text = std::fs::read_to_string(path)?;
    private_key_from_pem(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_split_and_labels_checked() {
        let a = pem::encode_string("CERTIFICATE", LineEnding::LF, b"\x30\x00").unwrap();
        let k = pem::encode_string("EC PRIVATE KEY", LineEnding::LF, b"\x30\x00").unwrap();
        let text = format!("subject=CN=x\n{a}junk between\n{k}");
        let got = blocks(&text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, "EC PRIVATE KEY");
        assert!(matches!(
            certificates_from_pem(&text),
            Err(PemError::Content("CERTIFICATE"))
        ));
        assert!(matches!(
            private_key_from_pem(&k),
            Err(PemError::Label { .. })
        ));
        assert!(matches!(
            certificate_from_pem("hello"),
            Err(PemError::Empty(_))
        ));
        assert!(matches!(
            blocks("-----BEGIN CERTIFICATE-----\nAAAA\n"),
            Err(PemError::Malformed(_))
        ));
        let enc = pem::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, b"\x30\x00").unwrap();
        assert!(matches!(
            private_key_from_pem(&enc),
            Err(PemError::Encrypted)
        ));
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cert.pem");
        write_atomic(&p, b"one", false).unwrap();
        write_atomic(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("cert.pem")]);
    }
}
