//! Test code: re-enrolment after expiry (issue 19, item 4; K-5a, amended T-13). A CA outage
//! longer than the renewal lead time: without the setting the trustpoint stops at
//! `IdentityExpiring` (T-13) for good; with it, it keeps trying a fresh K-5 enrolment every P
//! (T-11 CONNECT RETRYs inside each attempt) and is enrolled again within P of the CA's
//! return — with a self-signed PKCSReq, never a renewal signed by the expired certificate —
//! and a restart in that state changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use client_core::{ClientTimer, Duration, Event, StateName, Trustpoint};
use scep_proto::MessageType;
use support::*;

const DAY: u64 = 86_400;
/// P = 60 minutes (the longest IOS allows): few wake-ups over days of virtual time.
const P: u64 = 3_600;
const OUTAGE: (u64, u64) = (T0 + 20 * DAY, T0 + 40 * DAY);
const END: u64 = T0 + 60 * DAY;

struct Run {
    tp: Trustpoint,
    ca: TestCa,
    events: Vec<(u64, Event)>,
    /// Instants at which the trustpoint sent anything.
    sends: Vec<u64>,
}

/// A client enrolled at T0 + 60 s with 30-day certificates and p = 80 (lead time 6 days),
/// P = 60 min, N = 5 CONNECT RETRYs.
fn enrolled(reenroll: bool, seed: u64) -> (Trustpoint, TestCa, rand::rngs::StdRng) {
    let mut r = rng(seed);
    let mut ca = TestCa::new(T0, 730);
    ca.lifetime = Duration::from_days(30);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.retry_period = Duration::from_secs(P);
    c.retry_count = 5;
    c.reenroll_after_expiry = reenroll;
    let mut tp = Trustpoint::new(c).unwrap();
    let now = at(T0 + 60);
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::Enrolled), "{ev:?}");
    (tp, ca, r)
}

/// Drives the trustpoint to `END`, the CA down inside `OUTAGE`; `restart_at`: save and
/// restore the trustpoint at the first wake-up at or after it.
fn drive(reenroll: bool, restart_at: Option<u64>) -> Run {
    let (mut tp, mut ca, mut r) = enrolled(reenroll, 1);
    let mut run_events = Vec::new();
    let mut sends = Vec::new();
    let mut restart_at = restart_at;
    let mut wakeups = 0u32;
    while let Some(next) = tp.poll_timeout() {
        let now = next.unix();
        if now >= END {
            break;
        }
        wakeups += 1;
        assert!(wakeups < 10_000, "livelock at {now}");
        if restart_at.is_some_and(|t| now >= t) {
            restart_at = None;
            let bytes = tp.to_bytes().unwrap();
            tp = Trustpoint::from_bytes(&bytes).unwrap();
            assert!(tp.config().reenroll_after_expiry);
            tp.set_authoritative_time(true, at(now));
        }
        let down = (OUTAGE.0..OUTAGE.1).contains(&now);
        ca.mode = if down { Mode::Down } else { Mode::Normal };
        ca.mode_count = u32::MAX;
        tp.handle_timeout(at(now));
        if pump(&mut tp, &mut ca, at(now), &mut r) > 0 {
            sends.push(now);
        }
        run_events.extend(events(&mut tp).into_iter().map(|e| (now, e)));
    }
    Run {
        tp,
        ca,
        events: run_events,
        sends,
    }
}

fn armed(tp: &Trustpoint, timer: ClientTimer) -> bool {
    tp.timers().iter().any(|(t, _)| *t == timer)
}

fn not_after(tp: &Trustpoint) -> u64 {
    scep_proto::CertValidity::of(tp.identity_cert().unwrap()).not_after
}

fn not_before(tp: &Trustpoint) -> u64 {
    scep_proto::CertValidity::of(tp.identity_cert().unwrap()).not_before
}

#[test]
fn t13_without_the_setting_the_identity_expires_for_good() {
    let run = drive(false, None);
    assert!(
        run.events
            .iter()
            .any(|(_, e)| *e == Event::IdentityExpiring),
        "{:?}",
        run.events
    );
    // Nothing is sent after the outage: the expired certificate is all there is.
    assert!(run.sends.iter().all(|t| *t < OUTAGE.1), "{:?}", run.sends);
    assert!(not_after(&run.tp) < OUTAGE.1);
    assert!(!armed(&run.tp, ClientTimer::Renew), "{:?}", run.tp.timers());
    assert_eq!(run.tp.state(), StateName::Enrolled);
}

#[test]
fn k05a_t13_reenrols_within_p_of_the_cas_return_with_a_self_signed_pkcsreq() {
    let run = drive(true, None);
    let expiring = run
        .events
        .iter()
        .find(|(_, e)| *e == Event::IdentityExpiring)
        .map(|(t, _)| *t)
        .expect("T-13 still says IdentityExpiring");
    assert!((OUTAGE.0..OUTAGE.1).contains(&expiring));
    // Enrolled again: the first certificate after the outage starts within P of its end.
    let back = run
        .events
        .iter()
        .find(|(t, e)| *t >= OUTAGE.1 && matches!(e, Event::Renewed | Event::Enrolled))
        .map(|(t, _)| *t)
        .expect("re-enrolled after the outage");
    assert!(back < OUTAGE.1 + P, "re-enrolled at +{} s", back - OUTAGE.1);
    // Bounded load: after the expiry, never two sends closer than P; at most one per P.
    let after: Vec<u64> = run
        .sends
        .iter()
        .copied()
        .filter(|t| (expiring..OUTAGE.1).contains(t))
        .collect();
    assert!(
        after.len() > 24,
        "kept trying through the outage: {after:?}"
    );
    assert!(after.windows(2).all(|w| w[1] - w[0] >= P), "{after:?}");
    // K-5: the re-enrolment was a PKCSReq signed by a self-signed certificate, although the
    // CA advertises Renewal (a renewal would be signed by the expired certificate).
    let fresh = run
        .ca
        .seen
        .iter()
        .rev()
        .find(|s| !s.to_rollover)
        .expect("requests reached the CA");
    assert_eq!(fresh.message_type, MessageType::PkcsReq);
    assert!(fresh.signer_self_signed);
    // ... and carried the configured challenge password.
    let csr = String::from_utf8_lossy(&run.ca.last_csr).into_owned();
    assert!(csr.contains("secret"), "challengePassword in the CSR");
    // The trustpoint is back on its normal schedule (T-1), valid until well after the run.
    assert!(not_before(&run.tp) >= OUTAGE.1);
    assert!(not_after(&run.tp) > END);
    assert_eq!(run.tp.state(), StateName::Enrolled);
    let timers: Vec<ClientTimer> = run.tp.timers().into_iter().map(|(t, _)| t).collect();
    assert!(timers.contains(&ClientTimer::Renew), "{timers:?}");
}

#[test]
fn k05a_the_saved_record_survives_a_restart_after_the_expiry() {
    let straight = drive(true, None);
    // Restart mid-outage, after the expiry: same re-enrolment instant, same schedule.
    let restarted = drive(true, Some(OUTAGE.0 + 15 * DAY));
    assert_eq!(straight.sends, restarted.sends);
    assert_eq!(not_before(&straight.tp), not_before(&restarted.tp));
    // And the setting is part of the record.
    let bytes = restarted.tp.to_bytes().unwrap();
    assert!(
        Trustpoint::from_bytes(&bytes)
            .unwrap()
            .config()
            .reenroll_after_expiry
    );
}

#[test]
fn k05a_turned_on_for_a_stopped_trustpoint_plans_the_enrolment() {
    // The setting off through the outage: stopped at IdentityExpiring, nothing armed.
    let mut run = drive(false, None);
    assert!(!armed(&run.tp, ClientTimer::Renew));
    let now = at(END);
    let mut r = rng(9);
    // The operator restarts it with the setting on: it enrols at once.
    run.tp.set_reenroll_after_expiry(true, now);
    assert!(run.tp.timers().contains(&(ClientTimer::Renew, now)));
    run.ca.mode = Mode::Normal;
    step(&mut run.tp, &mut run.ca, now, &mut r);
    let ev = events(&mut run.tp);
    assert!(ev.contains(&Event::Renewed), "{ev:?}");
    assert!(not_before(&run.tp) >= END);
    assert!(run.ca.seen.last().unwrap().signer_self_signed);
    // Turned off again with a valid identity: the normal RENEW stays.
    run.tp.set_reenroll_after_expiry(false, now);
    assert!(armed(&run.tp, ClientTimer::Renew));
}
