//! The issuance policy (C-10 amended): what a certificate issued from a request may contain.
//!
//! Nothing of a request is copied blindly. [`IssuancePolicy`] (in
//! [`CaConfig::policy`](crate::CaConfig)) says which extended key usages and which
//! subjectAltName types may be issued, whether extendedKeyUsage may be critical, which key
//! sizes are accepted, the longest validity, and whether a renewal may change its names.
//! A request outside it is refused with FAILURE badRequest when it would be granted
//! automatically, and waits in the pending table with its [`Violation`]s listed otherwise
//! (C-10); whatever an administrator grants is still issued through the policy: usages and
//! name types it does not allow are left out of the certificate.
//!
//! The host can narrow it further per request ([`crate::host::CaHost::review`]).

use core::fmt;
use std::str::FromStr;

use der::oid::ObjectIdentifier;
use pki_timers::Duration;
use x509_cert::ext::pkix::name::GeneralName;

/// An extended key usage the CA knows (RFC 5280 §4.2.1.12, RFC 4945 for IKE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// `serverAuth` (1.3.6.1.5.5.7.3.1).
    ServerAuth,
    /// `clientAuth` (1.3.6.1.5.5.7.3.2).
    ClientAuth,
    /// `codeSigning` (1.3.6.1.5.5.7.3.3): never by default.
    CodeSigning,
    /// `emailProtection` (1.3.6.1.5.5.7.3.4).
    EmailProtection,
    /// `ipsecEndSystem` (1.3.6.1.5.5.7.3.5).
    IpsecEndSystem,
    /// `ipsecTunnel` (1.3.6.1.5.5.7.3.6).
    IpsecTunnel,
    /// `ipsecUser` (1.3.6.1.5.5.7.3.7).
    IpsecUser,
    /// `timeStamping` (1.3.6.1.5.5.7.3.8): never by default.
    TimeStamping,
    /// `OCSPSigning` (1.3.6.1.5.5.7.3.9): never by default (a delegated OCSP responder for
    /// the whole CA).
    OcspSigning,
    /// `ipsecIKE` (1.3.6.1.5.5.7.3.17).
    IpsecIke,
    /// `anyExtendedKeyUsage` (2.5.29.37.0): never by default.
    AnyExtendedKeyUsage,
}

impl KeyPurpose {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 11] = [
        Self::ServerAuth,
        Self::ClientAuth,
        Self::CodeSigning,
        Self::EmailProtection,
        Self::IpsecEndSystem,
        Self::IpsecTunnel,
        Self::IpsecUser,
        Self::TimeStamping,
        Self::OcspSigning,
        Self::IpsecIke,
        Self::AnyExtendedKeyUsage,
    ];

    /// The RFC 5280 name (`serverAuth`, `OCSPSigning`, …), also what [`FromStr`] reads.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::ServerAuth => "serverAuth",
            Self::ClientAuth => "clientAuth",
            Self::CodeSigning => "codeSigning",
            Self::EmailProtection => "emailProtection",
            Self::IpsecEndSystem => "ipsecEndSystem",
            Self::IpsecTunnel => "ipsecTunnel",
            Self::IpsecUser => "ipsecUser",
            Self::TimeStamping => "timeStamping",
            Self::OcspSigning => "OCSPSigning",
            Self::IpsecIke => "ipsecIKE",
            Self::AnyExtendedKeyUsage => "anyExtendedKeyUsage",
        }
    }

    /// Its object identifier.
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        // Evaluated at compile time: the literals are valid OIDs.
        const fn kp(arc: &str) -> ObjectIdentifier {
            ObjectIdentifier::new_unwrap(arc)
        }
        match self {
            Self::ServerAuth => const { kp("1.3.6.1.5.5.7.3.1") },
            Self::ClientAuth => const { kp("1.3.6.1.5.5.7.3.2") },
            Self::CodeSigning => const { kp("1.3.6.1.5.5.7.3.3") },
            Self::EmailProtection => const { kp("1.3.6.1.5.5.7.3.4") },
            Self::IpsecEndSystem => const { kp("1.3.6.1.5.5.7.3.5") },
            Self::IpsecTunnel => const { kp("1.3.6.1.5.5.7.3.6") },
            Self::IpsecUser => const { kp("1.3.6.1.5.5.7.3.7") },
            Self::TimeStamping => const { kp("1.3.6.1.5.5.7.3.8") },
            Self::OcspSigning => const { kp("1.3.6.1.5.5.7.3.9") },
            Self::IpsecIke => const { kp("1.3.6.1.5.5.7.3.17") },
            Self::AnyExtendedKeyUsage => const { kp("2.5.29.37.0") },
        }
    }

    /// The usage an object identifier names, if the CA knows it.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.oid() == *oid)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is neither a [`KeyPurpose`] nor a [`SanType`] name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

impl FromStr for KeyPurpose {
    type Err = UnknownName;

    /// The RFC 5280 name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A set of [`KeyPurpose`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyPurposes(u16);

impl KeyPurposes {
    /// No usage.
    pub const NONE: Self = Self(0);
    /// The C-10 default: serverAuth, clientAuth, ipsecIKE, ipsecEndSystem, ipsecTunnel,
    /// ipsecUser.
    pub const DEFAULT: Self = Self::NONE
        .with(KeyPurpose::ServerAuth)
        .with(KeyPurpose::ClientAuth)
        .with(KeyPurpose::IpsecIke)
        .with(KeyPurpose::IpsecEndSystem)
        .with(KeyPurpose::IpsecTunnel)
        .with(KeyPurpose::IpsecUser);

    /// This set and `p`.
    #[must_use]
    pub const fn with(self, p: KeyPurpose) -> Self {
        Self(self.0 | p.bit())
    }

    /// Whether `p` is in the set.
    #[must_use]
    pub const fn contains(self, p: KeyPurpose) -> bool {
        self.0 & p.bit() != 0
    }

    /// The usages in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The members, in [`KeyPurpose::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = KeyPurpose> {
        KeyPurpose::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<KeyPurpose> for KeyPurposes {
    fn from_iter<I: IntoIterator<Item = KeyPurpose>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for KeyPurposes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A subjectAltName `GeneralName` type (RFC 5280 §4.2.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SanType {
    /// `dNSName`.
    Dns,
    /// `iPAddress`.
    Ip,
    /// `rfc822Name` (e-mail).
    Email,
    /// `uniformResourceIdentifier`.
    Uri,
    /// `directoryName`.
    DirectoryName,
    /// `otherName` (e.g. a Microsoft UPN).
    OtherName,
    /// `registeredID`.
    RegisteredId,
    /// `x400Address` and `ediPartyName`.
    Other,
}

impl SanType {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Dns,
        Self::Ip,
        Self::Email,
        Self::Uri,
        Self::DirectoryName,
        Self::OtherName,
        Self::RegisteredId,
        Self::Other,
    ];

    /// The short name [`FromStr`] reads: `dns`, `ip`, `email`, `uri`, `dirname`,
    /// `othername`, `rid`, `other`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Ip => "ip",
            Self::Email => "email",
            Self::Uri => "uri",
            Self::DirectoryName => "dirname",
            Self::OtherName => "othername",
            Self::RegisteredId => "rid",
            Self::Other => "other",
        }
    }

    /// The type of a name.
    #[must_use]
    pub const fn of(name: &GeneralName) -> Self {
        match name {
            GeneralName::DnsName(_) => Self::Dns,
            GeneralName::IpAddress(_) => Self::Ip,
            GeneralName::Rfc822Name(_) => Self::Email,
            GeneralName::UniformResourceIdentifier(_) => Self::Uri,
            GeneralName::DirectoryName(_) => Self::DirectoryName,
            GeneralName::OtherName(_) => Self::OtherName,
            GeneralName::RegisteredId(_) => Self::RegisteredId,
            GeneralName::EdiPartyName(_) => Self::Other,
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for SanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SanType {
    type Err = UnknownName;

    /// The short name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A set of [`SanType`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanTypes(u8);

impl SanTypes {
    /// No type.
    pub const NONE: Self = Self(0);
    /// The C-10 default: dNSName, iPAddress, rfc822Name.
    pub const DEFAULT: Self = Self::NONE
        .with(SanType::Dns)
        .with(SanType::Ip)
        .with(SanType::Email);

    /// This set and `t`.
    #[must_use]
    pub const fn with(self, t: SanType) -> Self {
        Self(self.0 | t.bit())
    }

    /// Whether `t` is in the set.
    #[must_use]
    pub const fn contains(self, t: SanType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The types in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The members, in [`SanType::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = SanType> {
        SanType::ALL.into_iter().filter(move |t| self.contains(*t))
    }
}

impl FromIterator<SanType> for SanTypes {
    fn from_iter<I: IntoIterator<Item = SanType>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for SanTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What certificates issued from requests may contain (C-10 amended).
/// [`IssuancePolicy::default`] is the safe default of the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct IssuancePolicy {
    /// Extended key usages that may be issued; others are refused (or, when an
    /// administrator grants the request, left out).
    pub extended_key_usages: KeyPurposes,
    /// subjectAltName types that may be issued.
    pub san_types: SanTypes,
    /// Whether extendedKeyUsage may be marked critical as requested. Off: never critical.
    pub critical_eku: bool,
    /// Smallest RSA modulus accepted (S-39 allows 1024).
    pub min_key_bits: u32,
    /// Largest RSA modulus accepted (S-39 allows 4096).
    pub max_key_bits: u32,
    /// Longest validity of an issued certificate; `None`: `lifetime_certificate` (T-7).
    pub max_validity: Option<Duration>,
    /// Whether a renewal (signed by a renewal credential, C-8) may ask for a subject or
    /// subjectAltNames other than its signer's. Off: such a renewal is outside the policy.
    pub renewal_may_change_names: bool,
}

impl IssuancePolicy {
    /// The default: [`KeyPurposes::DEFAULT`], [`SanTypes::DEFAULT`], EKU never critical,
    /// 1024–4096-bit keys, validity `lifetime_certificate`, renewals keep their names.
    pub const DEFAULT: Self = Self {
        extended_key_usages: KeyPurposes::DEFAULT,
        san_types: SanTypes::DEFAULT,
        critical_eku: false,
        min_key_bits: scep_proto::PrivateKey::MIN_BITS,
        max_key_bits: scep_proto::PrivateKey::MAX_BITS,
        max_validity: None,
        renewal_may_change_names: false,
    };

    /// This policy narrowed by a host's [`Narrowing`]: the intersection of the sets, the
    /// shorter validity. It never widens.
    #[must_use]
    pub fn narrowed(mut self, n: &Narrowing) -> Self {
        if let Some(e) = n.extended_key_usages {
            self.extended_key_usages = self.extended_key_usages.intersection(e);
        }
        if let Some(t) = n.san_types {
            self.san_types = self.san_types.intersection(t);
        }
        if let Some(v) = n.max_validity {
            self.max_validity = Some(self.max_validity.map_or(v, |m| m.min(v)));
        }
        self
    }
}

impl Default for IssuancePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How a host narrows one request ([`crate::host::Review::Narrow`]): `None` keeps the
/// policy's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Narrowing {
    /// Issue only these extended key usages (intersected with the policy's).
    pub extended_key_usages: Option<KeyPurposes>,
    /// Issue only subjectAltNames of these types (intersected with the policy's).
    pub san_types: Option<SanTypes>,
    /// At most this validity.
    pub max_validity: Option<Duration>,
}

/// Why a request is outside the [`IssuancePolicy`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// An extended key usage the policy does not allow.
    ExtendedKeyUsage(KeyPurpose),
    /// An extended key usage the CA does not know (never issued).
    UnknownExtendedKeyUsage(ObjectIdentifier),
    /// extendedKeyUsage marked critical while the policy does not allow it.
    CriticalExtendedKeyUsage,
    /// A subjectAltName type the policy does not allow.
    SanType(SanType),
    /// An RSA modulus size outside the policy's range.
    KeySize(u32),
    /// A renewal asking for a subject or subjectAltNames other than its signer's.
    RenewalChangesNames,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExtendedKeyUsage(p) => write!(f, "EKU {p} not allowed"),
            Self::UnknownExtendedKeyUsage(oid) => write!(f, "unknown EKU {oid}"),
            Self::CriticalExtendedKeyUsage => f.write_str("critical EKU not allowed"),
            Self::SanType(t) => write!(f, "SAN type {t} not allowed"),
            Self::KeySize(bits) => write!(f, "{bits}-bit key not allowed"),
            Self::RenewalChangesNames => f.write_str("renewal changes subject or SANs"),
        }
    }
}
