//! The drill scenario "CA outage longer than the lead time" with and without re-enrolment
//! after expiry (issue 19, item 4; K-5a, amended T-13): L_cert 30 d at p = 80 (lead time
//! 6 d), a 10-day outage over the fourth renewal. Without the setting every client's gap
//! lasts to the end of the run; with it each gap is bounded by the outage plus one retry
//! period (the in-process request round takes no virtual time).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drill::{Report, Scenario};

const DAY: u64 = 86_400;
const OUTAGE_START: u64 = 95 * DAY;
const OUTAGE: u64 = 10 * DAY;
/// P = 10 min: fewer wake-ups than the default 1 min, the same shape.
const P: u64 = 600;
/// The CA answers in process, at the instant of the request.
const REQUEST_ROUND: u64 = 0;

fn run(reenroll: bool) -> (Scenario, Report) {
    let mut flags = vec![
        "--clients",
        "5",
        "--cert-lifetime",
        "30d",
        "--join-window",
        "1d",
        "--generations",
        "1",
        "--outage",
        "95d+10d",
        "--reboot-share",
        "0",
        "--retry-period",
        "10m",
    ];
    if reenroll {
        flags.push("--reenroll-after-expiry");
    }
    let s = Scenario::from_args(flags).unwrap().expect("not --help");
    assert_eq!(s.reenroll_after_expiry, reenroll);
    let r = drill::run(&s).unwrap();
    (s, r)
}

#[test]
fn ca_outage_longer_than_the_lead_time_without_reenrolment_gaps_last_to_the_end() {
    let (s, r) = run(false);
    let out = r.render(s.start);
    assert_eq!(r.gaps.len(), 5, "{out}");
    for g in &r.gaps {
        assert!(g.ongoing, "{out}");
        assert_eq!(g.end, s.end(), "{out}");
        assert!(g.cause.contains("CA outage"), "{out}");
    }
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn ca_outage_longer_than_the_lead_time_with_reenrolment_gaps_are_bounded_by_the_outage() {
    let (s, r) = run(true);
    let out = r.render(s.start);
    let outage_start = s.start.unix() + OUTAGE_START;
    let outage_end = outage_start + OUTAGE;
    // Every client lost its certificate in the outage (the scenario is the same) ...
    assert_eq!(r.gaps.len(), 5, "{out}");
    let bound = OUTAGE + P + REQUEST_ROUND;
    let (mut longest, mut latest) = (0, 0);
    for g in &r.gaps {
        assert!(!g.ongoing, "{out}");
        assert!(g.start.unix() >= outage_start, "{out}");
        // ... and got one again within P of the CA's return.
        assert!(g.end.unix() >= outage_end, "{out}");
        assert!(g.end.unix() <= outage_end + P + REQUEST_ROUND, "{out}");
        let length = g.length().as_secs();
        assert!(length <= bound, "gap of {length} s > {bound} s\n{out}");
        longest = longest.max(length);
        latest = latest.max(g.end.unix() - outage_end);
    }
    eprintln!(
        "longest gap {longest} s (bound {bound} s); last re-enrolment {latest} s after the outage"
    );
    // No retry storm: one request per P at most (plus the exchange that follows an answer).
    let (_, _, per_hour) = r.busiest_client_hour.unwrap();
    assert!(
        per_hour <= 3_600 / P + 2,
        "{per_hour} requests in one client-hour\n{out}"
    );
    assert_eq!(
        r.client_events.get("IdentityExpiring").copied(),
        Some(5),
        "{out}"
    );
}
