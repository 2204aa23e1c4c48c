//! Client renewal: when RENEW or SHADOW fires and which of the two it is (T-1 … T-3).

use crate::time::{Instant, Percent, Validity};

/// T-1: the renewal instant of an identity certificate, `nb + floor((na − nb) · p / 100)`.
///
/// It depends only on the certificate, never on when it is computed, so it is stable across
/// restarts. A renewal instant at or before `now` fires at once ([`countdown`] is zero).
#[must_use]
pub const fn renew_at(identity: Validity, p: Percent) -> Instant {
    identity.at_percent(p)
}

/// Which renewal an identity certificate gets (V-9, T-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RenewalKind {
    /// The certificate expires before its CA: the new one replaces it at once.
    Renew,
    /// The certificate expires with its CA: fetch the rollover CA certificate, then a rollover
    /// identity certificate; both become active when the current CA expires.
    Shadow,
}

impl RenewalKind {
    /// The IOS timer name: `RENEW` or `SHADOW`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Renew => "RENEW",
            Self::Shadow => "SHADOW",
        }
    }
}

/// T-3: SHADOW iff the identity certificate ends at or after its issuing CA (`id.na ≥ ca.na`;
/// a CA clamps its certificates, so `>` only comes from a foreign CA), otherwise RENEW.
#[must_use]
pub const fn renewal_kind(identity: Validity, issuing_ca: Validity) -> RenewalKind {
    if identity.not_after().unix() >= issuing_ca.not_after().unix() {
        RenewalKind::Shadow
    } else {
        RenewalKind::Renew
    }
}

/// The armed renewal timer of an identity certificate: its kind (T-3) and instant (T-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RenewalTimer {
    /// RENEW or SHADOW.
    pub kind: RenewalKind,
    /// When it fires.
    pub at: Instant,
}

/// T-1 and T-3 together: what a client arms after installing `identity` issued by
/// `issuing_ca` with auto-enroll percentage `p`.
#[must_use]
pub const fn renewal_timer(identity: Validity, issuing_ca: Validity, p: Percent) -> RenewalTimer {
    RenewalTimer {
        kind: renewal_kind(identity, issuing_ca),
        at: renew_at(identity, p),
    }
}

/// Time left until `at`; zero when `at` is due (`at ≤ now`), including when the clock went
/// backwards past it.
#[must_use]
pub const fn countdown(at: Instant, now: Instant) -> crate::time::Duration {
    at.saturating_since(now)
}
