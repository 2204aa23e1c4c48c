//! Several CA instances on one store (Store v2): what an instance caches is re-read when the
//! store's shared version moved (the request table is a cache of the store's), and timers run
//! only in the instance that holds the lease.

use std::collections::BTreeMap;

use pki_timers::Instant;
use zeroize::Zeroizing;

use super::state::{CaRecord, CrlRecord, Entry, EntryState, Inner, decode_revoked};
use super::{Ca, CaError, rearm};
use crate::storage::{RecordFamily, RecordKey, Store, StoreError};

/// How long a timer lease lasts (seconds): the holder renews it at every timer run; if it
/// stops, another instance takes over this long after its last run.
pub(crate) const LEASE_SECS: u64 = 600;

impl<S: Store> Ca<S> {
    /// Re-reads what instances share when another instance (or this one) changed it: the
    /// revoked serials and the one-time passwords, the CA record (when its version differs
    /// from the one held) and the CRL (when its number differs). A no-op while the store's
    /// shared version has not moved. Each part is read on its own: one that cannot be read
    /// or decoded (a damaged record, one written by a newer version) does not keep the
    /// others from being read — a revocation made elsewhere is never hidden by a CRL this
    /// instance cannot decode (C-8). Until a refresh succeeds, renewal credentials are not
    /// trusted (see [`Inner::refresh_failed`]).
    pub(crate) fn refresh(&self, inner: &mut Inner) -> Result<(), CaError> {
        let result = self.refresh_parts(inner);
        inner.refresh_failed = result.is_err();
        result
    }

    fn refresh_parts(&self, inner: &mut Inner) -> Result<(), CaError> {
        let seen = self.store.shared_version().map_err(CaError::storage)?;
        if seen == inner.shared_seen {
            return Ok(());
        }
        let mut first_error = None;
        match self.read_revoked() {
            Ok(revoked) => inner.revoked = revoked,
            Err(e) => first_error = Some(e),
        }
        match super::otp::read(&self.store) {
            Ok(otps) => {
                inner.otps = otps;
                inner.last_otp = inner.last_otp.max(inner.otps.last_id().unwrap_or(0));
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
        let mut rearm_needed = false;
        match self.read_ca_state(inner) {
            Ok(changed) => rearm_needed |= changed,
            Err(e) => first_error = first_error.or(Some(e)),
        }
        match self.store.get(&RecordKey::Crl).map_err(CaError::storage) {
            Ok(Some(bytes)) => match CrlRecord::decode(&bytes) {
                Ok(crl) if crl.number != inner.crl.number => {
                    inner.crl = crl;
                    rearm_needed = true;
                }
                Ok(_) => {}
                Err(e) => first_error = first_error.or(Some(e)),
            },
            Ok(None) => {}
            Err(e) => first_error = first_error.or(Some(e)),
        }
        if rearm_needed {
            rearm(&self.config, inner);
        }
        match first_error {
            Some(e) => Err(e),
            None => {
                inner.shared_seen = seen;
                Ok(())
            }
        }
    }

    /// Every revoked serial the store holds.
    fn read_revoked(&self) -> Result<BTreeMap<u64, super::state::Revocation>, CaError> {
        let mut revoked = BTreeMap::new();
        for serial in self
            .store
            .list(RecordFamily::Revoked)
            .map_err(CaError::storage)?
        {
            if let Some(b) = self
                .store
                .get(&RecordKey::Revoked(serial))
                .map_err(CaError::storage)?
            {
                revoked.insert(serial, decode_revoked(serial, &b)?);
            }
        }
        Ok(revoked)
    }

    /// The store's CA record, when its version differs from the one held; whether it did.
    fn read_ca_state(&self, inner: &mut Inner) -> Result<bool, CaError> {
        let Some(stored) = self.store.ca_state().map_err(CaError::storage)? else {
            return Ok(false);
        };
        if Some(stored.version) == inner.ca_version {
            return Ok(false);
        }
        let record = CaRecord::decode(
            &Zeroizing::new(stored.bytes),
            self.config.key_passphrase.as_deref(),
        )?;
        inner.ca = record;
        inner.ca_version = Some(stored.version);
        Ok(true)
    }

    /// Takes or renews the store's timer lease for this instance. `false`: another instance
    /// runs the timers now (this one only re-reads their results).
    pub(crate) fn hold_lease(&self, now: Instant) -> Result<bool, CaError> {
        match self
            .store
            .acquire_lease(self.instance, now.unix(), LEASE_SECS)
        {
            Ok(()) => Ok(true),
            Err(StoreError::LeaseHeld(_)) => Ok(false),
            Err(e) => Err(CaError::storage(e)),
        }
    }

    /// The request table as the store has it, for the admin operations (C-14, C-15): entries
    /// other instances made or changed join the table, entries they removed leave it. Entries
    /// being signed here (not stored yet) stay. A store that cannot be read leaves the table
    /// as it is.
    pub(crate) fn sync_requests(&self) {
        let Ok(ids) = self.store.list(RecordFamily::Request) else {
            return;
        };
        let mut stored = BTreeMap::new();
        for id in ids {
            if let Ok(Some(bytes)) = self.store.get(&RecordKey::Request(id))
                && let Ok(entry) = Entry::decode(id, &bytes)
            {
                stored.insert(id, entry);
            }
        }
        let mut inner = self.lock();
        let gone: Vec<u64> = inner
            .requests
            .values()
            .filter(|e| e.state != EntryState::Issuing && !stored.contains_key(&e.id))
            .map(|e| e.id)
            .collect();
        for id in gone {
            inner.requests.remove(&id);
        }
        for (id, entry) in stored {
            if inner
                .requests
                .get(&id)
                .is_none_or(|e| e.state != EntryState::Issuing)
            {
                inner.requests.insert(id, entry);
            }
        }
    }

    /// C-12/C-13 with several instances on one store: a transactionID this instance does not
    /// know may be held by an entry another instance wrote; if the store has one, it joins
    /// the table (the store is the source of truth, the table its cache).
    /// A pending entry is read again too: another instance may have granted or rejected it.
    pub(crate) fn adopt_stored(&self, inner: &mut Inner, tid: &str) {
        let known = inner.find_transaction(tid).map(|e| (e.id, e.state.clone()));
        if matches!(known, Some((_, ref state)) if *state != EntryState::Pending) {
            return;
        }
        let Ok(Some(row)) = self.store.find_request(tid) else {
            return;
        };
        let Ok(entry) = Entry::decode(row.id, &row.body) else {
            return;
        };
        match known {
            None if !inner.requests.contains_key(&row.id) => inner.requests.insert(row.id, entry),
            Some((id, _)) if id == row.id && entry.state != EntryState::Pending => {
                inner.requests.insert(row.id, entry);
            }
            _ => {}
        }
    }

    /// [`Ca::refresh`] before a request: a store that cannot be read now leaves the cache as
    /// it is (the request then meets the store's error where it writes), and renewal
    /// credentials untrusted until a refresh succeeds (a revocation may be unseen).
    pub(crate) fn refresh_before_request(&self) {
        let mut inner = self.lock();
        let _ = self.refresh(&mut inner);
    }
}
