//! One test (or more) per SPEC §2 timer rule, named after its id. Numbers come from the
//! seed documents (Cisco 211322 translations) and the SPEC's worked examples.

// Test code: a failed unwrap or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pki_timers::*;

fn t(s: &str) -> Instant {
    Instant::from_rfc3339(s).unwrap_or_else(|| panic!("bad instant {s}"))
}
fn v(nb: &str, na: &str) -> Validity {
    Validity::new(t(nb), t(na)).unwrap()
}
fn pct(p: u32) -> Percent {
    Percent::new(p).unwrap()
}
/// The seed CA: `151009121416Z` for 730 days.
fn seed_ca() -> Validity {
    Validity::new(
        Instant::from_unix(1_444_392_856),
        Instant::from_unix(1_507_464_856),
    )
    .unwrap()
}

#[test]
fn conventions_rfc3339_and_unix_agree() {
    assert_eq!(t("2015-10-09T12:14:16Z").unix(), 1_444_392_856);
    assert_eq!(t("2017-10-08T12:14:16Z").unix(), 1_507_464_856);
    assert_eq!(seed_ca().span(), Duration::from_days(730)); // spans 2016-02-29
    assert_eq!(
        Instant::from_unix(1_444_392_856).to_string(),
        "2015-10-09T12:14:16Z"
    );
    assert_eq!(
        t("2000-02-29T23:59:59Z").to_string(),
        "2000-02-29T23:59:59Z"
    );
    for bad in [
        "2015-02-29T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2015-13-01T00:00:00Z",
        "2015-10-09 12:14:16Z",
        "2015-10-09T24:00:00Z",
        "+015-10-09T12:14:16Z",
    ] {
        assert_eq!(Instant::from_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn t01_renew_instant_cisco_press_example() {
    // A 30-minute certificate from 15:57:54 with p = 50 renews at 16:12:54.
    let cert =
        Validity::starting_at(t("2011-06-01T15:57:54Z"), Duration::from_minutes(30)).unwrap();
    assert_eq!(renew_at(cert, pct(50)), t("2011-06-01T16:12:54Z"));
}

#[test]
fn t01_renew_instant_floors_and_is_stable() {
    let cert = Validity::from_unix(1000, 1003).unwrap();
    assert_eq!(
        cert,
        Validity::new(Instant::from_unix(1000), Instant::from_unix(1003)).unwrap()
    );
    assert!(Validity::from_unix(1003, 1003).is_err());
    assert_eq!(renew_at(cert, pct(50)), Instant::from_unix(1001)); // floor(3 · 50 / 100) = 1
    assert_eq!(renew_at(cert, pct(100)), Instant::from_unix(1003));
    // Independent of "now": the countdown is what changes, and it bottoms out at zero.
    let at = renew_at(cert, pct(50));
    assert_eq!(
        countdown(at, Instant::from_unix(900)),
        Duration::from_secs(101)
    );
    assert_eq!(countdown(at, Instant::from_unix(5000)), Duration::ZERO);
}

#[test]
fn t01_percent_range_is_a_typed_error() {
    assert_eq!(
        Percent::new(0),
        Err(TimerError::PercentOutOfRange { value: 0 })
    );
    assert_eq!(
        Percent::new(101),
        Err(TimerError::PercentOutOfRange { value: 101 })
    );
    assert!(Percent::new(1).is_ok() && Percent::new(100).is_ok());
}

#[test]
fn t01_huge_spans_do_not_overflow() {
    let cert = Validity::new(Instant::UNIX_EPOCH, Instant::from_unix(u64::MAX)).unwrap();
    assert_eq!(renew_at(cert, pct(100)), Instant::from_unix(u64::MAX));
    assert_eq!(renew_at(cert, pct(50)).unix(), u64::MAX / 2);
}

#[test]
fn t02_bare_auto_enroll_means_100_percent() {
    assert_eq!(Percent::from_auto_enroll(None), Ok(Percent::FULL));
    assert_eq!(Percent::from_auto_enroll(Some(80)), Ok(pct(80)));
    assert!(Percent::from_auto_enroll(Some(0)).is_err());
    let cert = seed_ca();
    assert_eq!(renew_at(cert, Percent::FULL), cert.not_after());
}

#[test]
fn t03_renew_or_shadow() {
    let ca = seed_ca();
    let early = v("2015-10-09T12:20:00Z", "2016-10-08T12:20:00Z");
    let clamped = v("2017-05-15T12:20:00Z", "2017-10-08T12:14:16Z");
    assert_eq!(renewal_kind(early, ca), RenewalKind::Renew);
    assert_eq!(renewal_kind(clamped, ca), RenewalKind::Shadow);
    // A foreign CA's certificate outliving its issuer is a SHADOW too.
    let outliving = v("2017-05-15T12:20:00Z", "2018-10-08T12:14:16Z");
    assert_eq!(renewal_kind(outliving, ca), RenewalKind::Shadow);
    let timer = renewal_timer(clamped, ca, pct(80));
    assert_eq!(
        timer,
        RenewalTimer {
            kind: RenewalKind::Shadow,
            at: t("2017-09-09T07:27:24Z")
        }
    );
}

#[test]
fn t04_ca_only_shadow_at_90_percent_of_seed_ca() {
    assert_eq!(
        ca_only_shadow_at(seed_ca()),
        Instant::from_unix(1_501_157_656)
    );
    assert_eq!(ca_only_shadow_at(seed_ca()), t("2017-07-27T12:14:16Z"));
}

#[test]
fn t05_shadow_generation_seed() {
    let o = Overlap::new(90, 0, 0).unwrap();
    assert_eq!(
        shadow_generation_at(seed_ca(), o),
        Instant::from_unix(1_499_688_856)
    );
    // Fired Jul 10 2017 13:14:16 CET.
    assert_eq!(
        shadow_generation_at(seed_ca(), o),
        t("2017-07-10T12:14:16Z")
    );
}

#[test]
fn t05_overlap_forms_and_zero_rejected() {
    assert_eq!(Overlap::DEFAULT.duration(), Duration::from_days(30));
    assert_eq!(
        Overlap::new(1, 2, 3).unwrap().duration(),
        Duration::from_secs(86_400 + 7_200 + 180)
    );
    assert_eq!(Overlap::new(0, 0, 0), Err(TimerError::ZeroOverlap));
    // An overlap longer than the CA: generation is due as soon as the CA exists (clamped).
    let huge = Overlap::from_duration(Duration::from_secs(u64::MAX)).unwrap();
    assert_eq!(shadow_generation_at(seed_ca(), huge), Instant::UNIX_EPOCH);
    assert_eq!(
        countdown(
            shadow_generation_at(seed_ca(), huge),
            seed_ca().not_before()
        ),
        Duration::ZERO
    );
}

#[test]
fn t06_rollover_ca_validity_seed() {
    let r = rollover_ca_validity(seed_ca(), Duration::from_days(730)).unwrap();
    assert_eq!(r, v("2017-10-08T12:14:16Z", "2019-10-08T12:14:16Z"));
    assert_eq!(r.not_after().unix(), 1_570_536_856);
    assert_eq!(
        rollover_ca_validity(
            Validity::new(Instant::UNIX_EPOCH, Instant::from_unix(u64::MAX)).unwrap(),
            Duration::from_days(1)
        ),
        Err(TimerError::Overflow)
    );
}

#[test]
fn t07_issued_validity_clamped_to_issuer() {
    let ca = seed_ca();
    let y = Duration::from_days(365);
    assert_eq!(
        issued_validity(t("2015-10-09T12:20:00Z"), ca, y).unwrap(),
        v("2015-10-09T12:20:00Z", "2016-10-08T12:20:00Z")
    );
    assert_eq!(
        issued_validity(t("2017-05-15T12:20:00Z"), ca, y).unwrap(),
        v("2017-05-15T12:20:00Z", "2017-10-08T12:14:16Z")
    );
    // Before the CA starts: starts with the CA.
    assert_eq!(
        issued_validity(t("2015-01-01T00:00:00Z"), ca, y)
            .unwrap()
            .not_before(),
        ca.not_before()
    );
    // At or after the CA's end: nothing is issued.
    for at in [ca.not_after(), t("2018-01-01T00:00:00Z")] {
        assert_eq!(
            issued_validity(at, ca, y),
            Err(TimerError::NotIssuable {
                at,
                issuing_not_after: ca.not_after()
            })
        );
    }
}

#[test]
fn t07_c11_rollover_identity_balance_and_full_lifetime() {
    let rollover = rollover_ca_validity(seed_ca(), Duration::from_days(730)).unwrap();
    let signer = v("2017-05-15T12:20:00Z", "2017-10-08T12:14:16Z");
    let y = Duration::from_days(365);
    let shadow_at = t("2017-09-09T07:27:24Z");
    let balance = rollover_identity_validity(
        shadow_at,
        rollover,
        y,
        Some(signer),
        RolloverIdentityPolicy::Balance,
    )
    .unwrap();
    assert_eq!(balance, v("2017-10-08T12:14:16Z", "2018-05-15T12:20:00Z"));
    let full = rollover_identity_validity(
        shadow_at,
        rollover,
        y,
        Some(signer),
        RolloverIdentityPolicy::FullLifetime,
    )
    .unwrap();
    assert_eq!(full, v("2017-10-08T12:14:16Z", "2018-10-08T12:14:16Z"));
    // A signer not from this CA (None) gets the full lifetime under Balance too.
    let foreign = rollover_identity_validity(
        shadow_at,
        rollover,
        y,
        None,
        RolloverIdentityPolicy::Balance,
    )
    .unwrap();
    assert_eq!(foreign, full);
    // Clamped to the rollover CA's end.
    let long = rollover_identity_validity(
        shadow_at,
        rollover,
        Duration::from_days(1000),
        None,
        RolloverIdentityPolicy::Balance,
    )
    .unwrap();
    assert_eq!(long.not_after(), rollover.not_after());
}

#[test]
fn t08_crl_window_and_regeneration() {
    let w = crl_window(seed_ca().not_before(), Duration::from_hours(6));
    assert_eq!(w.next_update, t("2015-10-09T18:14:16Z"));
    // A revocation at 15:00 restarts the period.
    let again = crl_window(t("2015-10-09T15:00:00Z"), Duration::from_hours(6));
    assert_eq!(
        (again.this_update, again.next_update),
        (t("2015-10-09T15:00:00Z"), t("2015-10-09T21:00:00Z"))
    );
}

#[test]
fn t09_t14_expiry_and_activation_at_ca_end() {
    assert_eq!(ca_expiry_at(seed_ca()), seed_ca().not_after());
    let rollover = rollover_ca_validity(seed_ca(), Duration::from_days(730)).unwrap();
    assert_eq!(activation_at(seed_ca()), rollover.not_before());
}

fn default_poll(t0: Instant, issuing_na: Instant) -> PollSchedule {
    PollSchedule {
        pending_at: t0,
        config: RetryConfig::DEFAULT,
        issuing_not_after: issuing_na,
    }
}

#[test]
fn t10_poll_gaps_double() {
    let t0 = Instant::from_unix(1_000_000);
    let s = default_poll(t0, Instant::from_unix(u64::MAX));
    let offsets: Vec<u64> = s.instants().take(5).map(|i| i.unix() - t0.unix()).collect();
    assert_eq!(offsets, [60, 120, 240, 480, 960]); // gaps 1, 1, 2, 4, 8 minutes
    assert_eq!(
        s.attempt_at(13),
        Step::At(Instant::from_unix(t0.unix() + 491_520))
    ); // 136.5 h
    assert_eq!(
        s.attempt_at(14),
        Step::At(Instant::from_unix(t0.unix() + 983_040))
    );
}

#[test]
fn t10_poll_stops_at_count_and_at_issuing_ca_end() {
    let t0 = Instant::from_unix(1_000_000);
    let few = PollSchedule {
        config: RetryConfig::new(Duration::from_minutes(1), 3).unwrap(),
        ..default_poll(t0, Instant::from_unix(u64::MAX))
    };
    assert_eq!(few.instants().count(), 4); // first poll + retries 1..=3
    assert_eq!(few.attempt_at(4), Step::Exhausted);
    // The CA ends 10 minutes in: polls at +1, +2, +4, +8; +16 would be after it.
    let ending = default_poll(t0, Instant::from_unix(t0.unix() + 600));
    assert_eq!(ending.instants().count(), 4);
    // Exactly at the CA's end is too late.
    let exact = default_poll(t0, Instant::from_unix(t0.unix() + 480));
    assert_eq!(exact.instants().count(), 3);
    // Unlimited count still ends: overflow means stop.
    let unlimited = PollSchedule {
        config: RetryConfig::new(Duration::from_minutes(60), 0).unwrap(),
        ..default_poll(t0, Instant::from_unix(u64::MAX))
    };
    assert!(unlimited.instants().count() < 64);
    assert_eq!(unlimited.attempt_at(u32::MAX), Step::Exhausted);
}

/// T-10 amended (fuzz): after an outage or a clock jump the next poll is the first scheduled
/// attempt still ahead, not every missed one at once; missed attempts count against N.
#[test]
fn t10_amended_next_poll_skips_the_attempts_already_past() {
    let t0 = Instant::from_unix(1_000_000);
    let s = default_poll(t0, Instant::from_unix(u64::MAX));
    // On time: the poll of attempt 2 (+4 min) answered PENDING, the next is attempt 3.
    let on_time = Instant::from_unix(t0.unix() + 240);
    assert_eq!(
        s.next_after(3, on_time),
        (3, Step::At(Instant::from_unix(t0.unix() + 480)))
    );
    // Back 15 days later: attempts 3 … 14 (+11.4 d) are past; attempt 15 (+22.8 d) is next.
    let late = Instant::from_unix(t0.unix() + 15 * 86_400);
    assert_eq!(
        s.next_after(3, late),
        (15, Step::At(Instant::from_unix(t0.unix() + 60 * (1 << 15))))
    );
    // An attempt at the very instant is past too (the poll is under way now).
    assert_eq!(s.next_after(3, Instant::from_unix(t0.unix() + 480)).0, 4);
    // With N = 10 the skipped attempts use the count up: exhausted.
    let few = PollSchedule {
        config: RetryConfig::new(Duration::from_minutes(1), 10).unwrap(),
        ..s
    };
    assert_eq!(few.next_after(3, late), (11, Step::Exhausted));
}

#[test]
fn t10_t11_retry_period_range() {
    assert!(RetryConfig::new(Duration::from_secs(59), 1).is_err());
    assert!(RetryConfig::new(Duration::from_minutes(61), 1).is_err());
    assert_eq!(RetryConfig::default().count(), 999);
}

#[test]
fn t11_connect_retry_fixed_and_doubling() {
    let now = Instant::from_unix(5_000);
    let far = Instant::from_unix(u64::MAX);
    let cfg = RetryConfig::new(Duration::from_minutes(2), 3).unwrap();
    assert_eq!(
        connect_retry_at(now, 0, cfg, Backoff::Fixed, far),
        Step::At(Instant::from_unix(5_120))
    );
    assert_eq!(
        connect_retry_at(now, 2, cfg, Backoff::Fixed, far),
        Step::At(Instant::from_unix(5_120))
    );
    assert_eq!(
        connect_retry_at(now, 3, cfg, Backoff::Fixed, far),
        Step::Exhausted
    );
    assert_eq!(
        connect_retry_at(now, 2, cfg, Backoff::Doubling, far),
        Step::At(Instant::from_unix(5_480))
    );
    // Never at or after the issuing CA's end.
    assert_eq!(
        connect_retry_at(now, 0, cfg, Backoff::Fixed, Instant::from_unix(5_120)),
        Step::Exhausted
    );
    // N = 0: unlimited.
    let unlimited = RetryConfig::new(Duration::from_minutes(1), 0).unwrap();
    assert_eq!(
        connect_retry_at(now, 1_000_000, unlimited, Backoff::Fixed, far),
        Step::At(Instant::from_unix(5_060))
    );
    assert_eq!(
        connect_retry_at(now, 1_000, unlimited, Backoff::Doubling, far),
        Step::Exhausted
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum K {
    A,
    B,
    C,
}

#[test]
fn t12_no_timer_without_authoritative_time() {
    let mut table = TimerTable::new();
    table.arm(K::A, Instant::from_unix(30));
    table.arm(K::B, Instant::from_unix(10));
    table.arm(K::C, Instant::from_unix(20));
    assert_eq!(table.next_deadline(), None);
    assert_eq!(table.pop_due(Instant::from_unix(100)), None);
    assert_eq!(table.deadline(K::A), Some(Instant::from_unix(30)));
    // Once authoritative, overdue timers fire at once, in chronological order.
    table.set_authoritative(true);
    let fired: Vec<K> = std::iter::from_fn(|| table.pop_due(Instant::from_unix(100)))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(fired, [K::B, K::C, K::A]);
    assert_eq!(table.next_deadline(), None);
}

#[test]
fn t12_early_calls_are_no_ops_and_clock_may_go_backwards() {
    let mut table = TimerTable::new();
    table.set_authoritative(true);
    table.arm(K::A, Instant::from_unix(100));
    assert_eq!(table.pop_due(Instant::from_unix(99)), None);
    assert_eq!(table.pop_due(Instant::from_unix(5)), None); // backwards: still nothing
    table.arm(K::A, Instant::from_unix(50)); // re-arm replaces
    assert_eq!(table.entries(), [(K::A, Instant::from_unix(50))]);
    assert_eq!(
        table.pop_due(Instant::from_unix(50)),
        Some((K::A, Instant::from_unix(50)))
    );
    assert_eq!(table.cancel(K::A), None);
}

#[test]
fn t13_rearm_after_failure_converges_before_expiry() {
    let cfg = RetryConfig::DEFAULT;
    let expires = Instant::from_unix(1_000_000);
    // 80 % of the 1 000 000 s left.
    assert_eq!(
        rearm_after_failure(Instant::UNIX_EPOCH, expires, pct(80), cfg),
        Rearm::At(Instant::from_unix(800_000))
    );
    // 1 000 s left: 800 s later. 70 s left: 80 % is 56 s, so P (60 s) later.
    assert_eq!(
        rearm_after_failure(Instant::from_unix(999_000), expires, pct(80), cfg),
        Rearm::At(Instant::from_unix(999_800))
    );
    assert_eq!(
        rearm_after_failure(Instant::from_unix(999_930), expires, pct(80), cfg),
        Rearm::At(Instant::from_unix(999_990))
    );
    // P would reach expiry: give up and report.
    assert_eq!(
        rearm_after_failure(Instant::from_unix(999_950), expires, pct(80), cfg),
        Rearm::Expiring
    );
    assert_eq!(
        rearm_after_failure(Instant::from_unix(2_000_000), expires, pct(80), cfg),
        Rearm::Expiring
    );
    // Repeated failures converge: every attempt is before expiry, and they end.
    let mut now = Instant::UNIX_EPOCH;
    let mut attempts = 0;
    while let Rearm::At(next) = rearm_after_failure(now, expires, pct(80), cfg) {
        assert!(next > now && next < expires);
        now = next;
        attempts += 1;
    }
    assert!(attempts < 64, "{attempts}");
}

#[test]
fn t13_ca_only_shadow_rearm_uses_ca_end_and_90_percent() {
    let ca = seed_ca();
    let now = ca_only_shadow_at(ca);
    let Rearm::At(next) = rearm_after_failure(
        now,
        ca.not_after(),
        Percent::CA_ONLY_SHADOW,
        RetryConfig::DEFAULT,
    ) else {
        panic!()
    };
    assert_eq!(
        next.unix() - now.unix(),
        (ca.not_after().unix() - now.unix()) * 90 / 100
    );
}

#[test]
fn t15_purge_after_request_lifetime() {
    assert_eq!(
        purge_at(Instant::from_unix(1_000), Duration::from_hours(168)),
        Instant::from_unix(1_000 + 604_800)
    );
}

#[test]
fn t16_time_text_samples_from_the_seed() {
    assert_eq!(Remaining(55_295_657_977).to_string(), "639d23:54:17.977");
    assert_eq!(
        Remaining(3 * 86_400_000 + 7 * 3_600_000 + 5 * 60_000 + 24_003).to_string(),
        "3d 7:05:24.003"
    );
    assert_eq!(format!("{:>16}", Remaining(21_257_977)), "     5:54:17.977");
    assert_eq!(format!("{:>16}", Remaining(469_003)), "        7:49.003");
    assert_eq!(Remaining(0).to_string(), "0:00.000");
    assert_eq!(Remaining(u64::MAX).to_string(), "213503982334d14:25:51.615");
}

#[test]
fn t16_listing_layout() {
    let mut l = TimerListing::new("PKI Timers");
    l.push(
        "TRUSTPOOL",
        Remaining(3 * 86_400_000 + 7 * 3_600_000 + 5 * 60_000 + 24_003),
    );
    l.push("SESSION CLEANUP", Remaining(469_003));
    assert_eq!(
        l.to_string(),
        "PKI Timers\n|        7:49.003\n |        7:49.003  SESSION CLEANUP\n |  3d 7:05:24.003  TRUSTPOOL\n"
    );
    assert_eq!(TimerListing::new("Empty").to_string(), "Empty\n");
    assert_eq!(ClientTimer::ConnectRetry.label("tp1"), "CONNECT RETRY tp1");
    assert_eq!(
        ClientTimer::RolloverActivate.label("ROOT"),
        "ROLLOVER ACTIVATE ROOT"
    );
}

#[test]
fn t17_seed_ca_timer_listing() {
    let ca = seed_ca();
    let now = Instant::from_unix(1_444_393_198); // 13:19:58 CET
    let inputs = CaTimerInputs {
        active_ca: ca,
        crl_next_update: crl_window(ca.not_before(), Duration::from_hours(6)).next_update,
        auto_rollover: Some(Overlap::new(90, 0, 0).unwrap()),
        rollover_exists: false,
    };
    let timers: Vec<_> = ca_timers(&inputs).collect();
    assert_eq!(
        timers,
        [
            (CaTimer::CrlUpdate, t("2015-10-09T18:14:16Z")),
            (CaTimer::ShadowGeneration, Instant::from_unix(1_499_688_856)),
            (CaTimer::CertExpire, t("2017-10-08T12:14:16Z")),
        ]
    );
    let remaining: Vec<u64> = timers
        .iter()
        .map(|&(_, at)| countdown(at, now).as_secs())
        .collect();
    assert_eq!(
        remaining,
        [21_258, 639 * 86_400 + 86_058, 729 * 86_400 + 86_058]
    );
    let mut listing = TimerListing::new("CS Timers");
    for (timer, at) in timers {
        listing.push_instant(timer.label(), at, now);
    }
    assert_eq!(
        listing.to_string(),
        "CS Timers\n\
         |     5:54:18.000\n \
         |     5:54:18.000  CS CRL UPDATE\n \
         |639d23:54:18.000  CS SHADOW CERT GENERATION\n \
         |729d23:54:18.000  CS CERT EXPIRE\n"
    );
    // With the rollover generated, no shadow generation timer is armed.
    let after = CaTimerInputs {
        rollover_exists: true,
        ..inputs
    };
    assert!(ca_timers(&after).all(|(k, _)| k != CaTimer::ShadowGeneration));
}

fn seed_chain(p: u32) -> Vec<ChainLink> {
    RenewalChain::new(ChainParams {
        ca: seed_ca(),
        cert_lifetime: Duration::from_days(365),
        percent: pct(p),
        enrolled_at: t("2015-10-09T12:20:00Z"),
    })
    .unwrap()
    .collect()
}

#[test]
fn t18_seed_deployment_p80() {
    let chain = seed_chain(80);
    let rows: Vec<_> = chain
        .iter()
        .map(|l| (l.validity, l.kind, l.fires, l.clamped))
        .collect();
    assert_eq!(
        rows,
        [
            (
                v("2015-10-09T12:20:00Z", "2016-10-08T12:20:00Z"),
                RenewalKind::Renew,
                t("2016-07-27T12:20:00Z"),
                false
            ),
            (
                v("2016-07-27T12:20:00Z", "2017-07-27T12:20:00Z"),
                RenewalKind::Renew,
                t("2017-05-15T12:20:00Z"),
                false
            ),
            (
                v("2017-05-15T12:20:00Z", "2017-10-08T12:14:16Z"),
                RenewalKind::Shadow,
                t("2017-09-09T07:27:24Z"),
                true
            ),
        ]
    );
    let shadow = chain[2];
    assert!(shadow.fires > shadow_generation_at(seed_ca(), Overlap::new(90, 0, 0).unwrap()));
    let rollover = rollover_ca_validity(seed_ca(), Duration::from_days(730)).unwrap();
    let y = Duration::from_days(365);
    assert_eq!(
        shadow
            .rollover_identity(rollover, y, RolloverIdentityPolicy::Balance)
            .unwrap(),
        v("2017-10-08T12:14:16Z", "2018-05-15T12:20:00Z")
    );
    assert_eq!(
        shadow
            .rollover_identity(rollover, y, RolloverIdentityPolicy::FullLifetime)
            .unwrap(),
        v("2017-10-08T12:14:16Z", "2018-10-08T12:14:16Z")
    );
}

#[test]
fn t18_seed_deployment_p50_shadows_too_early() {
    let chain = seed_chain(50);
    let shadow = *chain.last().unwrap();
    assert_eq!(shadow.number, 3);
    assert_eq!(
        shadow.validity,
        v("2016-10-08T12:20:00Z", "2017-10-08T12:14:16Z")
    );
    assert_eq!(shadow.fires, t("2017-04-09T00:17:08Z"));
    assert!(shadow.fires < t("2017-07-10T12:14:16Z"));
}

#[test]
fn t18_chain_errors() {
    let params = ChainParams {
        ca: seed_ca(),
        cert_lifetime: Duration::from_secs(50),
        percent: pct(1),
        enrolled_at: seed_ca().not_before(),
    };
    assert!(matches!(
        RenewalChain::new(params),
        Err(TimerError::NoRenewalProgress { .. })
    ));
    let late = ChainParams {
        cert_lifetime: Duration::from_days(365),
        enrolled_at: seed_ca().not_after(),
        ..params
    };
    assert!(matches!(
        RenewalChain::new(late),
        Err(TimerError::NotIssuable { .. })
    ));
}
