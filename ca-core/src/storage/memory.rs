//! [`MemoryStore`]: records in a map, for tests and simulations.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{RecordFamily, RecordKey, Store, StoreError, check_key};

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
}

#[derive(Default)]
struct Inner {
    records: BTreeMap<RecordKey, Vec<u8>>,
    /// `None`: writes succeed. `Some(n)`: `n` more writes succeed, then every write fails.
    write_budget: Option<u64>,
}

impl Inner {
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
        Ok(())
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        check_key(key)?;
        let mut inner = self.lock();
        inner.take_write()?;
        inner.records.remove(key);
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
