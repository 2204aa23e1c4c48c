//! Several CA instances on one store (Store v2): what an instance caches is re-read when the
//! store's shared version moved (the request table is a cache of the store's), and timers run
//! only in the instance that holds the lease.

use std::collections::BTreeMap;

use pki_timers::Instant;
use rand::CryptoRng;
use zeroize::Zeroizing;

use super::state::{CaRecord, CrlRecord, Entry, EntryState, Inner, decode_revoked};
use super::{Ca, CaError, rearm};
use crate::storage::{RecordFamily, RecordKey, Store, StoreError};

/// How long a timer lease lasts (seconds): the holder renews it at every timer run; if it
/// stops, another instance takes over this long after its last run.
pub(crate) const LEASE_SECS: u64 = 600;

impl<S: Store> Ca<S> {
    /// Re-reads what instances share when another instance (or this one) changed it: the CA
    /// record (when its version differs from the one held), the CRL (when its number
    /// differs), the revoked serials and the one-time passwords. A no-op while the store's
    /// shared version has not moved.
    pub(crate) fn refresh<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut Inner,
        rng: &mut R,
    ) -> Result<(), CaError> {
        let seen = self.store.shared_version().map_err(CaError::storage)?;
        if seen == inner.shared_seen {
            return Ok(());
        }
        let mut rearm_needed = false;
        if let Some(stored) = self.store.ca_state().map_err(CaError::storage)?
            && Some(stored.version) != inner.ca_version
        {
            let record = CaRecord::decode(
                &Zeroizing::new(stored.bytes),
                self.config.key_passphrase.as_deref(),
            )?;
            inner.ca = record;
            inner.ca_version = Some(stored.version);
            rearm_needed = true;
        }
        if let Some(bytes) = self.store.get(&RecordKey::Crl).map_err(CaError::storage)? {
            let crl = CrlRecord::decode(&bytes)?;
            if crl.number != inner.crl.number {
                inner.crl = crl;
                rearm_needed = true;
            }
        }
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
        inner.revoked = revoked;
        inner.otps = super::otp::load(&self.store, rng)?;
        inner.last_otp = inner.last_otp.max(inner.otps.last_id().unwrap_or(0));
        if rearm_needed {
            rearm(&self.config, inner);
        }
        inner.shared_seen = seen;
        Ok(())
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
    /// it is (the request then meets the store's error where it writes).
    pub(crate) fn refresh_before_request<R: CryptoRng + ?Sized>(&self, rng: &mut R) {
        let mut inner = self.lock();
        let _ = self.refresh(&mut inner, rng);
    }
}
