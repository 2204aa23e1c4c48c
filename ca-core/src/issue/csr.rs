//! The certification request, checked for proof of possession (S-26) before anything is
//! issued from it.

use core::fmt;
use std::collections::BTreeSet;

use der::{
    Decode, Encode, Sequence,
    asn1::{AnyRef, BitStringRef, Ia5String},
    oid::{AssociatedOid, ObjectIdentifier},
};
use x509_cert::{
    ext::{
        Extension,
        pkix::{
            BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
            name::{DirectoryString, GeneralName},
        },
    },
    name::Name,
    request::CertReq,
    spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned},
};

use scep_proto::{Certificate, DigestAlg, Layer, Profile, SignatureScheme, oids};

use super::{cert::extension, error::IssueError, key::rsa_public_key, signature::check_allowed};
use crate::policy::{IssuancePolicy, KeyPurpose, SanType, Violation};

/// RFC 2986 section 4 `CertificationRequest`, with the info kept as the bytes that were signed.
///
/// ```text
/// CertificationRequest ::= SEQUENCE {
///      certificationRequestInfo CertificationRequestInfo,
///      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
///      signature          BIT STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct SignedRequest<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// The extensions of an extensionRequest that the CA copies (C-10), decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Requested {
    subject_alt_name: Option<SubjectAltName>,
    key_usage: Option<KeyUsage>,
    extended_key_usage: Option<(bool, ExtendedKeyUsage)>,
    basic_constraints: Option<BasicConstraints>,
}

/// A PKCS#10 request whose self-signature verified (S-26 proof of possession) and whose key is
/// an RSA key of 1024–4096 bits (S-39). Only this type can be turned into a certificate
/// ([`super::identity_certificate`]).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedCsr {
    request: CertReq,
    der: Vec<u8>,
    hash: DigestAlg,
    key_bits: u32,
    requested: Requested,
    challenge_password: Option<String>,
}

/// The CSR's signature scheme: `<digest>WithRSAEncryption` (MD5 only with
/// `legacy_algorithms`, S-38) or RSASSA-PSS under scep-proto's parameter policy
/// ([`SignatureScheme`]: SHA-256/384/512 with MGF1 of the same hash, SHA-1 only with
/// `legacy_algorithms`).
fn signature_scheme(
    algorithm: &AlgorithmIdentifierOwned,
    legacy_algorithms: bool,
) -> Result<SignatureScheme, IssueError> {
    let profile = if legacy_algorithms {
        Profile::LEGACY
    } else {
        Profile::STRICT
    };
    if algorithm.oid != oids::RSASSA_PSS {
        let hash = DigestAlg::from_rsa_signature_oid(&algorithm.oid)
            .ok_or(IssueError::UnsupportedSignatureAlgorithm { oid: algorithm.oid })?;
        return check_allowed(hash, legacy_algorithms).map(SignatureScheme::Pkcs1v15);
    }
    SignatureScheme::from_algorithm(algorithm, &profile, Layer::PublicKey).map_err(|e| match e {
        scep_proto::Error::PssParameters { problem, .. } => IssueError::PssParameters { problem },
        scep_proto::Error::LegacyAlgorithmDisabled { .. } => IssueError::LegacyAlgorithmRefused {
            hash: DigestAlg::Sha1,
        },
        _ => IssueError::UnsupportedSignatureAlgorithm { oid: algorithm.oid },
    })
}

impl VerifiedCsr {
    /// Decodes a DER CSR and checks it: RSA key of 1024–4096 bits, a `<digest>WithRSAEncryption`
    /// signature (MD5 only with `legacy_algorithms`, S-38) or an RSASSA-PSS one (SHA-256/384/512,
    /// MGF1 with the same hash, trailer 1, a salt the key allows) that verifies over the
    /// certificationRequestInfo bytes as received, and a well-formed extensionRequest.
    ///
    /// # Errors
    /// [`IssueError::MalformedRequest`], [`IssueError::UnsupportedKeyAlgorithm`],
    /// [`IssueError::KeySizeOutOfRange`], [`IssueError::InvalidPublicKey`],
    /// [`IssueError::UnsupportedSignatureAlgorithm`], [`IssueError::LegacyAlgorithmRefused`],
    /// [`IssueError::PssParameters`], [`IssueError::ProofOfPossession`] (FAILURE badMessageCheck),
    /// [`IssueError::MalformedExtensionRequest`], [`IssueError::InvalidRequestedExtension`],
    /// [`IssueError::EmptySubject`].
    pub fn from_der(der: &[u8], legacy_algorithms: bool) -> Result<Self, IssueError> {
        let request = CertReq::from_der(der).map_err(IssueError::MalformedRequest)?;
        let signed = SignedRequest::from_der(der).map_err(IssueError::MalformedRequest)?;
        let info = signed.info.to_der().map_err(IssueError::MalformedRequest)?;
        let signature = signed
            .signature
            .as_bytes()
            .ok_or(IssueError::ProofOfPossession)?;
        Self::check(
            request,
            der.to_vec(),
            &info,
            signature,
            &signed.algorithm.into(),
            legacy_algorithms,
        )
    }

    /// [`VerifiedCsr::from_der`] for an already decoded request (such as the one a PKCSReq's
    /// messageData was decoded into, BER accepted, S-40): the signature is checked over the
    /// DER encoding of its certificationRequestInfo, and the request is not decoded again.
    ///
    /// # Errors
    /// As [`VerifiedCsr::from_der`].
    pub fn verify(request: CertReq, legacy_algorithms: bool) -> Result<Self, IssueError> {
        let der = request.to_der().map_err(IssueError::MalformedRequest)?;
        let info = request
            .info
            .to_der()
            .map_err(IssueError::MalformedRequest)?;
        let signature = request
            .signature
            .as_bytes()
            .ok_or(IssueError::ProofOfPossession)?
            .to_vec();
        let algorithm = request.algorithm.clone();
        Self::check(
            request,
            der,
            &info,
            &signature,
            &algorithm,
            legacy_algorithms,
        )
    }

    fn check(
        request: CertReq,
        der: Vec<u8>,
        info: &[u8],
        signature: &[u8],
        algorithm: &AlgorithmIdentifierOwned,
        legacy_algorithms: bool,
    ) -> Result<Self, IssueError> {
        let (key, key_bits) = rsa_public_key(&request.info.public_key)?;
        let scheme = signature_scheme(algorithm, legacy_algorithms)?;
        let hash = scheme.digest();
        key.verify_scheme(scheme, info, signature)
            .map_err(|e| match e {
                scep_proto::Error::PssParameters { problem, .. } => {
                    IssueError::PssParameters { problem }
                }
                _ => IssueError::ProofOfPossession,
            })?;
        let requested = requested_extensions(&request)?;
        if request.info.subject.is_empty() && requested.subject_alt_name.is_none() {
            return Err(IssueError::EmptySubject);
        }
        let challenge_password = challenge_password(&request);
        Ok(Self {
            request,
            der,
            hash,
            key_bits,
            requested,
            challenge_password,
        })
    }

    /// The decoded request.
    #[must_use]
    pub const fn request(&self) -> &CertReq {
        &self.request
    }

    /// The request's DER, as received (C-14 fingerprints it).
    #[must_use]
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The requested subject (C-10: the certificate's subject).
    #[must_use]
    pub const fn subject(&self) -> &Name {
        &self.request.info.subject
    }

    /// The requested public key (C-10: the certificate's key).
    #[must_use]
    pub const fn public_key_info(&self) -> &SubjectPublicKeyInfoOwned {
        &self.request.info.public_key
    }

    /// The digest of the CSR's signature.
    #[must_use]
    pub const fn signature_hash(&self) -> DigestAlg {
        self.hash
    }

    /// The RSA modulus length in bits.
    #[must_use]
    pub const fn key_bits(&self) -> u32 {
        self.key_bits
    }

    /// Whether the extensionRequest asks for a CA certificate (basicConstraints cA=TRUE);
    /// C-9 step 5 and the `allow_ca` decision need it.
    #[must_use]
    pub fn requests_ca(&self) -> bool {
        self.requested
            .basic_constraints
            .as_ref()
            .is_some_and(|b| b.ca)
    }

    /// The pathLenConstraint of the requested basicConstraints, if any.
    pub(crate) fn requested_path_len(&self) -> Option<u8> {
        self.requested
            .basic_constraints
            .as_ref()
            .and_then(|b| b.path_len_constraint)
    }

    /// The requested subjectAltName, if any.
    #[must_use]
    pub const fn subject_alt_name(&self) -> Option<&SubjectAltName> {
        self.requested.subject_alt_name.as_ref()
    }

    /// The PKCS#9 challengePassword (S-25), if present and a string.
    #[must_use]
    pub fn challenge_password(&self) -> Option<&str> {
        self.challenge_password.as_deref()
    }

    /// The requested extendedKeyUsage: its critical flag and its purposes, if any.
    #[must_use]
    pub fn extended_key_usage(&self) -> Option<(bool, &[ObjectIdentifier])> {
        self.requested
            .extended_key_usage
            .as_ref()
            .map(|(critical, eku)| (*critical, eku.0.as_slice()))
    }

    /// C-10 (amended): where the request is outside `policy`. `renewal_signer` is the signer
    /// certificate when it is a renewal credential (C-8): its subject and subjectAltNames
    /// must then be the request's, unless the policy lets renewals change names.
    #[must_use]
    pub fn violations(
        &self,
        policy: &IssuancePolicy,
        renewal_signer: Option<&Certificate>,
    ) -> Vec<Violation> {
        let mut out = self.requested.violations(policy, self.key_bits);
        if let Some(signer) = renewal_signer
            && !policy.renewal_may_change_names
        {
            let tbs = signer.tbs_certificate();
            let same_subject = scep_proto::names_match(tbs.subject(), self.subject());
            let signer_san = tbs
                .extensions()
                .and_then(|exts| exts.iter().find(|e| e.extn_id == SubjectAltName::OID))
                .and_then(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok());
            if !same_subject || !same_names(signer_san.as_ref(), self.subject_alt_name()) {
                out.push(Violation::RenewalChangesNames);
            }
        }
        out
    }

    /// C-10 extensions from the request as `policy` allows them, before SKI and AKI:
    /// basicConstraints, keyUsage, extendedKeyUsage (only allowed purposes; critical only if
    /// requested and allowed), subjectAltName (only allowed types).
    pub(super) fn issued_extensions(
        &self,
        allow_ca: bool,
        policy: &IssuancePolicy,
    ) -> Result<Vec<Extension>, IssueError> {
        let requested = &self.requested;
        let is_ca = allow_ca && self.requests_ca();
        let basic = BasicConstraints {
            ca: is_ca,
            path_len_constraint: if is_ca {
                requested
                    .basic_constraints
                    .as_ref()
                    .and_then(|b| b.path_len_constraint)
            } else {
                None
            },
        };
        let ca_only = KeyUsages::KeyCertSign | KeyUsages::CRLSign;
        let usages = match (is_ca, requested.key_usage) {
            (true, Some(ku)) => ku.0 | ca_only,
            (true, None) => KeyUsages::DigitalSignature | ca_only,
            (false, Some(ku)) if !(ku.0 & !ca_only).is_empty() => ku.0 & !ca_only,
            (false, _) => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        };
        let mut out = vec![
            extension(&basic, true)?,
            extension(&KeyUsage(usages), true)?,
        ];
        if let Some((critical, eku)) = &requested.extended_key_usage {
            let allowed: Vec<ObjectIdentifier> = eku
                .0
                .iter()
                .filter(|oid| {
                    KeyPurpose::from_oid(oid)
                        .is_some_and(|p| policy.extended_key_usages.contains(p))
                })
                .copied()
                .collect();
            if !allowed.is_empty() {
                out.push(extension(
                    &ExtendedKeyUsage(allowed),
                    *critical && policy.critical_eku,
                )?);
            }
        }
        let names: Vec<GeneralName> = requested
            .subject_alt_name
            .iter()
            .flat_map(|san| san.0.iter())
            .filter(|n| policy.san_types.contains(SanType::of(n)))
            .cloned()
            .collect();
        if names.is_empty() {
            if self.subject().is_empty() {
                return Err(IssueError::EmptySubject);
            }
        } else {
            out.push(extension(
                &SubjectAltName(names),
                self.subject().is_empty(),
            )?);
        }
        Ok(out)
    }
}

impl Requested {
    /// C-10: the requested extensions against `policy`, and the key size.
    fn violations(&self, policy: &IssuancePolicy, key_bits: u32) -> Vec<Violation> {
        let mut out = Vec::new();
        if !(policy.min_key_bits..=policy.max_key_bits).contains(&key_bits) {
            out.push(Violation::KeySize(key_bits));
        }
        if let Some((critical, eku)) = &self.extended_key_usage {
            for oid in &eku.0 {
                match KeyPurpose::from_oid(oid) {
                    Some(p) if policy.extended_key_usages.contains(p) => {}
                    Some(p) => out.push(Violation::ExtendedKeyUsage(p)),
                    None => out.push(Violation::UnknownExtendedKeyUsage(*oid)),
                }
            }
            if *critical && !policy.critical_eku {
                out.push(Violation::CriticalExtendedKeyUsage);
            }
        }
        let mut types = BTreeSet::new();
        for name in self.subject_alt_name.iter().flat_map(|san| san.0.iter()) {
            let t = SanType::of(name);
            if !policy.san_types.contains(t) && types.insert(t) {
                out.push(Violation::SanType(t));
            }
        }
        out
    }
}

/// Whether two subjectAltNames hold the same names (order and duplicates ignored).
fn same_names(a: Option<&SubjectAltName>, b: Option<&SubjectAltName>) -> bool {
    let set = |san: Option<&SubjectAltName>| -> BTreeSet<Vec<u8>> {
        san.iter()
            .flat_map(|s| s.0.iter())
            .filter_map(|n| n.to_der().ok())
            .collect()
    };
    set(a) == set(b)
}

/// What the administrator sees of a stored request (C-14), decoded without checking its
/// signature again (it was checked on arrival; no RSA work while listing).
pub(crate) struct CsrSummary {
    pub(crate) subject: String,
    pub(crate) key_bits: u32,
    pub(crate) subject_alt_names: Vec<String>,
    pub(crate) extended_key_usages: Vec<String>,
}

impl CsrSummary {
    pub(crate) fn of(der: &[u8]) -> Option<Self> {
        let request = CertReq::from_der(der).ok()?;
        let (_, key_bits) = rsa_public_key(&request.info.public_key).ok()?;
        let requested = requested_extensions(&request).ok()?;
        Some(Self {
            subject: request.info.subject.to_string(),
            key_bits,
            subject_alt_names: requested
                .subject_alt_name
                .iter()
                .flat_map(|san| san.0.iter())
                .map(general_name_text)
                .collect(),
            extended_key_usages: requested
                .extended_key_usage
                .iter()
                .flat_map(|(_, eku)| eku.0.iter())
                .map(|oid| {
                    KeyPurpose::from_oid(oid)
                        .map_or_else(|| oid.to_string(), |p| p.name().to_owned())
                })
                .collect(),
        })
    }

    /// The violations of a stored request, for the listing.
    pub(crate) fn violations(der: &[u8], policy: &IssuancePolicy) -> Vec<Violation> {
        let Ok(request) = CertReq::from_der(der) else {
            return Vec::new();
        };
        let bits = rsa_public_key(&request.info.public_key).map_or(0, |(_, b)| b);
        requested_extensions(&request)
            .map(|r| r.violations(policy, bits))
            .unwrap_or_default()
    }
}

/// A GeneralName as `type:value` text (`dns:www.example`, `ip:192.0.2.1`, …).
fn general_name_text(name: &GeneralName) -> String {
    let t = SanType::of(name);
    match name {
        GeneralName::DnsName(s) => format!("{t}:{s}"),
        GeneralName::Rfc822Name(s) => format!("{t}:{s}"),
        GeneralName::UniformResourceIdentifier(s) => format!("{t}:{s}"),
        GeneralName::DirectoryName(n) => format!("{t}:{n}"),
        GeneralName::RegisteredId(oid) => format!("{t}:{oid}"),
        GeneralName::IpAddress(ip) => match ip.as_bytes() {
            [a, b, c, d] => format!("{t}:{a}.{b}.{c}.{d}"),
            bytes => match <[u8; 16]>::try_from(bytes) {
                Ok(v6) => format!("{t}:{}", std::net::Ipv6Addr::from(v6)),
                Err(_) => format!("{t}:?"),
            },
        },
        GeneralName::OtherName(o) => format!("{t}:{}", o.type_id),
        GeneralName::EdiPartyName(_) => format!("{t}:?"),
    }
}

impl fmt::Debug for VerifiedCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCsr")
            .field("subject", &format_args!("{}", self.subject()))
            .field("hash", &self.hash)
            .field("key_bits", &self.key_bits)
            .field("requests_ca", &self.requests_ca())
            .field(
                "challenge_password",
                &self.challenge_password.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

fn decode_requested<T: for<'a> Decode<'a>>(ext: &Extension) -> Result<T, IssueError> {
    T::from_der(ext.extn_value.as_bytes())
        .map_err(|_| IssueError::InvalidRequestedExtension { oid: ext.extn_id })
}

/// The extensionRequest attribute (at most one, single-valued) and the extensions C-10 copies.
fn requested_extensions(request: &CertReq) -> Result<Requested, IssueError> {
    let mut attrs = request
        .info
        .attributes
        .iter()
        .filter(|a| a.oid == oids::EXTENSION_REQUEST);
    let Some(attr) = attrs.next() else {
        return Ok(Requested::default());
    };
    if attrs.next().is_some() || attr.values.len() != 1 {
        return Err(IssueError::MalformedExtensionRequest);
    }
    let value = attr
        .values
        .iter()
        .next()
        .ok_or(IssueError::MalformedExtensionRequest)?;
    let extensions: Vec<Extension> = value
        .decode_as()
        .map_err(|_| IssueError::MalformedExtensionRequest)?;
    let mut out = Requested::default();
    // A set, not pairwise comparison: the extension count is attacker-controlled.
    let mut seen = BTreeSet::new();
    for ext in &extensions {
        if !seen.insert(ext.extn_id) {
            return Err(IssueError::MalformedExtensionRequest);
        }
        match ext.extn_id {
            SubjectAltName::OID => out.subject_alt_name = Some(decode_requested(ext)?),
            KeyUsage::OID => out.key_usage = Some(decode_requested(ext)?),
            ExtendedKeyUsage::OID => {
                out.extended_key_usage = Some((ext.critical, decode_requested(ext)?));
            }
            BasicConstraints::OID => out.basic_constraints = Some(decode_requested(ext)?),
            // Anything else is not copied (C-10 lists what is).
            _ => {}
        }
    }
    Ok(out)
}

/// The challengePassword as text: a DirectoryString (RFC 2985) or, as some clients send, an
/// IA5String. Absent, multi-valued or undecodable ⇒ `None` (S-25: never a reason to refuse).
fn challenge_password(request: &CertReq) -> Option<String> {
    let attr = request
        .info
        .attributes
        .iter()
        .find(|a| a.oid == oids::CHALLENGE_PASSWORD)?;
    if attr.values.len() != 1 {
        return None;
    }
    let value = attr.values.iter().next()?;
    if let Ok(ds) = value.decode_as::<DirectoryString>() {
        return match ds {
            DirectoryString::PrintableString(s) => Some(s.to_string()),
            DirectoryString::Utf8String(s) => Some(s),
            DirectoryString::TeletexString(s) => Some(s.to_string()),
            DirectoryString::BmpString(s) => Some(s.to_string()),
        };
    }
    value.decode_as::<Ia5String>().ok().map(|s| s.to_string())
}
