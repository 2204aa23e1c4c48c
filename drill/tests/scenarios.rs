//! Scenario tests of the drill (issue 6, item 5): small fleets, the same engine and flags as the
//! main job. Each test names the SPEC rules it pins.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drill::{Report, Scenario};
use pki_timers::Hazard;

fn scenario(flags: &[&str]) -> Scenario {
    Scenario::from_args(flags.iter().copied())
        .unwrap()
        .expect("not --help")
}

/// Drops the default run's outage and reboots: the scenario's own effect alone.
const NO_FAULTS: &str = "--no-faults";

fn run(flags: &[&str]) -> (Scenario, Report) {
    let expanded: Vec<&str> = flags
        .iter()
        .flat_map(|f| match *f {
            NO_FAULTS => vec!["--outage", "none", "--reboot-share", "0"],
            other => vec![other],
        })
        .collect();
    let s = scenario(&expanded);
    let r = drill::run(&s).unwrap();
    (s, r)
}

fn has(r: &Report, h: Hazard) -> bool {
    r.findings.iter().any(|f| f.hazard == h)
}

fn summary_fields(line: &str) -> Vec<(String, u64)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

/// T-17/T-18 deployment, every fault of item 1 at once (outage, reboots mid-request, clock
/// loss), regenerate and CA-only SHADOW clients: the checker calls it safe and the drill sees
/// no gap through three CA generations (K-6, K-8, K-9, K-10, K-14, T-11, T-12, T-13).
#[test]
fn seed_deployment_with_faults_is_safe_and_gap_free() {
    let (s, r) = run(&[
        "--group",
        "24:p80",
        "--group",
        "8:p80+regenerate",
        "--group",
        "8:ca-only",
        "--join-window",
        "10d",
        "--outage",
        "295d+2d",
        "--reboot-share",
        "25",
        "--clock-loss",
        "30@500d+3d",
    ]);
    let out = r.render(s.start);
    assert!(r.checker_calls_safe(), "{out}");
    assert!(r.gaps.is_empty(), "{out}");
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.generations.len(), 3);
    // Every auto-enroll client SHADOWed once per rollover that happened inside the run.
    assert_eq!(r.shadows, 32 * 3, "{out}");
    assert_eq!(r.issued, 32 + r.renewals + r.shadows);
    // The faults really happened.
    assert!(r.load.refused_in_outage > 0, "{out}");
    assert!(r.reboots > 0, "{out}");
    assert!(out.contains("clients regained authoritative time"), "{out}");
    // The CA-only clients followed the CA (K-9, K-10) without identity certificates.
    assert_eq!(r.client_events["RolloverActivated"], 40 * 2, "{out}");
    // The output ends with the summary line, in its exact form.
    let last = out.lines().last().unwrap();
    let keys: Vec<String> = summary_fields(last).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "clients",
            "generations",
            "issued",
            "renewals",
            "shadows",
            "gaps",
            "gap_seconds",
            "peak_requests_per_hour"
        ]
    );
    assert!(last.starts_with("clients=40 generations=3 "), "{last}");
    assert!(last.contains(" gaps=0 gap_seconds=0 "), "{last}");
    // T-16/T-17: the first listing is the seed's `show crypto pki timers`.
    assert!(
        out.contains("|639d23:54:18.000  CS SHADOW CERT GENERATION"),
        "{out}"
    );
    assert!(out.contains("|729d23:54:18.000  CS CERT EXPIRE"), "{out}");
}

/// Same scenario and seed, same run, line for line; another seed changes the keys.
#[test]
fn same_seed_same_run() {
    let flags = [
        "--clients",
        "6",
        "--generations",
        "1",
        "--reboot-share",
        "50",
    ];
    let (s, a) = run(&flags);
    let (_, b) = run(&flags);
    assert_eq!(a.render(s.start), b.render(s.start));
    let mut other = flags.to_vec();
    other.extend(["--seed", "2"]);
    let (_, c) = run(&other);
    assert_ne!(a.ca_status, c.ca_status, "another seed, another CA key");
}

/// H-1 with p = 50 (T-18): the checker predicts each client's first failing SHADOW from its
/// real enrolment instant, and the drill observes GetNextCACert 404 at exactly that second.
#[test]
fn h1_p50_shadow_fails_when_and_where_the_checker_predicts() {
    let (s, r) = run(&[
        "--clients",
        "10",
        "--percent",
        "50",
        "--join-window",
        "20d",
        "--generations",
        "2",
        NO_FAULTS,
    ]);
    let out = r.render(s.start);
    assert!(has(&r, Hazard::ShadowBeforeRollover), "{out}");
    assert!(!r.checker_calls_safe());
    assert_eq!(r.exit_code(), 1);
    assert_eq!(r.predictions.len(), 10, "{out}");
    assert!(r.predictions_agree(), "{out}");
    assert!(r.load.next_ca_404 >= 10, "{out}");
    // The client of T-18 (enrolled 12:20:00) fails at 2017-04-09T00:17:08Z.
    let first = r.predictions.iter().find(|p| p.client == 0).unwrap();
    assert_eq!(first.predicted.to_string(), "2017-04-09T00:17:08Z");
    assert!(out.contains("10 observed at the predicted second"), "{out}");
}

/// H-3: no auto-rollover. Every SHADOW gets 404 and is retried every P (the load the checker
/// warns of); at CA expiry no client has anything valid left.
#[test]
fn h3_without_rollover_shadows_retry_and_the_fleet_loses_its_certificates() {
    let (s, r) = run(&[
        "--clients",
        "5",
        "--overlap",
        "off",
        "--join-window",
        "1d",
        "--generations",
        "2",
        NO_FAULTS,
    ]);
    let out = r.render(s.start);
    assert!(has(&r, Hazard::NoRollover), "{out}");
    assert_eq!(r.exit_code(), 1);
    // Each SHADOW attempt is one GetNextCACert and up to N = 999 CONNECT RETRYs (T-11).
    assert!(r.load.next_ca_404 > 5 * 999, "{out}");
    // A retrying client asks once a minute: 5 of them at once make an hour of 300.
    let peak = r.load.peak().unwrap().1;
    assert!(peak >= 300, "peak {peak}\n{out}");
    assert_eq!(r.generations.len(), 1, "{out}");
    assert_eq!(r.gaps.len(), 5, "{out}");
    assert!(r.gaps.iter().all(|g| g.ongoing), "{out}");
    assert!(
        out.contains("CA certificate expired without a rollover"),
        "{out}"
    );
}

/// H-7: with manual grant, a renewal is safe if the administrator grants within
/// (100 − p) · L_cert / 200 (here 3 d): poll gaps double (T-10), so the grant is seen late.
/// Inside the bound (1 d) nothing is lost, also with clients rebooting mid-poll (K-11
/// persisted); outside it (5 d 20 h) the grant is seen after the identity expired.
#[test]
fn h7_manual_grant_inside_the_bound_is_safe_outside_it_leaves_gaps() {
    let base = [
        "--clients",
        "6",
        "--cert-lifetime",
        "30d",
        "--request-lifetime",
        "1000h",
        "--join-window",
        "1d",
        "--generations",
        "1",
        "--outage",
        "none",
    ];
    let mut inside = base.to_vec();
    inside.extend(["--grant-delay", "1d", "--reboot-share", "50"]);
    let (s, r) = run(&inside);
    let out = r.render(s.start);
    assert!(!has(&r, Hazard::ManualGrantPickup), "{out}");
    assert!(r.gaps.is_empty(), "{out}");
    assert!(r.granted > 0 && r.reboots > 0, "{out}");
    assert_eq!(r.exit_code(), 0);

    let mut outside = base.to_vec();
    outside.extend(["--grant-delay", "5d20h", "--reboot-share", "0"]);
    let (s, r) = run(&outside);
    let out = r.render(s.start);
    assert!(has(&r, Hazard::ManualGrantPickup), "{out}");
    assert!(!r.gaps.is_empty(), "{out}");
    // Each gap ends when a poll finally picks the grant up, inside the identity's successor.
    assert!(
        r.gaps
            .iter()
            .all(|g| g.cause.starts_with("identity certificate expired")),
        "{out}"
    );
    assert_eq!(r.exit_code(), 1);
}

/// C-24 mid-window: the administrator cancels the rollover after some clients fetched the
/// rollover CA and SHADOWed, then generates a new one (C-23). Holders of the cancelled one are
/// re-enrolled from scratch and reported; nobody loses coverage.
#[test]
fn rollover_cancel_mid_window_holders_re_enrol() {
    let (s, r) = run(&[
        "--clients",
        "12",
        "--join-window",
        "60d",
        "--generations",
        "2",
        NO_FAULTS,
        "--rollover-cancel",
        "705d",
        "--manual-rollover",
        "706d",
    ]);
    let out = r.render(s.start);
    assert!(r.reenrolled_after_cancel > 0, "{out}");
    assert!(
        r.reenrolled_after_cancel < 12,
        "some clients had not SHADOWed yet\n{out}"
    );
    assert!(
        out.contains("administrator cancelled the rollover"),
        "{out}"
    );
    assert!(out.contains("re-enrolled from scratch"), "{out}");
    assert!(r.gaps.is_empty(), "{out}");
    assert_eq!(r.generations.len(), 2, "{out}");
    assert_eq!(r.exit_code(), 0);
}

/// A CA outage longer than the renewal lead time (L_cert 30 d, p = 80: 6 d; outage 10 d):
/// CONNECT RETRY (T-11) runs out, T-13 re-arms until the identity expires, and the drill
/// reports the gaps with the outage as their cause.
#[test]
fn ca_outage_longer_than_the_renewal_lead_time_leaves_gaps() {
    let (s, r) = run(&[
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
    ]);
    let out = r.render(s.start);
    assert!(r.checker_calls_safe(), "{out}");
    assert!(!r.gaps.is_empty(), "{out}");
    assert!(
        r.gaps.iter().all(|g| g.cause.contains("CA outage")),
        "{out}"
    );
    assert!(
        r.client_events
            .get("RetriesExhausted")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(r.exit_code(), 1);
    assert!(out.contains("gap client="), "{out}");
}

/// The binary: `--help`, a bad flag (exit 2), and a tiny safe run (exit 0, summary last).
#[test]
fn binary_exit_status_and_last_line() {
    let exe = env!("CARGO_BIN_EXE_drill");
    let help = std::process::Command::new(exe)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--rollover-cancel"));
    let bad = std::process::Command::new(exe)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let ok = std::process::Command::new(exe)
        .args(["--clients", "3", "--generations", "1", "--outage", "none"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("clients=3 generations=1 issued="),
        "{stdout}"
    );
}
