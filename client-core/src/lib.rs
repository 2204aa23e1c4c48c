#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod driver;
mod store;
mod transport;
mod trustpoint;

pub use crate::driver::{DriveError, run_until};
pub use crate::store::{FileStore, MemoryStore, TrustpointStore};
#[cfg(feature = "http")]
pub use crate::transport::http::{HttpTransport, HttpTransportConfig};
pub use crate::transport::{HttpReply, InProcess, Transport, TransportError};
pub use crate::trustpoint::{
    AutoEnroll, ConfigError, Event, KeySource, PersistError, RenewalMessage, StateName, Trustpoint,
    TrustpointConfig, TrustpointError,
};
pub use pki_timers::{Backoff, Duration, Instant, Percent};
