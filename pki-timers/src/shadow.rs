//! SHADOW instants: the client's CA-only SHADOW, the CA's shadow generation, and activation
//! (T-4, T-5, T-9, T-14).

use core::fmt;

use crate::error::TimerError;
use crate::time::{Duration, Instant, Percent, Validity};

/// T-4: the CA-only SHADOW timer of a trustpoint without auto-enroll whose CA advertises
/// `GetNextCACert`: 90 % into the CA certificate's validity.
#[must_use]
pub const fn ca_only_shadow_at(ca: Validity) -> Instant {
    ca.at_percent(Percent::CA_ONLY_SHADOW)
}

/// The `auto-rollover` overlap `O`: how long before the CA certificate expires its rollover
/// (shadow) CA certificate is generated (T-5). Never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Overlap(Duration);

impl Overlap {
    /// A bare `auto-rollover`: 30 days.
    pub const DEFAULT: Self = Self(Duration::from_days(30));

    /// `auto-rollover <days> [<hours> [<minutes>]]`: `O = d·86400 + h·3600 + m·60`.
    pub const fn new(days: u64, hours: u64, minutes: u64) -> Result<Self, TimerError> {
        let total = Duration::from_days(days)
            .saturating_add(Duration::from_hours(hours))
            .saturating_add(Duration::from_minutes(minutes));
        Self::from_duration(total)
    }

    /// An overlap of `d`; zero is [`TimerError::ZeroOverlap`].
    pub const fn from_duration(d: Duration) -> Result<Self, TimerError> {
        if d.as_secs() == 0 {
            return Err(TimerError::ZeroOverlap);
        }
        Ok(Self(d))
    }

    /// The overlap as a duration.
    #[must_use]
    pub const fn duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// T-5: when the CA generates its rollover certificate, `ca.na − O` (clamped at the epoch).
///
/// If this is at or before `now` and no rollover exists, the timer fires at once; with
/// `O ≥ L_ca` that is as soon as the CA exists (hazard H-4).
#[must_use]
pub const fn shadow_generation_at(ca: Validity, overlap: Overlap) -> Instant {
    ca.not_after().saturating_sub(overlap.duration())
}

/// T-9: the CA expiry timer fires at the active CA certificate's notAfter (activation of the
/// rollover, or expiry without one, C-25).
#[must_use]
pub const fn ca_expiry_at(active_ca: Validity) -> Instant {
    active_ca.not_after()
}

/// T-14: rollover CA, rollover identity certificate and shadow key become active at the active
/// CA's notAfter, which is the rollover certificate's notBefore.
#[must_use]
pub const fn activation_at(active_ca: Validity) -> Instant {
    active_ca.not_after()
}
