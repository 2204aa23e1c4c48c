//! Content-encryption and digest algorithms (SPEC S-14, S-37, S-38) and the strictness
//! profile that gates the legacy ones.

use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use core::fmt;

use der::asn1::{Any, ObjectIdentifier};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;

use crate::oid;

/// What a decoder accepts beyond the RFC 8894 mandatory set.
///
/// The default is strict: DES-CBC and MD5 are refused with a badAlg-class error
/// ([`crate::Error::LegacyAlgorithmDisabled`]). Turn `legacy_algorithms` on to read old peers
/// (micromdm answers with single DES; old IOS signs with MD5) (S-37, S-38).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// Accept DES-CBC content encryption and MD5 digests.
    pub legacy_algorithms: bool,
}

impl Profile {
    /// RFC 8894 algorithms only (the default).
    pub const STRICT: Self = Self {
        legacy_algorithms: false,
    };
    /// Also accept DES-CBC and MD5.
    pub const LEGACY: Self = Self {
        legacy_algorithms: true,
    };
}

/// Content-encryption algorithm of a pkcsPKIEnvelope (S-20, S-37).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentCipher {
    /// DES-CBC (legacy, [`Profile::legacy_algorithms`] only).
    Des,
    /// DES-EDE3-CBC.
    Des3,
    /// AES-128-CBC.
    Aes128,
    /// AES-192-CBC.
    Aes192,
    /// AES-256-CBC.
    Aes256,
}

impl ContentCipher {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Des,
        Self::Des3,
        Self::Aes128,
        Self::Aes192,
        Self::Aes256,
    ];

    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Des => oid::DES_CBC,
            Self::Des3 => oid::DES_EDE3_CBC,
            Self::Aes128 => oid::AES128_CBC,
            Self::Aes192 => oid::AES192_CBC,
            Self::Aes256 => oid::AES256_CBC,
        }
    }

    /// Looks an object identifier up; `None` for anything else.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Des => 8,
            Self::Des3 | Self::Aes192 => 24,
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// IV (block) length in bytes: 8 for DES/3DES, 16 for AES (S-20).
    pub fn iv_len(self) -> usize {
        match self {
            Self::Des | Self::Des3 => 8,
            Self::Aes128 | Self::Aes192 | Self::Aes256 => 16,
        }
    }

    /// True for algorithms that need [`Profile::legacy_algorithms`].
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::Des)
    }

    /// CBC encryption with PKCS #7 padding. `None` if key or IV length is wrong.
    pub(crate) fn encrypt(self, key: &[u8], iv: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        macro_rules! enc {
            ($c:ty) => {
                cbc::Encryptor::<$c>::new_from_slices(key, iv)
                    .ok()
                    .map(|e| e.encrypt_padded_vec::<Pkcs7>(plaintext))
            };
        }
        match self {
            Self::Des => enc!(des::Des),
            Self::Des3 => enc!(des::TdesEde3),
            Self::Aes128 => enc!(aes::Aes128),
            Self::Aes192 => enc!(aes::Aes192),
            Self::Aes256 => enc!(aes::Aes256),
        }
    }

    /// CBC decryption and PKCS #7 unpadding. `None` on a wrong key/IV length or bad padding.
    pub(crate) fn decrypt(self, key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        macro_rules! dec {
            ($c:ty) => {
                cbc::Decryptor::<$c>::new_from_slices(key, iv)
                    .ok()
                    .and_then(|d| d.decrypt_padded_vec::<Pkcs7>(ciphertext).ok())
            };
        }
        match self {
            Self::Des => dec!(des::Des),
            Self::Des3 => dec!(des::TdesEde3),
            Self::Aes128 => dec!(aes::Aes128),
            Self::Aes192 => dec!(aes::Aes192),
            Self::Aes256 => dec!(aes::Aes256),
        }
    }
}

/// Message digest algorithm (S-14, S-38).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// MD5 (legacy, [`Profile::legacy_algorithms`] only).
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlg {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 6] = [
        Self::Md5,
        Self::Sha1,
        Self::Sha224,
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
    ];

    /// The digest's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Md5 => oid::MD5,
            Self::Sha1 => oid::SHA1,
            Self::Sha224 => oid::SHA224,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// Looks a digest object identifier up; `None` for anything else.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == *oid)
    }

    /// The matching `<digest>WithRSAEncryption` signature algorithm identifier.
    pub fn rsa_signature_oid(self) -> ObjectIdentifier {
        match self {
            Self::Md5 => oid::MD5_WITH_RSA,
            Self::Sha1 => oid::SHA1_WITH_RSA,
            Self::Sha224 => oid::SHA224_WITH_RSA,
            Self::Sha256 => oid::SHA256_WITH_RSA,
            Self::Sha384 => oid::SHA384_WITH_RSA,
            Self::Sha512 => oid::SHA512_WITH_RSA,
        }
    }

    /// The `<digest>WithRSAEncryption` AlgorithmIdentifier, parameters NULL (RFC 4055 §5), as
    /// certificates, CRLs and requests carry it.
    pub fn rsa_signature_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.rsa_signature_oid(),
            parameters: Some(Any::null()),
        }
    }

    /// The digest named by a `<digest>WithRSAEncryption` identifier.
    pub fn from_rsa_signature_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.rsa_signature_oid() == *oid)
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// True for algorithms that need [`Profile::legacy_algorithms`].
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::Md5)
    }

    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => md5::Md5::digest(data).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// How the content-encryption key of an envelope is wrapped for its recipient (S-20).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyTransport {
    /// `rsaEncryption`: RSAES-PKCS1-v1_5 (what SCEP peers send by default).
    RsaPkcs1v15,
    /// `id-RSAES-OAEP` with SHA-1 and MGF1-SHA-1 (the default parameters; Windows, OpenSSL).
    RsaOaepSha1,
}

impl fmt::Display for ContentCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Des => "DES-CBC",
            Self::Des3 => "DES-EDE3-CBC",
            Self::Aes128 => "AES-128-CBC",
            Self::Aes192 => "AES-192-CBC",
            Self::Aes256 => "AES-256-CBC",
        })
    }
}

impl fmt::Display for DigestAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s14_oids_round_trip() {
        for c in [
            ContentCipher::Des,
            ContentCipher::Des3,
            ContentCipher::Aes128,
            ContentCipher::Aes192,
            ContentCipher::Aes256,
        ] {
            assert_eq!(ContentCipher::from_oid(&c.oid()), Some(c));
        }
        for d in [
            DigestAlg::Md5,
            DigestAlg::Sha1,
            DigestAlg::Sha224,
            DigestAlg::Sha256,
            DigestAlg::Sha384,
            DigestAlg::Sha512,
        ] {
            assert_eq!(DigestAlg::from_oid(&d.oid()), Some(d));
        }
        assert_eq!(ContentCipher::from_oid(&DigestAlg::Sha1.oid()), None);
    }

    #[test]
    fn s14_oid_strings() {
        assert_eq!(ContentCipher::Des3.oid().to_string(), "1.2.840.113549.3.7");
        assert_eq!(
            ContentCipher::Aes256.oid().to_string(),
            "2.16.840.1.101.3.4.1.42"
        );
        assert_eq!(
            DigestAlg::Sha512.oid().to_string(),
            "2.16.840.1.101.3.4.2.3"
        );
        assert_eq!(DigestAlg::Md5.oid().to_string(), "1.2.840.113549.2.5");
    }
}
