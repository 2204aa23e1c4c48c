//! Password-encrypted PKCS #8 (RFC 5958 `EncryptedPrivateKeyInfo`, PBES2 of RFC 8018 with
//! PBKDF2-HMAC-SHA256 and AES-256-CBC): how a CA archives its keys (C-19) and a client saves
//! its trustpoint, readable by `openssl pkey`.

use pkcs8::der::asn1::OctetString;
use pkcs8::der::pem::{self, LineEnding, PemLabel as _};
use pkcs8::der::{Decode, Encode, EncodePem};
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfoOwned, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};

use super::PrivateKey;
use crate::error::{Argument, DerProblem, Error, Layer, Result};

/// Length of the random PBKDF2 salt, in bytes.
const SALT_LEN: usize = 16;
/// The AES block, and so IV, length.
const IV_LEN: usize = 16;

impl PrivateKey {
    /// The fewest PBKDF2 iterations key encryption accepts (the floor of RFC 8018 §4.2).
    pub const MIN_PBKDF2_ITERATIONS: u32 = 1000;

    /// The key as a DER `EncryptedPrivateKeyInfo` under `password`: PBES2 with
    /// PBKDF2-HMAC-SHA256 over `pbkdf2_iterations` and AES-256-CBC. A 16-byte salt, then a
    /// 16-byte IV, are drawn from `rng`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ([`Argument::Pbkdf2Iterations`]) below
    /// [`PrivateKey::MIN_PBKDF2_ITERATIONS`]; [`Error::Encode`] if encoding fails.
    pub fn to_encrypted_pkcs8_der<R: rand::CryptoRng + ?Sized>(
        &self,
        password: &[u8],
        pbkdf2_iterations: u32,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        self.encrypted(password, pbkdf2_iterations, rng)?
            .to_der()
            .map_err(|_| encode_error())
    }

    /// [`PrivateKey::to_encrypted_pkcs8_der`] as an `ENCRYPTED PRIVATE KEY` PEM block (LF line
    /// endings).
    ///
    /// # Errors
    /// As [`PrivateKey::to_encrypted_pkcs8_der`].
    pub fn to_encrypted_pkcs8_pem<R: rand::CryptoRng + ?Sized>(
        &self,
        password: &[u8],
        pbkdf2_iterations: u32,
        rng: &mut R,
    ) -> Result<String> {
        self.encrypted(password, pbkdf2_iterations, rng)?
            .to_pem(LineEnding::LF)
            .map_err(|_| encode_error())
    }

    /// Decrypts a DER `EncryptedPrivateKeyInfo` (any PBES2 scheme the `pkcs5` crate reads)
    /// holding an RSA key (S-39 size checked).
    ///
    /// # Errors
    /// [`Error::Malformed`] (layer `PrivateKey`) if the bytes are not an
    /// `EncryptedPrivateKeyInfo`; [`Error::KeyDecryptionFailed`] if `password` does not open
    /// it; [`Error::UnsupportedKey`] if what it holds is not a usable RSA key.
    pub fn from_encrypted_pkcs8_der(der: &[u8], password: &[u8]) -> Result<Self> {
        let info = EncryptedPrivateKeyInfoRef::from_der(der)
            .map_err(|e| Error::malformed(Layer::PrivateKey, &e))?;
        Self::decrypted(info.decrypt(password))
    }

    /// Decrypts one `ENCRYPTED PRIVATE KEY` PEM block, as written by
    /// [`PrivateKey::to_encrypted_pkcs8_pem`].
    ///
    /// # Errors
    /// As [`PrivateKey::from_encrypted_pkcs8_der`]; anything but exactly one such block is
    /// [`Error::Malformed`].
    pub fn from_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Self> {
        let malformed = Error::Malformed {
            layer: Layer::PrivateKey,
            problem: DerProblem::Value,
        };
        let (label, der) = pem::decode_vec(pem.as_bytes()).map_err(|_| malformed)?;
        if label != EncryptedPrivateKeyInfoOwned::PEM_LABEL {
            return Err(malformed);
        }
        Self::from_encrypted_pkcs8_der(&der, password)
    }

    fn encrypted<R: rand::CryptoRng + ?Sized>(
        &self,
        password: &[u8],
        pbkdf2_iterations: u32,
        rng: &mut R,
    ) -> Result<EncryptedPrivateKeyInfoOwned> {
        if pbkdf2_iterations < Self::MIN_PBKDF2_ITERATIONS {
            return Err(Error::InvalidArgument(Argument::Pbkdf2Iterations));
        }
        let mut salt = [0u8; SALT_LEN];
        let mut iv = [0u8; IV_LEN];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut iv);
        let params =
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(pbkdf2_iterations, &salt, iv)
                .map_err(|_| encode_error())?;
        let plain = self.to_pkcs8_der()?;
        let ciphertext = params
            .encrypt(password, plain.as_bytes())
            .map_err(|_| encode_error())?;
        Ok(EncryptedPrivateKeyInfoOwned {
            encryption_algorithm: params.into(),
            encrypted_data: OctetString::new(ciphertext).map_err(|_| encode_error())?,
        })
    }

    /// The key inside a decrypted `EncryptedPrivateKeyInfo`. A wrong password can pass the
    /// padding check by chance; then the plaintext is not a `PrivateKeyInfo`, and that too is a
    /// decryption failure.
    fn decrypted(plain: pkcs8::Result<pkcs8::SecretDocument>) -> Result<Self> {
        let plain = plain.map_err(|_| Error::KeyDecryptionFailed)?;
        PrivateKeyInfoRef::from_der(plain.as_bytes()).map_err(|_| Error::KeyDecryptionFailed)?;
        Self::from_pkcs8_der(plain.as_bytes())
    }
}

fn encode_error() -> Error {
    Error::Encode {
        layer: Layer::PrivateKey,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::from_pkcs8_der(include_bytes!("../../tests/data/keys/client.key.der")).unwrap()
    }

    fn rng(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    #[test]
    fn c19_encrypted_pkcs8_round_trips_der_and_pem() {
        let key = key();
        let der = key
            .to_encrypted_pkcs8_der(b"pw", 1000, &mut rng(1))
            .unwrap();
        assert_eq!(
            PrivateKey::from_encrypted_pkcs8_der(&der, b"pw").unwrap(),
            key
        );
        let pem = key
            .to_encrypted_pkcs8_pem(b"pw", 1000, &mut rng(1))
            .unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{pem}"
        );
        assert!(!pem.contains('\r'));
        assert_eq!(
            PrivateKey::from_encrypted_pkcs8_pem(&pem, b"pw").unwrap(),
            key
        );
        // Same seed, same salt and IV: the PEM is the DER, armoured.
        let (label, body) = pem::decode_vec(pem.as_bytes()).unwrap();
        assert_eq!((label, body), ("ENCRYPTED PRIVATE KEY", der.clone()));
        // Salt and IV come from the RNG.
        assert_ne!(
            der,
            key.to_encrypted_pkcs8_der(b"pw", 1000, &mut rng(2))
                .unwrap()
        );
    }

    #[test]
    fn c19_wrong_password_junk_and_weak_parameters_are_typed_errors() {
        let key = key();
        let der = key
            .to_encrypted_pkcs8_der(b"pw", 1000, &mut rng(3))
            .unwrap();
        for wrong in [&b"pW"[..], b"", b"pw "] {
            assert_eq!(
                PrivateKey::from_encrypted_pkcs8_der(&der, wrong),
                Err(Error::KeyDecryptionFailed)
            );
        }
        assert!(matches!(
            PrivateKey::from_encrypted_pkcs8_der(b"junk", b"pw"),
            Err(Error::Malformed {
                layer: Layer::PrivateKey,
                ..
            })
        ));
        // An unencrypted key is not an encrypted one.
        let plain = key.to_pkcs8_der().unwrap();
        assert!(matches!(
            PrivateKey::from_encrypted_pkcs8_der(plain.as_bytes(), b"pw"),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            PrivateKey::from_encrypted_pkcs8_pem("-----BEGIN CERTIFICATE-----\n", b"pw"),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(
            key.to_encrypted_pkcs8_der(b"pw", PrivateKey::MIN_PBKDF2_ITERATIONS - 1, &mut rng(4)),
            Err(Error::InvalidArgument(Argument::Pbkdf2Iterations))
        );
    }
}
