#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// The CA reads attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod archive;
mod storage;

pub use crate::{
    archive::{
        ArchiveError, ArchiveFile, ArchiveFormat, ArchiveGeneration, ArchiveParams,
        DEFAULT_PBKDF2_ITERATIONS, MAX_ROLLOVER_COUNTER, MIN_PBKDF2_ITERATIONS, archive_file_name,
        export_archive,
    },
    storage::{
        ARCHIVE_NAME_MAX, DirStore, MemoryStore, RecordFamily, RecordKey, Store, StoreError,
    },
};
