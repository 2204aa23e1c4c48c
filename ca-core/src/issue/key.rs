//! The CA's signing identity (its key and certificate) and the key helpers of issuance. Keys
//! are scep-proto's [`PrivateKey`] (the RSA backend seam, S-39 sizes).

use core::fmt;

use der::Encode;
use pki_timers::Validity;
use rand::CryptoRng;
use scep_proto::{CertValidity, Certificate, DigestAlg, PrivateKey, PublicKey};
use x509_cert::{
    ext::pkix::{BasicConstraints, SubjectKeyIdentifier},
    name::Name,
    spki::SubjectPublicKeyInfoOwned,
};

use super::error::IssueError;

/// A key pair of `bits` bits for a CA generation (SPEC §3.1 `key_bits`, S-39).
///
/// # Errors
/// [`IssueError::KeySizeOutOfRange`] before any work; [`IssueError::KeyGeneration`].
pub(crate) fn generate_key<R: CryptoRng + ?Sized>(
    bits: u32,
    rng: &mut R,
) -> Result<PrivateKey, IssueError> {
    check_bits(bits)?;
    PrivateKey::generate(bits, rng).map_err(|_| IssueError::KeyGeneration)
}

/// `message` signed with `key` (PKCS#1 v1.5, `digest`); `rng` blinds the private operation.
pub(crate) fn sign<R: CryptoRng + ?Sized>(
    key: &PrivateKey,
    digest: DigestAlg,
    message: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, IssueError> {
    key.sign(digest, message, rng)
        .map_err(|_| IssueError::Signing)
}

fn check_bits(bits: u32) -> Result<(), IssueError> {
    if (PrivateKey::MIN_BITS..=PrivateKey::MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(IssueError::KeySizeOutOfRange { bits })
    }
}

/// The RSA public key of a SubjectPublicKeyInfo, size-checked (S-39), and its bit length.
pub(crate) fn rsa_public_key(
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<(PublicKey, u32), IssueError> {
    if spki.algorithm.oid != scep_proto::oids::RSA_ENCRYPTION {
        return Err(IssueError::UnsupportedKeyAlgorithm {
            oid: spki.algorithm.oid,
        });
    }
    let bits = PublicKey::modulus_bits(spki).map_err(|_| IssueError::InvalidPublicKey)?;
    check_bits(bits)?;
    let key = PublicKey::from_spki(spki).map_err(|_| IssueError::InvalidPublicKey)?;
    Ok((key, bits))
}

/// RFC 5280 4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING's bits, used for
/// the SubjectKeyIdentifier and, of the issuer, the AuthorityKeyIdentifier.
#[must_use]
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    DigestAlg::Sha1.digest(spki.subject_public_key.raw_bytes())
}

/// The serial number of `cert` as an integer (C-3 serials are positive 64-bit values).
///
/// # Errors
/// [`IssueError::SerialOutOfRange`] for zero, negative or wider serials.
pub fn certificate_serial(cert: &Certificate) -> Result<u64, IssueError> {
    let bytes = cert.tbs_certificate().serial_number().as_bytes();
    let mut value: u64 = 0;
    let mut seen = 0usize;
    for &b in bytes.iter().skip_while(|&&b| b == 0) {
        seen = seen.saturating_add(1);
        if seen > 8 {
            return Err(IssueError::SerialOutOfRange);
        }
        value = (value << 8) | u64::from(b);
    }
    if bytes.first().is_some_and(|&b| b >= 0x80) || value == 0 {
        return Err(IssueError::SerialOutOfRange);
    }
    Ok(value)
}

/// A CA's signing identity: its RSA key and the self-signed certificate of that key (C-1,
/// C-22). `Debug` shows the subject, serial and key size, never key material.
#[derive(Clone, PartialEq, Eq)]
pub struct CaKey {
    key: PrivateKey,
    certificate: Certificate,
    key_id: Vec<u8>,
    validity: Validity,
}

impl CaKey {
    /// Pairs `key` with its CA `certificate` (e.g. both loaded from the store).
    ///
    /// The key identifier is the certificate's SubjectKeyIdentifier, or the RFC 5280 method (1)
    /// value when it has none (seed IOS certificates carry one).
    ///
    /// # Errors
    /// [`IssueError::KeyMismatch`] when the certificate holds another public key;
    /// [`IssueError::InvalidCertificate`] when it is not a CA certificate (basicConstraints
    /// cA=TRUE) or its validity or SKI does not decode.
    pub fn new(key: PrivateKey, certificate: Certificate) -> Result<Self, IssueError> {
        let tbs = certificate.tbs_certificate();
        let cert_spki = tbs.subject_public_key_info();
        let key_spki = key
            .public_key_info()
            .map_err(|_| IssueError::InvalidPublicKey)?;
        if cert_spki.algorithm.oid != key_spki.algorithm.oid
            || cert_spki.subject_public_key != key_spki.subject_public_key
        {
            return Err(IssueError::KeyMismatch);
        }
        match tbs.get_extension::<BasicConstraints>() {
            Ok(Some((_, bc))) if bc.ca => {}
            _ => return Err(IssueError::InvalidCertificate),
        }
        let key_id = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
            Ok(None) => key_identifier(cert_spki),
            Err(_) => return Err(IssueError::InvalidCertificate),
        };
        let v = CertValidity::of(&certificate);
        let validity = Validity::from_unix(v.not_before, v.not_after)
            .map_err(|_| IssueError::InvalidCertificate)?;
        Ok(Self {
            key,
            certificate,
            key_id,
            validity,
        })
    }

    /// The CA's private key.
    #[must_use]
    pub const fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The CA certificate.
    #[must_use]
    pub const fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's subject, which is the issuer of everything it signs.
    #[must_use]
    pub fn subject(&self) -> &Name {
        self.certificate.tbs_certificate().subject()
    }

    /// The key identifier: the certificate's SKI, used as the AKI of what it issues.
    #[must_use]
    pub fn key_identifier(&self) -> &[u8] {
        &self.key_id
    }

    /// The CA certificate's validity `[nb, na]` (V-2).
    #[must_use]
    pub const fn validity(&self) -> Validity {
        self.validity
    }

    /// The CA certificate's DER.
    ///
    /// # Errors
    /// [`IssueError::Encoding`].
    pub fn certificate_der(&self) -> Result<Vec<u8>, IssueError> {
        self.certificate.to_der().map_err(IssueError::Encoding)
    }
}

impl fmt::Debug for CaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tbs = self.certificate.tbs_certificate();
        f.debug_struct("CaKey")
            .field("subject", &format_args!("{}", tbs.subject()))
            .field("serial", &SerialHex(tbs.serial_number().as_bytes()))
            .field("validity", &self.validity)
            .field("key", &self.key)
            .finish()
    }
}

/// A serial number as `01:A2:FF`, uppercase hex octets joined by colons.
struct SerialHex<'a>(&'a [u8]);

impl fmt::Debug for SerialHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}
