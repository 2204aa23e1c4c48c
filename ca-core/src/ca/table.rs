//! The request table held in memory (C-12 … C-16), with its indexes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pki_timers::Instant;

use super::state::{Entry, EntryState};

/// The request table (C-12 … C-16): entries by id, with an index by transactionID so a
/// request's duplicate check does not scan the table under the lock, one by arrival so
/// the purge (T-15) looks at the oldest entries only, and a count of unissued entries by
/// signer key so the C-14 quota is one lookup.
#[derive(Default)]
pub(crate) struct RequestTable {
    by_id: BTreeMap<u64, Entry>,
    by_tid: HashMap<String, u64>,
    by_created: BTreeSet<(Instant, u64)>,
    unissued: UnissuedByKey,
}

/// How many unissued entries (pending, or being issued) each signer key has.
#[derive(Default)]
struct UnissuedByKey(HashMap<Vec<u8>, usize>);

impl UnissuedByKey {
    /// The key `entry` counts under, if it counts.
    fn key_of(entry: &Entry) -> Option<&[u8]> {
        matches!(entry.state, EntryState::Pending | EntryState::Issuing)
            .then_some(entry.signer_key.as_deref())
            .flatten()
    }

    fn add(&mut self, entry: &Entry) {
        if let Some(key) = Self::key_of(entry) {
            let n = self.0.entry(key.to_vec()).or_default();
            *n = n.saturating_add(1);
        }
    }

    fn sub(&mut self, entry: &Entry) {
        self.sub_key(Self::key_of(entry));
    }

    fn sub_key(&mut self, key: Option<&[u8]>) {
        if let Some(key) = key
            && let Some(n) = self.0.get_mut(key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.0.remove(key);
            }
        }
    }
}

impl RequestTable {
    /// Inserts or replaces entry `id` (its transactionID must not change on replace).
    pub(crate) fn insert(&mut self, id: u64, entry: Entry) {
        self.by_tid.insert(entry.transaction_id.clone(), id);
        let created = entry.created;
        self.unissued.add(&entry);
        if let Some(old) = self.by_id.insert(id, entry) {
            self.unissued.sub(&old);
            self.by_created.remove(&(old.created, id));
            if self.by_id.get(&id).map(|e| &e.transaction_id) != Some(&old.transaction_id)
                && self.by_tid.get(&old.transaction_id) == Some(&id)
            {
                self.by_tid.remove(&old.transaction_id);
            }
        }
        self.by_created.insert((created, id));
    }

    pub(crate) fn remove(&mut self, id: &u64) -> Option<Entry> {
        let entry = self.by_id.remove(id)?;
        self.unissued.sub(&entry);
        if self.by_tid.get(&entry.transaction_id) == Some(id) {
            self.by_tid.remove(&entry.transaction_id);
        }
        self.by_created.remove(&(entry.created, *id));
        Some(entry)
    }

    /// When the oldest entry arrived.
    pub(crate) fn oldest_created(&self) -> Option<Instant> {
        self.by_created.first().map(|&(created, _)| created)
    }

    /// The ids of the entries that arrived at or before `cutoff`, oldest first, except those
    /// being signed right now.
    pub(crate) fn created_until(&self, cutoff: impl Fn(Instant) -> bool) -> Vec<u64> {
        self.by_created
            .iter()
            .take_while(|&&(created, _)| cutoff(created))
            .filter(|(_, id)| {
                self.by_id
                    .get(id)
                    .is_some_and(|e| e.state != EntryState::Issuing)
            })
            .map(|&(_, id)| id)
            .collect()
    }

    pub(crate) fn get(&self, id: &u64) -> Option<&Entry> {
        self.by_id.get(id)
    }

    /// For a change between [`EntryState::Pending`] and [`EntryState::Issuing`] only (both
    /// count as unissued, so the C-14 count stays right); the transactionID and signer key
    /// stay as they are. Any other change is an [`RequestTable::insert`].
    pub(crate) fn get_mut(&mut self, id: &u64) -> Option<&mut Entry> {
        self.by_id.get_mut(id)
    }

    /// C-14: how many entries signed by `key` are not issued yet (pending or being issued).
    pub(crate) fn unissued_of(&self, key: &[u8]) -> usize {
        self.unissued.0.get(key).copied().unwrap_or(0)
    }

    pub(crate) fn contains_key(&self, id: &u64) -> bool {
        self.by_id.contains_key(id)
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &u64> {
        self.by_id.keys()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Entry> {
        self.by_id.values()
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn find_transaction(&self, tid: &str) -> Option<&Entry> {
        self.by_tid.get(tid).and_then(|id| self.by_id.get(id))
    }
}
