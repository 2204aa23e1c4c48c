//! A self-signed signer certificate over a CSR key (SPEC S-22, K-5): what a client signs its
//! initial PKCSReq with.

use std::time::Duration;

use der::asn1::{BitString, Uint};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::algorithms::DigestAlg;
use crate::error::{Argument, Error, Layer, Result};
use crate::ident::Certificate;

/// RFC 5280 §4.1 `Validity`.
///
/// ```text
/// Validity ::= SEQUENCE {
///     notBefore      Time,
///     notAfter       Time }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ValidityAsn1 {
    not_before: Time,
    not_after: Time,
}

/// RFC 5280 §4.1 `TBSCertificate` in its version 1 form (version field absent, no unique IDs,
/// no extensions).
///
/// ```text
/// TBSCertificate ::= SEQUENCE {
///     version         [0]  EXPLICIT Version DEFAULT v1,
///     serialNumber         CertificateSerialNumber,
///     signature            AlgorithmIdentifier,
///     issuer               Name,
///     validity             Validity,
///     subject              Name,
///     subjectPublicKeyInfo SubjectPublicKeyInfo, ... }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TbsCertificateV1 {
    serial_number: Uint,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: ValidityAsn1,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
}

/// RFC 5280 §4.1 `Certificate`.
///
/// ```text
/// Certificate ::= SEQUENCE {
///     tbsCertificate       TBSCertificate,
///     signatureAlgorithm   AlgorithmIdentifier,
///     signatureValue       BIT STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct CertificateV1 {
    tbs_certificate: TbsCertificateV1,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// Parameters of a self-signed signer certificate; finish with [`SelfSigned::build`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SelfSigned {
    /// Subject and issuer DN (the CSR subject, S-22).
    pub subject: Name,
    /// Serial number as unsigned big-endian bytes (1 … 20 bytes).
    pub serial: Vec<u8>,
    /// notBefore, Unix seconds (K-5: now − 1 h).
    pub not_before: u64,
    /// notAfter, Unix seconds (K-5: now + 1 day).
    pub not_after: u64,
    /// Signature digest (default SHA-256).
    pub digest: DigestAlg,
}

impl SelfSigned {
    /// Parameters with SHA-256.
    pub fn new(subject: Name, serial: Vec<u8>, not_before: u64, not_after: u64) -> Self {
        Self {
            subject,
            serial,
            not_before,
            not_after,
            digest: DigestAlg::Sha256,
        }
    }

    /// Signs a version 1 certificate over `key`'s public key with `key` itself.
    pub fn build<R: rand::CryptoRng + ?Sized>(
        self,
        key: &crate::key::PrivateKey,
        rng: &mut R,
    ) -> Result<Certificate> {
        let layer = Layer::Certificates;
        let enc = |_| Error::Encode { layer };
        if self.serial.is_empty() || self.serial.len() > 20 || self.not_after <= self.not_before {
            return Err(Error::InvalidArgument(Argument::Certificate));
        }
        let time = |secs: u64| {
            der::DateTime::from_unix_duration(Duration::from_secs(secs))
                .map(Time::from)
                .map_err(|_| Error::InvalidArgument(Argument::Certificate))
        };
        let spki = key.public_key_info()?;
        let alg = self.digest.rsa_signature_algorithm();
        let tbs = TbsCertificateV1 {
            serial_number: Uint::new(&self.serial).map_err(enc)?,
            signature: alg.clone(),
            issuer: self.subject.clone(),
            validity: ValidityAsn1 {
                not_before: time(self.not_before)?,
                not_after: time(self.not_after)?,
            },
            subject: self.subject,
            subject_public_key_info: spki,
        };
        let sig = key
            .sign(self.digest, &tbs.to_der().map_err(enc)?, rng)
            .map_err(|_| Error::Crypto { layer })?;
        let cert = CertificateV1 {
            tbs_certificate: tbs,
            signature_algorithm: alg,
            signature: BitString::from_bytes(&sig).map_err(enc)?,
        };
        Certificate::from_der(&cert.to_der().map_err(enc)?).map_err(enc)
    }
}
