//! Algorithm identifiers used by SCEP: content ciphers (S-20, S-37) and digests (S-38).
//!
//! Only names and OIDs live here (SPEC S-14); the codec maps them to RustCrypto implementations.

use core::fmt;

use der::asn1::ObjectIdentifier;

/// OIDs of the algorithms below (SPEC S-14; SHA-224/384 from RFC 5758 / NIST CSOR).
mod oids {
    use der::asn1::ObjectIdentifier;

    pub(super) const DES_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.7");
    pub(super) const DES_EDE3_CBC: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
    pub(super) const AES_128_CBC: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
    pub(super) const AES_192_CBC: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.22");
    pub(super) const AES_256_CBC: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

    pub(super) const MD5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
    pub(super) const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    pub(super) const SHA224: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
    pub(super) const SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub(super) const SHA384: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub(super) const SHA512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// Content-encryption algorithm of a pkcsPKIEnvelope (SPEC S-20, S-37). All are CBC mode.
///
/// `Des` is legacy: decrypted only with `legacy_algorithms`, never chosen from capabilities.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentCipher {
    /// DES-CBC (legacy).
    Des,
    /// DES-EDE3-CBC, the `DES3` capability.
    Des3,
    /// AES-128-CBC, the `AES` capability.
    Aes128,
    /// AES-192-CBC.
    Aes192,
    /// AES-256-CBC.
    Aes256,
}

impl ContentCipher {
    /// The algorithm's object identifier (SPEC S-14).
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Des => oids::DES_CBC,
            Self::Des3 => oids::DES_EDE3_CBC,
            Self::Aes128 => oids::AES_128_CBC,
            Self::Aes192 => oids::AES_192_CBC,
            Self::Aes256 => oids::AES_256_CBC,
        }
    }

    /// The cipher named by `oid`, or `None` for an OID this crate does not know.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [
            Self::Des,
            Self::Des3,
            Self::Aes128,
            Self::Aes192,
            Self::Aes256,
        ]
        .into_iter()
        .find(|c| c.oid() == *oid)
    }
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

/// Message digest algorithm of a SignedData (SPEC S-17, S-38).
///
/// `Md5` is legacy: accepted only with `legacy_algorithms`, never chosen from capabilities.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// MD5 (legacy).
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
    /// The algorithm's object identifier (SPEC S-14).
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Md5 => oids::MD5,
            Self::Sha1 => oids::SHA1,
            Self::Sha224 => oids::SHA224,
            Self::Sha256 => oids::SHA256,
            Self::Sha384 => oids::SHA384,
            Self::Sha512 => oids::SHA512,
        }
    }

    /// The digest named by `oid`, or `None` for an OID this crate does not know.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [
            Self::Md5,
            Self::Sha1,
            Self::Sha224,
            Self::Sha256,
            Self::Sha384,
            Self::Sha512,
        ]
        .into_iter()
        .find(|d| d.oid() == *oid)
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
