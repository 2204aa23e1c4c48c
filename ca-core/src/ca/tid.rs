//! C-12 (amended): transactionIDs that clients derive from their public key, and that
//! therefore belong to that key (a squatter cannot keep one from its owner).
//!
//! Derivations seen from real peers (the micromdm-2.1.0 golden captures): sscep sends the upper-case hex
//! of MD5 of the SubjectPublicKeyInfo DER, strongSwan the upper-case hex of SHA-1 of it,
//! micromdm's client the base64 of the first 20 bytes of SHA-256 of the RSAPublicKey DER. Our
//! own client and pyscep send random ones. Besides those, the lower- and upper-case hex of
//! MD5, SHA-1, SHA-256 and SHA-512 of both encodings are recognised.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use scep_proto::DigestAlg;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// The digests whose hex a client may use as its transactionID.
const DIGESTS: [DigestAlg; 4] = [
    DigestAlg::Md5,
    DigestAlg::Sha1,
    DigestAlg::Sha256,
    DigestAlg::Sha512,
];

/// Whether `tid` is one of the known derivations of `key` (C-12, amended).
pub(super) fn derived_from(tid: &str, key: &SubjectPublicKeyInfoOwned) -> bool {
    let bits = key.subject_public_key.raw_bytes();
    key.to_der().is_ok_and(|spki| from_encoding(tid, &spki)) || from_bits(tid, bits)
}

/// Whether `tid` derives from the subjectPublicKey BIT STRING contents alone (a signer key
/// stored without its algorithm).
pub(super) fn from_bits(tid: &str, bits: &[u8]) -> bool {
    if from_encoding(tid, bits) {
        return true;
    }
    // micromdm: base64 of SHA-256 truncated to 20 bytes.
    let digest = DigestAlg::Sha256.digest(bits);
    digest
        .get(..20)
        .is_some_and(|d| STANDARD.encode(d).as_bytes() == tid.as_bytes())
}

/// Whether the key of a stored CSR derives `tid`.
pub(super) fn csr_derives(tid: &str, csr_der: &[u8]) -> bool {
    CertReq::from_der(csr_der).is_ok_and(|r| derived_from(tid, &r.info.public_key))
}

/// Lower- or upper-case hex of one of [`DIGESTS`] of `encoding`.
fn from_encoding(tid: &str, encoding: &[u8]) -> bool {
    DIGESTS.iter().any(|alg| {
        let digest = alg.digest(encoding);
        let lower = super::records::hex(&digest);
        tid == lower || tid == lower.to_ascii_uppercase()
    })
}
