//! Validity of what a CA issues: rollover CA certificates (T-6), identity certificates clamped
//! to their issuer (T-7) and rollover identity certificates (C-11).

use crate::error::TimerError;
use crate::time::{Duration, Instant, Validity};

/// T-6: the rollover CA certificate starts when the active one ends and lasts `ca_lifetime`
/// (the lifetime configured when the rollover is generated).
pub const fn rollover_ca_validity(
    active_ca: Validity,
    ca_lifetime: Duration,
) -> Result<Validity, TimerError> {
    Validity::starting_at(active_ca.not_after(), ca_lifetime)
}

/// T-7: an identity certificate issued at `t_issue` for `span` by `issuing`:
/// `nb = max(t_issue, issuing.nb)`, `na = min(nb + span, issuing.na)`.
///
/// A certificate never outlives its issuer. When `na ≤ nb` (the issuer has expired) nothing
/// can be issued: [`TimerError::NotIssuable`] (C-10 answers FAILURE badRequest).
pub const fn issued_validity(
    t_issue: Instant,
    issuing: Validity,
    span: Duration,
) -> Result<Validity, TimerError> {
    let nb = if t_issue.unix() > issuing.not_before().unix() {
        t_issue
    } else {
        issuing.not_before()
    };
    let end = nb.saturating_add(span);
    let na = if end.unix() < issuing.not_after().unix() {
        end
    } else {
        issuing.not_after()
    };
    match Validity::new(nb, na) {
        Ok(v) => Ok(v),
        Err(_) => Err(TimerError::NotIssuable {
            at: t_issue,
            issuing_not_after: issuing.not_after(),
        }),
    }
}

/// How long a rollover identity certificate lasts (C-11, Q-5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RolloverIdentityPolicy {
    /// The rollover certificate covers the rest of the lifetime the clamped certificate it
    /// replaces was cut short of (default).
    #[default]
    Balance,
    /// The rollover certificate gets the full configured lifetime.
    FullLifetime,
}

/// C-11: validity of an identity certificate issued by the rollover CA at `now`.
///
/// `nb = max(now, rollover.nb)`. Under [`RolloverIdentityPolicy::Balance`], when the request's
/// signer is a certificate of this CA (`signer` is `Some`) shorter than `cert_lifetime`,
/// `na = nb + (cert_lifetime − signer span)`; otherwise `na = nb + cert_lifetime`. Both are
/// clamped to `rollover.na`.
pub const fn rollover_identity_validity(
    now: Instant,
    rollover_ca: Validity,
    cert_lifetime: Duration,
    signer: Option<Validity>,
    policy: RolloverIdentityPolicy,
) -> Result<Validity, TimerError> {
    let span = match (policy, signer) {
        (RolloverIdentityPolicy::Balance, Some(s))
            if s.span().as_secs() < cert_lifetime.as_secs() =>
        {
            cert_lifetime.saturating_sub(s.span())
        }
        _ => cert_lifetime,
    };
    issued_validity(now, rollover_ca, span)
}
