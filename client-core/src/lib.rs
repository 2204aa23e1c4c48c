#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod transport;

#[cfg(feature = "http")]
pub use crate::transport::http::{HttpTransport, HttpTransportConfig};
pub use crate::transport::{HttpReply, InProcess, Transport, TransportError};
