//! Scenario fuzzing (issue 18): the counterexamples `drill fuzz` found, each a named
//! regression scenario held to every fuzz property, and a short fuzz run from a fixed seed.
//! Each scenario line is the one the fuzzer printed.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drill::fuzz::{Budget, problems};
use drill::{Report, Scenario};
use pki_timers::{Detail, GrantIssue, Hazard};

/// Runs the scenario and asserts that the drill and the checker agree on it.
fn agrees(line: &str) -> (Scenario, Report) {
    let s = Scenario::from_args(line.split_whitespace())
        .unwrap()
        .expect("not --help");
    let r = drill::run(&s).unwrap();
    let found = problems(&s, &r);
    assert!(found.is_empty(), "{found:#?}\n{}", r.render(s.start));
    (s, r)
}

fn has(r: &Report, h: Hazard) -> bool {
    r.findings.iter().any(|f| f.hazard == h)
}

/// H-12: auto-enroll 100 % fires its SHADOW at the CA's expiry, the very second the CA
/// activates its rollover; GetNextCACert then has nothing to offer and the client loses its
/// trust. The checker used to call this safe (H-5 warning only).
#[test]
fn fuzz_h12_p100_shadow_at_ca_expiry_loses_trust() {
    let (s, r) = agrees(
        "--seed 16008992338070553086 --generations 3 --ca-lifetime 264d9h56m14s \
         --cert-lifetime 218d3h41m20s --crl-lifetime 6d19h --request-lifetime 11d18h \
         --overlap 1d22h33m43s --grant auto --group 1:p100+regenerate \
         --join-window 52d13h23m44s --retry-period 32m --retry-count 41 --jitter 1h \
         --outage none --reboot-share 0 --listing none --key-pool 4 --gaps-shown 5",
    );
    assert!(has(&r, Hazard::RenewalAtExpiry), "{}", r.render(s.start));
    assert!(!r.checker_calls_safe());
    assert_eq!(r.lapse_predictions.len(), 1);
    assert!(r.lapse_predictions[0].agrees(), "{:?}", r.lapse_predictions);
    assert_eq!(
        r.lapse_predictions[0].predicted.to_string(),
        "2016-06-29T22:10:30Z",
        "the CA's first expiry"
    );
}

/// H-12 at the very end of the run: the lapse at the last CA's expiry is outside the run, so
/// it is not predicted (the checker simulates `generations` generations, end exclusive).
#[test]
fn fuzz_h12_lapse_at_the_end_of_the_run_is_not_predicted() {
    let (_, r) = agrees(
        "--seed 11392292750859497035 --generations 1 --ca-lifetime 646d --cert-lifetime 85d \
         --crl-lifetime 6d21h --request-lifetime 13d18h --overlap 447d10h57m49s --grant auto \
         --group 8:p28 --group 3:p100 --group 2:p26 --join-window 70d20h39m26s \
         --retry-period 3m --retry-count 9 --jitter 12h --outage none --reboot-share 0 \
         --listing none --key-pool 4 --gaps-shown 5",
    );
    assert!(has(&r, Hazard::RenewalAtExpiry));
    assert!(r.lapse_predictions.is_empty());
    assert!(r.gaps.is_empty());
}

fn grant_issues(r: &Report) -> Vec<GrantIssue> {
    r.findings
        .iter()
        .filter_map(|f| match f.detail {
            Detail::GrantTooLate { issue, .. } => Some(issue),
            _ => None,
        })
        .collect()
}

/// H-13: a manual grant after the pending request's purge (L_req 22 d, grant 120 d): no client
/// ever enrols. The checker only warned (H-7).
#[test]
fn fuzz_h13_grant_after_the_purge_never_enrols() {
    let (s, r) = agrees(
        "--seed 10028955912863736053 --generations 2 --ca-lifetime 747d --cert-lifetime 255d \
         --crl-lifetime 8d22h --request-lifetime 22d22h --overlap 192d23h12m19s \
         --grant-delay 120d6h24s --group 9:p26+regenerate --group 8:p56 \
         --join-window 63d15h29m24s --retry-period 1h --retry-count 7 --jitter 1h \
         --outage none --reboot-share 0 --listing none --key-pool 4 --gaps-shown 5",
    );
    let issues = grant_issues(&r);
    assert_eq!(issues.len(), 17, "{}", r.render(s.start));
    assert_eq!(r.gaps.len(), 17);
    assert!(r.gaps.iter().all(|g| g.cause.starts_with("never enrolled")));
    assert_eq!(r.lapse_predictions.len(), 17);
}

/// H-13: the polls are exhausted (P 32 min, N 2: the last poll after 128 min) long before a
/// 10-day grant; the checker's H-1 predictions for these clients were never observed, since
/// they never enrol.
#[test]
fn fuzz_h13_polls_exhausted_before_the_grant() {
    let (_, r) = agrees(
        "--seed 4921249918627834127 --generations 3 --ca-lifetime 48d8h56m6s \
         --cert-lifetime 45d20h43m2s --crl-lifetime 8d --request-lifetime 14d10h \
         --overlap 3d4h40m11s --grant-delay 10d16m42s --group 1:ca-only --group 2:p15 \
         --join-window 10d7h46m46s --retry-period 32m --retry-count 2 --jitter 12h \
         --outage none --reboot-share 46 --listing none --key-pool 4 --gaps-shown 5",
    );
    assert_eq!(grant_issues(&r), [GrantIssue::PollsExhausted; 2]);
    assert!(
        r.predictions.is_empty(),
        "no H-1 instant for clients that never enrol"
    );
}

/// H-13 with the poll chain: an 11.4-day grant is picked up by the poll after 17.8 days, past
/// the 17.4 days a 47-day certificate at 63 % leaves; the drill's first gap starts at the
/// predicted notAfter, and a later GetNextCACert 404 (after the chain broke) is not held
/// against the checker.
#[test]
fn fuzz_h13_grant_picked_up_after_expiry() {
    let (s, r) = agrees(
        "--seed 6862451011885533585 --generations 3 --ca-lifetime 286d --cert-lifetime 47d \
         --crl-lifetime 6d6h --request-lifetime 32d11h --overlap 14d13h49m54s \
         --grant-delay 11d9h12m58s --group 2:p63 --group 1:p73+regenerate \
         --join-window 71d17h42m43s --retry-period 50m --retry-count 43 --jitter 1h \
         --outage none --reboot-share 0 --listing none --key-pool 4 --gaps-shown 5",
    );
    assert!(grant_issues(&r).contains(&GrantIssue::AfterExpiry));
    assert!(!r.lapse_predictions.is_empty(), "{}", r.render(s.start));
    assert!(r.lapse_predictions.iter().all(|p| p.agrees()));
}

/// H-1 with manual grant: every request of this deployment is purged before its grant, so no
/// client reaches a SHADOW and the checker must not predict one.
#[test]
fn fuzz_h1_no_shadow_prediction_for_clients_that_never_enrol() {
    let (_, r) = agrees(
        "--seed 13422145482624333932 --generations 1 --ca-lifetime 483d14h54m33s \
         --cert-lifetime 211d10h51m15s --crl-lifetime 5d13h --request-lifetime 21d8h \
         --overlap 1h22m33s --grant-delay 27d15h57m44s --group 6:p50 \
         --group 1:p18+regenerate --group 1:p10 --join-window 12d4h36m56s --retry-period 40m \
         --retry-count 41 --jitter 0s --outage none --reboot-share 0 --listing none \
         --key-pool 4 --gaps-shown 5",
    );
    assert!(has(&r, Hazard::ShadowBeforeRollover));
    assert!(r.predictions.is_empty());
}

/// H-1 in a later CA generation: the chains pass the first generation and fail their SHADOW
/// in the second; the checker now simulates every generation of the run (and the rollover
/// identity's C-11 validity), so the 404s are predicted to the second.
#[test]
fn fuzz_h1_failing_shadow_in_a_later_generation_is_predicted() {
    for line in [
        "--seed 14876895156350639527 --generations 2 --ca-lifetime 769d21h43m43s \
         --cert-lifetime 476d11h34m15s --crl-lifetime 9d19h --request-lifetime 35d17h \
         --overlap 174d14h20m28s --grant auto --group 2:ca-only --group 1:p48 \
         --group 2:p78+regenerate --join-window 10d13h51m21s --retry-period 54m \
         --retry-count 45 --jitter 15h18m8s --outage none --reboot-share 0 --listing none \
         --key-pool 4 --gaps-shown 5",
        "--seed 4638043754431676516 --generations 3 --ca-lifetime 188d --cert-lifetime 182d \
         --crl-lifetime 5d8h --request-lifetime 38d20h --overlap 3d5h31m8s --grant auto \
         --group 3:p89 --group 2:p48 --group 5:p92 --join-window 13d18h40m6s \
         --retry-period 44m --retry-count 32 --jitter 12h13m22s --outage none \
         --reboot-share 0 --listing none --key-pool 4 --gaps-shown 5",
    ] {
        let (s, r) = agrees(line);
        assert!(!r.predictions.is_empty(), "{}", r.render(s.start));
        assert!(r.unpredicted_404.is_empty());
        assert!(r.predictions.iter().all(|p| p.agrees()));
    }
}

/// C-24 under manual grant: holders of the cancelled rollover CA are re-enrolled from scratch
/// and wait for the administrator's grant without a certificate (11 h 44 min here). A cost of
/// the cancel, not a checker finding: the fuzzer excuses exactly these gaps.
#[test]
fn fuzz_cancel_under_manual_grant_re_enrolled_holders_wait_for_the_grant() {
    let (_, r) = agrees(
        "--seed 12575237177726700014 --generations 1 --ca-lifetime 713d --cert-lifetime 762d \
         --crl-lifetime 4d14h --request-lifetime 34d4h --overlap 645d18h11m9s \
         --grant-delay 10h58m21s --group 9:p37 --group 5:p74 --join-window 82d20h11m6s \
         --retry-period 11m --retry-count 46 --jitter 1h --outage none --reboot-share 0 \
         --rollover-cancel 378d19h19m49s --listing none --key-pool 4 --gaps-shown 5",
    );
    assert!(r.checker_calls_safe());
    assert!(r.reenrolled_after_cancel > 0);
    assert!(!r.gaps.is_empty());
    assert!(
        r.gaps
            .iter()
            .all(|g| g.cause.ends_with("re-enrolled after the rollover cancel"))
    );
}

/// CI's short fuzz: a fixed number of scenarios from a fixed seed (a few minutes at most in
/// a debug build); any disagreement fails with the command line that reproduces it.
#[test]
fn short_fuzz_from_a_fixed_seed_finds_no_disagreement() {
    let mut lines = Vec::new();
    let summary = drill::fuzz::fuzz(18, Budget::Scenarios(16), &mut |d| {
        lines.push(format!("{:#?}\n{}", d.problems, d.command_line()));
    });
    assert_eq!(summary.scenarios, 16);
    assert!(lines.is_empty(), "{}", lines.join("\n"));
    assert_eq!(summary.last_line(), "scenarios=16 disagreements=0 seed=18");
}

/// The binary: `drill fuzz` prints the summary line last and exits 0 without disagreement;
/// a missing budget is a usage error (exit 2).
#[test]
fn fuzz_command_last_line_and_exit_status() {
    let exe = env!("CARGO_BIN_EXE_drill");
    let out = std::process::Command::new(exe)
        .args(["fuzz", "--scenarios", "2", "--seed", "7"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("scenarios=2 disagreements=0 seed=7")
    );
    let bad = std::process::Command::new(exe)
        .arg("fuzz")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// T-10 amended: a client whose clock is lost for 15 days while its request is pending (P
/// 1 min, grant after 20 days) used to send every missed poll (+16 min … +11.4 d) at the
/// second its clock came back; now it skips them and polls at the next scheduled attempt.
#[test]
fn fuzz_t10_late_polls_after_a_clock_loss_are_skipped_not_fired_at_once() {
    let (s, r) = agrees(
        "--seed 5 --generations 1 --ca-lifetime 730d --cert-lifetime 365d \
         --request-lifetime 1000h --overlap 90d --grant-delay 20d --group 1:p80 \
         --join-window 0s --retry-period 1m --retry-count 999 --outage none \
         --reboot-share 0 --clock-loss 100@10m+15d --listing none --key-pool 4",
    );
    let (_, _, n) = r.busiest_client_instant.unwrap();
    assert!(n <= 3, "{n} requests at one instant\n{}", r.render(s.start));
    assert_eq!(
        r.granted,
        1 + r.renewals + r.shadows,
        "{}",
        r.render(s.start)
    );
    assert!(r.gaps.is_empty());
}

/// Found by the 30-minute run: under manual grant an outage over a renewal's first attempt
/// makes T-13 wait 73 % of the time left, and the attempt after it then needs the 4.7-day
/// grant: the certificate lapses 10 days after the outage ended. A fault's gap, not the
/// checker's: the oracle's recovery time under manual grant is now L_cert (it was 2P + 60 s
/// + 2·delay + 2P, which this gap missed by 15 hours).
#[test]
fn fuzz_outage_under_manual_grant_t13_then_grant_is_the_fault() {
    let (_, r) = agrees(
        "--seed 9107494368881409555 --generations 1 --ca-lifetime 709d7h2m20s \
         --cert-lifetime 56d7h52m44s --crl-lifetime 13d13h --request-lifetime 29d22h \
         --overlap 680d8h19m25s --grant-delay 4d16h37m34s --group 5:p73 \
         --join-window 31d23h46m46s --retry-period 38m --retry-count 11 --jitter 1h \
         --outage 480d17h45m4s+8d1h57m39s --outage 591d4h18m36s+2h51m58s --reboot-share 22 \
         --rollover-cancel 300d13h23m5s --manual-rollover 630d4h35m10s --listing none \
         --key-pool 4 --gaps-shown 5",
    );
    assert!(r.checker_calls_safe());
    assert!(
        r.gaps
            .iter()
            .any(|g| g.cause.ends_with("last trouble: RetriesExhausted"))
    );
}

/// Counterexamples 11 and 12 (30-minute run): under manual grant 19 (18) clients shared the 4
/// pool keys, so the self-signed enrolments of the fifth client on a key (clients 16–18) were
/// that key's fifth unissued request, and C-14 (at most 4 unissued requests per signer key,
/// from the table-filling fix) answered FAILURE: they never enrolled, against the checker's
/// H-1/H-12/H-13 instants. The fault was the drill's: its key pool (a shortcut for speed) made
/// distinct clients one key holder in the CA's eyes. Under manual grant every client now has a
/// pool key of its own.
#[test]
fn fuzz_c14_shared_pool_keys_under_manual_grant_are_not_one_requester() {
    for (line, clients) in [
        (
            "--seed 8984682743435570560 --start 2015-10-09T12:14:16Z --generations 3 \
             --ca-lifetime 26d --cert-lifetime 20d --crl-lifetime 8d8h \
             --request-lifetime 31d8h --overlap 2d7h51m14s --grant-delay 1h29m47s \
             --group 18:p100 --group 1:p29 --join-window 1d8h40m34s --retry-period 16m \
             --retry-count 48 --jitter 3h29m22s --outage none --reboot-share 59 \
             --rollover-cancel 77d8h28m40s --manual-rollover 77d21h28m48s --listing none \
             --key-bits 1024 --key-pool 4 --gaps-shown 5",
            19,
        ),
        (
            "--seed 10476670281793439963 --start 2015-10-09T12:14:16Z --generations 3 \
             --ca-lifetime 409d2h7m11s --cert-lifetime 59d1h17m --crl-lifetime 4d5h \
             --request-lifetime 33d17h --overlap 308d2h35m15s --grant-delay 1d12h5s \
             --group 4:p98+regenerate --group 14:p100 --join-window 14h55m59s \
             --retry-period 52m --retry-count 8 --jitter 12h \
             --outage 268d21h14m5s+3h47m57s --outage 782d15h48m28s+6d12h3m4s \
             --reboot-share 41 --listing none --key-bits 1024 --key-pool 4 --gaps-shown 5",
            18,
        ),
    ] {
        let (s, r) = agrees(line);
        assert_eq!(
            r.client_events.get("Rejected"),
            None,
            "{}",
            r.render(s.start)
        );
        assert!(!r.gaps.iter().any(|g| g.cause.starts_with("never enrolled")));
        assert!(
            r.predictions.iter().all(|p| p.agrees()),
            "{:?}",
            r.predictions
        );
        assert_eq!(r.lapse_predictions.len(), 18, "the p100 group");
        assert!(r.lapse_predictions.iter().all(|p| p.agrees()));
        assert!(
            r.setup.contains(&format!("keys: {clients} pre-generated")),
            "{}",
            r.setup
        );
    }
}

/// Counterexample 13 (seed 505 on the fuzz-fix branch): the administrator cancels the rollover
/// 21 minutes before the CA expires and generates a new one 1 min 41 s later; client 0's
/// SHADOW (p 99, 4-day certificates) falls between the two, GetNextCACert answers 404, the
/// CONNECT RETRY after P (6 min) would be past the CA's expiry, so the client has no rollover
/// CA at activation and needs re-authentication. A fault's gap, not the checker's: the oracle
/// now counts the time between a cancel and the manual rollover after it as a fault window
/// (GetNextCACert has nothing to offer, as in an outage).
#[test]
fn fuzz_cancel_then_manual_rollover_window_is_a_fault() {
    let (_, r) = agrees(
        "--seed 6494402694828188887 --start 2015-10-09T12:14:16Z --generations 3 \
         --ca-lifetime 40d --cert-lifetime 4d --crl-lifetime 6d9h --request-lifetime 21d3h \
         --overlap 1h20m19s --grant auto --group 15:p99 --join-window 10d31m28s \
         --retry-period 6m --retry-count 48 --jitter 1h --outage 70d23h50m50s+10h21m51s \
         --reboot-share 0 --clock-loss 53@102d23h14m24s+1d5h4m58s \
         --rollover-cancel 39d23h53m7s --manual-rollover 39d23h54m48s --listing none \
         --key-bits 1024 --key-pool 4 --gaps-shown 5",
    );
    assert!(r.checker_calls_safe());
    assert!(
        r.gaps
            .iter()
            .any(|g| g.client == 0 && g.cause.ends_with("last trouble: NeedsReauthentication"))
    );
}
