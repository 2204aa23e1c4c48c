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
mod engine;
mod keys;
mod report;
mod scenario;

pub use crate::engine::run;
pub use crate::report::{Gap, Generation, Load, Prediction, Report, Wave};
pub use crate::scenario::{
    ClientKind, ClockLoss, Grant, Group, HELP, SEED_CA_START, Scenario, UsageError, Window,
    parse_duration,
};

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
    /// A client kept exchanging messages at one instant.
    #[error("client {client} made too many exchanges at {at}")]
    Livelock {
        /// The client.
        client: usize,
        /// The instant.
        at: pki_timers::Instant,
    },
}
