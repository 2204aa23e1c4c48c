//! Scenario fuzzing of the rollover model (`drill fuzz`): random deployments and fault
//! schedules, each run through the drill and held against the hazard checker.
//!
//! Properties checked on every scenario (see [`problems`]):
//! - the checker reports no error ⇒ no client has a gap (except gaps a fault accounts for: a
//!   CA outage or a clock loss that ends too close to the certificate's expiry to renew, or a
//!   rollover cancel not followed by a new rollover before the CA expires);
//! - every failing instant the checker predicts is observed at that instant;
//! - the same seed gives the same report (every eighth scenario runs again on two threads);
//! - no panic, no internal error, and no client sends more requests in an hour than its
//!   retry settings allow, nor more than [`REQUESTS_PER_INSTANT_BOUND`] at one instant.

mod cmdline;
mod generate;
mod oracle;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use self::generate::scenario;
pub use self::oracle::{REQUESTS_PER_INSTANT_BOUND, problems, requests_per_hour_bound};
use crate::engine::{Options, run_with};
use crate::scenario::Scenario;

/// How long a fuzz run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// This many scenarios.
    Scenarios(u64),
    /// Until this much wall-clock time has passed (the scenario under way is finished).
    Time(std::time::Duration),
}

/// A scenario on which the drill and the checker disagree, or the drill failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// The scenario.
    pub scenario: Scenario,
    /// What went wrong, one line each.
    pub problems: Vec<String>,
}

impl Disagreement {
    /// The command line that reproduces the scenario.
    #[must_use]
    pub fn command_line(&self) -> String {
        format!(
            "cargo run --release -p drill -- {}",
            self.scenario.to_args().join(" ")
        )
    }
}

/// What a fuzz run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzSummary {
    /// The run's seed.
    pub seed: u64,
    /// Scenarios run.
    pub scenarios: u64,
    /// The scenarios with problems.
    pub disagreements: Vec<Disagreement>,
}

impl FuzzSummary {
    /// The closing line, exactly `scenarios=<n> disagreements=<d> seed=<s>`.
    #[must_use]
    pub fn last_line(&self) -> String {
        format!(
            "scenarios={} disagreements={} seed={}",
            self.scenarios,
            self.disagreements.len(),
            self.seed
        )
    }
}

/// The seed of scenario `k` of a fuzz run seeded with `seed` (SplitMix64 of both).
#[must_use]
pub fn scenario_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs one scenario (twice, on one thread and on two, when `twice`) and returns what is
/// wrong: failures of the drill, disagreements with the checker, broken properties.
#[must_use]
pub fn check(s: &Scenario, twice: bool) -> Vec<String> {
    let once = |threads: usize| {
        catch_unwind(AssertUnwindSafe(|| {
            run_with(
                s,
                Options {
                    threads,
                    ..Options::default()
                },
            )
        }))
    };
    let report = match once(1) {
        Err(_) => return vec!["the drill panicked".to_owned()],
        Ok(Err(e)) => return vec![format!("the drill failed: {e}")],
        Ok(Ok(run)) => run.report,
    };
    let mut out = problems(s, &report);
    if twice {
        match once(2) {
            Err(_) => out.push("the drill panicked on two threads".to_owned()),
            Ok(Err(e)) => out.push(format!("the drill failed on two threads: {e}")),
            Ok(Ok(run)) if run.report != report => out.push(format!(
                "same seed, another report on two threads:\n{}\n-- vs --\n{}",
                report.summary_line(),
                run.report.summary_line()
            )),
            Ok(Ok(_)) => {}
        }
    }
    out
}

/// Runs scenarios from `seed` until the budget is spent; `found` sees each disagreement as
/// it is found.
pub fn fuzz(seed: u64, budget: Budget, found: &mut dyn FnMut(&Disagreement)) -> FuzzSummary {
    let began = std::time::Instant::now();
    let mut summary = FuzzSummary {
        seed,
        scenarios: 0,
        disagreements: Vec::new(),
    };
    loop {
        let more = match budget {
            Budget::Scenarios(n) => summary.scenarios < n,
            Budget::Time(t) => began.elapsed() < t,
        };
        if !more {
            break;
        }
        let k = summary.scenarios;
        let s = scenario(scenario_seed(seed, k));
        let problems = check(&s, k.is_multiple_of(8));
        summary.scenarios = summary.scenarios.saturating_add(1);
        if !problems.is_empty() {
            let d = Disagreement {
                scenario: s,
                problems,
            };
            found(&d);
            summary.disagreements.push(d);
        }
    }
    summary
}

/// `drill fuzz --seconds N [--seed S] [--scenarios N]`: the budget and the seed (by default
/// one from the clock, printed in the last line). `Ok(None)` for `--help`.
///
/// # Errors
/// [`crate::UsageError`] for a flag that does not parse or a missing budget.
pub fn parse_args<I>(args: I) -> Result<Option<(u64, Budget)>, crate::UsageError>
where
    I: IntoIterator,
    I::Item: Into<std::ffi::OsString>,
{
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut seed = None;
    let mut budget = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("seed") => seed = Some(parser.value()?.parse()?),
            Long("seconds") => {
                budget = Some(Budget::Time(std::time::Duration::from_secs(
                    parser.value()?.parse()?,
                )));
            }
            Long("scenarios") => budget = Some(Budget::Scenarios(parser.value()?.parse()?)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let budget = budget.ok_or_else(|| {
        crate::UsageError::Invalid("drill fuzz needs --seconds N or --scenarios N".to_owned())
    })?;
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    Ok(Some((seed, budget)))
}

/// The `drill fuzz --help` text.
pub const FUZZ_HELP: &str = "\
Usage: drill fuzz (--seconds <N> | --scenarios <N>) [--seed <S>]

Runs random deployments and fault schedules (at most 20 clients each) through the drill and
holds each against the hazard checker: no error from the checker means no gap; every failing
instant the checker predicts is observed at that instant; the same seed gives the same report;
no panic; no client sends more requests in an hour than its retry settings allow.

Prints each disagreement with the drill command line that reproduces it, and last the line
`scenarios=<n> disagreements=<d> seed=<s>`. Exit status 1 when there was a disagreement.
The seed defaults to one taken from the clock.
";
