#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` on nightly: mark feature-gated items as such.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod agent;
pub mod clock;
mod driver;
mod enroll;
mod enrolled;
mod error;
mod event_class;
mod files;
mod fingerprint;
mod jitter;
pub mod pem;
mod san;
mod session;
mod store;
mod transport;
mod trustpoint;

pub use crate::agent::Agent;
pub use crate::clock::{Clock, StopHandle, SystemClock};
pub use crate::driver::{DriveError, run_until};
pub use crate::enroll::{DEFAULT_RENEWAL_PERCENT, Enrollment, TRUSTPOINT_FILE};
pub use crate::enrolled::Enrolled;
pub use crate::error::EnrollError;
pub use crate::files::{
    CA_FILE, CERT_FILE, CHAIN_FILE, IdentityFiles, KEY_FILE, NEXT_CA_FILE, write_identity_files,
};
pub use crate::fingerprint::{CaFingerprint, CaFingerprints, FingerprintAlg, FingerprintError};
pub use crate::jitter::jitter_offset;
pub use crate::san::{SanError, SubjectAltName};
pub use crate::session::CaCandidate;
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
// Every type of a public signature, so `client-core` is the only dependency a host needs.
pub use pki_timers::{Backoff, ClientTimer, Duration, Instant, Percent, TimerListing};
pub use scep_proto::{
    Capabilities, Capability, Certificate, ClientRequest, ContentType, FailInfo, Method,
    PrivateKey, TransactionId,
};
/// The crates behind those types (certificate fields, DER encoding, random generators).
pub use {der, rand, scep_proto, x509_cert};
