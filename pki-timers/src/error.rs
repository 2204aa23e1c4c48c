//! The one error type of this crate.

use core::fmt;

use crate::time::{Duration, Instant, Percent};

/// Which configured lifetime a value belongs to (SPEC §3.1 and H-11 give the ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifetimeKind {
    /// `lifetime certificate`, L_cert: 1–1825 days.
    Certificate,
    /// `lifetime ca-certificate`, L_ca: 1–7305 days.
    CaCertificate,
    /// `lifetime crl`, L_crl: 1–336 hours.
    Crl,
    /// `lifetime enrollment-request`, L_req: 1–1000 hours.
    EnrollmentRequest,
    /// Client `enrollment retry period`, P: 1–60 minutes.
    RetryPeriod,
}

impl LifetimeKind {
    /// The inclusive range a value of this kind must lie in.
    #[must_use]
    pub const fn range(self) -> (Duration, Duration) {
        match self {
            Self::Certificate => (Duration::from_days(1), Duration::from_days(1825)),
            Self::CaCertificate => (Duration::from_days(1), Duration::from_days(7305)),
            Self::Crl => (Duration::from_hours(1), Duration::from_hours(336)),
            Self::EnrollmentRequest => (Duration::from_hours(1), Duration::from_hours(1000)),
            Self::RetryPeriod => (Duration::from_minutes(1), Duration::from_minutes(60)),
        }
    }

    /// Returns `value` if it lies in [`Self::range`], else [`TimerError::LifetimeOutOfRange`].
    pub const fn check(self, value: Duration) -> Result<Duration, TimerError> {
        let (min, max) = self.range();
        if value.as_secs() < min.as_secs() || value.as_secs() > max.as_secs() {
            return Err(TimerError::LifetimeOutOfRange { kind: self, value });
        }
        Ok(value)
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Certificate => "certificate lifetime",
            Self::CaCertificate => "CA certificate lifetime",
            Self::Crl => "CRL lifetime",
            Self::EnrollmentRequest => "enrollment request lifetime",
            Self::RetryPeriod => "enrollment retry period",
        }
    }
}

/// Everything that can go wrong in this crate: configuration out of range, or inputs that
/// describe no real certificate. Arithmetic never panics; an instant beyond `u64` seconds is
/// [`TimerError::Overflow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimerError {
    // -- configuration --
    /// An auto-enroll percentage outside 1–100 (T-1).
    PercentOutOfRange {
        /// The rejected value.
        value: u32,
    },
    /// An auto-rollover overlap of zero (T-5): the rollover would be generated at expiry.
    ZeroOverlap,
    /// A lifetime outside its SPEC §3.1 range.
    LifetimeOutOfRange {
        /// Which lifetime.
        kind: LifetimeKind,
        /// The rejected value.
        value: Duration,
    },
    /// The percentage of the certificate lifetime is under one second, so each RENEW would
    /// fire at the instant its certificate starts and a renewal chain could never advance.
    NoRenewalProgress {
        /// Certificate lifetime.
        cert_lifetime: Duration,
        /// Auto-enroll percentage.
        percent: Percent,
    },
    // -- inputs --
    /// A validity whose notAfter is not after its notBefore.
    EmptyValidity {
        /// notBefore.
        not_before: Instant,
        /// notAfter.
        not_after: Instant,
    },
    /// Nothing can be issued at `at`: the issuing CA is expired by then (T-7, C-10).
    NotIssuable {
        /// The would-be issuance instant.
        at: Instant,
        /// The issuing CA's notAfter.
        issuing_not_after: Instant,
    },
    // -- arithmetic --
    /// An instant or duration past `u64::MAX` seconds.
    Overflow,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PercentOutOfRange { value } => {
                write!(f, "auto-enroll percentage {value} is outside 1-100")
            }
            Self::ZeroOverlap => f.write_str("auto-rollover overlap must be longer than zero"),
            Self::LifetimeOutOfRange { kind, value } => {
                let (min, max) = kind.range();
                write!(f, "{} {value} is outside {min} - {max}", kind.name())
            }
            Self::NoRenewalProgress {
                cert_lifetime,
                percent,
            } => write!(
                f,
                "{percent} of a {cert_lifetime} certificate is under one second: renewals cannot advance"
            ),
            Self::EmptyValidity {
                not_before,
                not_after,
            } => {
                write!(f, "validity [{not_before}, {not_after}] is empty")
            }
            Self::NotIssuable {
                at,
                issuing_not_after,
            } => write!(
                f,
                "nothing can be issued at {at}: the issuing CA expires at {issuing_not_after}"
            ),
            Self::Overflow => f.write_str("instant out of range"),
        }
    }
}

impl core::error::Error for TimerError {}
