#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
// Firmware cannot afford a panic: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod ca;
mod chain;
mod check;
mod error;
mod listing;
mod poll;
mod renew;
mod retry;
mod rollover;
mod shadow;
mod table;
mod time;

pub use ca::{CaTimer, CaTimerInputs, CrlWindow, ca_timers, crl_window, purge_at};
pub use chain::{ChainLink, ChainParams, RenewalChain};
pub use check::{
    CaTimerConfig, CheckOptions, ClientTimerConfig, Detail, FailingShadow, Finding, GrantIssue,
    Hazard, Node, PercentIssue, Severity, check, shadow_outruns_rollover,
};
pub use error::{LifetimeKind, TimerError};
pub use listing::{ClientTimer, Remaining, TimerListing};
pub use poll::{PollSchedule, RetryConfig, Step};
pub use renew::{RenewalKind, RenewalTimer, countdown, renew_at, renewal_kind, renewal_timer};
pub use retry::{Backoff, Rearm, connect_retry_at, rearm_after_failure};
pub use rollover::{
    RolloverIdentityPolicy, issued_validity, rollover_ca_validity, rollover_identity_validity,
};
pub use shadow::{Overlap, activation_at, ca_expiry_at, ca_only_shadow_at, shadow_generation_at};
pub use table::TimerTable;
pub use time::{Duration, Instant, Percent, UtcDateTime, Validity};
