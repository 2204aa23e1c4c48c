//! Concrete renewal chains (T-18 method) of one client over the CA generations, with the
//! manual grant's delay and poll pickup: where the chain first breaks.

use crate::check::{CaTimerConfig, ClientTimerConfig, FailingShadow};
use crate::renew::{RenewalKind, renew_at, renewal_kind};
use crate::rollover::{issued_validity, rollover_identity_validity};
use crate::shadow::{Overlap, shadow_generation_at};
use crate::time::{Duration, Instant, Percent, Validity};

/// Where a simulated chain first goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Break {
    /// H-1: a SHADOW fires before the rollover is generated.
    Shadow(FailingShadow),
    /// H-12: a SHADOW fires at the CA's expiry, when the CA has already switched: the
    /// certificate lapses at this instant.
    AtExpiry(Instant),
    /// H-13: the grant of a renewal is picked up at or after the expiry of the certificate
    /// that armed it: it lapses at this instant.
    LateGrant(Instant),
}

/// The manual grant as a chain sees it: each request is issued `delay` after it is made
/// and installed when the first poll at or after that instant comes, `pickup` after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct GrantTiming {
    pub(super) delay: Duration,
    pub(super) pickup: Duration,
}

/// How a client's requests are granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Granting {
    /// At once (grant auto).
    Auto,
    /// After a delay, picked up by a later poll.
    Delayed(GrantTiming),
    /// Never picked up: the polls are exhausted first, or the request is purged first.
    Never,
}

/// The client's [`Granting`] under the CA's grant mode with `delay` for manual grant.
pub(super) fn granting(
    ca: &CaTimerConfig,
    client: &ClientTimerConfig,
    delay: Duration,
) -> Granting {
    if !ca.manual_grant {
        return Granting::Auto;
    }
    match pickup(client, delay) {
        Some(pickup) if pickup < ca.request_lifetime => {
            Granting::Delayed(GrantTiming { delay, pickup })
        }
        _ => Granting::Never,
    }
}

/// T-10: how long after the PENDING answer the first poll at or after `delay` comes; `None`
/// when the polls are exhausted before (retry N, N = 0 unlimited).
pub(super) fn pickup(client: &ClientTimerConfig, delay: Duration) -> Option<Duration> {
    let mut k: u32 = 0;
    loop {
        if client.retry_count != 0 && k > client.retry_count {
            return None;
        }
        let offset = client.retry_period.checked_mul(1u64.checked_shl(k)?)?;
        if offset >= delay {
            return Some(offset);
        }
        k = k.checked_add(1)?;
    }
}

/// Longest chain followed (a chain advances at least a second a link; real ones have a few
/// links a generation).
const MAX_LINKS: u32 = 100_000;

/// The first break of the client's chain over `generations` CA generations, each
/// `L_ca` long and started when the previous one ends (rollover generated at `na − O`),
/// when the CA's creation and the client's enrolment instant are known. Breaks at or after
/// the end of the last generation are not reported; a client whose requests are never
/// granted has no chain.
pub(super) fn first_break(
    ca: &CaTimerConfig,
    client: &ClientTimerConfig,
    p: Percent,
    granting: Granting,
    generations: u32,
) -> Option<Break> {
    let grant = match granting {
        Granting::Auto => None,
        Granting::Delayed(g) => Some(g),
        Granting::Never => return None,
    };
    let start = ca.created_at?;
    let end = start.checked_add(ca.ca_lifetime.checked_mul(u64::from(generations))?)?;
    let found = chain_break(ca, client, p, grant, generations)?;
    let at = match found {
        Break::Shadow(s) => s.at,
        Break::AtExpiry(at) | Break::LateGrant(at) => at,
    };
    (at < end).then_some(found)
}

fn chain_break(
    ca: &CaTimerConfig,
    client: &ClientTimerConfig,
    p: Percent,
    grant: Option<GrantTiming>,
    generations: u32,
) -> Option<Break> {
    let start = ca.created_at?;
    let enrolled = client.enrolled_at?;
    let lca = ca.ca_lifetime.as_secs();
    if lca == 0 || ca.cert_lifetime.percent(p).as_secs() == 0 {
        return None;
    }
    let generation = |k: u64| {
        let nb = start.checked_add(Duration::from_secs(lca.checked_mul(k)?))?;
        Validity::starting_at(nb, ca.ca_lifetime).ok()
    };
    let mut k = enrolled
        .saturating_since(start)
        .as_secs()
        .checked_div(lca)?;
    let mut cert = issued_validity(enrolled, generation(k)?, ca.cert_lifetime).ok()?;
    let mut number: u32 = 1;
    while k < u64::from(generations) && number < MAX_LINKS {
        let issuer = generation(k)?;
        let fires = renew_at(cert, p);
        let kind = renewal_kind(cert, issuer);
        if kind == RenewalKind::Shadow {
            // GetNextCACert comes first: its 404 (H-1) before any grant.
            if p == Percent::FULL {
                return Some(Break::AtExpiry(issuer.not_after()));
            }
            let overlap: Overlap = ca.auto_rollover?;
            let generated = shadow_generation_at(issuer, overlap);
            if fires < generated {
                return Some(Break::Shadow(FailingShadow {
                    link: number,
                    at: fires,
                    rollover_generated_at: generated,
                }));
            }
        }
        let issue = match grant {
            Some(g) => {
                if fires.saturating_add(g.pickup) >= cert.not_after() {
                    return Some(Break::LateGrant(cert.not_after()));
                }
                fires.saturating_add(g.delay)
            }
            None => fires,
        };
        cert = match kind {
            RenewalKind::Renew => issued_validity(issue, issuer, ca.cert_lifetime).ok()?,
            RenewalKind::Shadow => {
                k = k.saturating_add(1);
                let next = generation(k)?;
                rollover_identity_validity(
                    issue,
                    next,
                    ca.cert_lifetime,
                    Some(cert),
                    ca.rollover_identity,
                )
                .ok()?
            }
        };
        number = number.saturating_add(1);
    }
    None
}
