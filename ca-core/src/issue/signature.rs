//! Digests of RSA PKCS#1 v1.5 signatures (SPEC §3.1 `hash`, S-14, S-38).

use core::fmt;

use der::{asn1::Any, oid::ObjectIdentifier};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::error::IssueError;

const MD5_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4");
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const SHA224_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.14");

/// The digest of an RSA PKCS#1 v1.5 signature (`<digest>WithRSAEncryption`).
///
/// The CA signs with the configured `hash` (SPEC §3.1: SHA-256 by default; SHA-1, SHA-512;
/// MD5 only with `legacy_algorithms`, as the seed's IOS CA did). CSR signatures are accepted
/// with any of these (S-38).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// MD5 (`md5WithRSAEncryption`): legacy IOS only.
    Md5,
    /// SHA-1 (`sha1WithRSAEncryption`).
    Sha1,
    /// SHA-224 (`sha224WithRSAEncryption`), accepted in CSRs.
    Sha224,
    /// SHA-256 (`sha256WithRSAEncryption`), the default.
    #[default]
    Sha256,
    /// SHA-384 (`sha384WithRSAEncryption`).
    Sha384,
    /// SHA-512 (`sha512WithRSAEncryption`).
    Sha512,
}

impl HashAlgorithm {
    /// The `<digest>WithRSAEncryption` signature algorithm OID (S-14).
    #[must_use]
    pub const fn signature_oid(self) -> ObjectIdentifier {
        match self {
            Self::Md5 => MD5_WITH_RSA,
            Self::Sha1 => SHA1_WITH_RSA,
            Self::Sha224 => SHA224_WITH_RSA,
            Self::Sha256 => SHA256_WITH_RSA,
            Self::Sha384 => SHA384_WITH_RSA,
            Self::Sha512 => SHA512_WITH_RSA,
        }
    }

    /// The digest of a `<digest>WithRSAEncryption` OID, `None` for anything else.
    #[must_use]
    pub fn from_signature_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [
            Self::Md5,
            Self::Sha1,
            Self::Sha224,
            Self::Sha256,
            Self::Sha384,
            Self::Sha512,
        ]
        .into_iter()
        .find(|h| h.signature_oid() == *oid)
    }

    /// Whether the digest is only allowed with `legacy_algorithms` (S-38: MD5).
    #[must_use]
    pub const fn is_legacy(self) -> bool {
        matches!(self, Self::Md5)
    }

    /// The name GetCACaps and the SPEC use (`SHA-256`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// `AlgorithmIdentifier` of the signature, parameters NULL (RFC 4055 section 5).
    pub(crate) fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.signature_oid(),
            parameters: Some(Any::null()),
        }
    }

    /// The same digest as scep-proto names it, whose digest and RSA implementations (the
    /// backend seam, [`scep_proto::PrivateKey`]) this type reuses.
    pub(crate) const fn as_digest_alg(self) -> scep_proto::DigestAlg {
        match self {
            Self::Md5 => scep_proto::DigestAlg::Md5,
            Self::Sha1 => scep_proto::DigestAlg::Sha1,
            Self::Sha224 => scep_proto::DigestAlg::Sha224,
            Self::Sha256 => scep_proto::DigestAlg::Sha256,
            Self::Sha384 => scep_proto::DigestAlg::Sha384,
            Self::Sha512 => scep_proto::DigestAlg::Sha512,
        }
    }

    /// Refuses a legacy digest unless `legacy_algorithms` is on.
    pub(crate) fn check_allowed(self, legacy_algorithms: bool) -> Result<Self, IssueError> {
        if self.is_legacy() && !legacy_algorithms {
            return Err(IssueError::LegacyAlgorithmRefused { hash: self });
        }
        Ok(self)
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the CA signs what it issues: the configured `hash` and the `legacy_algorithms` switch
/// (SPEC §3.1). MD5 is refused unless `legacy_algorithms` is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SignatureConfig {
    /// The digest of the CA's signatures (default SHA-256).
    pub hash: HashAlgorithm,
    /// Enables MD5 (and, elsewhere, DES-CBC).
    pub legacy_algorithms: bool,
}

impl SignatureConfig {
    /// Signs with `hash`, legacy algorithms off.
    #[must_use]
    pub const fn new(hash: HashAlgorithm) -> Self {
        Self {
            hash,
            legacy_algorithms: false,
        }
    }

    /// Sets the `legacy_algorithms` switch.
    #[must_use]
    pub const fn with_legacy_algorithms(mut self, on: bool) -> Self {
        self.legacy_algorithms = on;
        self
    }

    /// The digest to sign with, if the configuration allows it.
    pub(crate) fn checked_hash(self) -> Result<HashAlgorithm, IssueError> {
        self.hash.check_allowed(self.legacy_algorithms)
    }
}
