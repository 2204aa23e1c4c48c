//! Trustpoint configuration (SPEC §4, configuration paragraph).

use pki_timers::{Backoff, Duration, Percent, RetryConfig};
use scep_proto::MessageType;

/// `auto-enroll [percent] [regenerate]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutoEnroll {
    /// Renewal instant as a share of the identity certificate's lifetime (T-1); bare ⇒ 100.
    pub percent: Percent,
    /// Make a new (shadow) key pair for every renewal (K-6).
    pub regenerate: bool,
}

impl AutoEnroll {
    /// Auto-enroll at `percent` without key regeneration.
    #[must_use]
    pub const fn new(percent: Percent) -> Self {
        Self {
            percent,
            regenerate: false,
        }
    }
}

/// Which messageType a renewal signed by the current identity uses (K-6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewalMessage {
    /// PKCSReq (19), as IOS sends it.
    #[default]
    PkcsReq,
    /// RenewalReq (17).
    RenewalReq,
}

impl RenewalMessage {
    pub(crate) fn message_type(self) -> MessageType {
        match self {
            Self::PkcsReq => MessageType::PkcsReq,
            Self::RenewalReq => MessageType::RenewalReq,
        }
    }
}

/// Everything a trustpoint is configured with. Build with `Default` and set the fields.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustpointConfig {
    /// The trustpoint's name (labels in the timer listing, T-16).
    pub name: String,
    /// The enrolment URL's path sent in requests (e.g. `/cgi-bin/pkiclient.exe`); the host's
    /// transport owns scheme, host and port.
    pub path: String,
    /// Auto-enroll (K-3, K-4); `None`: only the CA-only SHADOW runs automatically.
    pub auto_enroll: Option<AutoEnroll>,
    /// P, the enrolment retry period (1–60 minutes, default 1 minute).
    pub retry_period: Duration,
    /// N, the enrolment retry count (default 999; 0 = unlimited).
    pub retry_count: u32,
    /// Subject DN of the identity certificate, RFC 4514 text (`CN=router,O=Example`).
    pub subject: String,
    /// The challengePassword put in the CSR.
    pub challenge_password: Option<String>,
    /// subjectAltName entries requested in the CSR (the CA decides what it copies).
    pub subject_alt_names: Vec<crate::san::SubjectAltName>,
    /// Expected CA fingerprint (MD5, SHA-1 or SHA-256 by length; spaces, colons and case
    /// ignored); `None`: the host approves the CA (`approve_ca`).
    pub ca_fingerprint: Option<String>,
    /// messageType of renewals signed by the identity certificate.
    pub renewal_message: RenewalMessage,
    /// Accept DES and MD5 from old peers (S-37, S-38).
    pub legacy_algorithms: bool,
    /// RSA key size of generated key pairs (default 2048).
    pub key_bits: u32,
    /// CONNECT RETRY spacing (T-11, Q-3).
    pub connect_retry: Backoff,
    /// K-10a: requests that need not go out at the instant that made them due (the GetCACaps
    /// refresh after an activation) are spread over this window, at this trustpoint's own
    /// offset ([`Trustpoint::jitter_offset`](crate::Trustpoint::jitter_offset)). Zero: at once.
    /// Default 12 hours; at most 30 days.
    pub jitter: Duration,
    /// K-5a (amended T-13): with auto-enroll, once the identity certificate has expired
    /// without a renewal (a CA outage longer than the renewal lead time), enrol afresh — a
    /// self-signed PKCSReq with the configured challenge password, a new key pair if
    /// `regenerate` — tried every P (each attempt with its CONNECT RETRYs, T-11) until the CA
    /// answers, instead of stopping at `IdentityExpiring`. Default off.
    pub reenroll_after_expiry: bool,
}

impl core::fmt::Debug for TrustpointConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrustpointConfig")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("auto_enroll", &self.auto_enroll)
            .field("retry_period", &self.retry_period)
            .field("retry_count", &self.retry_count)
            .field("subject", &self.subject)
            .field(
                "challenge_password",
                &self.challenge_password.as_ref().map(|_| "<set>"),
            )
            .field("subject_alt_names", &self.subject_alt_names)
            .field("ca_fingerprint", &self.ca_fingerprint)
            .field("renewal_message", &self.renewal_message)
            .field("legacy_algorithms", &self.legacy_algorithms)
            .field("key_bits", &self.key_bits)
            .field("connect_retry", &self.connect_retry)
            .field("jitter", &self.jitter)
            .field("reenroll_after_expiry", &self.reenroll_after_expiry)
            .finish()
    }
}

impl Default for TrustpointConfig {
    fn default() -> Self {
        Self {
            name: String::from("tp"),
            path: String::from("/cgi-bin/pkiclient.exe"),
            auto_enroll: None,
            retry_period: Duration::from_minutes(1),
            retry_count: 999,
            subject: String::new(),
            challenge_password: None,
            subject_alt_names: Vec::new(),
            ca_fingerprint: None,
            renewal_message: RenewalMessage::PkcsReq,
            legacy_algorithms: false,
            key_bits: 2048,
            connect_retry: Backoff::Fixed,
            jitter: Duration::from_hours(12),
            reenroll_after_expiry: false,
        }
    }
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The retry period is outside 1–60 minutes.
    #[error("enrollment retry period must be 1 to 60 minutes")]
    RetryPeriod,
    /// The subject is empty or not RFC 4514 text.
    #[error("subject is not a distinguished name: {0:?}")]
    Subject(String),
    /// The fingerprint is not 32, 40 or 64 hex digits.
    #[error("CA fingerprint must be 32, 40 or 64 hex digits")]
    Fingerprint,
    /// The key size is outside 1024–4096 bits.
    #[error("key size must be 1024 to 4096 bits")]
    KeyBits,
    /// The trustpoint name is empty.
    #[error("trustpoint name is empty")]
    Name,
    /// The jitter window is longer than 30 days.
    #[error("jitter window must be at most 30 days")]
    Jitter,
    /// A subjectAltName entry is not usable.
    #[error(transparent)]
    SubjectAltName(#[from] crate::san::SanError),
}

impl TrustpointConfig {
    /// Checks every field; the first problem found is returned.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::Name);
        }
        self.retry_config()?;
        self.subject_name()?;
        if let Some(fp) = &self.ca_fingerprint {
            normalize_fingerprint(fp).ok_or(ConfigError::Fingerprint)?;
        }
        if !(1024..=4096).contains(&self.key_bits) {
            return Err(ConfigError::KeyBits);
        }
        if self.jitter.as_secs() > Duration::from_days(30).as_secs() {
            return Err(ConfigError::Jitter);
        }
        for san in &self.subject_alt_names {
            san.validate()?;
        }
        Ok(())
    }

    pub(crate) fn retry_config(&self) -> Result<RetryConfig, ConfigError> {
        RetryConfig::new(self.retry_period, self.retry_count).map_err(|_| ConfigError::RetryPeriod)
    }

    pub(crate) fn subject_name(&self) -> Result<x509_cert::name::Name, ConfigError> {
        use core::str::FromStr;
        let bad = || ConfigError::Subject(self.subject.clone());
        if self.subject.trim().is_empty() {
            return Err(bad());
        }
        x509_cert::name::Name::from_str(&self.subject).map_err(|_| bad())
    }
}

/// Lower-case hex digits of a fingerprint with spaces and colons removed, if it has the length
/// of an MD5, SHA-1 or SHA-256 digest.
pub(crate) fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    matches!(hex.len(), 32 | 40 | 64).then_some(hex)
}
