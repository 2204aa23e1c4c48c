//! [`MemoryStore`]: records in a map, for tests and simulations.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Conflict, Counter, Issuance, LeaseHeld, RecordFamily, RecordKey, RequestRow, Store, StoreError,
    Versioned, check_key,
};
use crate::ca::records::{crl_number_of, decode_counter_value, encode_counter, request_columns};

/// A [`Store`] that keeps every record in memory: nothing survives the process.
///
/// Meant for tests and simulations of the CA. As a test aid it can also refuse writes on
/// demand ([`MemoryStore::fail_writes`], [`MemoryStore::fail_after`]), so a test can check that
/// the CA answers an error, never a certificate it did not record (C-20). Reads always work.
///
/// A panic in another thread while it held the internal lock does not make the store unusable:
/// every operation is a single map update, so the map is consistent and the lock is recovered.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Made by [`MemoryStore::shared`]: answers the request counts.
    shared: bool,
}

#[derive(Default)]
struct Inner {
    records: BTreeMap<RecordKey, Vec<u8>>,
    /// `None`: writes succeed. `Some(n)`: `n` more writes succeed, then every write fails.
    write_budget: Option<u64>,
    /// The transactionID index of the request table.
    by_tid: HashMap<String, u64>,
    /// The transactionID of each indexed request row.
    tid_of: HashMap<u64, String>,
    /// The CA state's version.
    ca_version: u64,
    /// The timer lease: holder and end.
    lease: Option<(u64, u64)>,
    /// See [`Store::shared_version`].
    shared_version: u64,
    /// The stored CRL's number (`None`: no CRL).
    crl_number: Option<u64>,
}

impl Inner {
    /// Indexes (or un-indexes) request `id` after its record changed.
    fn reindex(&mut self, id: u64) {
        if let Some(old) = self.tid_of.remove(&id)
            && self.by_tid.get(&old) == Some(&id)
        {
            self.by_tid.remove(&old);
        }
        let tid = self
            .records
            .get(&RecordKey::Request(id))
            .and_then(|body| request_columns(id, body))
            .map(|(tid, ..)| tid);
        if let Some(tid) = tid {
            self.by_tid.insert(tid.clone(), id);
            self.tid_of.insert(id, tid);
        }
    }

    /// Bookkeeping after `key` was written or removed.
    fn changed(&mut self, key: &RecordKey) {
        match key {
            RecordKey::Request(id) => self.reindex(*id),
            RecordKey::CaState => {
                self.ca_version = self.ca_version.saturating_add(1);
                self.shared_version = self.shared_version.saturating_add(1);
            }
            RecordKey::Crl => {
                self.crl_number = self.records.get(key).and_then(|b| crl_number_of(b));
                self.shared_version = self.shared_version.saturating_add(1);
            }
            RecordKey::Revoked(_) | RecordKey::OneTimePassword(_) => {
                self.shared_version = self.shared_version.saturating_add(1);
            }
            _ => {}
        }
    }

    /// The holder of `tid` other than `id` and `replaces`, if any.
    fn tid_conflict(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        match self.by_tid.get(&row.transaction_id) {
            Some(&holder) if holder != row.id && Some(holder) != replaces => {
                Err(StoreError::Conflict(Conflict::TransactionId { holder }))
            }
            _ => Ok(()),
        }
    }

    /// Writes a request row (the checks are done).
    fn write_row(&mut self, row: &RequestRow, replaces: Option<u64>) {
        if let Some(old) = replaces.filter(|&old| old != row.id) {
            self.records.remove(&RecordKey::Request(old));
            self.reindex(old);
        }
        self.records
            .insert(RecordKey::Request(row.id), row.body.clone());
        if let Some(old) = self.tid_of.remove(&row.id)
            && self.by_tid.get(&old) == Some(&row.id)
        {
            self.by_tid.remove(&old);
        }
        self.by_tid.insert(row.transaction_id.clone(), row.id);
        self.tid_of.insert(row.id, row.transaction_id.clone());
    }

    /// The last value counter `counter` gave.
    fn counter_value(&self, counter: Counter) -> Result<u64, StoreError> {
        let key = counter.record_key();
        let stored = match self.records.get(&key) {
            Some(bytes) => decode_counter_value(bytes).ok_or(StoreError::Corrupt { key })?,
            None => 0,
        };
        let family = match counter {
            Counter::RequestId => Some(RecordFamily::Request),
            Counter::OtpId => Some(RecordFamily::OneTimePassword),
            _ => None,
        };
        // The map is ordered by key: a family's largest id is the last key of its range.
        let largest = match family {
            Some(family @ RecordFamily::Request) => {
                self.last_in(RecordKey::Request(0)..=RecordKey::Request(u64::MAX), family)
            }
            Some(family @ RecordFamily::OneTimePassword) => self.last_in(
                RecordKey::OneTimePassword(0)..=RecordKey::OneTimePassword(u64::MAX),
                family,
            ),
            _ => 0,
        };
        Ok(stored.max(largest))
    }

    /// The number of the last record in `range` (one family's keys), 0 if none.
    fn last_in(&self, range: core::ops::RangeInclusive<RecordKey>, family: RecordFamily) -> u64 {
        self.records
            .range(range)
            .next_back()
            .and_then(|(k, _)| number_in(k, family))
            .unwrap_or(0)
    }

    /// The request records: (id, body).
    fn requests(&self) -> impl Iterator<Item = (u64, &Vec<u8>)> {
        self.records
            .range(RecordKey::Request(0)..=RecordKey::Request(u64::MAX))
            .filter_map(|(key, body)| key.number_in(RecordFamily::Request).map(|id| (id, body)))
    }

    /// Spends one write from the budget, or refuses.
    fn take_write(&mut self) -> Result<(), StoreError> {
        match self.write_budget {
            None => Ok(()),
            Some(0) => Err(StoreError::Unavailable),
            Some(n) => {
                self.write_budget = n.checked_sub(1);
                Ok(())
            }
        }
    }
}

impl MemoryStore {
    /// An empty store that accepts writes.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store for several CA instances in one process (a simulation of instances
    /// sharing a database): unlike [`MemoryStore::new`] it answers
    /// [`Store::count_open_requests`], [`Store::count_requests`] and
    /// [`Store::purge_requests`], so the instances share one C-14 quota per signer key and
    /// one `max_requests`, and the timer lease holder purges every instance's entries. It
    /// walks its request records for these, which suits tests, not large tables.
    #[must_use]
    pub fn shared() -> Self {
        Self {
            shared: true,
            ..Self::default()
        }
    }

    /// Test aid: with `on`, every later [`Store::put`] and [`Store::remove`] fails with
    /// [`StoreError::Unavailable`] and changes nothing; with `!on`, writes work again (and any
    /// [`MemoryStore::fail_after`] budget is cleared).
    pub fn fail_writes(&self, on: bool) {
        self.lock().write_budget = if on { Some(0) } else { None };
    }

    /// Test aid: the next `n` writes ([`Store::put`] or [`Store::remove`]) succeed, every one
    /// after them fails with [`StoreError::Unavailable`] until [`MemoryStore::fail_writes`]
    /// `(false)`. Lets a test stop the store at each step of a multi-write operation.
    pub fn fail_after(&self, n: u64) {
        self.lock().write_budget = Some(n);
    }

    /// How many records the store holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStore {
    // Values may be CA keys: show how many records there are, never what they hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("records", &inner.records.len())
            .field("write_budget", &inner.write_budget)
            .finish()
    }
}

/// The number of `key` if it belongs to `family`.
fn number_in(key: &RecordKey, family: RecordFamily) -> Option<u64> {
    match (key, family) {
        (RecordKey::Request(n), RecordFamily::Request)
        | (RecordKey::IssuedName(n), RecordFamily::IssuedName)
        | (RecordKey::IssuedCert(n), RecordFamily::IssuedCert)
        | (RecordKey::Revoked(n), RecordFamily::Revoked)
        | (RecordKey::OneTimePassword(n), RecordFamily::OneTimePassword) => Some(*n),
        _ => None,
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.lock().records.get(key).cloned())
    }

    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        let mut inner = self.lock();
        inner.take_write()?;
        inner.records.insert(key.clone(), value.to_vec());
        inner.changed(key);
        Ok(())
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        check_key(key)?;
        let mut inner = self.lock();
        inner.take_write()?;
        inner.records.remove(key);
        inner.changed(key);
        Ok(())
    }

    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        let mut numbers: Vec<u64> = self
            .lock()
            .records
            .keys()
            .filter_map(|key| number_in(key, family))
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        // BTreeMap order: the Archive keys come out sorted by name.
        Ok(self
            .lock()
            .records
            .keys()
            .filter_map(|key| match key {
                RecordKey::Archive(name) => Some(name.clone()),
                _ => None,
            })
            .collect())
    }

    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        let mut inner = self.lock();
        let mut taken: Vec<(Counter, u64)> = Vec::with_capacity(counters.len());
        let mut values = Vec::with_capacity(counters.len());
        for &counter in counters {
            let last = match taken.iter().rev().find(|(c, _)| *c == counter) {
                Some(&(_, v)) => v,
                None => inner.counter_value(counter)?,
            };
            let next = last
                .checked_add(1)
                .ok_or(StoreError::Conflict(Conflict::CounterExhausted { counter }))?;
            taken.push((counter, next));
            values.push(next);
        }
        inner.take_write()?;
        for (counter, value) in taken {
            inner
                .records
                .insert(counter.record_key(), encode_counter(value));
        }
        Ok(values)
    }

    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let current = inner.counter_value(counter)?;
        if at_least <= current {
            return Ok(current);
        }
        inner.take_write()?;
        inner
            .records
            .insert(counter.record_key(), encode_counter(at_least));
        Ok(at_least)
    }

    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.tid_conflict(row, replaces)?;
        inner.take_write()?;
        inner.write_row(row, replaces);
        Ok(())
    }

    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        let inner = self.lock();
        let Some(&id) = inner.by_tid.get(transaction_id) else {
            return Ok(None);
        };
        let Some(body) = inner.records.get(&RecordKey::Request(id)) else {
            return Ok(None);
        };
        let (tid, requester_key, open, created) =
            request_columns(id, body).unwrap_or((transaction_id.to_owned(), Vec::new(), false, 0));
        Ok(Some(RequestRow {
            id,
            transaction_id: tid,
            requester_key,
            open,
            created,
            body: body.clone(),
        }))
    }

    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.tid_conflict(&issuance.request, issuance.replaces)?;
        let serial = issuance.serial;
        if inner.records.contains_key(&RecordKey::IssuedName(serial))
            || inner.records.contains_key(&RecordKey::IssuedCert(serial))
        {
            return Err(StoreError::Conflict(Conflict::Serial { serial }));
        }
        inner.take_write()?;
        inner.write_row(&issuance.request, issuance.replaces);
        if let Some(name) = &issuance.name {
            inner
                .records
                .insert(RecordKey::IssuedName(serial), name.clone());
        }
        if let Some(cert) = &issuance.cert {
            inner
                .records
                .insert(RecordKey::IssuedCert(serial), cert.clone());
        }
        Ok(())
    }

    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = RecordKey::OneTimePassword(id);
        if !inner.records.contains_key(&key) {
            return Ok(false);
        }
        inner.take_write()?;
        inner.records.remove(&key);
        inner.changed(&key);
        Ok(true)
    }

    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = RecordKey::Revoked(serial);
        if inner.records.contains_key(&key) {
            return Ok(false);
        }
        inner.take_write()?;
        inner.records.insert(key.clone(), record.to_vec());
        inner.changed(&key);
        Ok(true)
    }

    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .records
            .get(&RecordKey::CaState)
            .map(|bytes| Versioned {
                version: inner.ca_version,
                bytes: bytes.clone(),
            }))
    }

    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let current = inner
            .records
            .contains_key(&RecordKey::CaState)
            .then_some(inner.ca_version);
        if current != expected {
            return Err(StoreError::Conflict(Conflict::CaState { current }));
        }
        inner.take_write()?;
        inner.records.insert(RecordKey::CaState, bytes.to_vec());
        inner.changed(&RecordKey::CaState);
        Ok(inner.ca_version)
    }

    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let current = inner.crl_number;
        if current != expected || current.is_some_and(|c| number <= c) {
            return Err(StoreError::Conflict(Conflict::CrlNumber { current }));
        }
        inner.take_write()?;
        inner.records.insert(RecordKey::Crl, bytes.to_vec());
        inner.changed(&RecordKey::Crl);
        // The number is the caller's, whatever the bytes say.
        inner.crl_number = Some(number);
        Ok(())
    }

    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match inner.lease {
            Some((other, until)) if other != holder && until > now => {
                Err(StoreError::LeaseHeld(LeaseHeld {
                    holder: other,
                    until,
                }))
            }
            _ => {
                inner.lease = Some((holder, now.saturating_add(ttl_secs)));
                Ok(())
            }
        }
    }

    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.lease.is_some_and(|(h, _)| h == holder) {
            inner.lease = None;
        }
        Ok(())
    }

    fn shared_version(&self) -> Result<u64, StoreError> {
        Ok(self.lock().shared_version)
    }

    fn count_open_requests(&self, requester_key: &[u8]) -> Result<Option<u64>, StoreError> {
        if !self.shared {
            return Ok(None);
        }
        let inner = self.lock();
        let open = inner
            .requests()
            .filter(|(id, body)| {
                request_columns(*id, body)
                    .is_some_and(|(_, key, open, _)| open && key == requester_key)
            })
            .count();
        Ok(Some(u64::try_from(open).unwrap_or(u64::MAX)))
    }

    fn count_requests(&self) -> Result<Option<u64>, StoreError> {
        if !self.shared {
            return Ok(None);
        }
        let rows = self.lock().requests().count();
        Ok(Some(u64::try_from(rows).unwrap_or(u64::MAX)))
    }

    fn purge_requests(&self, created_until: u64) -> Result<Option<u64>, StoreError> {
        if !self.shared {
            return Ok(None);
        }
        let mut inner = self.lock();
        let due: Vec<u64> = inner
            .requests()
            .filter(|(id, body)| {
                request_columns(*id, body).is_some_and(|(.., created)| created <= created_until)
            })
            .map(|(id, _)| id)
            .collect();
        if !due.is_empty() {
            inner.take_write()?;
        }
        for &id in &due {
            inner.records.remove(&RecordKey::Request(id));
            inner.reindex(id);
        }
        Ok(Some(u64::try_from(due.len()).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c20_poisoned_lock_is_recovered() {
        let store = MemoryStore::new();
        store.put(&RecordKey::Crl, b"crl").unwrap();
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = store.inner.lock();
            panic!("a CA thread panics while holding the store");
        }));
        assert!(poisoned.is_err());
        assert!(store.inner.is_poisoned());
        assert_eq!(store.get(&RecordKey::Crl).unwrap().unwrap(), b"crl");
        store.put(&RecordKey::Crl, b"crl 2").unwrap();
        assert_eq!(store.list_archives().unwrap(), Vec::<String>::new());
    }
}
