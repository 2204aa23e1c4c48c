#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Decoders see attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod alg;
mod ber;
mod caps;
mod http;
mod limits;

pub use crate::{
    alg::{ContentCipher, DigestAlg},
    ber::{BerError, flatten_constructed_string, normalize_ber},
    caps::{Capabilities, Capability, CapsProfile},
    http::{
        ClientRequest, ContentType, ErrorStatus, HttpError, HttpLimits, HttpResponse, Method,
        Operation, RequestPart, ScepRequest, ScepResponse, decode_get_message, encode_get_message,
    },
    limits::Limits,
};
