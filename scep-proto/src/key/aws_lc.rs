//! The aws-lc-rs backend (`aws-lc` feature). Each function returns `None` where aws-lc-rs
//! cannot do the operation (see the table in the parent module), and the caller falls back to
//! RustCrypto.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{
    KeyPair, KeySize, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self, RsaEncoding, RsaParameters, UnparsedPublicKey};

use crate::algorithms::{DigestAlg, KeyTransport};
use crate::scheme::PssParams;

/// The aws-lc objects of one private key, parsed once.
pub(super) struct Keys {
    sign: KeyPair,
    pkcs1: Pkcs1PrivateDecryptingKey,
    oaep: OaepPrivateDecryptingKey,
}

impl Keys {
    /// `None` for keys aws-lc refuses (under 2048 bits).
    pub(super) fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let sign = KeyPair::from_pkcs8(der).ok()?;
        let decrypt = PrivateDecryptingKey::from_pkcs8(der).ok()?;
        Some(Self {
            sign,
            pkcs1: Pkcs1PrivateDecryptingKey::new(decrypt.clone()).ok()?,
            oaep: OaepPrivateDecryptingKey::new(decrypt).ok()?,
        })
    }

    /// `None` for digests aws-lc cannot sign with (MD5, SHA-1, SHA-224).
    pub(super) fn sign(&self, digest: DigestAlg, message: &[u8]) -> Option<Result<Vec<u8>, ()>> {
        let encoding: &'static dyn RsaEncoding = match digest {
            DigestAlg::Sha256 => &signature::RSA_PKCS1_SHA256,
            DigestAlg::Sha384 => &signature::RSA_PKCS1_SHA384,
            DigestAlg::Sha512 => &signature::RSA_PKCS1_SHA512,
            DigestAlg::Md5 | DigestAlg::Sha1 | DigestAlg::Sha224 => return None,
        };
        let mut sig = vec![0u8; self.sign.public_modulus_len()];
        // aws-lc ignores the RNG argument (it blinds with its own).
        let rng = aws_lc_rs::rand::SystemRandom::new();
        Some(
            self.sign
                .sign(encoding, &rng, message, &mut sig)
                .map(|()| sig)
                .map_err(|_| ()),
        )
    }

    pub(super) fn decrypt(
        &self,
        transport: KeyTransport,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ()> {
        let mut out = vec![0u8; self.pkcs1.min_output_size()];
        let len = match transport {
            KeyTransport::RsaPkcs1v15 => self.pkcs1.decrypt(ciphertext, &mut out).map(|p| p.len()),
            KeyTransport::RsaOaepSha1 => self
                .oaep
                .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut out, None)
                .map(|p| p.len()),
        };
        match len {
            Ok(len) => {
                out.truncate(len);
                Ok(out)
            }
            Err(_) => {
                out.fill(0);
                Err(())
            }
        }
    }
}

/// Generates a key pair; `None` for sizes aws-lc does not generate. Returns the PKCS #8 DER
/// (for the RustCrypto form) and the parsed aws-lc objects.
pub(super) fn generate(bits: u32) -> Option<Result<(pkcs8::SecretDocument, Keys), ()>> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => return None,
    };
    Some((|| {
        let pair = KeyPair::generate(size).map_err(|_| ())?;
        let der = pair.as_der().map_err(|_| ())?;
        let doc = pkcs8::SecretDocument::try_from(der.as_ref()).map_err(|_| ())?;
        let keys = Keys::from_pkcs8(der.as_ref()).ok_or(())?;
        Ok((doc, keys))
    })())
}

/// `None` where aws-lc has no matching algorithm (MD5, SHA-224, SHA-384 under 2048 bits).
pub(super) fn verify(
    spki_der: &[u8],
    bits: u32,
    digest: DigestAlg,
    message: &[u8],
    sig: &[u8],
) -> Option<bool> {
    let params: &'static RsaParameters = match digest {
        DigestAlg::Sha1 => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlg::Sha256 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        DigestAlg::Sha384 if bits >= 2048 => &signature::RSA_PKCS1_2048_8192_SHA384,
        DigestAlg::Sha512 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        DigestAlg::Md5 | DigestAlg::Sha224 | DigestAlg::Sha384 => return None,
    };
    Some(
        UnparsedPublicKey::new(params, spki_der)
            .verify(message, sig)
            .is_ok(),
    )
}

/// RSASSA-PSS with MGF1 over the same hash. `None` (RustCrypto then) under 2048 bits, for a
/// salt other than the hash length (aws-lc-rs takes salt lengths as `'static` parameters
/// only), and for SHA-1.
pub(super) fn verify_pss(
    spki_der: &[u8],
    bits: u32,
    pss: PssParams,
    message: &[u8],
    sig: &[u8],
) -> Option<bool> {
    if !serves(bits) || usize::try_from(pss.salt_len).ok()? != pss.hash.output_len() {
        return None;
    }
    // The default salt length of these parameters is the digest length.
    let params: &'static RsaParameters = match pss.hash {
        DigestAlg::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
        DigestAlg::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
        DigestAlg::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
        DigestAlg::Md5 | DigestAlg::Sha1 | DigestAlg::Sha224 => return None,
    };
    Some(
        UnparsedPublicKey::new(params, spki_der)
            .verify(message, sig)
            .is_ok(),
    )
}

/// Whether aws-lc serves public-key operations of this size (2048 bits and up).
pub(super) fn serves(bits: u32) -> bool {
    bits >= 2048
}

/// `Some` if aws-lc accepts the SubjectPublicKeyInfo.
pub(super) fn check_public(spki_der: &[u8]) -> Option<()> {
    PublicEncryptingKey::from_der(spki_der).ok().map(|_| ())
}

/// `None` for keys under 2048 bits. aws-lc pads with its own RNG.
pub(super) fn encrypt(
    spki_der: &[u8],
    bits: u32,
    transport: KeyTransport,
    plaintext: &[u8],
) -> Option<Result<Vec<u8>, ()>> {
    if !serves(bits) {
        return None;
    }
    let public = PublicEncryptingKey::from_der(spki_der).ok()?;
    let mut out = vec![0u8; public.key_size_bytes()];
    let len = match transport {
        KeyTransport::RsaPkcs1v15 => Pkcs1PublicEncryptingKey::new(public)
            .and_then(|k| k.encrypt(plaintext, &mut out).map(|c| c.len())),
        KeyTransport::RsaOaepSha1 => OaepPublicEncryptingKey::new(public).and_then(|k| {
            k.encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
                .map(|c| c.len())
        }),
    };
    Some(
        len.map(|len| {
            out.truncate(len);
            out
        })
        .map_err(|_| ()),
    )
}
