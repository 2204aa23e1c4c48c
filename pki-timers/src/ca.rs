//! The CA's own schedule: CRL refresh (T-8), request purge (T-15) and the set of CA timers
//! (`show crypto pki timers`, T-16 labels).

use crate::shadow::{Overlap, ca_expiry_at, shadow_generation_at};
use crate::time::{Duration, Instant, Validity};

/// A CRL's validity window (T-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CrlWindow {
    /// thisUpdate: when the CRL was generated.
    pub this_update: Instant,
    /// nextUpdate: when the CRL-update timer fires and a new CRL is generated.
    pub next_update: Instant,
}

/// T-8: a CRL generated at `generated_at` with lifetime `crl_lifetime`. A revocation
/// regenerates the CRL at once, which restarts the period: call again with the new instant.
#[must_use]
pub const fn crl_window(generated_at: Instant, crl_lifetime: Duration) -> CrlWindow {
    CrlWindow {
        this_update: generated_at,
        next_update: generated_at.saturating_add(crl_lifetime),
    }
}

/// T-15: a pending enrolment request is purged `request_lifetime` after it was created,
/// whatever its state.
#[must_use]
pub const fn purge_at(created: Instant, request_lifetime: Duration) -> Instant {
    created.saturating_add(request_lifetime)
}

/// The timers a certificate server runs (T-16 labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaTimer {
    /// CRL refresh at nextUpdate (T-8).
    CrlUpdate,
    /// Rollover certificate generation at `ca.na − O` (T-5).
    ShadowGeneration,
    /// Expiry, or activation of the rollover, at `ca.na` (T-9).
    CertExpire,
}

impl CaTimer {
    /// The label `show crypto pki timers` prints.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::CrlUpdate => "CS CRL UPDATE",
            Self::ShadowGeneration => "CS SHADOW CERT GENERATION",
            Self::CertExpire => "CS CERT EXPIRE",
        }
    }
}

/// What decides the CA's armed timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaTimerInputs {
    /// The active CA certificate.
    pub active_ca: Validity,
    /// nextUpdate of the current CRL.
    pub crl_next_update: Instant,
    /// The configured `auto-rollover` overlap, if any.
    pub auto_rollover: Option<Overlap>,
    /// Whether a rollover certificate already exists (then no shadow generation is armed).
    pub rollover_exists: bool,
}

/// The armed CA timers and their instants, in the order of [`CaTimer`]: shadow generation
/// only with `auto-rollover` configured and no rollover yet (T-5).
pub fn ca_timers(inputs: &CaTimerInputs) -> impl Iterator<Item = (CaTimer, Instant)> + use<> {
    let shadow = match (inputs.auto_rollover, inputs.rollover_exists) {
        (Some(o), false) => Some((
            CaTimer::ShadowGeneration,
            shadow_generation_at(inputs.active_ca, o),
        )),
        _ => None,
    };
    [
        Some((CaTimer::CrlUpdate, inputs.crl_next_update)),
        shadow,
        Some((CaTimer::CertExpire, ca_expiry_at(inputs.active_ca))),
    ]
    .into_iter()
    .flatten()
}
