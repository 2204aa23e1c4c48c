//! The committed 2048-bit test identities (`scep-proto/tests/data/keys/`) the criterion benches
//! share: a CA, its rollover CA and a client, each certificate with its PKCS #8 key, and the
//! client's CSR.

use der::Decode as _;
use scep_proto::{Certificate, PrivateKey};

const KEYS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scep-proto/tests/data/keys/"
);

/// The bytes of `name` in the keys folder (e.g. `client.csr.der`).
///
/// # Errors
/// The read error, with the file name.
pub fn load(name: &str) -> Result<Vec<u8>, String> {
    std::fs::read(format!("{KEYS}{name}")).map_err(|e| format!("{name}: {e}"))
}

/// A certificate and its private key.
pub struct Party {
    /// `<name>.der`.
    pub cert: Certificate,
    /// `<name>.key.der`.
    pub key: PrivateKey,
}

/// `ca`, `ca_next` or `client`.
///
/// # Errors
/// A missing or undecodable file, named.
pub fn party(name: &str) -> Result<Party, String> {
    let cert = Certificate::from_der(&load(&format!("{name}.der"))?)
        .map_err(|e| format!("{name}.der: {e}"))?;
    let key = PrivateKey::from_pkcs8_der(&load(&format!("{name}.key.der"))?)
        .map_err(|e| format!("{name}.key.der: {e}"))?;
    Ok(Party { cert, key })
}
