//! RSA keys (S-39) and the CA's signing identity: its key and certificate.

use core::fmt;

use der::{Decode, Encode};
use pki_timers::Validity;
use rsa::{
    RsaPrivateKey,
    pkcs8::{DecodePrivateKey, SecretDocument},
    rand_core::CryptoRng,
};
use scep_proto::{PrivateKey, PublicKey};
use sha1::Digest as _;
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, SubjectKeyIdentifier},
    name::Name,
    spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned},
};

use super::{error::IssueError, hash::HashAlgorithm, time::certificate_validity};

/// The smallest RSA modulus accepted or generated, in bits (S-39).
pub const MIN_RSA_BITS: u32 = 1024;
/// The largest RSA modulus accepted or generated, in bits (S-39).
pub const MAX_RSA_BITS: u32 = 4096;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA private key of the CA, size-checked for issuance (S-39). It wraps the workspace's
/// RSA backend key ([`scep_proto::PrivateKey`], see [`RsaKey::private_key`]). `Debug` shows
/// the modulus size only, never key material.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaKey {
    inner: PrivateKey,
    bits: u32,
}

impl RsaKey {
    /// Decodes an unencrypted PKCS#8 RSA private key and checks its size (S-39).
    ///
    /// # Errors
    /// [`IssueError::InvalidPrivateKey`], [`IssueError::KeySizeOutOfRange`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, IssueError> {
        let inner =
            RsaPrivateKey::from_pkcs8_der(der).map_err(|_| IssueError::InvalidPrivateKey)?;
        Self::from_rsa(inner)
    }

    /// Wraps a backend key (e.g. one shared with scep-proto code), checking its size (S-39).
    ///
    /// # Errors
    /// [`IssueError::KeySizeOutOfRange`].
    pub fn new(key: PrivateKey) -> Result<Self, IssueError> {
        let bits = key.bits();
        check_bits(bits)?;
        Ok(Self { inner: key, bits })
    }

    /// The backend key, for scep-proto's signers and envelope opening.
    #[must_use]
    pub const fn private_key(&self) -> &PrivateKey {
        &self.inner
    }

    /// The key as unencrypted PKCS#8 DER (zeroised on drop), e.g. for the C-19 archive.
    ///
    /// # Errors
    /// [`IssueError::InvalidPrivateKey`] if the encoder fails.
    pub fn to_pkcs8_der(&self) -> Result<SecretDocument, IssueError> {
        self.inner
            .to_pkcs8_der()
            .map_err(|_| IssueError::InvalidPrivateKey)
    }

    /// Modulus length in bits.
    #[must_use]
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// The public key as a SubjectPublicKeyInfo (rsaEncryption, parameters NULL).
    ///
    /// # Errors
    /// [`IssueError::Encoding`] if the encoder fails.
    pub fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, IssueError> {
        self.inner
            .public_key_info()
            .map_err(|_| IssueError::InvalidPublicKey)
    }

    fn from_rsa(inner: RsaPrivateKey) -> Result<Self, IssueError> {
        let bits = rsa::traits::PublicKeyParts::n(&inner).bit_width();
        check_bits(bits)?;
        let key =
            PrivateKey::from_rsa(inner).map_err(|_| IssueError::KeySizeOutOfRange { bits })?;
        Self::new(key)
    }

    /// PKCS#1 v1.5 signature of `message` with `hash`; `rng` blinds the private-key operation.
    pub(crate) fn sign<R: CryptoRng + ?Sized>(
        &self,
        hash: HashAlgorithm,
        message: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, IssueError> {
        self.inner
            .sign(hash.as_digest_alg(), message, rng)
            .map_err(|_| IssueError::Signing)
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA key pair of `bits` bits (public exponent 65537) from `rng`.
///
/// SPEC §3.1 `key_bits`: 2048 by default, 1024–4096 accepted (S-39).
///
/// # Errors
/// [`IssueError::KeySizeOutOfRange`] before any work; [`IssueError::KeyGeneration`].
pub fn generate_rsa_key<R: CryptoRng + ?Sized>(
    bits: u32,
    rng: &mut R,
) -> Result<RsaKey, IssueError> {
    check_bits(bits)?;
    let key = PrivateKey::generate(bits, rng).map_err(|_| IssueError::KeyGeneration)?;
    RsaKey::new(key)
}

fn check_bits(bits: u32) -> Result<(), IssueError> {
    if (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(IssueError::KeySizeOutOfRange { bits })
    }
}

/// Modulus length of an rsaEncryption SubjectPublicKeyInfo.
fn rsa_modulus_bits(spki: &SubjectPublicKeyInfoOwned) -> Result<u32, IssueError> {
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(IssueError::UnsupportedKeyAlgorithm {
            oid: spki.algorithm.oid,
        });
    }
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(IssueError::InvalidPublicKey)?;
    let key = rsa::pkcs1::RsaPublicKeyRef::from_der(key_bytes)
        .map_err(|_| IssueError::InvalidPublicKey)?;
    let modulus = key.modulus.as_bytes();
    let Some(first) = modulus.first() else {
        return Err(IssueError::InvalidPublicKey);
    };
    u32::try_from(modulus.len())
        .ok()
        .and_then(|len| len.checked_mul(8))
        .and_then(|all| all.checked_sub(first.leading_zeros()))
        .ok_or(IssueError::InvalidPublicKey)
}

/// The RSA public key of a SubjectPublicKeyInfo, size-checked (S-39), and its bit length.
pub(crate) fn rsa_public_key(
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<(PublicKey, u32), IssueError> {
    let bits = rsa_modulus_bits(spki)?;
    check_bits(bits)?;
    let key = PublicKey::from_spki(spki).map_err(|_| IssueError::InvalidPublicKey)?;
    Ok((key, bits))
}

/// RFC 5280 4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING's bits, used for
/// the SubjectKeyIdentifier and, of the issuer, the AuthorityKeyIdentifier.
#[must_use]
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
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
    key: RsaKey,
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
    pub fn new(key: RsaKey, certificate: Certificate) -> Result<Self, IssueError> {
        let tbs = certificate.tbs_certificate();
        let cert_spki = tbs.subject_public_key_info();
        let key_spki = key.public_key_info()?;
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
        let validity = certificate_validity(&certificate)?;
        Ok(Self {
            key,
            certificate,
            key_id,
            validity,
        })
    }

    /// The CA's private key.
    #[must_use]
    pub const fn key(&self) -> &RsaKey {
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
            .field("serial", &format_args!("{}", tbs.serial_number()))
            .field("validity", &self.validity)
            .field("key", &self.key)
            .finish()
    }
}
