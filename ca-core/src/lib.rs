#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// The CA reads attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

pub mod archive;
mod ca;
pub mod host;
pub mod issue;
pub mod policy;
pub mod storage;

pub use crate::{
    ca::{
        Ca, CaConfig, CaError, CaEvent, CaState, ConfigError, DatabaseLevel, GrantAutoRollover,
        GrantMode, PendingRequest, RequestSelector, RequestStatus, StatusReport,
    },
    storage::{DirStore, MemoryStore, Store, StoreError},
};
