//! How the CA signs what it issues (SPEC §3.1 `hash` and `legacy_algorithms`, S-14, S-38).

use scep_proto::DigestAlg;

use super::error::IssueError;

/// How the CA signs what it issues: the configured `hash` (SPEC §3.1: SHA-256 by default;
/// SHA-384, SHA-512; SHA-1 and MD5 only with `legacy_algorithms`, as the seed's IOS CA did)
/// and the `legacy_algorithms` switch. Signatures are RSA PKCS#1 v1.5 (`<digest>WithRSAEncryption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SignatureConfig {
    /// The digest of the CA's signatures (default SHA-256).
    pub hash: DigestAlg,
    /// Enables SHA-1 and MD5 for the CA's signatures (and, elsewhere, DES-CBC).
    pub legacy_algorithms: bool,
}

impl Default for SignatureConfig {
    /// SHA-256, legacy algorithms off.
    fn default() -> Self {
        Self::new(DigestAlg::Sha256)
    }
}

impl SignatureConfig {
    /// Signs with `hash`, legacy algorithms off.
    #[must_use]
    pub const fn new(hash: DigestAlg) -> Self {
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

    /// The digest to sign with, if the configuration allows it: the CA's own signatures use
    /// SHA-1 (like MD5) only with `legacy_algorithms`.
    pub(crate) fn checked_hash(self) -> Result<DigestAlg, IssueError> {
        if self.hash == DigestAlg::Sha1 && !self.legacy_algorithms {
            return Err(IssueError::LegacyAlgorithmRefused { hash: self.hash });
        }
        check_allowed(self.hash, self.legacy_algorithms)
    }
}

/// Refuses a legacy digest (MD5) unless `legacy_algorithms` is on (S-38).
pub(crate) fn check_allowed(
    hash: DigestAlg,
    legacy_algorithms: bool,
) -> Result<DigestAlg, IssueError> {
    if hash.is_legacy() && !legacy_algorithms {
        return Err(IssueError::LegacyAlgorithmRefused { hash });
    }
    Ok(hash)
}
