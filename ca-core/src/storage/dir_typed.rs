//! The typed operations of [`DirStore`] (Store v2): indexes kept in memory, rebuilt at open
//! from the records, the conditional writes checked against them under one lock, and each
//! operation queued as one journal record (see [`super::dir_journal`]).

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use super::dir::DirStore;
use super::log::Op;
use super::{
    Conflict, Counter, Issuance, LeaseHeld, RecordFamily, RecordKey, RequestRow, StoreError,
    Versioned,
};
use crate::ca::records::{crl_number_of, decode_counter_value, encode_counter, request_columns};

/// How many values of a counter one durable write reserves. An allocation inside the
/// reservation needs no write of its own, so most issuances wait for one sync (their record),
/// not two. A crash skips what was reserved and not given (never reused, C-3); a clean close
/// writes the exact last values back.
const RESERVE: u64 = 64;

/// What the typed operations know without reading files, and the records the journal holds
/// that are not in their files yet.
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
    /// See [`Store::shared_version`](super::Store::shared_version).
    shared_version: u64,
    /// The last value of each counter, once read.
    counters: HashMap<Counter, u64>,
    /// The value each counter's record holds: values up to it may be given without another
    /// durable write ([`RESERVE`]).
    reserved: HashMap<Counter, u64>,
    /// The journal record of the latest reservation: a value it reserved is given only once
    /// that record is durable.
    reserved_at: u64,
    /// Records written since their last compaction: value (`None`: removed) and the journal
    /// generation that holds them.
    overlay: HashMap<RecordKey, (u64, Option<Vec<u8>>)>,
    /// The current journal generation.
    generation: u64,
}

/// The counter whose record `key` is.
const fn counter_of(key: &RecordKey) -> Option<Counter> {
    match key {
        RecordKey::SerialCounter => Some(Counter::Serial),
        RecordKey::RequestCounter => Some(Counter::RequestId),
        RecordKey::OtpCounter => Some(Counter::OtpId),
        _ => None,
    }
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

    /// The journal's version of `key`: `Some(None)` if removed, `None` if not in the journal.
    pub(super) fn overlay_get(&self, key: &RecordKey) -> Option<Option<&Vec<u8>>> {
        self.overlay.get(key).map(|(_, v)| v.as_ref())
    }

    /// Every key in the journal, and whether it is present (not removed).
    pub(super) fn overlay_keys(&self) -> impl Iterator<Item = (&RecordKey, bool)> {
        self.overlay.iter().map(|(k, (_, v))| (k, v.is_some()))
    }

    /// Starts a new journal generation; the one that ends.
    pub(super) fn rotate(&mut self) -> u64 {
        let ended = self.generation;
        self.generation = self.generation.saturating_add(1);
        ended
    }

    /// The writes of generations up to `generation`, to copy into the files.
    pub(super) fn snapshot_until(&self, generation: u64) -> Vec<Op> {
        self.overlay
            .iter()
            .filter(|(_, (g, _))| *g <= generation)
            .map(|(k, (_, v))| match v {
                Some(v) => Op::Put(k.clone(), v.clone()),
                None => Op::Remove(k.clone()),
            })
            .collect()
    }

    /// Drops the writes of generations up to `generation` (they are in the files now).
    pub(super) fn forget_until(&mut self, generation: u64) {
        self.overlay.retain(|_, (g, _)| *g > generation);
    }

    /// Shows one queued write to readers and updates the indexes.
    pub(super) fn apply(&mut self, op: Op) {
        self.apply_direct(&op);
        let (key, value) = match op {
            Op::Put(k, v) => (k, Some(v)),
            Op::Remove(k) => (k, None),
        };
        self.overlay.insert(key, (self.generation, value));
    }

    /// Updates the indexes after a write (queued, or made straight into its file).
    pub(super) fn apply_direct(&mut self, op: &Op) {
        let (key, value) = match op {
            Op::Put(k, v) => (k, Some(v.as_slice())),
            Op::Remove(k) => (k, None),
        };
        match key {
            RecordKey::Request(id) => match value.and_then(|b| request_columns(*id, b)) {
                Some((tid, ..)) => self.index(*id, &tid),
                None => self.unindex(*id),
            },
            RecordKey::CaState => {
                self.ca_version = self.ca_version.saturating_add(1);
                self.bump();
            }
            RecordKey::Crl => {
                self.crl_number = value.and_then(crl_number_of);
                self.bump();
            }
            RecordKey::Revoked(_) | RecordKey::OneTimePassword(_) => self.bump(),
            // Only this counter's caches: clearing the others would throw their reservations
            // away (their next value would follow the record, skipping what was reserved).
            RecordKey::SerialCounter | RecordKey::RequestCounter | RecordKey::OtpCounter => {
                if let Some(counter) = counter_of(key) {
                    self.counters.remove(&counter);
                    self.reserved.remove(&counter);
                }
            }
            _ => {}
        }
    }
}

impl DirStore {
    pub(super) fn shared_lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds the indexes from the records (at open, after the replay).
    pub(super) fn load_shared(&self) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        for id in self.list_files(RecordFamily::Request)? {
            if let Some(body) = self.read_file(&RecordKey::Request(id))?
                && let Some((tid, ..)) = request_columns(id, &body)
            {
                shared.index(id, &tid);
            }
        }
        shared.crl_number = self
            .read_file(&RecordKey::Crl)?
            .and_then(|b| crl_number_of(&b));
        Ok(())
    }

    fn exists(&self, shared: &Shared, key: &RecordKey) -> Result<bool, StoreError> {
        Ok(self.read(shared, key)?.is_some())
    }

    fn counter_value(&self, shared: &Shared, counter: Counter) -> Result<u64, StoreError> {
        if let Some(&v) = shared.counters.get(&counter) {
            return Ok(v);
        }
        let key = counter.record_key();
        let stored = match self.read(shared, &key)? {
            Some(bytes) => decode_counter_value(&bytes).ok_or(StoreError::Corrupt { key })?,
            None => 0,
        };
        let family = match counter {
            Counter::RequestId => Some(RecordFamily::Request),
            Counter::OtpId => Some(RecordFamily::OneTimePassword),
            _ => None,
        };
        let mut largest = 0;
        if let Some(family) = family {
            largest = self.list_files(family)?.into_iter().max().unwrap_or(0);
            for (k, _) in shared.overlay_keys() {
                largest = largest.max(k.number_in(family).unwrap_or(0));
            }
        }
        Ok(stored.max(largest))
    }

    pub(super) fn typed_allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        let mut shared = self.shared_lock();
        let mut next: Vec<(Counter, u64)> = Vec::new();
        let mut values = Vec::with_capacity(counters.len());
        for &counter in counters {
            let last = match next.iter().rev().find(|(c, _)| *c == counter) {
                Some(&(_, v)) => v,
                None => self.counter_value(&shared, counter)?,
            };
            let value = last
                .checked_add(1)
                .ok_or(StoreError::Conflict(Conflict::CounterExhausted { counter }))?;
            next.push((counter, value));
            values.push(value);
        }
        // A counter whose new value passes its reservation reserves the next block.
        let mut reserve: Vec<(Counter, u64)> = Vec::new();
        for &(counter, value) in &next {
            let held = shared.reserved.get(&counter).copied().unwrap_or(0);
            let wanted = reserve.iter().find(|(c, _)| *c == counter).map(|&(_, v)| v);
            if value > held.max(wanted.unwrap_or(0)) {
                reserve.retain(|(c, _)| *c != counter);
                reserve.push((counter, value.saturating_add(RESERVE - 1)));
            }
        }
        let ops = reserve
            .iter()
            .map(|&(counter, upto)| Op::Put(counter.record_key(), encode_counter(upto)))
            .collect();
        // The caches are set after the ops are applied (applying a counter clears them).
        let queued = self.commit_then(&mut shared, ops)?;
        if !reserve.is_empty() {
            shared.reserved_at = queued.seq();
        }
        for &(counter, upto) in &reserve {
            shared.reserved.insert(counter, upto);
        }
        for &(counter, value) in &next {
            shared.counters.insert(counter, value);
        }
        let reservation = shared.reserved_at;
        drop(shared);
        queued.wait()?;
        // Another thread's reservation may still be on its way to the disk.
        self.journal.wait(reservation)?;
        Ok(values)
    }

    /// [`Store::raise_counter`](super::Store::raise_counter): under the lock, so no
    /// allocation of this process comes between the read and the write. A raise inside the
    /// durable reservation writes nothing (a crash goes on after the reservation, a clean
    /// close writes the raised value back); one past it writes the raised value as the
    /// counter's record, which a crash then finds.
    pub(super) fn typed_raise_counter(
        &self,
        counter: Counter,
        at_least: u64,
    ) -> Result<u64, StoreError> {
        let mut shared = self.shared_lock();
        let last = self.counter_value(&shared, counter)?;
        if at_least <= last {
            // `last` may come from a reservation still on its way to the disk.
            let reservation = shared.reserved_at;
            drop(shared);
            self.journal.wait(reservation)?;
            return Ok(last);
        }
        let held = shared.reserved.get(&counter).copied().unwrap_or(0);
        let mut ops = Vec::new();
        if at_least > held {
            ops.push(Op::Put(counter.record_key(), encode_counter(at_least)));
        }
        // The caches are set after the op is applied (applying a counter clears them).
        let queued = self.commit_then(&mut shared, ops)?;
        if at_least > held {
            shared.reserved_at = queued.seq();
            shared.reserved.insert(counter, at_least);
        }
        shared.counters.insert(counter, at_least);
        let reservation = shared.reserved_at;
        drop(shared);
        queued.wait()?;
        self.journal.wait(reservation)?;
        Ok(at_least)
    }

    /// The last value `key`'s counter gave, when this process knows it: the record may hold
    /// a reservation beyond it.
    pub(super) fn counter_given(shared: &Shared, key: &RecordKey) -> Option<Vec<u8>> {
        let counter = counter_of(key)?;
        shared.counters.get(&counter).map(|&v| encode_counter(v))
    }

    /// Writes each counter's exact last value over its reservation (at a clean close), so a
    /// reopened store goes on at `last + 1`.
    pub(super) fn release_reservations(&self) -> Result<(), StoreError> {
        let mut shared = self.shared_lock();
        let ops: Vec<Op> = shared
            .counters
            .iter()
            .filter(|(c, v)| shared.reserved.get(c).is_some_and(|r| r > v))
            .map(|(c, &v)| Op::Put(c.record_key(), encode_counter(v)))
            .collect();
        let pending = self.commit_then(&mut shared, ops);
        drop(shared);
        pending?.wait()
    }

    /// The operations of writing `row` (and removing `replaces`).
    fn row_ops(row: &RequestRow, replaces: Option<u64>) -> Vec<Op> {
        let mut ops = vec![Op::Put(RecordKey::Request(row.id), row.body.clone())];
        if let Some(old) = replaces.filter(|&old| old != row.id) {
            ops.insert(0, Op::Remove(RecordKey::Request(old)));
        }
        ops
    }

    pub(super) fn typed_put_request(
        &self,
        row: &RequestRow,
        replaces: Option<u64>,
    ) -> Result<(), StoreError> {
        let shared = self.shared_lock();
        shared.tid_conflict(row, replaces)?;
        self.commit(shared, Self::row_ops(row, replaces))
    }

    pub(super) fn typed_find_request(&self, tid: &str) -> Result<Option<RequestRow>, StoreError> {
        let shared = self.shared_lock();
        let Some(id) = shared.by_tid.get(tid).copied() else {
            return Ok(None);
        };
        let Some(body) = self.read(&shared, &RecordKey::Request(id))? else {
            return Ok(None);
        };
        drop(shared);
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
        let shared = self.shared_lock();
        shared.tid_conflict(&issuance.request, issuance.replaces)?;
        let serial = issuance.serial;
        if self.exists(&shared, &RecordKey::IssuedName(serial))?
            || self.exists(&shared, &RecordKey::IssuedCert(serial))?
        {
            return Err(StoreError::Conflict(Conflict::Serial { serial }));
        }
        let mut ops = Vec::with_capacity(4);
        if let Some(name) = &issuance.name {
            ops.push(Op::Put(RecordKey::IssuedName(serial), name.clone()));
        }
        if let Some(cert) = &issuance.cert {
            ops.push(Op::Put(RecordKey::IssuedCert(serial), cert.clone()));
        }
        ops.extend(Self::row_ops(&issuance.request, issuance.replaces));
        self.commit(shared, ops)
    }

    pub(super) fn typed_consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        let shared = self.shared_lock();
        let key = RecordKey::OneTimePassword(id);
        if !self.exists(&shared, &key)? {
            return Ok(false);
        }
        self.commit(shared, vec![Op::Remove(key)])?;
        Ok(true)
    }

    pub(super) fn typed_revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        let shared = self.shared_lock();
        let key = RecordKey::Revoked(serial);
        if self.exists(&shared, &key)? {
            return Ok(false);
        }
        self.commit(shared, vec![Op::Put(key, record.to_vec())])?;
        Ok(true)
    }

    pub(super) fn typed_ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        let shared = self.shared_lock();
        Ok(self
            .read(&shared, &RecordKey::CaState)?
            .map(|bytes| Versioned {
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
        let current = self
            .exists(&shared, &RecordKey::CaState)?
            .then_some(shared.ca_version);
        if current != expected {
            return Err(StoreError::Conflict(Conflict::CaState { current }));
        }
        self.apply_to_file_direct(&mut shared, Op::Put(RecordKey::CaState, bytes.to_vec()))?;
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
        let pending = self.commit_then(&mut shared, vec![Op::Put(RecordKey::Crl, bytes.to_vec())]);
        // The number is the caller's, whatever the bytes say.
        shared.crl_number = Some(number);
        drop(shared);
        pending?.wait()
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

    pub(super) fn typed_shared_version(&self) -> Result<u64, StoreError> {
        let shared = self.shared_lock();
        self.journal.check()?;
        Ok(shared.shared_version)
    }
}
