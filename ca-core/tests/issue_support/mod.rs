//! Test code: shared helpers of the `issue_*` test binaries (keys, names, CSRs, instants).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::OnceLock;

use ca_core::issue::{
    CaCertParams, CaKey, IdentityParams, SignatureConfig, VerifiedCsr, identity_certificate,
    self_signed_ca_certificate,
};
use der::{Encode, asn1::BitString};
use pki_timers::{Duration, Instant, Validity};
use rand::{SeedableRng, rngs::StdRng};
use scep_proto::{CertValidity, Certificate, DigestAlg, PrivateKey};
use x509_cert::{
    attr::Attribute,
    ext::Extension,
    name::Name,
    request::{CertReq, CertReqInfo, ExtensionReq, Version},
};

/// 2026-01-01T00:00:00Z: the "now" of most tests.
pub(crate) const T0: Instant = Instant::from_unix(1_767_225_600);

/// The seed CA's issuer name (SPEC T-17).
pub(crate) fn ca_name() -> Name {
    Name::from_str("CN=RootCA,OU=TAC,O=Cisco").unwrap()
}

/// A name from its RFC 4514 string; `""` is the empty name.
pub(crate) fn name(s: &str) -> Name {
    if s.is_empty() {
        return <Name as der::Decode>::from_der(&[0x30, 0x00]).unwrap();
    }
    Name::from_str(s).unwrap()
}

/// A reproducible RNG for one test.
pub(crate) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Keys generated once per test binary from fixed seeds: index 0..4 are 1024-bit (fast),
/// 4..6 are 2048-bit (what the SPEC defaults to and pkilint sees).
pub(crate) fn key(i: usize) -> PrivateKey {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rng(0x5CE9);
        let mut keys: Vec<PrivateKey> = (0..4)
            .map(|_| PrivateKey::generate(1024, &mut rng).unwrap())
            .collect();
        keys.extend((0..2).map(|_| PrivateKey::generate(2048, &mut rng).unwrap()));
        keys
    })[i]
        .clone()
}

pub(crate) const SMALL_A: usize = 0;
pub(crate) const SMALL_B: usize = 1;
pub(crate) const SMALL_C: usize = 2;
pub(crate) const SMALL_D: usize = 3;
pub(crate) const BIG_A: usize = 4;
pub(crate) const BIG_B: usize = 5;

/// A CA certificate for `key` with the C-1 defaults at `T0`.
pub(crate) fn ca(key_index: usize) -> CaKey {
    let params = CaCertParams::new(ca_name(), T0);
    self_signed_ca_certificate(&params, key(key_index), &mut rng(1)).unwrap()
}

/// The validity of `cert` as timer values.
pub(crate) fn validity(cert: &Certificate) -> Validity {
    let v = CertValidity::of(cert);
    Validity::from_unix(v.not_before, v.not_after).unwrap()
}

/// An X.509 time as an instant.
pub(crate) fn instant(t: &x509_cert::time::Time) -> Instant {
    Instant::from_unix(t.to_unix_duration().as_secs())
}

/// A PKCS#10 request signed with `key` (RustCrypto's PKCS#1 v1.5 signer), with the given
/// extensionRequest extensions and extra attributes.
pub(crate) fn csr_der(
    key: &PrivateKey,
    subject: Name,
    extensions: Vec<Extension>,
    hash: DigestAlg,
) -> Vec<u8> {
    let mut info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: key.public_key_info().unwrap(),
        attributes: Default::default(),
    };
    if !extensions.is_empty() {
        let attr: Attribute = ExtensionReq(extensions).try_into().unwrap();
        info.attributes.insert(attr).unwrap();
    }
    sign_csr(key, info, hash)
}

pub(crate) fn sign_csr(key: &PrivateKey, info: CertReqInfo, hash: DigestAlg) -> Vec<u8> {
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let tbs = info.to_der().unwrap();
    // An independent signer (RustCrypto's `signature` traits), not the backend seam.
    let private =
        rsa::RsaPrivateKey::from_pkcs8_der(key.to_pkcs8_der().unwrap().as_bytes()).unwrap();
    let sig = match hash {
        DigestAlg::Md5 => SigningKey::<md5::Md5>::new(private).sign(&tbs).to_vec(),
        DigestAlg::Sha1 => SigningKey::<sha1::Sha1>::new(private).sign(&tbs).to_vec(),
        DigestAlg::Sha256 => SigningKey::<sha2::Sha256>::new(private).sign(&tbs).to_vec(),
        DigestAlg::Sha384 => SigningKey::<sha2::Sha384>::new(private).sign(&tbs).to_vec(),
        DigestAlg::Sha512 => SigningKey::<sha2::Sha512>::new(private).sign(&tbs).to_vec(),
        other => panic!("no test signer for {other}"),
    };
    CertReq {
        info,
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: hash.rsa_signature_oid(),
            parameters: Some(der::asn1::Any::null()),
        },
        signature: BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// An identity certificate for a plain CSR of `subject_key` (no extensionRequest).
pub(crate) fn identity(
    issuer: &CaKey,
    subject_key: usize,
    serial: u64,
    validity: Validity,
) -> Certificate {
    let csr = VerifiedCsr::from_der(
        &csr_der(
            &key(subject_key),
            name("CN=router1"),
            vec![],
            DigestAlg::Sha256,
        ),
        false,
    )
    .unwrap();
    identity_certificate(
        issuer,
        &csr,
        &IdentityParams::new(serial, validity),
        &mut rng(2),
    )
    .unwrap()
}

pub(crate) fn days(n: u64) -> Duration {
    Duration::from_days(n)
}

pub(crate) fn sig(hash: DigestAlg) -> SignatureConfig {
    SignatureConfig::new(hash)
}
