#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` on nightly: mark feature-gated items as such.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod driver;
mod jitter;
mod store;
mod transport;
mod trustpoint;

pub use crate::driver::{DriveError, run_until};
pub use crate::jitter::jitter_offset;
pub use crate::store::{FileStore, MemoryStore, TrustpointStore};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use crate::transport::http::{HttpTransport, HttpTransportConfig, TlsRoots};
pub use crate::transport::{HttpReply, InProcess, Transport, TransportError, UrlProblem};
pub use crate::trustpoint::{
    AuthFailure, AutoEnroll, ConfigError, Event, KeySource, NextCaProblem, PersistError,
    RenewalMessage, ReplyProblem, RequestFailure, StateName, Trustpoint, TrustpointConfig,
    TrustpointError, Warning,
};
pub use pki_timers::{Backoff, Duration, Instant, Percent};
