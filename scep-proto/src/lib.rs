#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Decoders see attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod ber;
mod limits;

pub use ber::{BerError, flatten_constructed_string, normalize_ber};
pub use limits::Limits;
