//! The parts of the `scep-load` binary: a SCEP enrolment load generator over HTTP.
//!
//! The driving sequence, each step one call:
//!
//! ```text
//! connect(url)       ─► discover() ─► build_messages() ─► run() ─► Summary::line()
//!   (HttpTransport)   (GetCACaps,    (N PKCSReq, distinct  (C threads, one     (last line)
//!                      GetCACert)     keys; not timed)      keep-alive agent
//!                                                           each; timed)
//! ```
//!
//! Every reply is opened with scep-proto ([`classify`]): anything but a CertRep with
//! pkiStatus SUCCESS, signed by the CA (or its RA), echoing the request's transactionID and
//! senderNonce, is an error.

mod ca;
mod error;
mod messages;
mod reply;
mod report;
mod runner;
mod transport;

pub use self::{
    ca::{CaInfo, discover},
    error::LoadError,
    messages::{BuildParams, Prepared, build_messages, primes_needed},
    reply::{Outcome, classify},
    report::{Summary, percentile},
    runner::{RunParams, RunResult, run},
    transport::connect,
};
