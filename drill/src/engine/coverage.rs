//! The continuity invariant for one client, checked at the end of every instant at which
//! anything happens to it, and at the very instant its coverage would lapse: each client that
//! has enrolled holds a valid identity certificate signed by the key of the CA certificate it
//! trusts, and that CA certificate is valid and is the one the CA uses. Between two such
//! instants nothing changes but time, so gaps are exact to the second.

use der::Encode;
use pki_timers::Instant;
use scep_proto::{Certificate, Profile, PublicKey};

use super::client::{ClientSim, Ctx, validity_of};
use crate::report::Gap;
use crate::scenario::ClientKind;
use crate::trace::Holding;

/// Whether a client holds a valid certificate chaining to the CA it trusts.
#[derive(Clone, Debug)]
pub(crate) enum Coverage {
    /// Before the first enrolment (or authentication, for a CA-only client).
    NotYet,
    /// Covered until this instant (exclusive) unless something changes.
    Until(Instant),
    /// Not covered since this instant, for this reason.
    Gap { since: Instant, cause: String },
}

impl Coverage {
    /// The instant coverage lapses unless something changes.
    pub(crate) fn until(&self) -> Option<Instant> {
        match self {
            Self::Until(u) => Some(*u),
            Self::NotYet | Self::Gap { .. } => None,
        }
    }
}

impl ClientSim {
    /// At the end of the instant `now`: the coverage from now on, and any gap it closes.
    pub(crate) fn check_coverage(&mut self, ctx: &Ctx<'_>) {
        let now = self.now;
        let current = self.covered_until(ctx);
        let next = match (&self.coverage, current) {
            (Coverage::NotYet, Some(u)) => Coverage::Until(u),
            (Coverage::NotYet, None) => Coverage::NotYet,
            (Coverage::Until(old), Some(u)) if *old >= now => Coverage::Until(u),
            (Coverage::Until(old), Some(u)) => {
                // Lapsed at `old` and covered again now.
                let old = *old;
                let cause = self.cause(old, ctx);
                self.close_gap(old, cause);
                Coverage::Until(u)
            }
            (Coverage::Until(old), None) => {
                let since = (*old).min(now);
                let cause = self.cause(since, ctx);
                self.record("gap start", cause.clone());
                Coverage::Gap { since, cause }
            }
            (Coverage::Gap { since, cause }, Some(u)) => {
                let (since, cause) = (*since, cause.clone());
                self.close_gap(since, cause);
                Coverage::Until(u)
            }
            (g @ Coverage::Gap { .. }, None) => g.clone(),
        };
        self.coverage = next;
        self.note_holding(ctx);
    }

    fn close_gap(&mut self, since: Instant, cause: String) {
        let gap = Gap::new(self.index, since, self.now, cause);
        self.record("gap end", format!("since {since}: {}", gap.cause));
        self.tally.gaps.push(gap);
    }

    /// The gap still open at the end of the run (`end`), if any.
    pub(crate) fn open_gap(&self, end: Instant, ctx: &Ctx<'_>) -> Option<Gap> {
        let (since, cause) = match &self.coverage {
            Coverage::Until(u) if *u < end => (*u, self.cause(*u, ctx)),
            Coverage::Gap { since, cause } => (*since, cause.clone()),
            Coverage::NotYet if self.join < end => (
                self.join,
                format!("never enrolled; {}", self.cause(end, ctx)),
            ),
            _ => return None,
        };
        let mut gap = Gap::new(self.index, since, end, cause);
        gap.ongoing = true;
        Some(gap)
    }

    /// Until when the client is covered from now on, if it is covered now: its trusted CA
    /// certificate is the CA's active one and valid, and (auto-enroll clients) its identity
    /// certificate is valid and signed by that CA key.
    fn covered_until(&mut self, ctx: &Ctx<'_>) -> Option<Instant> {
        let now = self.now;
        let tp = self.tp.as_ref()?;
        let ca = tp.ca_cert()?;
        let ca_der = ca.to_der().ok()?;
        if ca_der != ctx.view.active_der {
            return None;
        }
        let (ca_nb, ca_na) = validity_of(ca);
        if now < ca_nb || now >= ca_na {
            return None;
        }
        if self.kind == ClientKind::CaOnly {
            return Some(ca_na);
        }
        let id = tp.identity_cert()?;
        let (nb, na) = validity_of(id);
        if now < nb || now >= na {
            return None;
        }
        let id_der = id.to_der().ok()?;
        let chains = match &self.chain_checked {
            Some((d, a, ok)) if *d == id_der && *a == ca_der => *ok,
            _ => {
                let ok = signed_by(id, ca);
                self.chain_checked = Some((id_der, ca_der, ok));
                ok
            }
        };
        chains.then_some(na.min(ca_na))
    }

    /// Why the client is not covered at `at`, with the last thing that went wrong.
    pub(crate) fn cause(&self, at: Instant, ctx: &Ctx<'_>) -> String {
        let active = ctx.view.active_der.as_slice();
        let what = match self.tp.as_ref() {
            None => "not started".to_owned(),
            Some(tp) => match tp.ca_cert() {
                None => "no trusted CA certificate (needs re-authentication)".to_owned(),
                Some(ca) if ca.to_der().ok().as_deref() != Some(active) => {
                    "trusts a CA certificate the CA no longer uses".to_owned()
                }
                Some(ca) if validity_of(ca).1 <= at => "trusted CA certificate expired".to_owned(),
                Some(_) if self.kind == ClientKind::CaOnly => "CA certificate not valid".to_owned(),
                Some(_) => match tp.identity_cert() {
                    None => "no identity certificate".to_owned(),
                    Some(id) if validity_of(id).1 <= at => {
                        "identity certificate expired".to_owned()
                    }
                    Some(_) => "identity certificate does not chain to the trusted CA".to_owned(),
                },
            },
        };
        match &self.trouble {
            Some(t) => format!("{what}; last trouble: {t}"),
            None => format!("{what}; no renewal was attempted"),
        }
    }

    /// Traced runs: what the client holds now, if that changed.
    fn note_holding(&mut self, ctx: &Ctx<'_>) {
        if self.log.is_none() {
            return;
        }
        let holding = match &self.coverage {
            Coverage::NotYet => Holding::NotYet,
            Coverage::Gap { .. } => Holding::Gap,
            Coverage::Until(_) => {
                let tp = self.tp.as_ref();
                let ca = tp
                    .and_then(|t| t.ca_cert())
                    .and_then(|c| ctx.view.ca_index(c));
                // Ready for the rollover: the rollover CA stored and, with auto-enroll, the
                // rollover identity from it.
                let ready = tp.is_some_and(|t| {
                    t.rollover_ca_cert().is_some()
                        && (self.kind == ClientKind::CaOnly || t.rollover_identity_cert().is_some())
                });
                let next = if ready {
                    tp.and_then(|t| t.rollover_ca_cert())
                        .and_then(|c| ctx.view.ca_index(c))
                } else {
                    None
                };
                match ca {
                    Some(ca) => Holding::Covered { ca, next },
                    None => Holding::Gap,
                }
            }
        };
        let now = self.now;
        if let Some(log) = self.log.as_mut()
            && log.holdings.last().map(|(_, h)| *h) != Some(holding)
        {
            log.holdings.push((now, holding));
        }
    }
}

/// Whether `issuer`'s key signed `cert` (the chain half of the invariant: the rollover CA has
/// the same name as the old one, so only the signature tells them apart).
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    PublicKey::from_certificate(issuer)
        .and_then(|key| key.verify_certificate(cert, &Profile::STRICT))
        .is_ok()
}
