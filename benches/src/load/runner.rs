//! The timed phase: C threads, each with its own keep-alive agent, send the pre-built
//! messages (each at most once) until the time is up or the messages run out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use scep_proto::{Capabilities, Certificate, ClientRequest};

use client_core::Transport as _;

use super::{LoadError, Outcome, Prepared, Summary, classify, connect};

/// How to drive the load.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RunParams {
    /// Length of the timed phase. Requests in flight when it ends are awaited and counted.
    pub duration: Duration,
    /// Concurrent connections, one thread each.
    pub concurrency: usize,
    /// Longest wait for one whole exchange.
    pub request_timeout: Duration,
}

impl RunParams {
    /// `concurrency` connections for `duration`, 30 s per request.
    #[must_use]
    pub fn new(duration: Duration, concurrency: usize) -> Self {
        Self {
            duration,
            concurrency,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What [`run`] measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Throughput, errors and latencies.
    pub summary: Summary,
    /// True if every pre-built message was sent before the time was up; the throughput is
    /// then over the shorter elapsed time.
    pub exhausted: bool,
    /// Requests sent.
    pub sent: usize,
    /// Errors by kind ([`Outcome::label`]).
    pub errors_by_kind: BTreeMap<&'static str, u64>,
}

/// Per-thread tally, merged after the run.
#[derive(Default)]
struct Tally {
    successes: u64,
    latencies: Vec<Duration>,
    errors: BTreeMap<&'static str, u64>,
}

/// Sends `messages` to `url` as PKIOperations (POST when `caps` allow it, S-5) from
/// `params.concurrency` threads, and verifies each reply against `signers`.
pub fn run(
    url: &str,
    caps: Capabilities,
    messages: &[Prepared],
    signers: &[Certificate],
    params: RunParams,
) -> Result<RunResult, LoadError> {
    let threads = params.concurrency.max(1);
    let next = AtomicUsize::new(0);
    let exhausted = AtomicBool::new(false);
    let start_line = Barrier::new(threads.saturating_add(1));
    let tallies: Mutex<Vec<Tally>> = Mutex::new(Vec::with_capacity(threads));
    let transports = (0..threads)
        .map(|_| connect(url, params.request_timeout))
        .collect::<Result<Vec<_>, _>>()?;
    let (next, exhausted, start_line, tallies_ref) = (&next, &exhausted, &start_line, &tallies);
    let mut start = Instant::now();
    let panicked = thread::scope(|s| {
        let handles: Vec<_> = transports
            .into_iter()
            .map(|mut transport| {
                s.spawn(move || {
                    let path = transport.path().to_owned();
                    let mut tally = Tally::default();
                    start_line.wait();
                    let deadline = Instant::now() + params.duration;
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(message) = messages.get(i) else {
                            exhausted.store(true, Ordering::Relaxed);
                            break;
                        };
                        let request = ClientRequest::pki_operation(&path, caps, &message.der);
                        let t0 = Instant::now();
                        let outcome = match transport.send(&request) {
                            Ok(reply) => classify(&reply, message, signers),
                            Err(_) => Outcome::Transport,
                        };
                        tally.latencies.push(t0.elapsed());
                        if outcome.is_success() {
                            tally.successes += 1;
                        } else {
                            *tally.errors.entry(outcome.label()).or_default() += 1;
                        }
                    }
                    if let Ok(mut all) = tallies_ref.lock() {
                        all.push(tally);
                    }
                })
            })
            .collect();
        start_line.wait();
        start = Instant::now();
        handles.into_iter().any(|h| h.join().is_err())
    });
    let elapsed = start.elapsed();
    if panicked {
        return Err(LoadError::Thread);
    }
    let mut summary = Summary {
        elapsed,
        ..Summary::default()
    };
    let mut errors_by_kind = BTreeMap::new();
    for t in tallies.into_inner().map_err(|_| LoadError::Thread)? {
        summary.successes += t.successes;
        summary.latencies.extend(t.latencies);
        for (k, n) in t.errors {
            summary.errors += n;
            *errors_by_kind.entry(k).or_default() += n;
        }
    }
    Ok(RunResult {
        summary,
        exhausted: exhausted.load(Ordering::Relaxed),
        sent: next.load(Ordering::Relaxed).min(messages.len()),
        errors_by_kind,
    })
}
