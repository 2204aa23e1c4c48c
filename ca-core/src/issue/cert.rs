//! Certificates: the CA certificate (C-1), the rollover CA certificate (C-22) and identity
//! certificates (C-10).
//!
//! `x509-cert` 0.3 keeps `TbsCertificate`'s fields private and its builder wants a signer type
//! per digest, so the to-be-signed structure is our own [`TbsCertificateV3`], encoded in DER,
//! signed, and the result decoded as a [`Certificate`] (scep-proto's, the workspace's one
//! certificate type).

use crate::policy::IssuancePolicy;
use der::{
    Decode, Encode, Sequence,
    asn1::{BitString, OctetString},
};
use pki_timers::{Duration, Instant, LifetimeKind, RolloverIdentityPolicy, Validity};
use rand::CryptoRng;
use scep_proto::{Certificate, DigestAlg, PrivateKey};
use x509_cert::{
    certificate::Version,
    ext::{
        Extension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
        },
    },
    name::Name,
    serial_number::SerialNumber,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
};

use super::{
    csr::VerifiedCsr,
    error::IssueError,
    key::{CaKey, key_identifier, sign},
    signature::SignatureConfig,
    time::to_x509_time,
};

/// The default CA lifetime, L_ca (SPEC §3.1: 1095 days).
const DEFAULT_CA_LIFETIME: Duration = Duration::from_days(1095);

/// RFC 5280 4.1 `TBSCertificate`, always version 3, without unique identifiers (4.1.2.8: a
/// conforming CA does not generate them).
///
/// ```text
/// TBSCertificate  ::=  SEQUENCE  {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      issuer               Name,
///      validity             Validity,
///      subject              Name,
///      subjectPublicKeyInfo SubjectPublicKeyInfo,
///      extensions      [3]  EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct TbsCertificateV3 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: x509_cert::time::Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

/// RFC 5280 4.1 `Certificate` around [`TbsCertificateV3`].
///
/// ```text
/// Certificate  ::=  SEQUENCE  {
///      tbsCertificate       TBSCertificate,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING  }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct CertificateV3 {
    tbs_certificate: TbsCertificateV3,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What every certificate we make needs besides its extensions.
struct Draft<'a> {
    serial: u64,
    issuer: &'a Name,
    validity: Validity,
    subject: &'a Name,
    spki: &'a SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
}

fn serial_number(serial: u64) -> Result<SerialNumber, IssueError> {
    if serial == 0 {
        return Err(IssueError::ZeroSerial);
    }
    Ok(SerialNumber::from(serial))
}

/// Encodes, signs with `signer` and decodes the result as a [`Certificate`].
fn sign_certificate<R: CryptoRng + ?Sized>(
    draft: Draft<'_>,
    signer: &PrivateKey,
    signature: SignatureConfig,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    let hash = signature.checked_hash()?;
    let validity = x509_cert::time::Validity::new(
        to_x509_time(draft.validity.not_before())?,
        to_x509_time(draft.validity.not_after())?,
    );
    let tbs = TbsCertificateV3 {
        version: Version::V3,
        serial_number: serial_number(draft.serial)?,
        signature: hash.rsa_signature_algorithm(),
        issuer: draft.issuer.clone(),
        validity,
        subject: draft.subject.clone(),
        subject_public_key_info: draft.spki.clone(),
        extensions: Some(draft.extensions),
    };
    let tbs_der = tbs.to_der().map_err(IssueError::Encoding)?;
    let sig = sign(signer, hash, &tbs_der, rng)?;
    let cert = CertificateV3 {
        tbs_certificate: tbs,
        signature_algorithm: hash.rsa_signature_algorithm(),
        signature: BitString::from_bytes(&sig).map_err(IssueError::Encoding)?,
    };
    let der = cert.to_der().map_err(IssueError::Encoding)?;
    Certificate::from_der(&der).map_err(IssueError::Encoding)
}

/// An extension with its value DER-encoded.
pub(super) fn extension<T: Encode + der::oid::AssociatedOid>(
    value: &T,
    critical: bool,
) -> Result<Extension, IssueError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(IssueError::Encoding)?)
            .map_err(IssueError::Encoding)?,
    })
}

pub(super) fn authority_key_identifier(key_id: &[u8]) -> Result<Extension, IssueError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id).map_err(IssueError::Encoding)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    extension(&aki, false)
}

fn subject_key_identifier(key_id: &[u8]) -> Result<Extension, IssueError> {
    let ski = SubjectKeyIdentifier(OctetString::new(key_id).map_err(IssueError::Encoding)?);
    extension(&ski, false)
}

/// The CA extensions, in the seed's order: basicConstraints critical cA=TRUE, keyUsage critical
/// digitalSignature+keyCertSign+cRLSign, AKI = SKI, SKI.
fn ca_extensions(key_id: &[u8]) -> Result<Vec<Extension>, IssueError> {
    Ok(vec![
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
            true,
        )?,
        extension(
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            true,
        )?,
        authority_key_identifier(key_id)?,
        subject_key_identifier(key_id)?,
    ])
}

fn self_signed<R: CryptoRng + ?Sized>(
    subject: &Name,
    serial: u64,
    validity: Validity,
    key: PrivateKey,
    signature: SignatureConfig,
    rng: &mut R,
) -> Result<CaKey, IssueError> {
    let spki = key
        .public_key_info()
        .map_err(|_| IssueError::InvalidPublicKey)?;
    let key_id = key_identifier(&spki);
    let draft = Draft {
        serial,
        issuer: subject,
        validity,
        subject,
        spki: &spki,
        extensions: ca_extensions(&key_id)?,
    };
    let certificate = sign_certificate(draft, &key, signature, rng)?;
    CaKey::new(key, certificate)
}

/// Inputs of the first CA certificate (C-1). [`CaCertParams::new`] fills the SPEC defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaCertParams {
    /// `issuer_name`: subject and issuer of the CA certificate (immutable, C-2).
    pub subject: Name,
    /// The serial, from the CA's counter (C-3: 1 at creation).
    pub serial: u64,
    /// notBefore: the instant the CA is enabled.
    pub not_before: Instant,
    /// `lifetime_ca_certificate`, L_ca (default 1095 days, 1–7305 days).
    pub lifetime: Duration,
    /// The configured `hash` and `legacy_algorithms`.
    pub signature: SignatureConfig,
}

impl CaCertParams {
    /// Serial 1, L_ca = 1095 days, SHA-256: the defaults of C-1 and SPEC §3.1.
    #[must_use]
    pub const fn new(subject: Name, not_before: Instant) -> Self {
        Self {
            subject,
            serial: 1,
            not_before,
            lifetime: DEFAULT_CA_LIFETIME,
            signature: SignatureConfig::new(DigestAlg::Sha256),
        }
    }
}

/// C-1: the self-signed CA certificate of `key`: subject = issuer = `params.subject`,
/// validity `[now, now + L_ca]`, basicConstraints critical cA=TRUE, keyUsage critical
/// digitalSignature+keyCertSign+cRLSign, SKI (RFC 5280 method 1) and AKI = SKI, signed with the
/// configured hash. `rng` blinds the RSA operation.
///
/// # Errors
/// [`IssueError::Timer`] for L_ca outside 1–7305 days or an overflow;
/// [`IssueError::ZeroSerial`]; [`IssueError::LegacyAlgorithmRefused`] for MD5 without
/// `legacy_algorithms`; [`IssueError::TimeOutOfRange`]; signing and encoding errors.
pub fn self_signed_ca_certificate<R: CryptoRng + ?Sized>(
    params: &CaCertParams,
    key: PrivateKey,
    rng: &mut R,
) -> Result<CaKey, IssueError> {
    let lifetime = LifetimeKind::CaCertificate
        .check(params.lifetime)
        .map_err(IssueError::from_timer)?;
    let validity =
        Validity::starting_at(params.not_before, lifetime).map_err(IssueError::from_timer)?;
    self_signed(
        &params.subject,
        params.serial,
        validity,
        key,
        params.signature,
        rng,
    )
}

/// Inputs of a rollover CA certificate (C-22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolloverCaParams {
    /// The next serial from the CA's counter (C-3; the seed's rollover is 0x03).
    pub serial: u64,
    /// L_ca as configured when the rollover is generated (T-6).
    pub lifetime: Duration,
    /// The configured `hash` and `legacy_algorithms`.
    pub signature: SignatureConfig,
}

impl RolloverCaParams {
    /// L_ca = 1095 days and SHA-256 (SPEC §3.1 defaults).
    #[must_use]
    pub const fn new(serial: u64) -> Self {
        Self {
            serial,
            lifetime: DEFAULT_CA_LIFETIME,
            signature: SignatureConfig::new(DigestAlg::Sha256),
        }
    }
}

/// C-22: the rollover (shadow) CA certificate: self-signed by `new_key`, with the active CA's
/// subject and the same extensions (for the new key), validity per T-6:
/// `[active.na, active.na + L_ca]`.
///
/// # Errors
/// As [`self_signed_ca_certificate`].
pub fn rollover_ca_certificate<R: CryptoRng + ?Sized>(
    active: &CaKey,
    params: &RolloverCaParams,
    new_key: PrivateKey,
    rng: &mut R,
) -> Result<CaKey, IssueError> {
    let lifetime = LifetimeKind::CaCertificate
        .check(params.lifetime)
        .map_err(IssueError::from_timer)?;
    let validity = pki_timers::rollover_ca_validity(active.validity(), lifetime)
        .map_err(IssueError::from_timer)?;
    self_signed(
        active.subject(),
        params.serial,
        validity,
        new_key,
        params.signature,
        rng,
    )
}

/// Inputs of an identity certificate (C-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityParams {
    /// The serial, allocated durably by the CA before signing (C-3, C-20).
    pub serial: u64,
    /// The validity, from T-7 ([`identity_validity`]) or C-11
    /// ([`rollover_identity_validity_for`]); it must lie inside the issuing CA's validity.
    pub validity: Validity,
    /// The configured `hash` and `legacy_algorithms`.
    pub signature: SignatureConfig,
    /// Issue a CA certificate if the CSR asks for one (an approved subordinate CA, C-9 step
    /// 5). Off: the certificate is always an end-entity certificate.
    pub allow_ca: bool,
    /// What of the request's extendedKeyUsage and subjectAltName is issued (C-10 amended).
    pub policy: IssuancePolicy,
}

impl IdentityParams {
    /// SHA-256, end entity only, the default [`IssuancePolicy`].
    #[must_use]
    pub const fn new(serial: u64, validity: Validity) -> Self {
        Self {
            serial,
            validity,
            signature: SignatureConfig::new(DigestAlg::Sha256),
            allow_ca: false,
            policy: IssuancePolicy::DEFAULT,
        }
    }
}

/// T-7 for an identity certificate issued by `issuer` at `t_issue` (the grant instant, C-10):
/// `nb = max(t_issue, ca.nb)`, `na = min(nb + L_cert, ca.na)`.
///
/// # Errors
/// [`IssueError::IssuingCaExpired`] when T-7 gives nothing (C-10: FAILURE badRequest);
/// [`IssueError::Timer`] for L_cert outside 1–1825 days.
pub fn identity_validity(
    t_issue: Instant,
    issuer: &CaKey,
    cert_lifetime: Duration,
) -> Result<Validity, IssueError> {
    let span = LifetimeKind::Certificate
        .check(cert_lifetime)
        .map_err(IssueError::from_timer)?;
    pki_timers::issued_validity(t_issue, issuer.validity(), span).map_err(IssueError::from_timer)
}

/// C-11 for a request addressed to the rollover CA `rollover`: `nb = max(now, rollover.nb)`,
/// `na` per `policy` (Balance uses the validity of the request's signer when it is a
/// certificate of this CA), clamped to `rollover.na`.
///
/// # Errors
/// As [`identity_validity`].
pub fn rollover_identity_validity_for(
    now: Instant,
    rollover: &CaKey,
    cert_lifetime: Duration,
    signer: Option<Validity>,
    policy: RolloverIdentityPolicy,
) -> Result<Validity, IssueError> {
    let span = LifetimeKind::Certificate
        .check(cert_lifetime)
        .map_err(IssueError::from_timer)?;
    pki_timers::rollover_identity_validity(now, rollover.validity(), span, signer, policy)
        .map_err(IssueError::from_timer)
}

/// C-10: the identity certificate for a proof-checked CSR, signed by `issuer`.
///
/// Subject and public key come from the CSR. Extensions: basicConstraints critical cA=FALSE
/// (cA=TRUE only with `allow_ca` and a CSR asking for it); keyUsage from the CSR's
/// extensionRequest, always critical, without keyCertSign for an end entity, else
/// digitalSignature+keyEncipherment; extendedKeyUsage as requested; subjectAltName as
/// requested (critical only when the subject is empty, RFC 5280 4.2.1.6); SKI of the subject
/// key; AKI = the issuer's SKI.
///
/// # Errors
/// [`IssueError::OutlivesIssuer`] when `params.validity` is not inside the issuer's validity
/// (T-7); [`IssueError::ZeroSerial`]; [`IssueError::EmptySubject`];
/// [`IssueError::LegacyAlgorithmRefused`]; signing and encoding errors.
pub fn identity_certificate<R: CryptoRng + ?Sized>(
    issuer: &CaKey,
    csr: &VerifiedCsr,
    params: &IdentityParams,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    let ca = issuer.validity();
    let v = params.validity;
    if v.not_before() < ca.not_before() || v.not_after() > ca.not_after() {
        return Err(IssueError::OutlivesIssuer);
    }
    let spki = csr.public_key_info();
    let subject_key_id = key_identifier(spki);
    let mut extensions = csr.issued_extensions(params.allow_ca, &params.policy)?;
    extensions.push(subject_key_identifier(&subject_key_id)?);
    extensions.push(authority_key_identifier(issuer.key_identifier())?);
    let draft = Draft {
        serial: params.serial,
        issuer: issuer.subject(),
        validity: v,
        subject: csr.subject(),
        spki,
        extensions,
    };
    sign_certificate(draft, issuer.key(), params.signature, rng)
}

/// An RA certificate (S-7, K-2): `key`'s public key under `subject`, issued by `issuer`, end
/// entity (basicConstraints cA=FALSE), keyUsage digitalSignature + keyEncipherment (the one
/// certificate both receives requests and signs CertReps), SKI and AKI. `validity` must lie
/// inside the issuer's.
///
/// # Errors
/// [`IssueError::OutlivesIssuer`]; [`IssueError::ZeroSerial`]; [`IssueError::EmptySubject`];
/// [`IssueError::InvalidPublicKey`]; signing and encoding errors.
pub(crate) fn ra_certificate<R: CryptoRng + ?Sized>(
    issuer: &CaKey,
    subject: &Name,
    key: &PrivateKey,
    serial: u64,
    validity: Validity,
    signature: SignatureConfig,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    let ca = issuer.validity();
    if validity.not_before() < ca.not_before() || validity.not_after() > ca.not_after() {
        return Err(IssueError::OutlivesIssuer);
    }
    if subject.is_empty() {
        return Err(IssueError::EmptySubject);
    }
    let spki = key
        .public_key_info()
        .map_err(|_| IssueError::InvalidPublicKey)?;
    let key_id = key_identifier(&spki);
    let extensions = vec![
        extension(
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
            true,
        )?,
        extension(
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
            true,
        )?,
        subject_key_identifier(&key_id)?,
        authority_key_identifier(issuer.key_identifier())?,
    ];
    let draft = Draft {
        serial,
        issuer: issuer.subject(),
        validity,
        subject,
        spki: &spki,
        extensions,
    };
    sign_certificate(draft, issuer.key(), signature, rng)
}
