//! The signed layer: RFC 5652 §5 `SignedData` inside a `ContentInfo` (SPEC S-17 … S-19, S-30).
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!     contentType ContentType,
//!     content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,
//!     digestAlgorithms DigestAlgorithmIdentifiers,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }
//!
//! SignerInfo ::= SEQUENCE {
//!     version CMSVersion,
//!     sid SignerIdentifier,
//!     digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier,
//!     signature SignatureValue,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! ```
//!
//! The structures themselves are the derived types of the `cms` crate; this module adds what
//! SCEP needs on top: the signed-attribute bytes exactly as received (S-19), limits (S-40) and
//! typed errors.

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::EncapsulatedContentInfo;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{
    Any, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag,
    Tagged as _, Writer,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::crl::CertificateList;

use crate::algorithms::{DigestAlg, Profile};
use crate::attrs::RawAttributes;
use crate::ber::{children, read_tlv, to_der};
use crate::error::{
    AlgRole, AttrName, AttrProblem, DerProblem, Error, Field, Layer, LimitKind, Result,
};
use crate::ident::{CertId, CertIdAsn1, Certificate, IssuerAndSerialNumber};
use crate::key::{PrivateKey, PublicKey};
use crate::oid;
use crate::scheme::{PssProblem, SignatureScheme};

/// RFC 5652 §5.1 `SignedData`; sets whose elements may not decode strictly are kept as `Any`
/// and decoded one by one.
///
/// ```text
/// SignedData ::= SEQUENCE {
///     version CMSVersion,
///     digestAlgorithms DigestAlgorithmIdentifiers,
///     encapContentInfo EncapsulatedContentInfo,
///     certificates [0] IMPLICIT CertificateSet OPTIONAL,
///     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///     signerInfos SignerInfos }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SignedDataAsn1 {
    pub(crate) version: CmsVersion,
    pub(crate) digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    pub(crate) encap_content_info: EncapsulatedContentInfo,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) certificates: Option<CertificateSet>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) crls: Option<SetOfVec<Any>>,
    pub(crate) signer_infos: SetOfVec<Any>,
}

/// RFC 5652 §10.2.3 `CertificateSet ::= SET OF CertificateChoices`, kept in the order it was
/// given, on output and on input (S-28).
///
/// DER sorts a SET OF by encoding, and a sorted CertRep SUCCESS bag can put the CA certificate
/// before the issued one; real clients (micromdm's `scepclient` among them) take the first
/// certificate as their own. So, like OpenSSL and Go, we never sort this set.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub(crate) struct CertificateSet(pub(crate) Vec<Any>);

impl FixedTag for CertificateSet {
    const TAG: Tag = Tag::Set;
}

impl EncodeValue for CertificateSet {
    fn value_len(&self) -> der::Result<Length> {
        // `Length + Length` is checked: it returns an error on overflow, never wraps.
        #[allow(clippy::arithmetic_side_effects)]
        self.0
            .iter()
            .try_fold(Length::ZERO, |len, c| len + c.encoded_len()?)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.iter().try_for_each(|c| c.encode(writer))
    }
}

impl<'a> DecodeValue<'a> for CertificateSet {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, _header: Header) -> der::Result<Self> {
        let mut certs = Vec::new();
        while !reader.is_finished() {
            certs.push(Any::decode(reader)?);
        }
        Ok(Self(certs))
    }
}

/// RFC 5652 §5.3 `SignerInfo`.
///
/// ```text
/// SignerInfo ::= SEQUENCE {
///     version CMSVersion,
///     sid SignerIdentifier,
///     digestAlgorithm DigestAlgorithmIdentifier,
///     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
///     signatureAlgorithm SignatureAlgorithmIdentifier,
///     signature SignatureValue,
///     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SignerInfoAsn1 {
    pub(crate) version: CmsVersion,
    pub(crate) sid: CertIdAsn1,
    pub(crate) digest_alg: AlgorithmIdentifierOwned,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) signed_attrs: Option<SetOfVec<Any>>,
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
    pub(crate) signature: OctetString,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) unsigned_attrs: Option<SetOfVec<Any>>,
}

/// Most certificates accepted in one SignedData (S-40).
pub(crate) const MAX_CERTS: usize = 16;
/// Most SignerInfos accepted in one SignedData (S-40).
pub(crate) const MAX_SIGNER_INFOS: usize = 4;

/// A certificate and its RSA private key, used to sign what a builder emits.
///
/// `Debug` shows the certificate's subject only, never key material.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    /// The signer certificate (placed in `certificates`, named by `sid`).
    pub cert: &'a Certificate,
    /// Its private key.
    pub key: &'a PrivateKey,
}

impl core::fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer")
            .field(
                "subject",
                &self.cert.tbs_certificate().subject().to_string(),
            )
            .finish_non_exhaustive()
    }
}

/// The RSA public key of a certificate, checked against S-39 (1024 … 4096 bits).
pub(crate) fn rsa_public_key(cert: &Certificate, layer: Layer) -> Result<PublicKey> {
    PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info())
        .map_err(|_| Error::UnsupportedKey { layer })
}

pub(crate) fn check_digest(digest: DigestAlg, profile: &Profile, layer: Layer) -> Result<()> {
    if digest.is_legacy() && !profile.legacy_algorithms {
        return Err(Error::LegacyAlgorithmDisabled {
            layer,
            role: AlgRole::Digest,
        });
    }
    Ok(())
}

/// The outer layer of a pkiMessage (or of a GetNextCACert answer), parsed, not yet verified.
#[derive(Clone, Debug)]
pub(crate) struct ParsedSigned {
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) content_type: ObjectIdentifier,
    /// The eContent octets (segments joined); `None` if absent.
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) digest: DigestAlg,
    /// The signature scheme, its digest the same as [`ParsedSigned::digest`].
    scheme: SignatureScheme,
    pub(crate) sid: CertId,
    signature: Vec<u8>,
    /// The signed attributes as received, leading `[0]` replaced by SET (S-19).
    signed_attrs: Vec<u8>,
    pub(crate) attrs: RawAttributes,
}

/// Decodes `ContentInfo{SignedData}` and returns the SignedData's DER.
fn signed_data_of(der: &[u8]) -> Result<SignedDataAsn1> {
    let ci = ContentInfo::from_der(der).map_err(|e| Error::malformed(Layer::ContentInfo, &e))?;
    if ci.content_type != oid::ID_SIGNED_DATA {
        return Err(Error::UnexpectedContentType {
            layer: Layer::ContentInfo,
        });
    }
    ci.content
        .decode_as::<SignedDataAsn1>()
        .map_err(|e| Error::malformed(Layer::SignedData, &e))
}

fn certificates_of(sd: &SignedDataAsn1) -> Result<Vec<Certificate>> {
    let Some(CertificateSet(set)) = &sd.certificates else {
        return Ok(Vec::new());
    };
    if set.len() > MAX_CERTS {
        return Err(Error::Limit(LimitKind::Certificates));
    }
    // Other certificate formats ([0]..[3] choices) are skipped.
    set.iter()
        .filter(|a| a.tag() == Tag::Sequence)
        .map(|a| {
            a.decode_as::<Certificate>()
                .map_err(|e| Error::malformed(Layer::Certificates, &e))
        })
        .collect()
}

fn crls_of(sd: &SignedDataAsn1) -> Result<Vec<CertificateList>> {
    let Some(set) = &sd.crls else {
        return Ok(Vec::new());
    };
    set.iter()
        .filter(|a| a.tag() == Tag::Sequence)
        .map(|a| {
            a.decode_as::<CertificateList>()
                .map_err(|e| Error::malformed(Layer::CertsOnly, &e))
        })
        .collect()
}

fn content_of(eci: &EncapsulatedContentInfo) -> Result<Option<Vec<u8>>> {
    match &eci.econtent {
        None => Ok(None),
        Some(any) if any.tag() == Tag::OctetString => Ok(Some(any.value().to_vec())),
        Some(_) => Err(Error::Malformed {
            layer: Layer::EncapsulatedContent,
            problem: DerProblem::Tag,
        }),
    }
}

/// Finds the first SignerInfo's `[0]` signed attributes in the DER of `ContentInfo{SignedData}`
/// and returns them with the tag byte replaced by SET (0x31); nothing else is touched (S-19).
fn raw_signed_attrs(der: &[u8]) -> Result<Option<Vec<u8>>> {
    let layer = Layer::SignerInfo;
    let (ci, _) = read_tlv(der, Layer::ContentInfo)?;
    let ci_kids = children(ci.value, Layer::ContentInfo)?;
    let explicit = ci_kids.get(1).ok_or(Error::Malformed {
        layer: Layer::ContentInfo,
        problem: DerProblem::Value,
    })?;
    let (sd, _) = read_tlv(explicit.value, Layer::SignedData)?;
    let sd_kids = children(sd.value, Layer::SignedData)?;
    let infos = sd_kids.last().ok_or(Error::Malformed {
        layer: Layer::SignedData,
        problem: DerProblem::Value,
    })?;
    let Some(first) = children(infos.value, layer)?.into_iter().next() else {
        return Ok(None);
    };
    let si_kids = children(first.value, layer)?;
    match si_kids.get(3) {
        Some(t) if t.tag == 0xa0 => {
            let mut raw = t.raw.to_vec();
            if let Some(b) = raw.first_mut() {
                *b = 0x31;
            }
            Ok(Some(raw))
        }
        _ => Ok(None),
    }
}

/// The SignerInfo's signature scheme (S-17): `rsaEncryption` (the digest is the
/// digestAlgorithm's), `<digest>WithRSAEncryption` with the same digest, or RSASSA-PSS whose
/// hash is the digestAlgorithm.
fn signer_scheme(
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlg,
    profile: &Profile,
) -> Result<SignatureScheme> {
    let layer = Layer::SignerInfo;
    if alg.oid == oid::RSA_ENCRYPTION {
        return Ok(SignatureScheme::Pkcs1v15(digest));
    }
    match SignatureScheme::from_algorithm(alg, profile, layer)? {
        SignatureScheme::Pkcs1v15(d) if d == digest => Ok(SignatureScheme::Pkcs1v15(d)),
        SignatureScheme::Pkcs1v15(_) => Err(Error::UnsupportedAlgorithm {
            layer,
            role: AlgRole::Signature,
        }),
        SignatureScheme::Pss(p) if p.hash == digest => Ok(SignatureScheme::Pss(p)),
        SignatureScheme::Pss(_) => Err(Error::PssParameters {
            layer,
            problem: PssProblem::DigestMismatch,
        }),
    }
}

impl ParsedSigned {
    /// Parses a `ContentInfo{SignedData}` with exactly one SignerInfo carrying signed
    /// attributes; checks algorithms against `profile`; no cryptography yet.
    pub(crate) fn from_der(input: &[u8], profile: &Profile) -> Result<Self> {
        let der = to_der(input, Layer::Input)?;
        let sd = signed_data_of(&der)?;
        let n_signers = sd.signer_infos.len();
        if n_signers > MAX_SIGNER_INFOS {
            return Err(Error::Limit(LimitKind::SignerInfos));
        }
        let si: SignerInfoAsn1 = match sd.signer_infos.as_slice() {
            [si] => si
                .decode_as()
                .map_err(|e| Error::malformed(Layer::SignerInfo, &e))?,
            _ => {
                return Err(Error::Count {
                    layer: Layer::SignedData,
                    field: Field::SignerInfos,
                });
            }
        };
        let certificates = certificates_of(&sd)?;
        let content = content_of(&sd.encap_content_info)?;
        let digest =
            DigestAlg::from_oid(&si.digest_alg.oid).ok_or(Error::UnsupportedAlgorithm {
                layer: Layer::SignerInfo,
                role: AlgRole::Digest,
            })?;
        check_digest(digest, profile, Layer::SignerInfo)?;
        let scheme = signer_scheme(&si.signature_algorithm, digest, profile)?;
        let sid = CertId::from_asn1(&si.sid);
        let signed_attrs = raw_signed_attrs(&der)?.ok_or(Error::Missing {
            layer: Layer::SignerInfo,
            field: Field::SignedAttributes,
        })?;
        let (set, _) = read_tlv(&signed_attrs, Layer::SignedAttributes)?;
        let attrs = RawAttributes::parse(set.value)?;
        Ok(Self {
            certificates,
            content_type: sd.encap_content_info.econtent_type,
            content,
            digest,
            scheme,
            sid,
            signature: si.signature.as_bytes().to_vec(),
            signed_attrs,
            attrs,
        })
    }

    /// The certificate whose key must have signed: `expected` alone when the caller has one
    /// (K-17: the message must name it in `sid`; a certificate the message carries never
    /// stands in for it), else the one `sid` names in `certificates` (a requester's own
    /// certificate, C-8).
    pub(crate) fn signer_cert(&self, expected: Option<&Certificate>) -> Result<Certificate> {
        match expected {
            Some(c) if self.sid.matches(c) => Ok(c.clone()),
            Some(_) => Err(Error::SignerNotFound),
            None => self
                .certificates
                .iter()
                .find(|c| self.sid.matches(c))
                .cloned()
                .ok_or(Error::SignerNotFound),
        }
    }

    /// Checks contentType and messageDigest (S-19) without any RSA operation.
    pub(crate) fn check_digest(&self) -> Result<()> {
        let ct = self.attrs.content_type.ok_or(Error::Attribute {
            attr: AttrName::ContentType,
            problem: AttrProblem::Missing,
        })?;
        if ct != self.content_type {
            return Err(Error::Attribute {
                attr: AttrName::ContentType,
                problem: AttrProblem::Value,
            });
        }
        let md = self.attrs.message_digest.as_ref().ok_or(Error::Attribute {
            attr: AttrName::MessageDigest,
            problem: AttrProblem::Missing,
        })?;
        let actual = self.digest.digest(self.content.as_deref().unwrap_or(&[]));
        if *md != actual {
            return Err(Error::MessageDigestMismatch);
        }
        Ok(())
    }

    /// Full S-19 verification; returns the signer certificate.
    pub(crate) fn verify(&self, supplied: Option<&Certificate>) -> Result<Certificate> {
        self.check_digest()?;
        let cert = self.signer_cert(supplied)?;
        let key = rsa_public_key(&cert, Layer::SignerInfo)?;
        key.verify_scheme(self.scheme, &self.signed_attrs, &self.signature)
            .map_err(|e| match e {
                Error::PssParameters { problem, .. } => Error::PssParameters {
                    layer: Layer::SignerInfo,
                    problem,
                },
                other => other,
            })?;
        Ok(cert)
    }
}

fn alg_null(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

fn enc_err(layer: Layer) -> impl Fn(der::Error) -> Error {
    move |_| Error::Encode { layer }
}

fn to_any_set<'a, T: Encode + 'a>(
    items: impl Iterator<Item = &'a T>,
    layer: Layer,
) -> Result<SetOfVec<Any>> {
    let mut set = SetOfVec::new();
    for item in items {
        let der = item.to_der().map_err(enc_err(layer))?;
        let any = Any::from_der(&der).map_err(enc_err(layer))?;
        // The same element twice (e.g. a certificate passed twice) is kept once.
        if !set.iter().any(|x| *x == any) {
            set.insert(any).map_err(enc_err(layer))?;
        }
    }
    Ok(set)
}

/// The certificates in the order given (S-28); a certificate given twice is kept once, at
/// its first place.
fn certificate_set(certs: &[Certificate]) -> Result<CertificateSet> {
    let mut set: Vec<Any> = Vec::with_capacity(certs.len());
    for cert in certs {
        let any = Any::encode_from(cert).map_err(enc_err(Layer::Certificates))?;
        if !set.contains(&any) {
            set.push(any);
        }
    }
    Ok(CertificateSet(set))
}

/// What [`build_signed`] signs.
pub(crate) struct SignedContent<'a> {
    /// eContent octets; `None` = absent.
    pub(crate) content: Option<&'a [u8]>,
    /// Attributes beyond contentType / messageDigest / signingTime.
    pub(crate) extra_attrs: Vec<Attribute>,
    pub(crate) digest: DigestAlg,
    pub(crate) signing_time: Option<u64>,
    /// Certificates for `certificates` in addition to the signer's.
    pub(crate) extra_certs: &'a [Certificate],
}

/// Builds `ContentInfo{SignedData}` with one SignerInfo (S-17, S-18), DER.
pub(crate) fn build_signed<R: rand::CryptoRng + ?Sized>(
    what: SignedContent<'_>,
    signer: Signer<'_>,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let layer = Layer::SignedData;
    let content_digest = what.digest.digest(what.content.unwrap_or(&[]));
    let mut list = crate::attrs::base_attributes(&content_digest, what.signing_time)?;
    list.extend(what.extra_attrs);
    let attrs: SetOfVec<Attribute> =
        SetOfVec::try_from(list).map_err(enc_err(Layer::SignedAttributes))?;
    let attrs_der = attrs.to_der().map_err(enc_err(Layer::SignedAttributes))?;
    let signature = signer
        .key
        .sign(what.digest, &attrs_der, rng)
        .map_err(|_| Error::Crypto {
            layer: Layer::SignerInfo,
        })?;
    let si = SignerInfoAsn1 {
        version: CmsVersion::V1,
        sid: CertIdAsn1::IssuerAndSerialNumber(IssuerAndSerialNumber::of(signer.cert)),
        digest_alg: alg_null(what.digest.oid()),
        signed_attrs: Some(to_any_set(attrs.iter(), Layer::SignedAttributes)?),
        signature_algorithm: alg_null(oid::RSA_ENCRYPTION),
        signature: OctetString::new(signature).map_err(enc_err(Layer::SignerInfo))?,
        unsigned_attrs: None,
    };
    let mut digests = SetOfVec::new();
    digests
        .insert(alg_null(what.digest.oid()))
        .map_err(enc_err(layer))?;
    let mut certs = vec![signer.cert.clone()];
    certs.extend(what.extra_certs.iter().cloned());
    let econtent = match what.content {
        Some(c) => Some(
            Any::encode_from(&OctetString::new(c).map_err(enc_err(layer))?)
                .map_err(enc_err(layer))?,
        ),
        None => None,
    };
    let sd = SignedDataAsn1 {
        version: CmsVersion::V1,
        digest_algorithms: digests,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::ID_DATA,
            econtent,
        },
        certificates: Some(certificate_set(&certs)?),
        crls: None,
        signer_infos: to_any_set([&si].into_iter(), layer)?,
    };
    wrap_signed_data(&sd)
}

fn wrap_signed_data(sd: &SignedDataAsn1) -> Result<Vec<u8>> {
    let ci = ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: Any::encode_from(sd).map_err(enc_err(Layer::SignedData))?,
    };
    ci.to_der().map_err(enc_err(Layer::ContentInfo))
}

/// Builds a degenerate certs-only `ContentInfo{SignedData}` (S-30), DER.
pub(crate) fn build_certs_only(certs: &[Certificate], crls: &[CertificateList]) -> Result<Vec<u8>> {
    let layer = Layer::CertsOnly;
    let sd = SignedDataAsn1 {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::ID_DATA,
            econtent: None,
        },
        certificates: if certs.is_empty() {
            None
        } else {
            Some(certificate_set(certs)?)
        },
        crls: if crls.is_empty() {
            None
        } else {
            Some(to_any_set(crls.iter(), layer)?)
        },
        signer_infos: SetOfVec::new(),
    };
    wrap_signed_data(&sd)
}

/// Parses a degenerate certs-only SignedData (S-30): certificates and CRLs, no signers.
pub(crate) fn parse_certs_only(input: &[u8]) -> Result<(Vec<Certificate>, Vec<CertificateList>)> {
    let der = to_der(input, Layer::Input)?;
    let sd = signed_data_of(&der).map_err(|e| match e {
        Error::Malformed {
            layer: Layer::SignedData,
            problem,
        } => Error::Malformed {
            layer: Layer::CertsOnly,
            problem,
        },
        other => other,
    })?;
    if !sd.signer_infos.is_empty() {
        return Err(Error::Count {
            layer: Layer::CertsOnly,
            field: Field::SignerInfos,
        });
    }
    Ok((certificates_of(&sd)?, crls_of(&sd)?))
}

/// Any CMS `ContentInfo{SignedData}` with exactly one SignerInfo carrying signed attributes,
/// parsed but not yet verified: the generic first step under [`crate::PkiMessage`] and
/// [`crate::NextCaCerts`], usable on its own (e.g. for messages made by other CMS tools).
#[derive(Clone, Debug)]
pub struct SignedMessage {
    inner: ParsedSigned,
}

impl SignedMessage {
    /// Parses (BER accepted, S-40) and checks the algorithms against `profile`.
    pub fn from_der(input: &[u8], profile: &Profile) -> Result<Self> {
        ParsedSigned::from_der(input, profile).map(|inner| Self { inner })
    }

    /// `eContentType`.
    pub fn content_type(&self) -> ObjectIdentifier {
        self.inner.content_type
    }

    /// The eContent octets (constructed segments joined); `None` if absent.
    pub fn content(&self) -> Option<&[u8]> {
        self.inner.content.as_deref()
    }

    /// The SignerInfo digest algorithm.
    pub fn digest(&self) -> DigestAlg {
        self.inner.digest
    }

    /// The SignerInfo `sid`.
    pub fn signer_id(&self) -> &CertId {
        &self.inner.sid
    }

    /// The certificates carried in `certificates`.
    pub fn certificates(&self) -> &[Certificate] {
        &self.inner.certificates
    }

    /// The `signingTime` attribute in Unix seconds, if any.
    pub fn signing_time(&self) -> Option<u64> {
        self.inner.attrs.signing_time
    }

    /// Checks contentType, messageDigest and the signature over the signed attributes as
    /// received (S-19); returns the signer certificate.
    ///
    /// With `Some(signer)` only that certificate's key is used, and `sid` must name it
    /// ([`Error::SignerNotFound`] otherwise): a certificate the message carries never stands
    /// in for the expected one (K-17). With `None` the certificate `sid` names among
    /// `certificates` is used: the message then authenticates nothing beyond its own
    /// consistency.
    pub fn verify(&self, signer: Option<&Certificate>) -> Result<Certificate> {
        self.inner.verify(signer)
    }
}
