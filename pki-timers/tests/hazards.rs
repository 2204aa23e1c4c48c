//! One test (or more) per SPEC §5 hazard, named after its id.

// Test code: a failed unwrap or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pki_timers::*;

fn t(s: &str) -> Instant {
    Instant::from_rfc3339(s).unwrap()
}
fn pct(p: u32) -> Percent {
    Percent::new(p).unwrap()
}

/// The seed deployment: CA 730 d from 2015-10-09T12:14:16Z, auto-rollover 90, certificates
/// 365 d, grant auto.
fn seed_ca() -> CaTimerConfig {
    let mut ca = CaTimerConfig::default();
    ca.ca_lifetime = Duration::from_days(730);
    ca.cert_lifetime = Duration::from_days(365);
    ca.auto_rollover = Some(Overlap::new(90, 0, 0).unwrap());
    ca.manual_grant = false;
    ca.created_at = Some(t("2015-10-09T12:14:16Z"));
    ca
}

fn client(p: Option<u32>) -> ClientTimerConfig {
    let mut c = ClientTimerConfig::default();
    c.auto_enroll = p.map(pct);
    c.retry_count = 10; // keeps H-8 out of tests about other rules
    c.enrolled_at = Some(t("2015-10-09T12:20:00Z"));
    c
}

fn hazards(findings: &[Finding]) -> Vec<(&'static str, Node)> {
    findings.iter().map(|f| (f.hazard.id(), f.node)).collect()
}

#[test]
fn h01_seed_p80_is_safe() {
    let findings = check(&seed_ca(), &[client(Some(80))], &CheckOptions::default());
    assert_eq!(hazards(&findings), []);
}

#[test]
fn h01_seed_p50_fails_with_the_simulated_shadow() {
    let findings = check(
        &seed_ca(),
        &[client(Some(80)), client(Some(50))],
        &CheckOptions::default(),
    );
    assert_eq!(hazards(&findings), [("H-1", Node::Client(1))]);
    let f = findings[0];
    assert_eq!(f.severity(), Severity::Error);
    let Detail::ShadowBeforeRollover {
        shadow_lead,
        overlap,
        first_failing,
        ..
    } = f.detail
    else {
        panic!("{f:?}")
    };
    assert_eq!(shadow_lead, Duration::from_secs(182 * 86_400 + 43_200)); // 182.5 d
    assert_eq!(overlap, Duration::from_days(90));
    assert_eq!(
        first_failing,
        Some(FailingShadow {
            link: 3,
            at: t("2017-04-09T00:17:08Z"),
            rollover_generated_at: t("2017-07-10T12:14:16Z")
        })
    );
    let text = f.to_string();
    assert!(text.starts_with("error H-1 client 1: "), "{text}");
    assert!(
        text.contains("2017-04-09T00:17:08Z") && text.contains("2017-07-10T12:14:16Z"),
        "{text}"
    );
}

#[test]
fn h01_boundary_equal_lead_is_safe() {
    // D = 100 d: p = 10 gives a 90 d lead = O (safe); p = 9 gives 91 d (error).
    let mut ca = seed_ca();
    ca.cert_lifetime = Duration::from_days(100);
    ca.created_at = None;
    assert!(
        check(&ca, &[client(Some(10))], &CheckOptions::default())
            .iter()
            .all(|f| f.hazard != Hazard::ShadowBeforeRollover)
    );
    let f = check(&ca, &[client(Some(9))], &CheckOptions::default());
    assert!(f.iter().any(|f| f.hazard == Hazard::ShadowBeforeRollover));
    // Without the CA's start no chain is simulated.
    assert!(f.iter().all(|f| !matches!(
        f.detail,
        Detail::ShadowBeforeRollover {
            first_failing: Some(_),
            ..
        }
    )));
}

#[test]
fn h02_ca_only_shadow_ios_defaults_fail_seed_passes() {
    let mut ios = CaTimerConfig::default();
    ios.auto_rollover = Some(Overlap::DEFAULT);
    let findings = check(&ios, &[client(None)], &CheckOptions::default());
    assert!(hazards(&findings).contains(&("H-2", Node::Client(0))));
    let f = findings
        .iter()
        .find(|f| f.hazard == Hazard::CaOnlyShadowBeforeRollover)
        .unwrap();
    assert_eq!(
        f.detail,
        Detail::CaOnlyShadowBeforeRollover {
            shadow_lead: Duration::from_secs(1095 * 8_640),
            overlap: Duration::from_days(30)
        }
    );
    // Seed: 73 d <= 90 d.
    assert!(check(&seed_ca(), &[client(None)], &CheckOptions::default()).is_empty());
}

#[test]
fn h03_no_rollover_with_dependent_clients() {
    let mut ca = seed_ca();
    ca.auto_rollover = None;
    let findings = check(
        &ca,
        &[client(Some(80)), client(None)],
        &CheckOptions::default(),
    );
    assert_eq!(hazards(&findings), [("H-3", Node::Ca)]);
    assert_eq!(
        findings[0].detail,
        Detail::NoRollover {
            affected_clients: 2
        }
    );
    assert!(check(&ca, &[], &CheckOptions::default()).is_empty());
}

#[test]
fn h04_overlap_as_long_as_the_ca() {
    let mut ca = seed_ca();
    ca.auto_rollover = Some(Overlap::new(730, 0, 0).unwrap());
    let findings = check(&ca, &[], &CheckOptions::default());
    assert_eq!(hazards(&findings), [("H-4", Node::Ca)]);
    assert_eq!(findings[0].severity(), Severity::Warning);
}

#[test]
fn h05_percentage_low_full_and_short_lead() {
    let issues = |ca: &CaTimerConfig, p| -> Vec<PercentIssue> {
        check(ca, &[client(Some(p))], &CheckOptions::default())
            .iter()
            .filter_map(|f| match f.detail {
                Detail::Percentage { issue, .. } => Some(issue),
                _ => None,
            })
            .collect()
    };
    assert_eq!(issues(&seed_ca(), 5), [PercentIssue::Low]);
    assert_eq!(issues(&seed_ca(), 100), [PercentIssue::AtExpiry]);
    assert_eq!(issues(&seed_ca(), 80), []);
    let mut short = seed_ca();
    short.cert_lifetime = Duration::from_hours(1);
    assert_eq!(issues(&short, 96), [PercentIssue::ShortLead]); // 144 s
    assert_eq!(issues(&short, 95), []); // 180 s
}

#[test]
fn h06_every_renewal_is_a_shadow() {
    let mut ca = seed_ca();
    ca.cert_lifetime = Duration::from_days(730);
    let findings = check(&ca, &[], &CheckOptions::default());
    assert_eq!(hazards(&findings), [("H-6", Node::Ca)]);
    assert_eq!(findings[0].severity(), Severity::Info);
}

#[test]
fn h07_manual_grant_pickup_window() {
    let mut ca = seed_ca();
    ca.manual_grant = true;
    // N = 12 polls reach 4096 min (68 h), past the 24 h grant (N = 10 stops at 17 h: H-13).
    let mut c = client(Some(80));
    c.retry_count = 12;
    // 365 d at 80 %: 36.5 d to grant. Safe.
    assert!(check(&ca, &[c], &CheckOptions::default()).is_empty());
    // 2 d at 80 %: 4.8 h, under the 24 h default; the grant is picked up after 68 h, after
    // the certificate expired (H-13).
    ca.cert_lifetime = Duration::from_days(2);
    let findings = check(&ca, &[c], &CheckOptions::default());
    assert_eq!(
        hazards(&findings),
        [("H-7", Node::Client(0)), ("H-13", Node::Client(0))]
    );
    assert_eq!(
        findings[0].detail,
        Detail::ManualGrantPickup {
            safe_window: Duration::from_secs(17_280),
            expected_grant_delay: Duration::from_hours(24)
        }
    );
    let mut quick = CheckOptions::default();
    quick.expected_grant_delay = Duration::from_hours(4);
    assert!(check(&ca, &[c], &quick).is_empty());
}

#[test]
fn h08_poll_outlives_request_defaults_report_retry_13() {
    let mut c = client(Some(80));
    c.retry_count = 999;
    let findings = check(&seed_ca(), &[c], &CheckOptions::default());
    assert_eq!(hazards(&findings), [("H-8", Node::Client(0))]);
    assert_eq!(
        findings[0].detail,
        Detail::PollOutlivesRequest {
            request_lifetime: Duration::from_hours(168),
            last_attempt: 13,
            last_offset: Duration::from_secs(491_520)
        }
    );
    assert!(
        findings[0].to_string().contains("retry 13 at 5d 16:32:00"),
        "{}",
        findings[0]
    );
    c.retry_count = 0; // unlimited
    assert_eq!(
        hazards(&check(&seed_ca(), &[c], &CheckOptions::default())),
        [("H-8", Node::Client(0))]
    );
    c.retry_count = 13; // 60 · 2^13 = 136.5 h <= 168 h
    assert!(check(&seed_ca(), &[c], &CheckOptions::default()).is_empty());
}

#[test]
fn h09_missing_authoritative_time() {
    let mut ca = seed_ca();
    ca.authoritative_time = false;
    let mut c = client(Some(80));
    c.authoritative_time = false;
    let findings = check(&ca, &[client(Some(80)), c], &CheckOptions::default());
    assert_eq!(
        hazards(&findings),
        [("H-9", Node::Ca), ("H-9", Node::Client(1))]
    );
    assert!(findings.iter().all(|f| f.severity() == Severity::Error));
}

#[test]
fn h10_crl_lifetime_range() {
    for hours in [0, 337] {
        let mut ca = seed_ca();
        ca.crl_lifetime = Duration::from_hours(hours);
        assert_eq!(
            hazards(&check(&ca, &[], &CheckOptions::default())),
            [("H-10", Node::Ca)]
        );
    }
    let mut ca = seed_ca();
    ca.crl_lifetime = Duration::from_hours(336);
    assert!(check(&ca, &[], &CheckOptions::default()).is_empty());
}

#[test]
fn h11_lifetimes_out_of_range() {
    let mut ca = seed_ca();
    ca.cert_lifetime = Duration::from_days(1826);
    ca.ca_lifetime = Duration::from_days(7306);
    ca.request_lifetime = Duration::from_hours(1001);
    ca.auto_rollover = None;
    let mut c = client(None);
    c.retry_period = Duration::from_minutes(61);
    let findings: Vec<_> = check(&ca, &[c], &CheckOptions::default())
        .into_iter()
        .filter(|f| f.hazard == Hazard::LifetimeOutOfRange)
        .collect();
    let kinds: Vec<_> = findings
        .iter()
        .map(|f| match f.detail {
            Detail::LifetimeOutOfRange { kind, .. } => (kind, f.node),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (LifetimeKind::Certificate, Node::Ca),
            (LifetimeKind::CaCertificate, Node::Ca),
            (LifetimeKind::EnrollmentRequest, Node::Ca),
            (LifetimeKind::RetryPeriod, Node::Client(0)),
        ]
    );
    assert_eq!(
        LifetimeKind::Certificate.check(Duration::ZERO),
        Err(TimerError::LifetimeOutOfRange {
            kind: LifetimeKind::Certificate,
            value: Duration::ZERO
        })
    );
    assert_eq!(
        TimerError::LifetimeOutOfRange {
            kind: LifetimeKind::RetryPeriod,
            value: Duration::from_minutes(61)
        }
        .to_string(),
        "enrollment retry period 1:01:00 is outside 0:01:00 - 1:00:00"
    );
}

/// H-12 (fuzz counterexample): auto-enroll 100 % fires its SHADOW at the CA's expiry, when
/// the CA has switched already; an error, with the instant the chain's certificate lapses.
#[test]
fn h12_p100_shadow_at_ca_expiry_is_an_error_with_the_lapse_instant() {
    // The lapse is at the end of the first generation: simulate two.
    let mut two = CheckOptions::default();
    two.generations = 2;
    let findings = check(&seed_ca(), &[client(Some(100))], &two);
    let f = findings
        .iter()
        .find(|f| f.hazard == Hazard::RenewalAtExpiry)
        .expect("H-12");
    assert_eq!(f.hazard.id(), "H-12");
    assert_eq!(f.severity(), Severity::Error);
    assert_eq!(
        f.detail,
        Detail::RenewalAtExpiry {
            first_lapse: Some(t("2017-10-08T12:14:16Z"))
        }
    );
    assert!(
        f.to_string()
            .contains("first lapse at 2017-10-08T12:14:16Z")
    );
    // Over one generation the lapse is the run's end: an error still, without an instant.
    let findings = check(&seed_ca(), &[client(Some(100))], &CheckOptions::default());
    assert!(
        findings
            .iter()
            .any(|f| f.detail == Detail::RenewalAtExpiry { first_lapse: None })
    );
    // p = 99 is not H-12.
    let findings = check(&seed_ca(), &[client(Some(99))], &CheckOptions::default());
    assert!(!findings.iter().any(|f| f.hazard == Hazard::RenewalAtExpiry));
}

fn manual(delay_h: u64, request_h: u64) -> (CaTimerConfig, CheckOptions) {
    let mut ca = seed_ca();
    ca.manual_grant = true;
    ca.request_lifetime = Duration::from_hours(request_h);
    let mut o = CheckOptions::default();
    o.expected_grant_delay = Duration::from_hours(delay_h);
    (ca, o)
}

fn grant_issue(findings: &[Finding]) -> Option<(GrantIssue, Option<Instant>)> {
    findings.iter().find_map(|f| match f.detail {
        Detail::GrantTooLate {
            issue, first_lapse, ..
        } => Some((issue, first_lapse)),
        _ => None,
    })
}

/// H-13 (fuzz counterexamples): the grant comes after the request is purged, or after the
/// last poll: no request is ever picked up and the client never enrols (lapse = enrolment).
#[test]
fn h13_grant_after_purge_or_after_the_last_poll_never_enrols() {
    let mut c = client(Some(80));
    c.retry_count = 999;
    // Grant after 200 h, request purged after 168 h.
    let (ca, o) = manual(200, 168);
    let findings = check(&ca, &[c], &o);
    assert_eq!(
        grant_issue(&findings),
        Some((GrantIssue::Purged, Some(t("2015-10-09T12:20:00Z"))))
    );
    // Grant after 100 h: picked up by the poll at 136.5 h, inside 168 h: fine; inside 120 h not.
    let (ca, o) = manual(100, 168);
    assert_eq!(grant_issue(&check(&ca, &[c], &o)), None);
    let (ca, o) = manual(100, 120);
    assert_eq!(
        grant_issue(&check(&ca, &[c], &o)).unwrap().0,
        GrantIssue::Purged
    );
    // N = 10: the last poll is at 1024 min, before a 24 h grant.
    c.retry_count = 10;
    let (ca, o) = manual(24, 168);
    let findings = check(&ca, &[c], &o);
    assert_eq!(
        grant_issue(&findings).unwrap().0,
        GrantIssue::PollsExhausted
    );
    let f = findings
        .iter()
        .find(|f| f.hazard == Hazard::GrantTooLate)
        .unwrap();
    assert_eq!((f.hazard.id(), f.severity()), ("H-13", Severity::Error));
    assert!(f.to_string().contains("never picks it up"), "{f}");
}

/// H-13: the poll that picks the grant up comes after the certificate being renewed expired.
/// Generic (unclamped lead) and concrete (the simulated chain, whose links start at the grant:
/// each renewal is issued `delay` after it fires).
#[test]
fn h13_grant_picked_up_after_expiry_names_the_lapse() {
    let mut c = client(Some(80));
    c.retry_count = 999;
    // L_cert 30 d at 80 %: 6 d lead; a 5 d grant is picked up at 8192 min (5.7 d): safe, a
    // 5 d 20 h grant at 16384 min (11.4 d): too late; the enrolment certificate lapses first.
    let (mut ca, o) = manual(120, 1000);
    ca.cert_lifetime = Duration::from_days(30);
    assert_eq!(grant_issue(&check(&ca, &[c], &o)), None);
    let (mut ca, o) = manual(140, 1000);
    ca.cert_lifetime = Duration::from_days(30);
    assert_eq!(
        grant_issue(&check(&ca, &[c], &o)),
        Some((GrantIssue::AfterExpiry, Some(t("2015-11-08T12:20:00Z"))))
    );
}

/// H-1 over several generations (fuzz counterexample): a chain that passes the first CA
/// generation fails its SHADOW in a later one; `CheckOptions::generations` finds it.
#[test]
fn h01_first_failing_shadow_in_a_later_generation() {
    let mut ca = seed_ca();
    ca.cert_lifetime = Duration::from_days(300);
    ca.auto_rollover = Some(Overlap::new(100, 0, 0).unwrap());
    let mut c = client(Some(50));
    // Enrolled late enough that the first generation's SHADOW comes after the rollover.
    c.enrolled_at = Some(t("2016-01-17T12:14:16Z"));
    let first = |generations| {
        let mut o = CheckOptions::default();
        o.generations = generations;
        check(&ca, &[c], &o).iter().find_map(|f| match f.detail {
            Detail::ShadowBeforeRollover { first_failing, .. } => Some(first_failing),
            _ => None,
        })
    };
    assert_eq!(
        first(1),
        Some(None),
        "H-1 holds, no concrete failure in generation 1"
    );
    let later = first(3)
        .flatten()
        .expect("a failing SHADOW in a later generation");
    assert!(later.at > t("2017-10-08T12:14:16Z"), "{later:?}");
    assert!(later.at < later.rollover_generated_at);
}
