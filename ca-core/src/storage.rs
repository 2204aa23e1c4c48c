//! Where the CA keeps what must survive a crash (SPEC C-18 … C-20).
//!
//! The [`Store`] trait is the source of truth for everything CA instances share (Store v2): typed
//! records whose bytes the CA encodes, plus the few atomic operations that keep several CA
//! instances on one store correct — counters ([`Store::allocate`], raised but never lowered by
//! [`Store::raise_counter`]), the request table with a unique transactionID
//! ([`Store::put_request`], [`Store::find_request`]), one atomic write per issuance
//! ([`Store::record_issuance`]), one-time password consumption with exactly one winner
//! ([`Store::consume_otp`]), revocation ([`Store::revoke`]), the CRL with its number and the CA
//! state with a version (compare-and-swap: [`Store::swap_crl`], [`Store::swap_ca_state`]), and a
//! timer lease ([`Store::acquire_lease`]). A store only promises that each call is atomic (a
//! reader sees all of it or none of it) and durable once it returns `Ok`. Two stores ship with the
//! crate: [`MemoryStore`] for tests and simulations, and [`DirStore`], the embedded default (what
//! IOS calls the database URL). A deployment that wants a SQL database implements the same trait;
//! `STORE-V2.md` in the project notes gives the SQL-level contract method by method.

mod dir;
mod dir_journal;
mod dir_typed;
mod log;
mod memory;
mod types;

pub use dir::DirStore;
pub use memory::MemoryStore;
pub use types::{Conflict, Counter, Issuance, LeaseHeld, RequestRow, Versioned};

use crate::ca::records::{decode_counter_value, encode_counter};

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
    /// The one-time password id counter: the last password id handed out.
    OtpCounter,
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

impl RecordKey {
    /// The number of this key if it belongs to `family`.
    pub(crate) fn number_in(&self, family: RecordFamily) -> Option<u64> {
        match (self, family) {
            (Self::Request(n), RecordFamily::Request)
            | (Self::IssuedName(n), RecordFamily::IssuedName)
            | (Self::IssuedCert(n), RecordFamily::IssuedCert)
            | (Self::Revoked(n), RecordFamily::Revoked)
            | (Self::OneTimePassword(n), RecordFamily::OneTimePassword) => Some(*n),
            _ => None,
        }
    }
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
    /// A conditional write lost: another writer (another CA instance, or another thread)
    /// changed what the write was conditioned on. Nothing was written; the caller re-reads
    /// and decides again.
    #[error("conflicting write: {0}")]
    Conflict(Conflict),
    /// [`Store::acquire_lease`]: another holder has the timer lease.
    #[error("{0}")]
    LeaseHeld(LeaseHeld),
    /// The store's write-ahead log is damaged before its end: a record whose checksum does not
    /// match, or whose length is impossible, followed by more data. (A damaged *last* record
    /// is a write that a crash cut short and is dropped silently.) Never accepted, never
    /// skipped: the operator restores the store.
    #[error("store log {path} is corrupt at byte {offset}")]
    CorruptLog {
        /// The log file.
        path: std::path::PathBuf,
        /// Where the damaged record starts.
        offset: u64,
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

/// Durable storage for one CA, shared by every instance of it.
///
/// Contract, for every implementation:
/// * Every method that writes is atomic (all of its effects or none) and returns `Ok` only
///   once its effects survive a crash or power loss.
/// * Reads see every write that returned `Ok` before them, in any instance. A write may be
///   visible to readers shortly before it returns (a store may show a write while it is
///   being made durable); should it then fail, the store fails every later call, so nothing
///   is decided on a write that was lost.
/// * A conditional write that loses ([`StoreError::Conflict`], [`StoreError::LeaseHeld`])
///   changes nothing.
/// * A key refused by the rules of [`StoreError::InvalidKey`] fails every method with that
///   error, in every implementation.
///
/// The key-value methods ([`Store::get`], [`Store::put`], [`Store::remove`], [`Store::list`],
/// [`Store::list_archives`]) hold the records no instance races on (archives) and give the
/// reads of every family. The CA writes its shared records through the typed operations
/// below them only; `put` on a key that a typed operation owns writes the same record
/// unconditionally (an import, a test): it counts as a change for [`Store::shared_version`]
/// and [`Store::ca_state`]'s version, and a request written so keeps the indexed columns of
/// the row it replaces (a new one has none: [`Store::find_request`] does not find it, unless
/// the store reads them from the CA's encoding, as the two stores of this crate do).
///
/// `Debug` lets the CA derive its own; an implementation's `Debug` never prints record
/// values (they hold keys).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The bytes of `key`, or `None` if it was never written or was removed.
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes `value` as the whole of `key`, atomically and durably.
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`, atomically and durably; removing a missing record is `Ok`.
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError>;
    /// The numbers of every record of `family`, ascending.
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError>;
    /// The file names of every archive record, ascending.
    fn list_archives(&self) -> Result<Vec<String>, StoreError>;

    /// Takes the next value of each counter in `counters`, in one atomic, durable step (C-3,
    /// C-14): each value is one more than the last value the counter gave (to any instance),
    /// is never given again, even after a crash, and is durable when this returns (a serial is
    /// durable before it is signed, C-20). A store may make values durable ahead of use in
    /// blocks; a crash then skips the values reserved but not given (a gap, never a reuse). The first value of a fresh counter is one more than
    /// the largest of its [`Counter::record_key`] record (0 if absent) and, for
    /// [`Counter::RequestId`] and [`Counter::OtpId`], the largest id of its family (stores
    /// written before the counter existed). Values come back in the order asked.
    ///
    /// # Errors
    /// [`StoreError::Io`] and the like; [`StoreError::Conflict`] with
    /// [`Conflict::CounterExhausted`] when a counter is at `u64::MAX`.
    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError>;

    /// Raises `counter` to at least `at_least`, never lowers it (C-3: an import's floor, the
    /// serials an operator says were handed out before): sets it to the larger of its last
    /// value (as [`Store::allocate`] counts it) and `at_least`, in one atomic, durable step,
    /// and returns that value. Every later [`Store::allocate`] of the counter, in any
    /// instance and after a crash, gives a value above it. A raise racing an allocation
    /// leaves the counter at or above both.
    ///
    /// The default reads [`Counter::record_key`] with [`Store::get`] (for the request and
    /// one-time password counters, at least the family's largest id from [`Store::list`])
    /// and, when `at_least` is above it, writes `at_least` with [`Store::put`]: right for a
    /// store only one instance writes at a time, but two separate calls. A store shared by
    /// several CA instances (or several threads that allocate meanwhile) overrides it with one
    /// atomic operation, or an allocation made between the read and the write is lowered and
    /// its values given again. A store that forwards to another (a wrapper) forwards this
    /// method.
    ///
    /// # Errors
    /// [`StoreError::Io`] and the like; [`StoreError::Corrupt`] when the counter's record is
    /// not a number.
    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        let key = counter.record_key();
        let stored = match self.get(&key)? {
            Some(bytes) => decode_counter_value(&bytes).ok_or(StoreError::Corrupt { key })?,
            None => 0,
        };
        // As allocate counts it: a request or one-time password counter is at least its
        // family's largest id.
        let family = match counter {
            Counter::RequestId => Some(RecordFamily::Request),
            Counter::OtpId => Some(RecordFamily::OneTimePassword),
            _ => None,
        };
        let largest = match family {
            Some(family) => self.list(family)?.into_iter().max().unwrap_or(0),
            None => 0,
        };
        let current = stored.max(largest);
        if at_least <= current {
            return Ok(current);
        }
        self.put(&counter.record_key(), &encode_counter(at_least))?;
        Ok(at_least)
    }

    /// Writes request-table row `row` (C-9, C-12 … C-15): inserts it, or replaces the row with
    /// the same id. `replaces` names another row deleted in the same atomic step (C-12: a new
    /// transaction under a known transactionID). The transactionID is unique in the table:
    /// if another row (neither `row.id` nor `replaces`) holds it, nothing is written and the
    /// call fails with [`Conflict::TransactionId`]. A replaced row keeps its transactionID.
    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError>;

    /// The row holding `transaction_id`, if any (C-12, C-13).
    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError>;

    /// Records one issuance in one atomic, durable write (C-10, C-18, C-20): the request row
    /// (as [`Store::put_request`], with `issuance.replaces`), the (serial, subject) record
    /// and the certificate's DER when given. The serial is unique among issued records: if it
    /// is already recorded, nothing is written and the call fails with [`Conflict::Serial`].
    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError>;

    /// Consumes one-time password `id` (C-9 step 3, Q-7): deletes its record if it is there.
    /// `Ok(true)` for exactly one caller among any number racing on the same id (in any
    /// instance); `Ok(false)` if it was already consumed, expired and purged, or never existed.
    fn consume_otp(&self, id: u64) -> Result<bool, StoreError>;

    /// Records that `serial` is revoked, `record` being the CA's revocation record (C-18,
    /// C-21). `Ok(true)` if it was not revoked before; `Ok(false)` (nothing written) if it
    /// was.
    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError>;

    /// The CA state record with its version, or `None` before the CA exists.
    fn ca_state(&self) -> Result<Option<Versioned>, StoreError>;

    /// Compare-and-swap of the CA state (C-1, C-22 … C-25): writes `bytes` if the stored
    /// version is `expected` (`None`: no CA state exists yet) and returns the new version,
    /// which is greater than every earlier one. Otherwise nothing is written and the call
    /// fails with [`Conflict::CaState`], carrying the version found.
    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError>;

    /// Compare-and-swap of the CRL (C-21): writes `bytes` as CRL number `number` if the
    /// stored CRL's number is `expected` (`None`: no CRL yet) and `number` is greater than
    /// it; otherwise nothing is written and the call fails with [`Conflict::CrlNumber`].
    /// The CRL record is read with [`Store::get`] on [`RecordKey::Crl`].
    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError>;

    /// Takes or renews the timer lease for `holder` (a random id each CA instance draws at
    /// start): granted if nobody holds it, `holder` already holds it, or the holder's lease
    /// ended (`until <= now`); it then lasts until `now + ttl_secs`. Instants are Unix
    /// seconds from the caller's clock. Only the holder runs timers (shadow generation,
    /// activation, CRL update, purge); the others re-read the state.
    ///
    /// # Errors
    /// [`StoreError::LeaseHeld`] when another holder's lease is in force.
    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError>;

    /// Gives the lease up if `holder` has it (an instance that shuts down).
    fn release_lease(&self, holder: u64) -> Result<(), StoreError>;

    /// A number that grows with every write any instance makes to what instances cache: the
    /// CA state, the CRL, revocations and one-time passwords (added or consumed). An
    /// instance whose cached copy was read at version `v` re-reads when this is above `v`.
    fn shared_version(&self) -> Result<u64, StoreError>;

    /// C-14 across instances: how many request rows with `requester_key` are open
    /// ([`RequestRow::open`]) — `Some` when several CA instances share this store, `None`
    /// when one instance has it to itself.
    ///
    /// A CA instance counts a signer key's unissued requests in its own request table, which
    /// is the whole table when the store is its alone; on a shared store it also asks the
    /// store, so that a key holder talking to several instances still meets one quota. A
    /// store that answers `Some` counts from an index (this runs for every enrolment).
    ///
    /// The default answers `None`, which is right for a store only one CA instance uses
    /// ([`DirStore`]; [`MemoryStore`] unless made with [`MemoryStore::shared`]). A store
    /// that forwards to another (a wrapper) forwards this method and
    /// [`Store::count_requests`] too, or the CA takes the store for an unshared one.
    fn count_open_requests(&self, requester_key: &[u8]) -> Result<Option<u64>, StoreError> {
        let _ = requester_key;
        Ok(None)
    }

    /// `max_requests` across instances: how many rows the request table holds (open,
    /// issued and rejected ones until their purge) — `Some` when several CA instances share
    /// this store, `None` (the default) when one instance has it to itself and counts its
    /// own table. See [`Store::count_open_requests`].
    fn count_requests(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// T-15 across instances: removes every request row created at or before
    /// `created_until` (Unix seconds), whichever instance made it, and says how many —
    /// `Some` when several CA instances share this store (the instance holding the timer
    /// lease purges for all of them). `None` (the default; nothing removed) when one
    /// instance has the store to itself: it removes its entries one by one
    /// ([`Store::remove`]). See [`Store::count_open_requests`] on wrappers.
    fn purge_requests(&self, created_until: u64) -> Result<Option<u64>, StoreError> {
        let _ = created_until;
        Ok(None)
    }
}

/// A shared store is a store: several CA instances in one process (tests, simulations of a
/// deployment with several instances) can use one [`MemoryStore`] or any other.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        (**self).put(key, value)
    }
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        (**self).remove(key)
    }
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        (**self).list(family)
    }
    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        (**self).list_archives()
    }
    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        (**self).allocate(counters)
    }
    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        (**self).raise_counter(counter, at_least)
    }
    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        (**self).put_request(row, replaces)
    }
    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        (**self).find_request(transaction_id)
    }
    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        (**self).record_issuance(issuance)
    }
    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        (**self).consume_otp(id)
    }
    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        (**self).revoke(serial, record)
    }
    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        (**self).ca_state()
    }
    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        (**self).swap_ca_state(expected, bytes)
    }
    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        (**self).swap_crl(expected, number, bytes)
    }
    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        (**self).acquire_lease(holder, now, ttl_secs)
    }
    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        (**self).release_lease(holder)
    }
    fn shared_version(&self) -> Result<u64, StoreError> {
        (**self).shared_version()
    }
    fn count_open_requests(&self, requester_key: &[u8]) -> Result<Option<u64>, StoreError> {
        (**self).count_open_requests(requester_key)
    }
    fn count_requests(&self) -> Result<Option<u64>, StoreError> {
        (**self).count_requests()
    }
    fn purge_requests(&self, created_until: u64) -> Result<Option<u64>, StoreError> {
        (**self).purge_requests(created_until)
    }
}
