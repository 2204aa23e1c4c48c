//! Where the CA keeps what must survive a crash (SPEC C-18 … C-20).
//!
//! The [`Store`] trait is a small typed key-value contract: the CA decides what each record
//! holds and how it is encoded; a store only promises that a write is atomic (a reader sees
//! the old bytes or the new bytes, never a mix) and durable once it returns `Ok`. Two stores
//! ship with the crate: [`MemoryStore`] for tests and simulations, and [`DirStore`], the
//! embedded default (what IOS calls the database URL). A deployment that wants a SQL
//! database implements the same five methods.

mod dir;
mod memory;

pub use dir::DirStore;
pub use memory::MemoryStore;

/// The name of one record. Each variant names what the CA keeps in it; the numbered ones form
/// families that [`Store::list`] enumerates.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RecordKey {
    /// The serial-number counter: the last serial handed out (C-3). Written before the serial
    /// is used to sign anything (C-20).
    SerialCounter,
    /// The request-id counter: the last pending-request id handed out (C-14).
    RequestCounter,
    /// The CA's own state: active CA certificate and key, rollover certificate and key, state
    /// flags (C-1, C-22 … C-25).
    CaState,
    /// The current CRL and its number (C-21).
    Crl,
    /// One entry of the request table, by request id (C-9, C-12 … C-16).
    Request(u64),
    /// One issued certificate's (serial, subject) record, database level Names and up (C-18).
    IssuedName(u64),
    /// One issued certificate's DER, database level Complete (C-18).
    IssuedCert(u64),
    /// One revoked serial (C-18: revocation works at every level).
    Revoked(u64),
    /// One one-time enrolment password, by its id (C-9 step 3, Q-7).
    OneTimePassword(u64),
    /// An exported key archive (C-19): the file name, e.g. `ROOTCA.p12` or `ROOTCA_00001.p12`.
    Archive(String),
}

/// The numbered families of [`RecordKey`], for [`Store::list`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordFamily {
    /// [`RecordKey::Request`].
    Request,
    /// [`RecordKey::IssuedName`].
    IssuedName,
    /// [`RecordKey::IssuedCert`].
    IssuedCert,
    /// [`RecordKey::Revoked`].
    Revoked,
    /// [`RecordKey::OneTimePassword`].
    OneTimePassword,
}

/// Why a store operation failed. The CA turns any of these into an error answer (HTTP 500 or
/// CertRep FAILURE), never into a certificate it did not record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The operating system refused a read or write.
    #[error(
        "storage I/O failed{}: {source}",
        key.as_ref().map(|k| format!(" on {k:?}")).unwrap_or_default()
    )]
    Io {
        /// The record involved, if one was.
        key: Option<RecordKey>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A record exists but cannot be what the CA wrote (wrong size, bad name in the folder).
    #[error("record {key:?} is corrupt")]
    Corrupt {
        /// The record involved.
        key: RecordKey,
    },
    /// The store refuses writes (a test double that injects failures, or a read-only store).
    #[error("storage is not writable")]
    Unavailable,
    /// The key cannot name a record: an [`RecordKey::Archive`] name that is empty, longer than
    /// [`ARCHIVE_NAME_MAX`] bytes, starts with a dot, contains `..` or a character outside
    /// `A-Z a-z 0-9 . _ -`. Refused before any file is touched, so a name is never a path.
    #[error("invalid record key {key:?}")]
    InvalidKey {
        /// The key refused.
        key: RecordKey,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("store {path} is already open elsewhere")]
    Locked {
        /// The store's folder.
        path: std::path::PathBuf,
    },
}

/// The longest [`RecordKey::Archive`] name a store accepts, in bytes.
pub const ARCHIVE_NAME_MAX: usize = 128;

/// Whether `name` may name an archive record (see [`StoreError::InvalidKey`]).
pub(crate) fn is_valid_archive_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= ARCHIVE_NAME_MAX
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Refuses keys no store may use; every implementation calls it before touching its records.
pub(crate) fn check_key(key: &RecordKey) -> Result<(), StoreError> {
    match key {
        RecordKey::Archive(name) if !is_valid_archive_name(name) => {
            Err(StoreError::InvalidKey { key: key.clone() })
        }
        _ => Ok(()),
    }
}

/// Durable storage for one CA.
///
/// Contract, for every implementation:
/// * [`Store::put`] replaces the whole record atomically and returns `Ok` only once the new
///   bytes survive a crash or power loss (for a file: written, synced, renamed, and its folder
///   synced).
/// * [`Store::remove`] is likewise atomic and durable; removing a missing record is `Ok`.
/// * Reads see every write that returned `Ok` before them.
/// * A failed call leaves the record as it was (old bytes or, for `put`, possibly the new
///   ones — never a mix).
///
/// * A key refused by the rules of [`StoreError::InvalidKey`] fails every method with that
///   error, in every implementation.
///
/// The CA serialises its own writes (serial allocation and store writes are the only
/// serialised steps), so implementations need `Send + Sync` but no transactions. `Debug` lets
/// the CA derive its own; an implementation's `Debug` never prints record values (they hold
/// keys).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The bytes of `key`, or `None` if it was never written or was removed.
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes `value` as the whole of `key`, atomically and durably.
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`, atomically and durably.
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError>;
    /// The numbers of every record of `family`, ascending.
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError>;
    /// The file names of every archive record, ascending.
    fn list_archives(&self) -> Result<Vec<String>, StoreError>;
}
