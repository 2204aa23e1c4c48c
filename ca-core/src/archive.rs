//! Password-protected export of a CA key and certificate (C-19).
//!
//! At CA creation the CA archives its key and certificate as `<name>.<ext>`; at each rollover
//! generation it archives the rollover key and certificate as `<name>_NNNNN.<ext>`, `NNNNN` a
//! five-digit counter from `00001`. The CA stores the file with
//! [`Store::put`](crate::Store::put) under [`ArchiveFile::record_key`].
//!
//! # Formats
//!
//! - [`ArchiveFormat::Pkcs12`] (`.p12`, IOS `database archive pkcs12`): a PKCS#12 PFX (RFC
//!   7292) with the key in a `pkcs8ShroudedKeyBag` (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC) and
//!   the certificate in a `certBag`, sharing a `localKeyId`, under an HMAC-SHA256 MAC.
//!   `openssl pkcs12 -in F -passin pass:P -nodes` gives both back. The PFX is built on `der`
//!   derive types (`archive/pkcs12.rs`): RustCrypto `pkcs12` 0.2.0-pre.0 (and `p12-keystore`
//!   0.4 on top of it) need `cms` `=0.3.0-pre.1`, which cannot share a build with the `cms`
//!   `=0.3.0-rc.0` the workspace pins.
//! - [`ArchiveFormat::Pem`] (`.pem`): an `ENCRYPTED PRIVATE KEY` block (PKCS#8
//!   `EncryptedPrivateKeyInfo`, RFC 5958, the same PBES2 parameters) followed by a
//!   `CERTIFICATE` block. `openssl pkey -in F -passin pass:P` opens the key and
//!   `openssl x509 -in F` reads the certificate.
//!
//! Both use a random 16-byte salt and IV.
//!
//! The key is encrypted by [`PrivateKey::to_encrypted_pkcs8_pem`] (scep-proto, which also
//! encrypts saved client trustpoints); [`ArchiveFile`] holds only the encrypted key and the
//! certificate, and its `Debug` prints neither.

use std::fmt;

use der::Encode;
use der::pem::{self, LineEnding};
use rand::CryptoRng;
use scep_proto::{Certificate, PrivateKey};

use crate::storage::{RecordKey, is_valid_archive_name};

mod pkcs12;

/// The largest rollover counter: `NNNNN` has five digits.
pub const MAX_ROLLOVER_COUNTER: u32 = 99_999;

/// The PBKDF2-HMAC-SHA256 iteration count of [`ArchiveParams::default`] (the 2023 OWASP
/// figure for this hash).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;

/// How an archive file is encoded (SPEC §3.1 `database_archive`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// Encrypted PKCS#8 key and certificate, PEM, file extension `.pem` (module docs).
    #[default]
    Pem,
    /// PKCS#12 PFX, file extension `.p12` (module docs; IOS `database archive pkcs12`).
    Pkcs12,
}

impl ArchiveFormat {
    /// The file extension, without the dot.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Pem => "pem",
            Self::Pkcs12 => "p12",
        }
    }
}

/// Which CA key an archive holds (C-19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArchiveGeneration {
    /// The CA's first key, archived at creation: `<name>.<ext>`.
    Creation,
    /// The key of the `n`th rollover generation, `1 ..= 99_999`: `<name>_NNNNN.<ext>`.
    Rollover(u32),
}

/// Why an archive could not be made. Nothing is written when export fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The CA name would not make a valid archive record name (see
    /// [`StoreError::InvalidKey`](crate::StoreError::InvalidKey)).
    #[error("CA name {name:?} cannot name an archive file")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The rollover counter is 0 or has more than five digits.
    #[error("rollover counter {counter} is outside 1..=99999")]
    CounterOutOfRange {
        /// The counter given.
        counter: u32,
    },
    /// The archive password is empty; C-19 archives only with a password.
    #[error("the archive password is empty")]
    EmptyPassword,
    /// [`ArchiveParams::pbkdf2_iterations`] is below
    /// [`PrivateKey::MIN_PBKDF2_ITERATIONS`].
    #[error("{iterations} PBKDF2 iterations is below the minimum of {min}", min = PrivateKey::MIN_PBKDF2_ITERATIONS)]
    TooFewIterations {
        /// The count given.
        iterations: u32,
    },
    /// A PKCS#12 archive password that is not UTF-8 text (RFC 7292 B.1 turns it into a
    /// BMPString).
    #[error("the archive password is not UTF-8 text")]
    PasswordNotText,
    /// The encryption or the PEM encoding failed.
    #[error("encrypting the CA key failed")]
    Encryption,
}

/// The file name of an archive: `<ca_name>.<ext>` or `<ca_name>_NNNNN.<ext>` (C-19).
///
/// # Errors
/// [`ArchiveError::CounterOutOfRange`] for a rollover counter outside `1 ..= 99_999`;
/// [`ArchiveError::InvalidName`] if the result is not a valid archive record name.
pub fn archive_file_name(
    ca_name: &str,
    generation: ArchiveGeneration,
    format: ArchiveFormat,
) -> Result<String, ArchiveError> {
    let ext = format.extension();
    let name = match generation {
        ArchiveGeneration::Creation => format!("{ca_name}.{ext}"),
        ArchiveGeneration::Rollover(n) if (1..=MAX_ROLLOVER_COUNTER).contains(&n) => {
            format!("{ca_name}_{n:05}.{ext}")
        }
        ArchiveGeneration::Rollover(counter) => {
            return Err(ArchiveError::CounterOutOfRange { counter });
        }
    };
    // The CA name itself must be a plain name too: no dots that could fake an extension.
    let ca_name_ok = ca_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ca_name_ok && is_valid_archive_name(&name) {
        Ok(name)
    } else {
        Err(ArchiveError::InvalidName {
            name: ca_name.to_owned(),
        })
    }
}

/// Settings of an export; [`ArchiveParams::default`] is what the CA uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveParams {
    /// The file format.
    pub format: ArchiveFormat,
    /// PBKDF2-HMAC-SHA256 iterations ([`DEFAULT_PBKDF2_ITERATIONS`]); tests may lower it,
    /// down to [`PrivateKey::MIN_PBKDF2_ITERATIONS`].
    pub pbkdf2_iterations: u32,
}

impl Default for ArchiveParams {
    fn default() -> Self {
        Self {
            format: ArchiveFormat::Pem,
            pbkdf2_iterations: DEFAULT_PBKDF2_ITERATIONS,
        }
    }
}

impl ArchiveParams {
    /// Encrypts `key` with `password` and bundles it with `cert` into the archive file for
    /// `ca_name` and `generation`. Salt and IV come from `rng`.
    ///
    /// # Errors
    /// See [`ArchiveError`]; the file name is checked first, then the password and the
    /// iteration count.
    pub fn export<R: CryptoRng + ?Sized>(
        &self,
        ca_name: &str,
        generation: ArchiveGeneration,
        key: &PrivateKey,
        cert: &Certificate,
        password: &[u8],
        rng: &mut R,
    ) -> Result<ArchiveFile, ArchiveError> {
        let name = archive_file_name(ca_name, generation, self.format)?;
        if password.is_empty() {
            return Err(ArchiveError::EmptyPassword);
        }
        if self.pbkdf2_iterations < PrivateKey::MIN_PBKDF2_ITERATIONS {
            return Err(ArchiveError::TooFewIterations {
                iterations: self.pbkdf2_iterations,
            });
        }
        let cert_der = cert.to_der().map_err(|_| ArchiveError::Encryption)?;
        let iterations = self.pbkdf2_iterations;
        let contents = match self.format {
            ArchiveFormat::Pem => {
                let mut contents = key
                    .to_encrypted_pkcs8_pem(password, iterations, rng)
                    .map_err(|_| ArchiveError::Encryption)?;
                let cert_pem = pem::encode_string("CERTIFICATE", LineEnding::LF, &cert_der)
                    .map_err(|_| ArchiveError::Encryption)?;
                contents.push_str(&cert_pem);
                contents.into_bytes()
            }
            ArchiveFormat::Pkcs12 => {
                let text =
                    core::str::from_utf8(password).map_err(|_| ArchiveError::PasswordNotText)?;
                let encrypted = key
                    .to_encrypted_pkcs8_der(password, iterations, rng)
                    .map_err(|_| ArchiveError::Encryption)?;
                pkcs12::pfx(&encrypted, &cert_der, ca_name, text, iterations, rng)
                    .ok_or(ArchiveError::Encryption)?
            }
        };
        Ok(ArchiveFile { name, contents })
    }
}

/// [`ArchiveParams::default`]`.export(..)`: the one call the CA needs (C-19).
///
/// # Errors
/// As [`ArchiveParams::export`].
pub fn export_archive<R: CryptoRng + ?Sized>(
    ca_name: &str,
    generation: ArchiveGeneration,
    key: &PrivateKey,
    cert: &Certificate,
    password: &[u8],
    rng: &mut R,
) -> Result<ArchiveFile, ArchiveError> {
    ArchiveParams::default().export(ca_name, generation, key, cert, password, rng)
}

/// One archive file, ready to store: its name (C-19) and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    name: String,
    contents: Vec<u8>,
}

impl ArchiveFile {
    /// The file name, e.g. `ROOTCA.pem` or `ROOTCA_00001.pem`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's bytes (the key in them is encrypted).
    #[must_use]
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    /// The store record to keep it in: [`RecordKey::Archive`] with [`ArchiveFile::name`].
    #[must_use]
    pub fn record_key(&self) -> RecordKey {
        RecordKey::Archive(self.name.clone())
    }
}

impl fmt::Debug for ArchiveFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveFile")
            .field("name", &self.name)
            .field("len", &self.contents.len())
            .finish()
    }
}
