//! The CA's configuration (SPEC §3.1).

use core::fmt;
use std::str::FromStr;

use pki_timers::{Duration, LifetimeKind, Overlap, RolloverIdentityPolicy};
use scep_proto::CapsProfile;
use x509_cert::name::Name;

use super::error::{CaError, ConfigError};
use super::ra::GrantAutoRollover;
use crate::archive::ArchiveFormat;
use crate::policy::IssuancePolicy;
use scep_proto::{DigestAlg, PrivateKey};

/// Who decides whether an enrolment request gets a certificate (SPEC §3.1 `grant`, C-9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantMode {
    /// Requests wait in the pending table for an administrator (IOS default).
    #[default]
    Manual,
    /// Every request with a valid proof of possession is granted at once (C-17).
    Auto,
    /// Every enrolment request is refused with FAILURE badRequest (C-9 step 1).
    None,
    /// Granted iff the signer is a registered RA: the RA certificate this CA issued
    /// ([`CaConfig::ra_subject`], [`crate::Ca::create_ra`]), byte for byte, valid now. Every
    /// other request waits as under [`GrantMode::Manual`].
    RaAuto,
}

/// What the CA keeps about issued certificates (C-18).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DatabaseLevel {
    /// Serial counter, CRL, request table, revoked serials, CA keys (IOS default).
    #[default]
    Minimal,
    /// Minimal plus one (serial, subject) record per issued certificate.
    Names,
    /// Names plus the DER of every issued certificate (needed by GetCert, S-35).
    Complete,
}

/// The CA configuration; [`CaConfig::default`] gives the SPEC §3.1 defaults. Check it with
/// [`CaConfig::validate`] ([`crate::Ca::open`] does).
///
/// `Debug` prints neither the archive password nor the key passphrase.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaConfig {
    /// The server name: the key label (C-1) and the archive file stem (C-19). Letters,
    /// digits, `_` and `-`.
    pub name: String,
    /// `issuer_name`: the CA's DN in RFC 4514 text, e.g. `CN=ROOTCA` (fixed once the CA
    /// exists, C-2).
    pub issuer_name: String,
    /// `lifetime_certificate`, L_cert (365 days; 1–1825 days).
    pub lifetime_certificate: Duration,
    /// `lifetime_ca_certificate`, L_ca (1095 days; 1–7305 days).
    pub lifetime_ca_certificate: Duration,
    /// `lifetime_crl`, L_crl (6 hours, Q-2; 1–336 hours).
    pub lifetime_crl: Duration,
    /// `lifetime_enrollment_request`, L_req (168 hours; 1–1000 hours, T-15).
    pub lifetime_enrollment_request: Duration,
    /// `auto_rollover` overlap O (T-5); `None` arms no shadow generation.
    pub auto_rollover: Option<Overlap>,
    /// `grant` mode (C-9).
    pub grant: GrantMode,
    /// `grant_auto_trustpoint Self`: renewals signed by a valid certificate of the active CA
    /// are granted (C-9 step 4).
    pub grant_auto_trustpoint: bool,
    /// `grant_auto_rollover` (C-9 step 5): which shadow requests to the rollover CA are
    /// granted at once.
    pub grant_auto_rollover: GrantAutoRollover,
    /// RA mode (S-7, S-31, C-6): the subject of the RA certificate, in RFC 4514 text (e.g.
    /// `CN=ROOTCA-RA`). When set, a new CA is created with an RA key and certificate, and
    /// every rollover CA gets its own (S-33); an existing CA without one gets it when opened
    /// ([`crate::Ca::open`]). `None` (default): no RA at creation; one can still be made with
    /// [`crate::Ca::create_ra`].
    pub ra_subject: Option<String>,
    /// `database_level` (C-18).
    pub database_level: DatabaseLevel,
    /// Digest of the CA's own signatures (certificates, CRLs); SHA-1 and MD5 need
    /// `legacy_algorithms`.
    pub hash: DigestAlg,
    /// RSA modulus size of CA keys (2048; 1024–4096).
    pub key_bits: u32,
    /// GetCACaps profile (S-16, C-27).
    pub caps_profile: CapsProfile,
    /// List `GetNextCACert` even without a rollover (Q-6, C-27).
    pub advertise_next_ca_always: bool,
    /// Validity of certificates issued by the rollover CA (C-11, Q-5).
    pub rollover_id_validity: RolloverIdentityPolicy,
    /// Default validity of a one-time password in minutes (60; 1–1440, Q-7).
    pub otp_default_minutes: u32,
    /// Accept DES-CBC and MD5 from peers; allow SHA-1 and MD5 as `hash`; answer a SHA-1
    /// request with a SHA-1 CertRep (else SHA-256) (S-27, S-37, S-38).
    pub legacy_algorithms: bool,
    /// Put the issuing CA certificate into a CertRep SUCCESS, after the issued certificate
    /// (S-28; default true). Some clients need it (EJBCA documents the Cisco VPN client),
    /// others refuse a bag with more than one certificate (EJBCA documents Juniper's).
    pub ca_cert_in_success: bool,
    /// The archive password (C-19). `None`: no key archive is written.
    pub archive_password: Option<String>,
    /// The archive file format (SPEC §3.1 `database_archive`, C-19): PKCS#12 (`.p12`, as IOS
    /// writes it) by default; encrypted PKCS#8 PEM (`.pem`) on request.
    pub archive_format: ArchiveFormat,
    /// The most entries the request table holds (pending, issued and rejected ones until
    /// their purge, C-16); default 10 000, range 1–10 000 000. A new request that would need
    /// one more is answered HTTP 503 (nothing signed or stored; a client retries later, and
    /// the retry of a known transaction is still answered). Raise it for fleets that enrol
    /// more than this within `lifetime_enrollment_request`.
    ///
    /// C-14: requests signed by a valid certificate of this CA (renewal credentials) are
    /// admitted even when the table is full (they are bounded by the certificates the CA
    /// issued), so a flood of self-signed requests cannot lock renewals out. Any other signer
    /// key holds at most 4 not-yet-issued entries; a further new transaction from that key is
    /// answered FAILURE badRequest (decided from the cleartext signer, before decrypting).
    pub max_requests: usize,
    /// The longest CSR accepted, in bytes of DER; default 16 KiB, range 512–262 144. A longer
    /// one is answered FAILURE badRequest before its signature is checked or anything is
    /// stored.
    pub max_csr_bytes: usize,
    /// The passphrase that encrypts the CA keys (active and rollover) in the store: PBES2
    /// encrypted PKCS#8 as the archive (PBKDF2-HMAC-SHA256, 600 000 iterations, AES-256-CBC).
    /// `None`: the keys are stored unencrypted, and the store must be protected as the keys
    /// themselves. Keys stored unencrypted are encrypted the first time the CA opens with a
    /// passphrase; keys stored encrypted need it ([`CaError::KeyPassphraseRequired`],
    /// [`CaError::WrongKeyPassphrase`]).
    pub key_passphrase: Option<String>,
    /// What certificates issued from requests may contain (C-10 amended).
    pub policy: IssuancePolicy,
}

impl Default for CaConfig {
    fn default() -> Self {
        Self {
            name: "ROOTCA".to_owned(),
            issuer_name: "CN=ROOTCA".to_owned(),
            lifetime_certificate: Duration::from_days(365),
            lifetime_ca_certificate: Duration::from_days(1095),
            lifetime_crl: Duration::from_hours(6),
            lifetime_enrollment_request: Duration::from_hours(168),
            auto_rollover: None,
            grant: GrantMode::Manual,
            grant_auto_trustpoint: false,
            grant_auto_rollover: GrantAutoRollover::default(),
            ra_subject: None,
            database_level: DatabaseLevel::Minimal,
            hash: DigestAlg::Sha256,
            key_bits: 2048,
            caps_profile: CapsProfile::Full,
            advertise_next_ca_always: true,
            rollover_id_validity: RolloverIdentityPolicy::Balance,
            otp_default_minutes: 60,
            legacy_algorithms: false,
            ca_cert_in_success: true,
            archive_password: None,
            archive_format: ArchiveFormat::Pkcs12,
            max_requests: 10_000,
            max_csr_bytes: 16 * 1024,
            key_passphrase: None,
            policy: IssuancePolicy::DEFAULT,
        }
    }
}

impl fmt::Debug for CaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaConfig")
            .field("name", &self.name)
            .field("issuer_name", &self.issuer_name)
            .field("lifetime_certificate", &self.lifetime_certificate)
            .field("lifetime_ca_certificate", &self.lifetime_ca_certificate)
            .field("lifetime_crl", &self.lifetime_crl)
            .field(
                "lifetime_enrollment_request",
                &self.lifetime_enrollment_request,
            )
            .field("auto_rollover", &self.auto_rollover)
            .field("grant", &self.grant)
            .field("grant_auto_trustpoint", &self.grant_auto_trustpoint)
            .field("grant_auto_rollover", &self.grant_auto_rollover)
            .field("ra_subject", &self.ra_subject)
            .field("database_level", &self.database_level)
            .field("hash", &self.hash)
            .field("key_bits", &self.key_bits)
            .field("caps_profile", &self.caps_profile)
            .field("advertise_next_ca_always", &self.advertise_next_ca_always)
            .field("rollover_id_validity", &self.rollover_id_validity)
            .field("otp_default_minutes", &self.otp_default_minutes)
            .field("legacy_algorithms", &self.legacy_algorithms)
            .field("ca_cert_in_success", &self.ca_cert_in_success)
            .field(
                "archive_password",
                &self.archive_password.as_ref().map(|_| "<redacted>"),
            )
            .field("archive_format", &self.archive_format)
            .field("max_requests", &self.max_requests)
            .field("max_csr_bytes", &self.max_csr_bytes)
            .field(
                "key_passphrase",
                &self.key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("policy", &self.policy)
            .finish()
    }
}

impl CaConfig {
    /// Checks every key against its SPEC §3.1 range and parses `issuer_name`.
    ///
    /// # Errors
    /// [`CaError::Config`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), CaError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if !name_ok {
            return Err(ConfigError::InvalidName.into());
        }
        self.issuer()?;
        for (kind, value) in [
            (LifetimeKind::Certificate, self.lifetime_certificate),
            (LifetimeKind::CaCertificate, self.lifetime_ca_certificate),
            (LifetimeKind::Crl, self.lifetime_crl),
            (
                LifetimeKind::EnrollmentRequest,
                self.lifetime_enrollment_request,
            ),
        ] {
            kind.check(value)
                .map_err(|e| CaError::Config(ConfigError::Lifetime(e)))?;
        }
        if !(PrivateKey::MIN_BITS..=PrivateKey::MAX_BITS).contains(&self.key_bits) {
            return Err(ConfigError::KeyBits {
                bits: self.key_bits,
            }
            .into());
        }
        if !(1..=1440).contains(&self.otp_default_minutes) {
            return Err(ConfigError::OtpMinutes {
                minutes: self.otp_default_minutes,
            }
            .into());
        }
        if (self.hash.is_legacy() || self.hash == DigestAlg::Sha1) && !self.legacy_algorithms {
            return Err(ConfigError::LegacyHash.into());
        }
        let p = &self.policy;
        let bits = PrivateKey::MIN_BITS..=PrivateKey::MAX_BITS;
        if p.min_key_bits > p.max_key_bits
            || !bits.contains(&p.min_key_bits)
            || !bits.contains(&p.max_key_bits)
        {
            return Err(ConfigError::PolicyKeyBits {
                min: p.min_key_bits,
                max: p.max_key_bits,
            }
            .into());
        }
        if p.max_validity.is_some_and(|v| v.as_secs() == 0) {
            return Err(ConfigError::PolicyValidity.into());
        }
        if self.archive_password.as_deref() == Some("") {
            return Err(ConfigError::EmptyArchivePassword.into());
        }
        if !(1..=10_000_000).contains(&self.max_requests) {
            return Err(ConfigError::MaxRequests {
                value: self.max_requests,
            }
            .into());
        }
        if !(512..=256 * 1024).contains(&self.max_csr_bytes) {
            return Err(ConfigError::MaxCsrBytes {
                value: self.max_csr_bytes,
            }
            .into());
        }
        if self.key_passphrase.as_deref() == Some("") {
            return Err(ConfigError::EmptyKeyPassphrase.into());
        }
        self.ra_subject_name()?;
        Ok(())
    }

    /// `issuer_name` parsed as a DN.
    ///
    /// # Errors
    /// [`ConfigError::InvalidIssuerName`] if it does not parse or is empty.
    pub fn issuer(&self) -> Result<Name, CaError> {
        let name = Name::from_str(&self.issuer_name).map_err(|_| ConfigError::InvalidIssuerName)?;
        if name.is_empty() {
            return Err(ConfigError::InvalidIssuerName.into());
        }
        Ok(name)
    }
}
