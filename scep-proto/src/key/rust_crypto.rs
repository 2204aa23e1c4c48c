//! The RustCrypto `rsa` backend: the default, and the fallback of the aws-lc one.

use rsa::pss::Pss;
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

use crate::algorithms::{DigestAlg, KeyTransport};
use crate::scheme::PssParams;

/// RSASSA-PKCS1-v1_5 padding with `digest`'s DigestInfo prefix.
fn scheme(digest: DigestAlg) -> Pkcs1v15Sign {
    match digest {
        DigestAlg::Md5 => Pkcs1v15Sign::new::<md5::Md5>(),
        DigestAlg::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        DigestAlg::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
        DigestAlg::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        DigestAlg::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        DigestAlg::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

pub(super) fn sign<R: rand::CryptoRng + ?Sized>(
    key: &RsaPrivateKey,
    digest: DigestAlg,
    message: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, ()> {
    key.sign_with_rng(rng, scheme(digest), &digest.digest(message))
        .map_err(|_| ())
}

pub(super) fn verify(key: &RsaPublicKey, digest: DigestAlg, message: &[u8], sig: &[u8]) -> bool {
    key.verify(scheme(digest), &digest.digest(message), sig)
        .is_ok()
}

/// RSASSA-PSS verification with MGF1 over the same hash and exactly `pss.salt_len` bytes of
/// salt. `false` for hashes the PSS policy never lets through (MD5, SHA-224).
pub(super) fn verify_pss(key: &RsaPublicKey, pss: PssParams, message: &[u8], sig: &[u8]) -> bool {
    let Ok(salt) = usize::try_from(pss.salt_len) else {
        return false;
    };
    let hashed = pss.hash.digest(message);
    match pss.hash {
        DigestAlg::Sha1 => key.verify(Pss::<sha1::Sha1>::new_with_salt(salt), &hashed, sig),
        DigestAlg::Sha256 => key.verify(Pss::<sha2::Sha256>::new_with_salt(salt), &hashed, sig),
        DigestAlg::Sha384 => key.verify(Pss::<sha2::Sha384>::new_with_salt(salt), &hashed, sig),
        DigestAlg::Sha512 => key.verify(Pss::<sha2::Sha512>::new_with_salt(salt), &hashed, sig),
        DigestAlg::Md5 | DigestAlg::Sha224 => return false,
    }
    .is_ok()
}

pub(super) fn decrypt<R: rand::CryptoRng + ?Sized>(
    key: &RsaPrivateKey,
    transport: KeyTransport,
    ciphertext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, ()> {
    match transport {
        KeyTransport::RsaPkcs1v15 => key.decrypt_blinded(rng, Pkcs1v15Encrypt, ciphertext),
        KeyTransport::RsaOaepSha1 => {
            key.decrypt_blinded(rng, Oaep::<sha1::Sha1>::new(), ciphertext)
        }
    }
    .map_err(|_| ())
}

pub(super) fn encrypt<R: rand::CryptoRng + ?Sized>(
    key: &RsaPublicKey,
    transport: KeyTransport,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, ()> {
    match transport {
        KeyTransport::RsaPkcs1v15 => key.encrypt(rng, Pkcs1v15Encrypt, plaintext),
        KeyTransport::RsaOaepSha1 => key.encrypt(rng, Oaep::<sha1::Sha1>::new(), plaintext),
    }
    .map_err(|_| ())
}
