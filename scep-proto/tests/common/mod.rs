//! Shared test helpers: committed keys and certificates, a seeded RNG.
// Test-only helpers: failing loudly on a missing fixture is the point.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use der::Decode;
use rand::SeedableRng;
use scep_proto::{Certificate, PrivateKey};

pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn cert(rel: &str) -> Certificate {
    Certificate::from_der(&read(rel)).unwrap()
}

pub fn key(rel: &str) -> PrivateKey {
    PrivateKey::from_pkcs8_der(&read(rel)).unwrap()
}

pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// The committed test CA (tests/data/keys, see NOTES.md there).
pub fn ca() -> (Certificate, PrivateKey) {
    (cert("keys/ca.der"), key("keys/ca.key.der"))
}

/// The committed test client with a self-signed certificate.
pub fn client() -> (Certificate, PrivateKey) {
    (cert("keys/client.der"), key("keys/client.key.der"))
}

/// The committed rollover CA (same subject as `ca`, later notAfter).
pub fn ca_next() -> (Certificate, PrivateKey) {
    (cert("keys/ca_next.der"), key("keys/ca_next.key.der"))
}
