//! The properties a drill report must have against the checker's findings.

use pki_timers::{Duration, Instant};

use crate::report::{Gap, Report};
use crate::scenario::{Grant, Scenario};

/// The most requests a client may send in one hour: two retry sequences (POLL or CONNECT
/// RETRY, one every P at the most) and a dozen requests of its own (authentication, caps,
/// GetNextCACert, a renewal and its reboot resend, an activation's refresh).
#[must_use]
pub fn requests_per_hour_bound(s: &Scenario) -> u64 {
    let p = s.retry_period.as_secs().max(1);
    2 * (3_600_u64.div_ceil(p) + 1) + 12
}

/// The most requests a client may send at one instant: a retry (POLL, CONNECT RETRY) is at
/// least P after the one before, so one of them, plus what an instant may legitimately hold
/// (authentication and caps, GetNextCACert and the SHADOW request, a reboot's resend).
pub const REQUESTS_PER_INSTANT_BOUND: u64 = 8;

/// Windows `[from, to)` in which a fault kept clients from renewing: CA outages, clock
/// losses, and the time between a rollover cancel (C-24) and the manual rollover after it
/// (C-23), when GetNextCACert has nothing to offer and a SHADOW fails as in an outage.
fn fault_windows(s: &Scenario) -> Vec<(Instant, Instant)> {
    let outages = s.outages.iter().copied();
    let losses = s.clock_losses.iter().map(|c| c.window);
    let mut out: Vec<(Instant, Instant)> = outages
        .chain(losses)
        .map(|w| {
            let from = s.start.saturating_add(w.start);
            (from, from.saturating_add(w.length))
        })
        .collect();
    if let (Some(cancel), Some(manual)) = (s.rollover_cancel, s.manual_rollover)
        && manual > cancel
    {
        out.push((
            s.start.saturating_add(cancel),
            s.start.saturating_add(manual),
        ));
    }
    out
}

/// How long after a fault ends a client may still lose its certificate because of it. Grant
/// auto: any attempt before the expiry succeeds, and after the fault the next one comes
/// within P (CONNECT RETRY, T-13 in its last stretch). Manual grant: a failed attempt re-arms
/// T-13 at a share p of the time left, and that attempt still needs the grant and the poll
/// that picks it up, so any certificate alive when the fault ended may lapse: L_cert.
fn recovery(s: &Scenario) -> Duration {
    let p = s.retry_period.as_secs();
    let auto = Duration::from_secs(p.saturating_mul(2).saturating_add(60));
    match s.grant {
        Grant::Auto => auto,
        Grant::Manual { .. } => auto.max(s.cert_lifetime),
    }
}

/// Whether a fault accounts for a gap: a fault window reaching to within the recovery time
/// before it, a rollover cancel that left the CA to expire, or (manual grant) the
/// re-enrolment from scratch of a client that held the cancelled rollover CA, which waits
/// for its grant without a certificate.
fn excused(s: &Scenario, gap: &Gap) -> bool {
    let at = gap.start;
    let slack = recovery(s);
    if matches!(s.grant, Grant::Manual { .. })
        && gap
            .cause
            .ends_with("last trouble: re-enrolled after the rollover cancel")
    {
        return true;
    }
    let window = fault_windows(s)
        .into_iter()
        .any(|(from, to)| from <= at && to.saturating_add(slack) > at);
    window || cancelled_without_rollover(s).is_some_and(|na| at >= na)
}

/// A cancel (C-24) not followed by a manual rollover (C-23) before the CA expires: the CA's
/// notAfter, from which the whole fleet has nothing valid.
fn cancelled_without_rollover(s: &Scenario) -> Option<Instant> {
    let cancel = s.rollover_cancel?;
    let lca = s.ca_lifetime.as_secs().max(1);
    let na = (cancel.as_secs() / lca + 1).saturating_mul(lca);
    let rescued = s
        .manual_rollover
        .is_some_and(|m| m > cancel && m.as_secs() < na);
    (!rescued).then(|| s.start.saturating_add(Duration::from_secs(na)))
}

/// Whether anything before `at` may have moved a client's renewal chain off the checker's
/// simulation (which assumes every renewal on time): a fault window, a cancel or a manual
/// rollover.
fn chain_may_shift(s: &Scenario, at: Instant) -> bool {
    let admin = [s.rollover_cancel, s.manual_rollover]
        .into_iter()
        .flatten()
        .any(|d| s.start.saturating_add(d) <= at);
    admin || fault_windows(s).iter().any(|(from, _)| *from <= at)
}

fn describe(g: &Gap) -> String {
    format!(
        "client {} gap {} .. {}{}: {}",
        g.client,
        g.start,
        g.end,
        if g.ongoing { " (end of run)" } else { "" },
        g.cause
    )
}

/// Everything wrong with `report` as the run of `s`; empty when the drill and the checker
/// agree.
#[must_use]
pub fn problems(s: &Scenario, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if report.checker_calls_safe() {
        for g in report.gaps.iter().filter(|g| !excused(s, g)) {
            out.push(format!(
                "the checker calls the deployment safe, yet {}",
                describe(g)
            ));
        }
    }
    for p in &report.predictions {
        if !p.agrees() && !chain_may_shift(s, p.predicted) {
            out.push(format!(
                "H-1: client {} predicted to fail its SHADOW at {}, observed {}",
                p.client,
                p.predicted,
                p.observed.map_or("never".to_owned(), |t| t.to_string())
            ));
        }
    }
    for p in &report.lapse_predictions {
        if !p.agrees() && !chain_may_shift(s, p.predicted) {
            out.push(format!(
                "H-12/H-13: client {} predicted to lose its certificate at {}, first gap {}",
                p.client,
                p.predicted,
                p.observed.map_or("never".to_owned(), |t| t.to_string())
            ));
        }
    }
    let shifting = !s.outages.is_empty()
        || !s.clock_losses.is_empty()
        || s.rollover_cancel.is_some()
        || s.manual_rollover.is_some();
    if !shifting && !report.unpredicted_404.is_empty() {
        out.push(format!(
            "GetNextCACert 404s no finding predicted, clients {:?}",
            report.unpredicted_404
        ));
    }
    if let Some((client, at, n)) = report.busiest_client_instant
        && n > REQUESTS_PER_INSTANT_BOUND
    {
        out.push(format!(
            "retry storm: client {client} sent {n} requests at {at} (at most \
             {REQUESTS_PER_INSTANT_BOUND} at one instant)"
        ));
    }
    let bound = requests_per_hour_bound(s);
    if let Some((client, hour, n)) = report.busiest_client_hour
        && n > bound
    {
        out.push(format!(
            "retry storm: client {client} sent {n} requests in hour {hour} (at most {bound} \
             with P = {})",
            s.retry_period
        ));
    }
    out
}
