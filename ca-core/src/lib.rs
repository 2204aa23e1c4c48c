#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// The CA reads attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod archive;
mod ca;
pub mod host;
mod issue;
pub mod policy;
mod storage;

pub use crate::{
    archive::{
        ArchiveError, ArchiveFile, ArchiveFormat, ArchiveGeneration, ArchiveParams,
        DEFAULT_PBKDF2_ITERATIONS, MAX_ROLLOVER_COUNTER, archive_file_name, export_archive,
    },
    ca::{
        Ca, CaConfig, CaError, CaEvent, CaState, ConfigError, DatabaseLevel, GrantMode,
        PendingRequest, RequestSelector, RequestStatus, StatusReport,
    },
    issue::{
        CaCertParams, CaKey, CrlParams, IdentityParams, IssueError, RevokedSerial,
        RolloverCaParams, SignatureConfig, VerifiedCsr, certificate_revocation_list,
        certificate_serial, identity_certificate, identity_validity, key_identifier,
        md5_fingerprint, rollover_ca_certificate, rollover_identity_validity_for,
        self_signed_ca_certificate, to_x509_time,
    },
    storage::{
        ARCHIVE_NAME_MAX, Conflict, Counter, DirStore, Issuance, LeaseHeld, MemoryStore,
        RecordFamily, RecordKey, RequestRow, Store, StoreError, Versioned,
    },
};
