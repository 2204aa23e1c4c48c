//! What CAs and clients ask of a [`Certificate`] beyond its fields: its validity as numbers and
//! whether an issuer's key signed it (the chain check of C-8 and K-17).

use der::Encode;

use crate::algorithms::Profile;
use crate::error::{Error, Layer, Result};
use crate::ident::Certificate;
use crate::key::PublicKey;
use crate::scheme::SignatureScheme;

/// A certificate's validity period in whole seconds since the Unix epoch (RFC 5280 §4.1.2.5,
/// UTCTime and GeneralizedTime alike). This crate keeps no clock: timer crates build their own
/// time types from these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertValidity {
    /// notBefore.
    pub not_before: u64,
    /// notAfter.
    pub not_after: u64,
}

impl CertValidity {
    /// The validity of `cert`, as encoded (an empty or reversed period is returned as is).
    pub fn of(cert: &Certificate) -> Self {
        let v = cert.tbs_certificate().validity();
        Self {
            not_before: v.not_before.to_unix_duration().as_secs(),
            not_after: v.not_after.to_unix_duration().as_secs(),
        }
    }
}

impl PublicKey {
    /// The subject public key of `cert` (S-39 size checked).
    ///
    /// # Errors
    /// As [`PublicKey::from_spki`].
    pub fn from_certificate(cert: &Certificate) -> Result<Self> {
        Self::from_spki(cert.tbs_certificate().subject_public_key_info())
    }

    /// Checks that this key signed `cert`: a `<digest>WithRSAEncryption` signature over the
    /// tbsCertificate (MD5 only when `profile` allows legacy algorithms, S-38), or an
    /// RSASSA-PSS one with parameters the policy of [`crate::SignatureScheme`] accepts.
    ///
    /// This is the signature alone: names, validity and extensions are the caller's to judge.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for another signature algorithm,
    /// [`Error::LegacyAlgorithmDisabled`] for MD5 under a strict profile,
    /// [`Error::PssParameters`] for refused PSS parameters,
    /// [`Error::SignatureInvalid`] when the signature does not verify.
    pub fn verify_certificate(&self, cert: &Certificate, profile: &Profile) -> Result<()> {
        let layer = Layer::Certificates;
        let scheme = SignatureScheme::from_algorithm(cert.signature_algorithm(), profile, layer)?;
        let tbs = cert
            .tbs_certificate()
            .to_der()
            .map_err(|_| Error::Encode { layer })?;
        let signature = cert.signature().as_bytes().ok_or(Error::SignatureInvalid)?;
        self.verify_scheme(scheme, &tbs, signature)
    }
}

#[cfg(test)]
mod tests {
    use der::Decode;
    use rand::SeedableRng;
    use x509_cert::name::Name;

    use super::*;
    use crate::error::AlgRole;
    use crate::{DigestAlg, PrivateKey, SelfSigned};

    fn key(seed: u64) -> PrivateKey {
        PrivateKey::generate(1024, &mut rand::rngs::StdRng::seed_from_u64(seed)).unwrap()
    }

    fn self_signed(key: &PrivateKey, digest: DigestAlg, nb: u64, na: u64) -> Certificate {
        let subject: Name = "CN=cert test".parse().unwrap();
        let mut params = SelfSigned::new(subject, vec![7], nb, na);
        params.digest = digest;
        params
            .build(key, &mut rand::rngs::StdRng::seed_from_u64(1))
            .unwrap()
    }

    #[test]
    fn validity_reads_utc_and_generalized_times() {
        let k = key(1);
        // 2049 is UTCTime, 2050 and later GeneralizedTime (RFC 5280 §4.1.2.5).
        let (nb, na) = (2_524_607_999, 2_556_143_999);
        let c = self_signed(&k, DigestAlg::Sha256, nb, na);
        assert_eq!(
            CertValidity::of(&c),
            CertValidity {
                not_before: nb,
                not_after: na
            }
        );
        let fixture = Certificate::from_der(include_bytes!("../tests/data/keys/ca.der")).unwrap();
        let v = CertValidity::of(&fixture);
        assert!(v.not_before < v.not_after);
    }

    #[test]
    fn s38_certificate_signature_under_the_issuer_key_only() {
        let (issuer, other) = (key(1), key(2));
        let cert = self_signed(&issuer, DigestAlg::Sha256, 1_000_000, 2_000_000);
        let strict = Profile::STRICT;
        issuer
            .public_key()
            .verify_certificate(&cert, &strict)
            .unwrap();
        PublicKey::from_certificate(&cert)
            .unwrap()
            .verify_certificate(&cert, &strict)
            .unwrap();
        assert_eq!(
            other.public_key().verify_certificate(&cert, &strict),
            Err(Error::SignatureInvalid)
        );
        // MD5 needs the legacy profile.
        let md5 = self_signed(&issuer, DigestAlg::Md5, 1_000_000, 2_000_000);
        assert_eq!(
            issuer.public_key().verify_certificate(&md5, &strict),
            Err(Error::LegacyAlgorithmDisabled {
                layer: Layer::Certificates,
                role: AlgRole::Signature
            })
        );
        issuer
            .public_key()
            .verify_certificate(&md5, &Profile::LEGACY)
            .unwrap();
    }

    #[test]
    fn tampered_tbs_or_unknown_algorithm_is_refused() {
        let issuer = key(3);
        let cert = self_signed(&issuer, DigestAlg::Sha256, 1_000_000, 2_000_000);
        let mut der = cert.to_der().unwrap();
        // The serial's one content octet (7) sits inside the tbsCertificate.
        let at = der
            .windows(3)
            .position(|w| w == [0x02, 0x01, 0x07])
            .unwrap()
            + 2;
        der[at] = 8;
        let tampered = Certificate::from_der(&der).unwrap();
        assert_eq!(
            issuer
                .public_key()
                .verify_certificate(&tampered, &Profile::STRICT),
            Err(Error::SignatureInvalid)
        );
        let mut der = cert.to_der().unwrap();
        let sha256_rsa = crate::oid::SHA256_WITH_RSA.to_der().unwrap();
        let pss = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10")
            .to_der()
            .unwrap();
        let outer = der
            .windows(sha256_rsa.len())
            .rposition(|w| w == sha256_rsa)
            .unwrap();
        der[outer..outer + pss.len()].copy_from_slice(&pss);
        let odd = Certificate::from_der(&der).unwrap();
        assert!(matches!(
            issuer
                .public_key()
                .verify_certificate(&odd, &Profile::STRICT),
            Err(Error::PssParameters {
                problem: crate::PssProblem::ParametersMissing,
                ..
            })
        ));
    }
}
