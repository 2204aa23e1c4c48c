//! The POLL schedule after a PENDING answer (T-10).

use crate::error::{LifetimeKind, TimerError};
use crate::time::{Duration, Instant};

/// `enrollment retry period` P and `enrollment retry count` N, shared by POLL (T-10) and
/// CONNECT RETRY (T-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryConfig {
    period: Duration,
    count: u32,
}

impl RetryConfig {
    /// IOS defaults: P = 1 minute, N = 999.
    pub const DEFAULT: Self = Self {
        period: Duration::from_minutes(1),
        count: 999,
    };

    /// Checks P against 1–60 minutes; N = 0 means no count limit (any `u32` is accepted, Q-9).
    pub const fn new(period: Duration, count: u32) -> Result<Self, TimerError> {
        match LifetimeKind::RetryPeriod.check(period) {
            Ok(period) => Ok(Self { period, count }),
            Err(e) => Err(e),
        }
    }

    /// P.
    #[must_use]
    pub const fn period(self) -> Duration {
        self.period
    }

    /// N (0 = unlimited).
    #[must_use]
    pub const fn count(self) -> u32 {
        self.count
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The next step of a retry or poll sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Try again at this instant.
    At(Instant),
    /// Stop: the count is used up, or the next try would fall at or after the issuing CA's
    /// expiry (or beyond representable time).
    Exhausted,
}

/// T-10: the polls that follow a PENDING received at `pending_at` for a request addressed to a
/// CA certificate that expires at `issuing_not_after`.
///
/// Attempt 0 is the first poll, at `pending_at + P`; attempt `k ≥ 1` is retry `k`, at
/// `pending_at + P · 2^k`, so the gaps are P, P, 2P, 4P, … Polling is exhausted after retry N
/// (N = 0: no limit) or when the next instant would be at or after `issuing_not_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PollSchedule {
    /// When the PENDING answer arrived.
    pub pending_at: Instant,
    /// P and N.
    pub config: RetryConfig,
    /// notAfter of the CA certificate the request was addressed to.
    pub issuing_not_after: Instant,
}

impl PollSchedule {
    /// When attempt `attempt` (0 = first poll, k = retry k) is due.
    #[must_use]
    pub const fn attempt_at(&self, attempt: u32) -> Step {
        if self.config.count != 0 && attempt > self.config.count {
            return Step::Exhausted;
        }
        let Some(factor) = 1u64.checked_shl(attempt) else {
            return Step::Exhausted;
        };
        let Some(offset) = self.config.period.checked_mul(factor) else {
            return Step::Exhausted;
        };
        match self.pending_at.checked_add(offset) {
            Some(at) if at.unix() < self.issuing_not_after.unix() => Step::At(at),
            _ => Step::Exhausted,
        }
    }

    /// The first attempt from `attempt` on that is due after `now`, with its number (T-10
    /// amended): after a long outage or a clock jump the attempts already in the past are
    /// skipped (they count against N) instead of all firing at once.
    #[must_use]
    pub const fn next_after(&self, attempt: u32, now: Instant) -> (u32, Step) {
        let mut k = attempt;
        loop {
            match self.attempt_at(k) {
                Step::At(at) if at.unix() <= now.unix() => match k.checked_add(1) {
                    Some(next) => k = next,
                    None => return (k, Step::Exhausted),
                },
                step => return (k, step),
            }
        }
    }

    /// Every poll instant in order, ending where the schedule is exhausted.
    pub fn instants(&self) -> impl Iterator<Item = Instant> + '_ {
        (0..=u32::MAX).map_while(|k| match self.attempt_at(k) {
            Step::At(at) => Some(at),
            Step::Exhausted => None,
        })
    }
}
