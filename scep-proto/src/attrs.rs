//! SCEP signed attributes as types (RFC 8894 §3.2.1; SPEC S-10 … S-13, S-18, S-23, S-24).

use core::fmt;
use std::time::Duration;

use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Tag};
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use crate::ber::{Tlv, children};
use crate::error::{Argument, AttrName, AttrProblem, Error, Layer, LimitKind, Result};
use crate::oid;

/// Most signed attributes accepted in one SignerInfo (S-40).
const MAX_ATTRIBUTES: usize = 64;

/// SCEP `messageType` (S-10), a decimal number in a PrintableString.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `3`: CertRep.
    CertRep,
    /// `17`: RenewalReq.
    RenewalReq,
    /// `19`: PKCSReq.
    PkcsReq,
    /// `20`: CertPoll (formerly GetCertInitial).
    CertPoll,
    /// `21`: GetCert.
    GetCert,
    /// `22`: GetCRL.
    GetCrl,
    /// Any other number (e.g. `18`, the old UpdateReq); a CA answers badRequest.
    Unknown(u32),
}

impl MessageType {
    /// The wire number.
    pub fn code(self) -> u32 {
        match self {
            Self::CertRep => 3,
            Self::RenewalReq => 17,
            Self::PkcsReq => 19,
            Self::CertPoll => 20,
            Self::GetCert => 21,
            Self::GetCrl => 22,
            Self::Unknown(n) => n,
        }
    }

    /// Maps a wire number; unknown numbers become [`MessageType::Unknown`].
    pub fn from_code(code: u32) -> Self {
        match code {
            3 => Self::CertRep,
            17 => Self::RenewalReq,
            19 => Self::PkcsReq,
            20 => Self::CertPoll,
            21 => Self::GetCert,
            22 => Self::GetCrl,
            n => Self::Unknown(n),
        }
    }
}

/// SCEP `pkiStatus` (S-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkiStatus {
    /// `0`: request granted.
    Success,
    /// `2`: request rejected.
    Failure,
    /// `3`: request pending manual approval.
    Pending,
}

impl PkiStatus {
    /// The wire number.
    pub fn code(self) -> u32 {
        match self {
            Self::Success => 0,
            Self::Failure => 2,
            Self::Pending => 3,
        }
    }

    /// Maps a wire number; `None` if unknown.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::Success),
            2 => Some(Self::Failure),
            3 => Some(Self::Pending),
            _ => None,
        }
    }
}

/// SCEP `failInfo` (S-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailInfo {
    /// `0`: unrecognised or unsupported algorithm.
    BadAlg,
    /// `1`: integrity check (signature) failed.
    BadMessageCheck,
    /// `2`: transaction not permitted or supported.
    BadRequest,
    /// `3`: signingTime not close enough to the CA's time.
    BadTime,
    /// `4`: no certificate could be identified matching the criteria.
    BadCertId,
}

impl FailInfo {
    /// The wire number.
    pub fn code(self) -> u32 {
        match self {
            Self::BadAlg => 0,
            Self::BadMessageCheck => 1,
            Self::BadRequest => 2,
            Self::BadTime => 3,
            Self::BadCertId => 4,
        }
    }

    /// Maps a wire number; `None` if unknown.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::BadAlg),
            1 => Some(Self::BadMessageCheck),
            2 => Some(Self::BadRequest),
            3 => Some(Self::BadTime),
            4 => Some(Self::BadCertId),
            _ => None,
        }
    }
}

/// SCEP `transactionID`: an opaque client-chosen string of 1 … 128 characters (S-23, S-23a).
///
/// Decoders accept PrintableString, IA5String and UTF8String; encoders write PrintableString
/// when every character allows it, else UTF8String (so an odd peer value can be echoed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransactionId(String);

impl TransactionId {
    /// Longest accepted value in characters (S-23).
    pub const MAX_LEN: usize = 128;

    /// Validates and wraps a transactionID: 1 … 128 characters, no control characters.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let n = value.chars().count();
        if n == 0 || n > Self::MAX_LEN || value.chars().any(char::is_control) {
            return Err(Error::InvalidArgument(Argument::TransactionId));
        }
        Ok(Self(value))
    }

    /// Our own format: 32 uppercase hex characters from 16 random bytes (S-23).
    pub fn random<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02X}")).collect())
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_printable(&self) -> bool {
        self.0
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `senderNonce` or `recipientNonce`: exactly 16 bytes (S-13, S-24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nonce(pub [u8; 16]);

impl Nonce {
    /// A fresh nonce from the caller's RNG.
    pub fn random<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps a slice that must be exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 16]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidArgument(Argument::Nonce))
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// The SCEP attributes of a verified pkiMessage (S-18), typed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScepAttributes {
    /// `messageType`.
    pub message_type: MessageType,
    /// `transactionID`.
    pub transaction_id: TransactionId,
    /// `senderNonce`.
    pub sender_nonce: Nonce,
    /// `recipientNonce` (CertRep).
    pub recipient_nonce: Option<Nonce>,
    /// `pkiStatus` (CertRep).
    pub pki_status: Option<PkiStatus>,
    /// `failInfo` (CertRep FAILURE).
    pub fail_info: Option<FailInfo>,
    /// `failInfoText` (CertRep FAILURE, optional).
    pub fail_info_text: Option<String>,
    /// `signingTime`, seconds since the Unix epoch.
    pub signing_time: Option<u64>,
}

/// Every attribute we understand, before the per-message rules are applied.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawAttributes {
    pub(crate) content_type: Option<ObjectIdentifier>,
    pub(crate) message_digest: Option<Vec<u8>>,
    pub(crate) signing_time: Option<u64>,
    message_type: Option<MessageType>,
    pki_status: Option<PkiStatus>,
    fail_info: Option<FailInfo>,
    fail_info_text: Option<String>,
    sender_nonce: Option<Nonce>,
    recipient_nonce: Option<Nonce>,
    transaction_id: Option<TransactionId>,
}

fn attr_err(attr: AttrName, problem: AttrProblem) -> Error {
    Error::Attribute { attr, problem }
}

fn string_value(attr: AttrName, v: &Tlv<'_>) -> Result<String> {
    // PrintableString, IA5String, UTF8String.
    if !matches!(v.tag, 0x13 | 0x16 | 0x0c) {
        return Err(attr_err(attr, AttrProblem::Encoding));
    }
    String::from_utf8(v.value.to_vec()).map_err(|_| attr_err(attr, AttrProblem::Encoding))
}

fn number_value(attr: AttrName, v: &Tlv<'_>) -> Result<u32> {
    let s = string_value(attr, v)?;
    let s = s.trim();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(attr_err(attr, AttrProblem::Value));
    }
    s.parse().map_err(|_| attr_err(attr, AttrProblem::Value))
}

fn nonce_value(attr: AttrName, v: &Tlv<'_>) -> Result<Nonce> {
    if v.tag != 0x04 {
        return Err(attr_err(attr, AttrProblem::Encoding));
    }
    <[u8; 16]>::try_from(v.value)
        .map(Nonce)
        .map_err(|_| attr_err(attr, AttrProblem::Size))
}

fn set_once<T>(slot: &mut Option<T>, attr: AttrName, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(attr_err(attr, AttrProblem::Duplicate));
    }
    *slot = Some(value);
    Ok(())
}

impl RawAttributes {
    /// Parses the content octets of the signed-attributes SET in received order.
    pub(crate) fn parse(set_value: &[u8]) -> Result<Self> {
        let layer = Layer::SignedAttributes;
        let list = children(set_value, layer)?;
        if list.len() > MAX_ATTRIBUTES {
            return Err(Error::Limit(LimitKind::Attributes));
        }
        let mut out = Self::default();
        for attr in list {
            if attr.tag != 0x30 {
                return Err(Error::Malformed {
                    layer,
                    problem: crate::error::DerProblem::Tag,
                });
            }
            let parts = children(attr.value, layer)?;
            let (Some(oid_tlv), Some(values), None) = (parts.first(), parts.get(1), parts.get(2))
            else {
                return Err(Error::Malformed {
                    layer,
                    problem: crate::error::DerProblem::Value,
                });
            };
            let oid =
                ObjectIdentifier::from_der(oid_tlv.raw).map_err(|e| Error::malformed(layer, &e))?;
            if values.tag != 0x31 {
                return Err(Error::Malformed {
                    layer,
                    problem: crate::error::DerProblem::Tag,
                });
            }
            let values = children(values.value, layer)?;
            let Some(name) = attr_name(&oid) else {
                continue; // unknown attributes are ignored
            };
            let [value] = values.as_slice() else {
                return Err(attr_err(name, AttrProblem::ValueCount));
            };
            match name {
                AttrName::ContentType => {
                    let v = ObjectIdentifier::from_der(value.raw)
                        .map_err(|_| attr_err(name, AttrProblem::Encoding))?;
                    set_once(&mut out.content_type, name, v)?;
                }
                AttrName::MessageDigest => {
                    if value.tag != 0x04 {
                        return Err(attr_err(name, AttrProblem::Encoding));
                    }
                    set_once(&mut out.message_digest, name, value.value.to_vec())?;
                }
                AttrName::SigningTime => {
                    let t = Time::from_der(value.raw)
                        .map_err(|_| attr_err(name, AttrProblem::Encoding))?;
                    set_once(&mut out.signing_time, name, t.to_unix_duration().as_secs())?;
                }
                AttrName::MessageType => {
                    let n = number_value(name, value)?;
                    set_once(&mut out.message_type, name, MessageType::from_code(n))?;
                }
                AttrName::PkiStatus => {
                    let n = number_value(name, value)?;
                    let s = PkiStatus::from_code(n).ok_or(attr_err(name, AttrProblem::Value))?;
                    set_once(&mut out.pki_status, name, s)?;
                }
                AttrName::FailInfo => {
                    let n = number_value(name, value)?;
                    let f = FailInfo::from_code(n).ok_or(attr_err(name, AttrProblem::Value))?;
                    set_once(&mut out.fail_info, name, f)?;
                }
                AttrName::FailInfoText => {
                    let s = string_value(name, value)?;
                    set_once(&mut out.fail_info_text, name, s)?;
                }
                AttrName::SenderNonce => {
                    let n = nonce_value(name, value)?;
                    set_once(&mut out.sender_nonce, name, n)?;
                }
                AttrName::RecipientNonce => {
                    let n = nonce_value(name, value)?;
                    set_once(&mut out.recipient_nonce, name, n)?;
                }
                AttrName::TransactionId => {
                    let s = string_value(name, value)?;
                    let t =
                        TransactionId::new(s).map_err(|_| attr_err(name, AttrProblem::Value))?;
                    set_once(&mut out.transaction_id, name, t)?;
                }
            }
        }
        Ok(out)
    }

    /// Applies S-12/S-18 to get the SCEP attributes of a pkiMessage.
    pub(crate) fn scep(&self) -> Result<ScepAttributes> {
        let missing = |a| attr_err(a, AttrProblem::Missing);
        let message_type = self.message_type.ok_or(missing(AttrName::MessageType))?;
        let transaction_id = self
            .transaction_id
            .clone()
            .ok_or(missing(AttrName::TransactionId))?;
        let sender_nonce = self.sender_nonce.ok_or(missing(AttrName::SenderNonce))?;
        let mut attrs = ScepAttributes {
            message_type,
            transaction_id,
            sender_nonce,
            recipient_nonce: self.recipient_nonce,
            pki_status: self.pki_status,
            fail_info: self.fail_info,
            fail_info_text: None,
            signing_time: self.signing_time,
        };
        if message_type == MessageType::CertRep {
            let status = self.pki_status.ok_or(missing(AttrName::PkiStatus))?;
            if self.recipient_nonce.is_none() {
                return Err(missing(AttrName::RecipientNonce));
            }
            match (status, self.fail_info) {
                (PkiStatus::Failure, None) => return Err(missing(AttrName::FailInfo)),
                (PkiStatus::Success | PkiStatus::Pending, Some(_)) => {
                    return Err(attr_err(AttrName::FailInfo, AttrProblem::Unexpected));
                }
                _ => {}
            }
            if status == PkiStatus::Failure {
                // failInfoText is only meaningful on FAILURE (S-12); elsewhere it is ignored.
                attrs.fail_info_text = self.fail_info_text.clone();
            }
        }
        Ok(attrs)
    }
}

fn attr_name(oid: &ObjectIdentifier) -> Option<AttrName> {
    Some(match *oid {
        oid::CONTENT_TYPE => AttrName::ContentType,
        oid::MESSAGE_DIGEST => AttrName::MessageDigest,
        oid::SIGNING_TIME => AttrName::SigningTime,
        oid::MESSAGE_TYPE => AttrName::MessageType,
        oid::PKI_STATUS => AttrName::PkiStatus,
        oid::FAIL_INFO => AttrName::FailInfo,
        oid::FAIL_INFO_TEXT => AttrName::FailInfoText,
        oid::SENDER_NONCE => AttrName::SenderNonce,
        oid::RECIPIENT_NONCE => AttrName::RecipientNonce,
        oid::TRANSACTION_ID => AttrName::TransactionId,
        _ => return None,
    })
}

// ----- encoding -------------------------------------------------------------------------------

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(|_| Error::Encode {
        layer: Layer::SignedAttributes,
    })?;
    Ok(Attribute { oid, values })
}

fn any(tag: Tag, bytes: &[u8]) -> Result<Any> {
    Any::new(tag, bytes).map_err(|_| Error::Encode {
        layer: Layer::SignedAttributes,
    })
}

fn encode_any<T: der::EncodeValue + der::Tagged>(value: &T) -> Result<Any> {
    Any::encode_from(value).map_err(|_| Error::Encode {
        layer: Layer::SignedAttributes,
    })
}

/// Builds the `contentType`, `messageDigest` and optional `signingTime` attributes.
pub(crate) fn base_attributes(
    content_digest: &[u8],
    signing_time: Option<u64>,
) -> Result<Vec<Attribute>> {
    let mut out = vec![
        attribute(oid::CONTENT_TYPE, encode_any(&oid::ID_DATA)?)?,
        attribute(
            oid::MESSAGE_DIGEST,
            encode_any(
                &OctetString::new(content_digest).map_err(|_| Error::Encode {
                    layer: Layer::SignedAttributes,
                })?,
            )?,
        )?,
    ];
    if let Some(secs) = signing_time {
        let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| {
            Error::Encode {
                layer: Layer::SignedAttributes,
            }
        })?;
        out.push(attribute(oid::SIGNING_TIME, encode_any(&Time::from(dt))?)?);
    }
    Ok(out)
}

/// The SCEP attributes for a message, in addition to [`base_attributes`].
pub(crate) fn scep_attributes(attrs: &ScepAttributes) -> Result<Vec<Attribute>> {
    let printable = |s: &str| any(Tag::PrintableString, s.as_bytes());
    let mut out = vec![
        attribute(
            oid::MESSAGE_TYPE,
            printable(&attrs.message_type.code().to_string())?,
        )?,
        attribute(
            oid::TRANSACTION_ID,
            if attrs.transaction_id.is_printable() {
                printable(attrs.transaction_id.as_str())?
            } else {
                any(Tag::Utf8String, attrs.transaction_id.as_str().as_bytes())?
            },
        )?,
        attribute(
            oid::SENDER_NONCE,
            any(Tag::OctetString, attrs.sender_nonce.as_bytes())?,
        )?,
    ];
    if let Some(n) = attrs.recipient_nonce {
        out.push(attribute(
            oid::RECIPIENT_NONCE,
            any(Tag::OctetString, n.as_bytes())?,
        )?);
    }
    if let Some(s) = attrs.pki_status {
        out.push(attribute(
            oid::PKI_STATUS,
            printable(&s.code().to_string())?,
        )?);
    }
    if let Some(f) = attrs.fail_info {
        out.push(attribute(
            oid::FAIL_INFO,
            printable(&f.code().to_string())?,
        )?);
    }
    if let Some(t) = &attrs.fail_info_text {
        out.push(attribute(
            oid::FAIL_INFO_TEXT,
            any(Tag::Utf8String, t.as_bytes())?,
        )?);
    }
    Ok(out)
}
