//! Does the CA use both cores? (Issue 7, item 3.)
//!
//! The same number of PKCSReq messages is handed to `Ca::handle` by one thread and then by two
//! threads sharing one `Ca` (in-memory store, grant auto, 2048-bit CA key), with no HTTP and
//! no client in the way, so the ratio shows how much of a request runs outside the CA's lock.
//! Each run gets a fresh CA and fresh messages: a message handed twice would be a resend,
//! answered from the request table instead of being decrypted and signed again.
//!
//! The same is then done with the directory store (issue 16: durable writes with group
//! commit; no fsync under the CA's lock) in a fresh folder under `BENCH_STORE_DIR` (default:
//! the system's temp folder; put it on a real disk to include the fsyncs).
//!
//! `cargo bench -p benches --bench concurrency [--features aws-lc]`; prints one line per round
//! and the median `threads2/threads1` throughput ratio, per store.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant as Clock;

use benches::load::{BuildParams, build_messages};
use ca_core::{Ca, CaConfig, DirStore, GrantMode, MemoryStore, Store};
use pki_timers::Instant;
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::Certificate;

const MESSAGES: usize = 400;
const ROUNDS: usize = 5;
const NOW: u64 = 1_750_000_000;

fn ca<S: Store>(seed: u64, store: S) -> Ca<S> {
    let mut config = CaConfig::default();
    config.grant = GrantMode::Auto;
    let mut rng = StdRng::seed_from_u64(seed);
    Ca::open(
        config,
        store,
        Instant::from_unix(NOW - 3600),
        true,
        &mut rng,
    )
    .unwrap()
}

/// Requests per second when `threads` threads share the CA's work.
fn throughput<S: Store>(threads: usize, seed: u64, store: S) -> f64 {
    use der::Decode;
    let ca = ca(seed, store);
    let cert = Certificate::from_der(&ca.ca_certificate_der()).unwrap();
    let mut params = BuildParams::new(MESSAGES, NOW);
    params.seed = seed;
    let messages = build_messages(&params, &cert).unwrap();
    let next = AtomicUsize::new(0);
    let now = Instant::from_unix(NOW);
    let began = Clock::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (ca, messages, next) = (&ca, &messages, &next);
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed ^ t as u64);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = messages.get(i) else { break };
                    let answer = ca.handle(
                        "POST",
                        "/scep?operation=PKIOperation",
                        &m.der,
                        now,
                        &mut rng,
                    );
                    assert_eq!(answer.status, 200);
                }
            });
        }
    });
    assert_eq!(
        ca.last_serial(),
        1 + MESSAGES as u64,
        "every request issued"
    );
    MESSAGES as f64 / began.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less arguments; only `cargo bench` times.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "CA concurrency, {MESSAGES} PKCSReq per run, RSA backend {}",
        scep_proto::RSA_BACKEND
    );
    ratios(&|| MemoryStore::new(), "in-memory store");
    let base = std::env::var_os("BENCH_STORE_DIR").map_or_else(std::env::temp_dir, Into::into);
    let folders = std::cell::RefCell::new(Vec::new());
    ratios(
        &|| {
            let dir = tempfile::tempdir_in(&base).unwrap();
            let store = DirStore::open(dir.path()).unwrap();
            folders.borrow_mut().push(dir);
            store
        },
        &format!("directory store in {}", base.display()),
    );
}

/// Runs the rounds with stores from `store`; prints each and the median ratio.
fn ratios<S: Store>(store: &dyn Fn() -> S, label: &str) {
    println!("{label}:");
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let one = throughput(1, 10 + round as u64, store());
        let two = throughput(2, 20 + round as u64, store());
        println!(
            "round {round}: 1 thread {one:.1}/s, 2 threads {two:.1}/s, ratio {:.2}",
            two / one
        );
        ratios.push(two / one);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{label}: threads2/threads1 median ratio: {:.2}",
        ratios[ROUNDS / 2]
    );
}
