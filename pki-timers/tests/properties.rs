//! Property tests of the timer invariants (SPEC §2) and of the checker's H-1 verdict against
//! simulated enrolment chains (T-18 method).

// Test code: a failed unwrap or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pki_timers::*;
use proptest::prelude::*;

const DAY: u64 = 86_400;
/// Instants up to the year 9999.
const MAX_T: u64 = 253_402_300_799;

fn validity() -> impl Strategy<Value = Validity> {
    (0..MAX_T, 1..MAX_T).prop_map(|(nb, span)| {
        Validity::new(
            Instant::from_unix(nb),
            Instant::from_unix(nb.saturating_add(span)),
        )
        .unwrap()
    })
}
fn percent() -> impl Strategy<Value = Percent> {
    (1u32..=100).prop_map(|p| Percent::new(p).unwrap())
}

proptest! {
    #[test]
    fn t01_renew_instant_inside_validity(cert in validity(), p in percent()) {
        let at = renew_at(cert, p);
        prop_assert!(cert.not_before() <= at && at <= cert.not_after());
        if p < Percent::FULL { prop_assert!(at < cert.not_after()); }
    }

    #[test]
    fn t07_issued_end_never_after_ca_end(ca in validity(), t_issue in 0..MAX_T, span in 0..MAX_T) {
        match issued_validity(Instant::from_unix(t_issue), ca, Duration::from_secs(span)) {
            Ok(v) => {
                prop_assert!(v.not_after() <= ca.not_after());
                prop_assert!(v.not_before() >= ca.not_before());
                prop_assert!(v.not_before().unix() >= t_issue);
                prop_assert!(v.span().as_secs() <= span);
            }
            Err(TimerError::NotIssuable { .. }) => prop_assert!(t_issue >= ca.not_after().unix() || span == 0),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn t10_poll_instants_increase_and_stay_before_issuing_end(
        t0 in 0..MAX_T, period_min in 1u64..=60, count in 0u32..2000, ca_left in 1..(400 * DAY),
    ) {
        let s = PollSchedule {
            pending_at: Instant::from_unix(t0),
            config: RetryConfig::new(Duration::from_minutes(period_min), count).unwrap(),
            issuing_not_after: Instant::from_unix(t0 + ca_left),
        };
        let all: Vec<Instant> = s.instants().collect();
        prop_assert!(all.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(all.iter().all(|&i| i.unix() > t0 && i < s.issuing_not_after));
        if count != 0 { prop_assert!(all.len() <= count as usize + 1); }
    }

    #[test]
    fn t13_rearm_before_expiry_or_expiring(now in 0..MAX_T, left in 0..(4000 * DAY), p in percent(), period_min in 1u64..=60) {
        let cfg = RetryConfig::new(Duration::from_minutes(period_min), 999).unwrap();
        let expires = Instant::from_unix(now + left);
        match rearm_after_failure(Instant::from_unix(now), expires, p, cfg) {
            Rearm::At(next) => prop_assert!(next.unix() > now && next < expires),
            Rearm::Expiring => prop_assert!(left <= period_min * 60 || Duration::from_secs(left).percent(p).as_secs() >= left),
        }
    }

    #[test]
    fn t16_rfc3339_round_trip(secs in 0..MAX_T) {
        let t = Instant::from_unix(secs);
        prop_assert_eq!(Instant::from_rfc3339(&t.to_string()), Some(t));
    }

    /// H-1: the closed-form verdict equals the simulation at the worst-case enrolment (a
    /// certificate of span D ending at the CA's end), and any concrete chain that fails is
    /// flagged, with the failing SHADOW reported.
    #[test]
    fn h01_verdict_agrees_with_simulated_chains(
        ca_days in 1u64..=7305, cert_days in 1u64..=1825, p in percent(),
        overlap_s in 1..(7305 * DAY), near_boundary in any::<bool>(), delta in -3i64..=3,
        created in 0..(40 * 365 * DAY), enrol_frac in 0u64..1000,
    ) {
        // Half the cases put O within 3 s of the exact worst-case SHADOW lead, where an
        // off-by-one in the verdict would show.
        let d_secs = ca_days.min(cert_days) * DAY;
        let lead = d_secs * u64::from(p.remainder()) / 100;
        let overlap_s = if near_boundary { lead.saturating_add_signed(delta).max(1) } else { overlap_s };
        let overlap = Overlap::from_duration(Duration::from_secs(overlap_s)).unwrap();
        let mut ca = CaTimerConfig::default();
        ca.ca_lifetime = Duration::from_days(ca_days);
        ca.cert_lifetime = Duration::from_days(cert_days);
        ca.auto_rollover = Some(overlap);
        ca.manual_grant = false;
        ca.created_at = Some(Instant::from_unix(created));
        let ca_validity = Validity::starting_at(Instant::from_unix(created), ca.ca_lifetime).unwrap();
        let generated = shadow_generation_at(ca_validity, overlap);
        let chain = |enrolled_at| {
            RenewalChain::new(ChainParams { ca: ca_validity, cert_lifetime: ca.cert_lifetime, percent: p, enrolled_at })
                .unwrap().shadow().unwrap()
        };

        let d = ca.cert_lifetime.min(ca.ca_lifetime);
        let worst = chain(ca_validity.not_after().saturating_sub(d));
        prop_assert_eq!(worst.kind, RenewalKind::Shadow);
        prop_assert_eq!(shadow_outruns_rollover(p, d, overlap), worst.fires < generated);

        let enrolled_at = Instant::from_unix(created + ca_days * DAY * enrol_frac / 1000);
        let mut c = ClientTimerConfig::default();
        c.auto_enroll = Some(p);
        c.enrolled_at = Some(enrolled_at);
        let concrete = chain(enrolled_at);
        let h1 = check(&ca, &[c], &CheckOptions::default()).into_iter().find(|f| f.hazard == Hazard::ShadowBeforeRollover);
        if concrete.fires < generated {
            let Some(Finding { detail: Detail::ShadowBeforeRollover { first_failing: Some(s), .. }, .. }) = h1 else {
                return Err(TestCaseError::fail(format!("unflagged failing chain: {concrete:?}")));
            };
            prop_assert_eq!((s.link, s.at, s.rollover_generated_at), (concrete.number, concrete.fires, generated));
        } else if let Some(f) = h1 {
            let unsimulated = matches!(f.detail, Detail::ShadowBeforeRollover { first_failing: None, .. });
            prop_assert!(unsimulated, "reported a failing SHADOW the chain does not have: {:?}", f);
        }
        prop_assert_eq!(h1.is_some(), shadow_outruns_rollover(p, d, overlap));
    }
}
