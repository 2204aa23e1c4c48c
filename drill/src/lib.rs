//! The rollover drill: a SCEP CA ([`ca_core`]) and a fleet of trustpoints ([`client_core`])
//! run together in virtual time, through CA generations, with faults, while every client is
//! checked at every instant for a valid certificate chaining to the CA it trusts.
//!
//! ```no_run
//! let scenario = drill::Scenario::default(); // the seed deployment, 1,000 clients
//! let report = drill::run(&scenario)?;
//! println!("{}", report.summary_line());
//! assert_eq!(report.gaps.len(), 0);
//! # Ok::<(), drill::DrillError>(())
//! ```
#![forbid(unsafe_code)]

mod checker;
mod cli;
mod engine;
mod export;
pub mod fuzz;
mod keys;
mod picture;
mod report;
mod scenario;
mod trace;

pub use crate::cli::{Command, Outputs};
pub use crate::engine::{Options, Progress, Run, run, run_with};
pub use crate::report::{Gap, Generation, Load, Prediction, Report, Wave};
pub use crate::scenario::{
    ClientKind, ClockLoss, Grant, Group, HELP, SEED_CA_START, Scenario, UsageError, Window,
    parse_duration,
};
pub use crate::trace::{
    Acquired, CaCertificate, ClientTrace, Holding, IdentitySpan, Trace, TraceEvent,
};

/// Writes what `command.outputs` asks for from `run`: the picture, the event log, the JSON
/// report.
///
/// # Errors
/// [`OutputError`] naming the file that could not be written.
pub fn write_outputs(command: &Command, run: &Run) -> Result<(), OutputError> {
    let o = &command.outputs;
    let s = &command.scenario;
    let write = |path: &std::path::Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| OutputError {
            path: path.to_owned(),
            source: e,
        })
    };
    if let Some(path) = &o.json {
        write(path, run.report.to_json(s.start).as_bytes())?;
    }
    if let Some(path) = &o.events {
        let mut bytes = Vec::new();
        if let Some(trace) = &run.trace {
            trace.write_events(&mut bytes).map_err(|e| OutputError {
                path: path.clone(),
                source: e,
            })?;
        }
        write(path, &bytes)?;
    }
    if let (Some(path), Some(trace)) = (&o.html, &run.trace) {
        write(path, picture::page(s, &run.report, trace).as_bytes())?;
    }
    Ok(())
}

/// The run as one self-contained HTML page (what `--html` writes); `trace` from a traced run
/// of `scenario` ([`Options::trace`]). The same run gives the same bytes.
#[must_use]
pub fn html_page(scenario: &Scenario, report: &Report, trace: &Trace) -> String {
    picture::page(scenario, report, trace)
}

/// A file the drill could not write.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct OutputError {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Why a drill could not run to its end (a gap is not an error: it is in the [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// The scenario is not runnable.
    #[error(transparent)]
    Scenario(UsageError),
    /// The CA refused its configuration or failed.
    #[error("CA: {0}")]
    Ca(#[source] ca_core::CaError),
    /// A client refused its configuration or its saved state.
    #[error("client: {0}")]
    Client(String),
    /// The key pool could not be generated.
    #[error("RSA key generation failed")]
    KeyGeneration,
    /// The engine found itself in a state it cannot continue from (a bug in the drill).
    #[error("drill engine: {0}")]
    Engine(String),
    /// A worker thread stopped (a bug in the drill).
    #[error("a drill worker thread stopped")]
    Worker,
    /// A client kept exchanging messages at one instant.
    #[error("client {client} made too many exchanges at {at}")]
    Livelock {
        /// The client.
        client: usize,
        /// The instant.
        at: pki_timers::Instant,
    },
}
