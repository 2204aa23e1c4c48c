#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// The CA reads attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod storage;

pub use crate::storage::{
    ARCHIVE_NAME_MAX, DirStore, MemoryStore, RecordFamily, RecordKey, Store, StoreError,
};
