//! Retries after failures: CONNECT RETRY after a transport failure (T-11) and the re-arm of
//! RENEW/SHADOW after a failed attempt (T-13).

use crate::poll::{RetryConfig, Step};
use crate::time::{Instant, Percent};

/// How CONNECT RETRY spaces its attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// Every retry `P` after the failure (default).
    #[default]
    Fixed,
    /// Like POLL: the gap before retry `k` is `P · 2^(k−1)`.
    Doubling,
}

/// T-11: after the transport failure seen at `now`, when the same transaction is retried.
///
/// `retries_done` counts the CONNECT RETRYs already made for this transaction. At most N
/// retries (N = 0: unlimited), never at or after `issuing_not_after`.
#[must_use]
pub const fn connect_retry_at(
    now: Instant,
    retries_done: u32,
    config: RetryConfig,
    backoff: Backoff,
    issuing_not_after: Instant,
) -> Step {
    if config.count() != 0 && retries_done >= config.count() {
        return Step::Exhausted;
    }
    let factor = match backoff {
        Backoff::Fixed => Some(1),
        Backoff::Doubling => 1u64.checked_shl(retries_done),
    };
    let Some(factor) = factor else {
        return Step::Exhausted;
    };
    let Some(gap) = config.period().checked_mul(factor) else {
        return Step::Exhausted;
    };
    match now.checked_add(gap) {
        Some(at) if at.unix() < issuing_not_after.unix() => Step::At(at),
        _ => Step::Exhausted,
    }
}

/// The outcome of re-arming RENEW or SHADOW after a failed attempt (T-13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rearm {
    /// Try again at this instant.
    At(Instant),
    /// No automatic attempt fits before the certificate expires: emit `IdentityExpiring`.
    Expiring,
}

/// T-13: after a failed (not rejected) RENEW or SHADOW at `now`, the next attempt is at
/// `now + max(P, floor((expires − now) · p / 100))`; if that is not before `expires`, no
/// further automatic attempt is made.
///
/// `expires` is the identity certificate's notAfter; for the CA-only SHADOW pass the CA's
/// notAfter and [`Percent::CA_ONLY_SHADOW`]. Because each retry takes a fixed share of the time
/// left, the attempts converge on expiry and still catch a rollover that appears late.
#[must_use]
pub const fn rearm_after_failure(
    now: Instant,
    expires: Instant,
    p: Percent,
    config: RetryConfig,
) -> Rearm {
    let share = expires.saturating_since(now).percent(p);
    let wait = if share.as_secs() > config.period().as_secs() {
        share
    } else {
        config.period()
    };
    match now.checked_add(wait) {
        Some(next) if next.unix() < expires.unix() => Rearm::At(next),
        _ => Rearm::Expiring,
    }
}
