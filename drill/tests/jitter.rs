//! K-10a through the drill: after an activation the fleet's capability refreshes are spread
//! over the jitter window, while the activation instants do not move.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use drill::{Options, Run, Scenario};
use pki_timers::Instant;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// At most this many clients refresh in one second. With `n ≤ W / 10` clients at independent
/// uniform offsets over `W` seconds, five or more land in one second with probability below
/// 10⁻³; without jitter all `n` do.
const BOUND: usize = 4;

fn run(clients: usize, jitter: &str, seed: u64) -> Run {
    let s = Scenario::from_args([
        "--clients",
        &clients.to_string(),
        "--generations",
        "2",
        "--join-window",
        "20d",
        "--outage",
        "none",
        "--reboot-share",
        "0",
        "--key-pool",
        "8",
        "--jitter",
        jitter,
        "--seed",
        &seed.to_string(),
    ])
    .unwrap()
    .unwrap();
    let mut o = Options::default();
    o.trace = true;
    drill::run_with(&s, o).unwrap()
}

/// The activation instant, each client's activation instants, and the GetCACaps requests per
/// second after the activation.
fn observe(run: &Run) -> (Instant, Vec<Instant>, BTreeMap<Instant, usize>) {
    let trace = run.trace.as_ref().unwrap();
    let activation = trace.ca_certificates[1].activated.unwrap();
    let activated = trace
        .events
        .iter()
        .filter(|e| e.kind == "RolloverActivated")
        .map(|e| e.at)
        .collect();
    let mut caps = BTreeMap::new();
    for e in &trace.events {
        if e.kind == "request" && e.detail.starts_with("GetCACaps") && e.at >= activation {
            *caps.entry(e.at).or_insert(0) += 1;
        }
    }
    (activation, activated, caps)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3,
        rng_seed: RngSeed::Fixed(10),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn k10a_refreshes_spread_activations_stay(
        clients in 20usize..60,
        minutes in 10u64..120,
        seed in 1u64..1000,
    ) {
        let window = minutes * 60;
        let spread = run(clients, &format!("{minutes}m"), seed);
        let herd = run(clients, "0s", seed);
        let (at, activated, caps) = observe(&spread);
        let (at0, activated0, caps0) = observe(&herd);
        // The activation itself stays at ca.na, for every client, with or without jitter.
        prop_assert_eq!(at, at0);
        prop_assert_eq!(activated.len(), clients);
        prop_assert!(activated.iter().all(|t| *t == at));
        prop_assert_eq!(&activated, &activated0);
        prop_assert!(spread.report.gaps.is_empty() && herd.report.gaps.is_empty());
        // Without jitter the whole fleet refreshes in the activation second.
        prop_assert_eq!(caps0.get(&at0).copied(), Some(clients));
        // With it: every client once, inside the window, at most BOUND in any second.
        prop_assert_eq!(caps.values().sum::<usize>(), clients);
        prop_assert!(caps.keys().all(|t| t.saturating_since(at).as_secs() < window));
        let busiest = caps.values().copied().max().unwrap_or(0);
        prop_assert!(busiest <= BOUND, "{} clients in one second: {:?}", busiest, caps);
    }
}
