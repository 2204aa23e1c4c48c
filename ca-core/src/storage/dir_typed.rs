//! The typed operations of [`DirStore`] (Store v2): indexes kept in memory, rebuilt at open
//! from the records, and the conditional writes checked against them under one lock.

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use super::dir::DirStore;
use super::{
    Conflict, Counter, Issuance, LeaseHeld, RecordFamily, RecordKey, RequestRow, Store, StoreError,
    Versioned,
};
use crate::ca::records::{crl_number_of, decode_counter_value, encode_counter, request_columns};

/// What the typed operations know without reading files.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The transactionID index of the request table.
    by_tid: HashMap<String, u64>,
    /// The transactionID of each indexed row.
    tid_of: HashMap<u64, String>,
    /// The CA state's version (counts writes since open; versions only order writes).
    ca_version: u64,
    /// The stored CRL's number.
    crl_number: Option<u64>,
    /// The timer lease: holder and end (in memory: one process has the folder open).
    lease: Option<(u64, u64)>,
    /// See [`Store::shared_version`].
    shared_version: u64,
    /// The last value of each counter, once read.
    counters: HashMap<Counter, u64>,
}

impl Shared {
    fn unindex(&mut self, id: u64) {
        if let Some(old) = self.tid_of.remove(&id)
            && self.by_tid.get(&old) == Some(&id)
        {
            self.by_tid.remove(&old);
        }
    }

    fn index(&mut self, id: u64, tid: &str) {
        self.unindex(id);
        self.by_tid.insert(tid.to_owned(), id);
        self.tid_of.insert(id, tid.to_owned());
    }

    fn tid_conflict(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        match self.by_tid.get(&row.transaction_id) {
            Some(&holder) if holder != row.id && Some(holder) != replaces => {
                Err(StoreError::Conflict(Conflict::TransactionId { holder }))
            }
            _ => Ok(()),
        }
    }

    fn bump(&mut self) {
        self.shared_version = self.shared_version.saturating_add(1);
    }
}

impl DirStore {
    pub(super) fn shared_lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds the indexes from the records (at open).
    pub(super) fn load_shared(&self) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        for id in self.list(RecordFamily::Request)? {
            if let Some(body) = self.get(&RecordKey::Request(id))?
                && let Some((tid, ..)) = request_columns(id, &body)
            {
                shared.index(id, &tid);
            }
        }
        shared.crl_number = self.get(&RecordKey::Crl)?.and_then(|b| crl_number_of(&b));
        Ok(())
    }

    /// Bookkeeping after `key` was written or removed with the key-value methods.
    pub(super) fn changed(&self, shared: &mut Shared, key: &RecordKey) {
        match key {
            RecordKey::Request(id) => {
                match self
                    .get(key)
                    .ok()
                    .flatten()
                    .and_then(|b| request_columns(*id, &b))
                {
                    Some((tid, ..)) => shared.index(*id, &tid),
                    None => shared.unindex(*id),
                }
            }
            RecordKey::CaState => {
                shared.ca_version = shared.ca_version.saturating_add(1);
                shared.bump();
            }
            RecordKey::Crl => {
                shared.crl_number = self.get(key).ok().flatten().and_then(|b| crl_number_of(&b));
                shared.bump();
            }
            RecordKey::Revoked(_) | RecordKey::OneTimePassword(_) => shared.bump(),
            RecordKey::SerialCounter | RecordKey::RequestCounter | RecordKey::OtpCounter => {
                shared.counters.clear();
            }
            _ => {}
        }
    }

    fn counter_value(&self, shared: &Shared, counter: Counter) -> Result<u64, StoreError> {
        if let Some(&v) = shared.counters.get(&counter) {
            return Ok(v);
        }
        let key = counter.record_key();
        let stored = match self.get(&key)? {
            Some(bytes) => decode_counter_value(&bytes).ok_or(StoreError::Corrupt { key })?,
            None => 0,
        };
        let largest = match counter {
            Counter::RequestId => self.list(RecordFamily::Request)?.last().copied(),
            Counter::OtpId => self.list(RecordFamily::OneTimePassword)?.last().copied(),
            _ => None,
        };
        Ok(stored.max(largest.unwrap_or(0)))
    }

    pub(super) fn typed_allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        let mut shared = self.shared_lock();
        let mut next: HashMap<Counter, u64> = HashMap::new();
        let mut values = Vec::with_capacity(counters.len());
        for &counter in counters {
            let last = match next.get(&counter) {
                Some(&v) => v,
                None => self.counter_value(&shared, counter)?,
            };
            let value = last
                .checked_add(1)
                .ok_or(StoreError::Conflict(Conflict::CounterExhausted { counter }))?;
            next.insert(counter, value);
            values.push(value);
        }
        for (counter, value) in next {
            self.put_file(&counter.record_key(), &encode_counter(value))?;
            shared.counters.insert(counter, value);
        }
        Ok(values)
    }

    fn write_row(
        &self,
        shared: &mut Shared,
        row: &RequestRow,
        replaces: Option<u64>,
    ) -> Result<(), StoreError> {
        self.put_file(&RecordKey::Request(row.id), &row.body)?;
        shared.index(row.id, &row.transaction_id);
        if let Some(old) = replaces.filter(|&old| old != row.id) {
            self.remove_file(&RecordKey::Request(old))?;
            shared.unindex(old);
        }
        Ok(())
    }

    pub(super) fn typed_put_request(
        &self,
        row: &RequestRow,
        replaces: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        shared.tid_conflict(row, replaces)?;
        self.write_row(&mut shared, row, replaces)
    }

    pub(super) fn typed_find_request(&self, tid: &str) -> Result<Option<RequestRow>, StoreError> {
        let Some(id) = self.shared_lock().by_tid.get(tid).copied() else {
            return Ok(None);
        };
        let Some(body) = self.get(&RecordKey::Request(id))? else {
            return Ok(None);
        };
        let (transaction_id, requester_key, open, created) =
            request_columns(id, &body).unwrap_or((tid.to_owned(), Vec::new(), false, 0));
        Ok(Some(RequestRow {
            id,
            transaction_id,
            requester_key,
            open,
            created,
            body,
        }))
    }

    pub(super) fn typed_record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        shared.tid_conflict(&issuance.request, issuance.replaces)?;
        let serial = issuance.serial;
        if self.get(&RecordKey::IssuedName(serial))?.is_some()
            || self.get(&RecordKey::IssuedCert(serial))?.is_some()
        {
            return Err(StoreError::Conflict(Conflict::Serial { serial }));
        }
        if let Some(name) = &issuance.name {
            self.put_file(&RecordKey::IssuedName(serial), name)?;
        }
        if let Some(cert) = &issuance.cert {
            self.put_file(&RecordKey::IssuedCert(serial), cert)?;
        }
        self.write_row(&mut shared, &issuance.request, issuance.replaces)
    }

    pub(super) fn typed_consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        let mut shared = self.shared_lock();
        let key = RecordKey::OneTimePassword(id);
        if self.get(&key)?.is_none() {
            return Ok(false);
        }
        self.remove_file(&key)?;
        shared.bump();
        Ok(true)
    }

    pub(super) fn typed_revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        let mut shared = self.shared_lock();
        let key = RecordKey::Revoked(serial);
        if self.get(&key)?.is_some() {
            return Ok(false);
        }
        self.put_file(&key, record)?;
        shared.bump();
        Ok(true)
    }

    pub(super) fn typed_ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        let shared = self.shared_lock();
        Ok(self.get(&RecordKey::CaState)?.map(|bytes| Versioned {
            version: shared.ca_version,
            bytes,
        }))
    }

    pub(super) fn typed_swap_ca_state(
        &self,
        expected: Option<u64>,
        bytes: &[u8],
    ) -> Result<u64, StoreError> {
        let mut shared = self.shared_lock();
        let current = self.get(&RecordKey::CaState)?.map(|_| shared.ca_version);
        if current != expected {
            return Err(StoreError::Conflict(Conflict::CaState { current }));
        }
        self.put_file(&RecordKey::CaState, bytes)?;
        shared.ca_version = shared.ca_version.saturating_add(1);
        shared.bump();
        Ok(shared.ca_version)
    }

    pub(super) fn typed_swap_crl(
        &self,
        expected: Option<u64>,
        number: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        let current = shared.crl_number;
        if current != expected || current.is_some_and(|c| number <= c) {
            return Err(StoreError::Conflict(Conflict::CrlNumber { current }));
        }
        self.put_file(&RecordKey::Crl, bytes)?;
        shared.crl_number = Some(number);
        shared.bump();
        Ok(())
    }

    pub(super) fn typed_acquire_lease(
        &self,
        holder: u64,
        now: u64,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        match shared.lease {
            Some((other, until)) if other != holder && until > now => {
                Err(StoreError::LeaseHeld(LeaseHeld {
                    holder: other,
                    until,
                }))
            }
            _ => {
                shared.lease = Some((holder, now.saturating_add(ttl_secs)));
                Ok(())
            }
        }
    }

    pub(super) fn typed_release_lease(&self, holder: u64) {
        let mut shared = self.shared_lock();
        if shared.lease.is_some_and(|(h, _)| h == holder) {
            shared.lease = None;
        }
    }

    pub(super) fn typed_shared_version(&self) -> u64 {
        self.shared_lock().shared_version
    }
}
