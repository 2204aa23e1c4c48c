//! The pkcsPKIEnvelope: RFC 5652 §6 `EnvelopedData` with one key-transport recipient
//! (SPEC S-20, S-37).
//!
//! ```text
//! EnvelopedData ::= SEQUENCE {
//!     version CMSVersion,
//!     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//!     recipientInfos RecipientInfos,
//!     encryptedContentInfo EncryptedContentInfo,
//!     unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
//!
//! KeyTransRecipientInfo ::= SEQUENCE {
//!     version CMSVersion,  -- always set to 0 or 2
//!     rid RecipientIdentifier,
//!     keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!     encryptedKey EncryptedKey }
//!
//! EncryptedContentInfo ::= SEQUENCE {
//!     contentType ContentType,
//!     contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
//!     encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
//! ```

use std::borrow::Cow;

use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EncryptedContentInfo, OriginatorInfo};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged as _};
use spki::AlgorithmIdentifierOwned;

use crate::algorithms::{ContentCipher, KeyTransport, Profile};
use crate::ber::{children, read_tlv, to_der, write_tlv};
use crate::error::{AlgRole, DerProblem, Error, Field, Layer, LimitKind, Result};
use crate::ident::{CertId, CertIdAsn1, Certificate, IssuerAndSerialNumber};
use crate::key::PrivateKey;
use crate::oid;
use crate::signed::rsa_public_key;

/// RFC 5652 §6.1 `EnvelopedData`; RecipientInfos are kept as `Any` and decoded one by one.
///
/// ```text
/// EnvelopedData ::= SEQUENCE {
///     version CMSVersion,
///     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
///     recipientInfos RecipientInfos,
///     encryptedContentInfo EncryptedContentInfo,
///     unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EnvelopedDataAsn1 {
    pub(crate) version: CmsVersion,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) originator_info: Option<OriginatorInfo>,
    pub(crate) recip_infos: SetOfVec<Any>,
    pub(crate) encrypted_content: EncryptedContentInfo,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) unprotected_attrs: Option<SetOfVec<Any>>,
}

/// RFC 5652 §6.2.1 `KeyTransRecipientInfo`.
///
/// ```text
/// KeyTransRecipientInfo ::= SEQUENCE {
///     version CMSVersion,  -- always set to 0 or 2
///     rid RecipientIdentifier,
///     keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
///     encryptedKey EncryptedKey }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct KeyTransRecipientInfoAsn1 {
    pub(crate) version: CmsVersion,
    pub(crate) rid: CertIdAsn1,
    pub(crate) key_enc_alg: AlgorithmIdentifierOwned,
    pub(crate) enc_key: OctetString,
}

/// Most RecipientInfos accepted in one envelope.
const MAX_RECIPIENTS: usize = 4;

/// One key-transport recipient of an [`Envelope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// Which certificate the content key was encrypted to (`rid`); the caller picks the
    /// matching private key (C-6).
    pub id: CertId,
    /// How the content key is wrapped.
    pub key_transport: KeyTransport,
    encrypted_key: Vec<u8>,
}

/// A parsed, still encrypted pkcsPKIEnvelope (S-20).
///
/// Opening is the second step of S-17 … S-21: read [`Envelope::recipients`], choose the
/// private key, then [`Envelope::decrypt`].
#[derive(Clone, Debug)]
pub struct Envelope {
    recipients: Vec<Recipient>,
    cipher: ContentCipher,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn bad(layer: Layer, problem: DerProblem) -> Error {
    Error::Malformed { layer, problem }
}

/// Key transport algorithm from its identifier (RSAES-OAEP accepted with SHA-1 defaults only).
fn key_transport_of(alg: &AlgorithmIdentifierOwned) -> Result<KeyTransport> {
    let unsupported = Error::UnsupportedAlgorithm {
        layer: Layer::RecipientInfo,
        role: AlgRole::KeyTransport,
    };
    if alg.oid == oid::RSA_ENCRYPTION {
        return Ok(KeyTransport::RsaPkcs1v15);
    }
    if alg.oid != oid::RSAES_OAEP {
        return Err(unsupported);
    }
    let Some(params) = &alg.parameters else {
        return Ok(KeyTransport::RsaOaepSha1);
    };
    if params.tag() == Tag::Null {
        return Ok(KeyTransport::RsaOaepSha1);
    }
    if params.tag() != Tag::Sequence {
        return Err(unsupported);
    }
    // RSAES-OAEP-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1,
    //   maskGenAlgorithm [1] DEFAULT mgf1SHA1, pSourceAlgorithm [2] DEFAULT pSpecifiedEmpty }
    for field in children(params.value(), Layer::RecipientInfo)? {
        let Some((inner, _)) = read_tlv(field.value, Layer::RecipientInfo).ok() else {
            return Err(unsupported);
        };
        let ai = AlgorithmIdentifierOwned::from_der(inner.raw).map_err(|_| unsupported)?;
        let ok = match field.tag {
            0xa0 => ai.oid == oid::SHA1,
            0xa1 => {
                ai.oid == oid::MGF1
                    && ai
                        .parameters
                        .as_ref()
                        .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                        .is_some_and(|h| h.oid == oid::SHA1)
            }
            _ => false, // a non-empty label is not used by SCEP peers
        };
        if !ok {
            return Err(unsupported);
        }
    }
    Ok(KeyTransport::RsaOaepSha1)
}

/// micromdm writes `encryptedContent [0] IMPLICIT OCTET STRING` in constructed form (a `[0]`
/// holding OCTET STRING segments). Given the DER of `ContentInfo{EnvelopedData}`, rewrite that
/// one element to its primitive form, leaving every other byte as is.
fn flatten_encrypted_content(der: &[u8]) -> Result<Cow<'_, [u8]>> {
    let layer = Layer::EnvelopedData;
    let (ci, _) = read_tlv(der, Layer::ContentInfo)?;
    let ci_kids = children(ci.value, Layer::ContentInfo)?;
    let Some(explicit) = ci_kids.get(1) else {
        return Ok(Cow::Borrowed(der));
    };
    let Some(env) = children(explicit.value, layer)?.into_iter().next() else {
        return Ok(Cow::Borrowed(der));
    };
    let env_kids = children(env.value, layer)?;
    // version, [0] originatorInfo?, recipientInfos SET, encryptedContentInfo SEQUENCE, …
    let Some((eci_index, eci)) = env_kids
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, t)| t.tag == 0x30)
    else {
        return Ok(Cow::Borrowed(der));
    };
    let eci_kids = children(eci.value, Layer::EncryptedContent)?;
    let Some(content) = eci_kids.get(2) else {
        return Ok(Cow::Borrowed(der));
    };
    if content.tag != 0xa0 {
        return Ok(Cow::Borrowed(der));
    }
    let mut joined = Vec::new();
    for seg in children(content.value, Layer::EncryptedContent)? {
        if seg.tag != 0x04 {
            return Err(bad(Layer::EncryptedContent, DerProblem::Tag));
        }
        joined.extend_from_slice(seg.value);
    }
    // Rebuild bottom-up.
    let mut eci_value = Vec::new();
    for (i, kid) in eci_kids.iter().enumerate() {
        if i == 2 {
            write_tlv(&mut eci_value, 0x80, &joined);
        } else {
            eci_value.extend_from_slice(kid.raw);
        }
    }
    let mut env_value = Vec::new();
    for (i, kid) in env_kids.iter().enumerate() {
        if i == eci_index {
            write_tlv(&mut env_value, 0x30, &eci_value);
        } else {
            env_value.extend_from_slice(kid.raw);
        }
    }
    let mut env_der = Vec::new();
    write_tlv(&mut env_der, env.tag, &env_value);
    let mut explicit_der = Vec::new();
    write_tlv(&mut explicit_der, explicit.tag, &env_der);
    let mut ci_value = Vec::new();
    for (i, kid) in ci_kids.iter().enumerate() {
        if i == 1 {
            ci_value.extend_from_slice(&explicit_der);
        } else {
            ci_value.extend_from_slice(kid.raw);
        }
    }
    let mut out = Vec::new();
    write_tlv(&mut out, ci.tag, &ci_value);
    Ok(Cow::Owned(out))
}

impl Envelope {
    /// Parses the DER/BER of `ContentInfo{EnvelopedData}` (the eContent of a pkiMessage).
    /// Accepts EnvelopedData version 0 or 1 (pyscep), a constructed `encryptedContent`
    /// (micromdm), and refuses DES-CBC unless `profile` allows legacy algorithms.
    pub fn from_der(input: &[u8], profile: &Profile) -> Result<Self> {
        let der = to_der(input, Layer::EnvelopedData)?;
        let der = flatten_encrypted_content(&der)?;
        let ci =
            ContentInfo::from_der(&der).map_err(|e| Error::malformed(Layer::ContentInfo, &e))?;
        if ci.content_type != oid::ID_ENVELOPED_DATA {
            return Err(Error::UnexpectedContentType {
                layer: Layer::EncapsulatedContent,
            });
        }
        let env = ci
            .content
            .decode_as::<EnvelopedDataAsn1>()
            .map_err(|e| Error::malformed(Layer::EnvelopedData, &e))?;
        if env.recip_infos.len() > MAX_RECIPIENTS {
            return Err(Error::Limit(LimitKind::RecipientInfos));
        }
        let mut recipients = Vec::new();
        // Only KeyTransRecipientInfo (a plain SEQUENCE); the tagged choices are skipped.
        for ri in env.recip_infos.iter().filter(|a| a.tag() == Tag::Sequence) {
            {
                let k: KeyTransRecipientInfoAsn1 = ri
                    .decode_as()
                    .map_err(|e| Error::malformed(Layer::RecipientInfo, &e))?;
                recipients.push(Recipient {
                    id: CertId::from_asn1(&k.rid),
                    key_transport: key_transport_of(&k.key_enc_alg)?,
                    encrypted_key: k.enc_key.as_bytes().to_vec(),
                });
            }
        }
        if recipients.is_empty() {
            return Err(Error::Count {
                layer: Layer::EnvelopedData,
                field: Field::RecipientInfos,
            });
        }
        let eci = &env.encrypted_content;
        let cipher = ContentCipher::from_oid(&eci.content_enc_alg.oid).ok_or(
            Error::UnsupportedAlgorithm {
                layer: Layer::EncryptedContent,
                role: AlgRole::ContentEncryption,
            },
        )?;
        if cipher.is_legacy() && !profile.legacy_algorithms {
            return Err(Error::LegacyAlgorithmDisabled {
                layer: Layer::EncryptedContent,
                role: AlgRole::ContentEncryption,
            });
        }
        let iv = match &eci.content_enc_alg.parameters {
            Some(p) if p.tag() == Tag::OctetString && p.value().len() == cipher.iv_len() => {
                p.value().to_vec()
            }
            Some(_) => return Err(bad(Layer::EncryptedContent, DerProblem::Value)),
            None => {
                return Err(Error::Missing {
                    layer: Layer::EncryptedContent,
                    field: Field::Iv,
                });
            }
        };
        let ciphertext = eci
            .encrypted_content
            .as_ref()
            .ok_or(Error::Missing {
                layer: Layer::EncryptedContent,
                field: Field::EncryptedContent,
            })?
            .as_bytes()
            .to_vec();
        Ok(Self {
            recipients,
            cipher,
            iv,
            ciphertext,
        })
    }

    /// The key-transport recipients, in received order (SCEP uses exactly one).
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// The content-encryption algorithm.
    pub fn cipher(&self) -> ContentCipher {
        self.cipher
    }

    /// The length of the encrypted content in bytes (clear information: a CA can do the same
    /// work on a failed decryption as on a successful one, C-6).
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len()
    }

    /// True if some recipient names `cert` (S-41 name comparison).
    pub fn is_addressed_to(&self, cert: &Certificate) -> bool {
        self.recipients.iter().any(|r| r.id.matches(cert))
    }

    /// Decrypts with the private key of the recipient certificate `cert`
    /// ([`Error::RecipientMismatch`] if no RecipientInfo names it).
    pub fn decrypt_for<R: rand::CryptoRng + ?Sized>(
        &self,
        cert: &Certificate,
        key: &PrivateKey,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let r = self
            .recipients
            .iter()
            .find(|r| r.id.matches(cert))
            .ok_or(Error::RecipientMismatch)?;
        self.decrypt_with(r, key, rng)
    }

    /// Decrypts with `key` as the first recipient's key. The RSA operation is blinded with
    /// `rng`.
    pub fn decrypt<R: rand::CryptoRng + ?Sized>(
        &self,
        key: &PrivateKey,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let r = self.recipients.first().ok_or(Error::Count {
            layer: Layer::EnvelopedData,
            field: Field::RecipientInfos,
        })?;
        self.decrypt_with(r, key, rng)
    }

    fn decrypt_with<R: rand::CryptoRng + ?Sized>(
        &self,
        r: &Recipient,
        key: &PrivateKey,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        // No padding oracle (S-20): a key that does not unwrap is replaced by a pseudo-random
        // one, and the failure surfaces below, as for a wrong payload.
        let mut cek = key.unwrap_content_key(
            r.key_transport,
            &r.encrypted_key,
            self.cipher.key_len(),
            rng,
        );
        let plain = self
            .cipher
            .decrypt(&cek, &self.iv, &self.ciphertext)
            .ok_or(Error::ContentDecryptionFailed);
        cek.fill(0);
        plain
    }
}

/// Encrypts `plaintext` to `recipient` and returns DER `ContentInfo{EnvelopedData}` (S-20).
pub(crate) fn build_enveloped<R: rand::CryptoRng + ?Sized>(
    plaintext: &[u8],
    recipient: &Certificate,
    cipher: ContentCipher,
    key_transport: KeyTransport,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let layer = Layer::EnvelopedData;
    let enc = |_| Error::Encode { layer };
    let public = rsa_public_key(recipient, Layer::RecipientInfo)?;
    let mut cek = vec![0u8; cipher.key_len()];
    rng.fill_bytes(&mut cek);
    let mut iv = vec![0u8; cipher.iv_len()];
    rng.fill_bytes(&mut iv);
    let ciphertext = cipher.encrypt(&cek, &iv, plaintext).ok_or(Error::Crypto {
        layer: Layer::EncryptedContent,
    })?;
    let encrypted_key = public.encrypt(key_transport, &cek, rng);
    let key_enc_alg = match key_transport {
        KeyTransport::RsaPkcs1v15 => AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        KeyTransport::RsaOaepSha1 => AlgorithmIdentifierOwned {
            oid: oid::RSAES_OAEP,
            parameters: Some(Any::new(Tag::Sequence, Vec::<u8>::new()).map_err(enc)?),
        },
    };
    cek.fill(0);
    let encrypted_key = encrypted_key?;
    let ktri = KeyTransRecipientInfoAsn1 {
        version: CmsVersion::V0,
        rid: CertIdAsn1::IssuerAndSerialNumber(IssuerAndSerialNumber::of(recipient)),
        key_enc_alg,
        enc_key: OctetString::new(encrypted_key).map_err(enc)?,
    };
    let mut infos = SetOfVec::new();
    infos
        .insert(Any::encode_from(&ktri).map_err(enc)?)
        .map_err(enc)?;
    let env = EnvelopedDataAsn1 {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: infos,
        encrypted_content: EncryptedContentInfo {
            content_type: oid::ID_DATA,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(Any::new(Tag::OctetString, iv).map_err(enc)?),
            },
            encrypted_content: Some(OctetString::new(ciphertext).map_err(enc)?),
        },
        unprotected_attrs: None,
    };
    let ci = ContentInfo {
        content_type: oid::ID_ENVELOPED_DATA,
        content: Any::encode_from(&env).map_err(enc)?,
    };
    ci.to_der().map_err(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micromdm_constructed_encrypted_content_is_flattened() {
        // ContentInfo { oid, [0] { EnvelopedData { 0, SET{}, ECI { oid, alg, [0] { OS, OS } } } } }
        let eci_inner = [
            0x06, 0x01, 0x2a, // contentType (dummy)
            0x30, 0x00, // algorithm (dummy)
            0xa0, 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x02, 0x03, 0x04,
        ];
        let mut eci = Vec::new();
        write_tlv(&mut eci, 0x30, &eci_inner);
        let mut env_inner = vec![0x02, 0x01, 0x00, 0x31, 0x00];
        env_inner.extend(&eci);
        let mut env = Vec::new();
        write_tlv(&mut env, 0x30, &env_inner);
        let mut explicit = Vec::new();
        write_tlv(&mut explicit, 0xa0, &env);
        let mut ci_inner = vec![0x06, 0x01, 0x2a];
        ci_inner.extend(&explicit);
        let mut ci = Vec::new();
        write_tlv(&mut ci, 0x30, &ci_inner);
        let flat = flatten_encrypted_content(&ci).unwrap();
        let tail = [0x80, 0x04, 0x01, 0x02, 0x03, 0x04];
        assert!(flat.ends_with(&tail), "{flat:02x?}");
        assert_eq!(flat.len(), ci.len() - 4);
        // Already primitive: untouched and borrowed.
        let again = flatten_encrypted_content(&flat).unwrap().into_owned();
        assert_eq!(again, flat.into_owned());
    }
}
