//! How [`DirStore`] writes: every atomic write is one journal record (group commit, see
//! [`super::log`]); the records it changed are kept in memory until a compaction copies them
//! into the per-record files and drops the journal they came from.
//!
//! ```text
//! journal       the current journal
//! journal.old   a journal being compacted (replayed first at open)
//! ```
//!
//! Open replays `journal.old` then `journal` into the files (a torn tail is dropped, damage
//! elsewhere refuses the open with [`StoreError::CorruptLog`]), syncs, and empties both. A
//! compaction starts when the journal passes [`COMPACT_AFTER`] bytes: the journal is renamed
//! `journal.old` and a new one started while the store's lock is held (a few milliseconds),
//! then the records are written to their files with the lock released, and `journal.old` is
//! deleted. Dropping the store compacts what is left, so a cleanly closed folder holds its
//! records in the documented layout only.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use super::dir::DirStore;
use super::dir_typed::Shared;
use super::log::{Op, decode_journal, encode_record};
use super::{RecordFamily, RecordKey, StoreError};

/// The journal's file name.
pub(crate) const JOURNAL: &str = "journal";
/// A journal being compacted.
const JOURNAL_OLD: &str = "journal.old";
/// The journal size that starts a compaction.
pub(crate) const COMPACT_AFTER: u64 = 64 * 1024 * 1024;

fn io_err(source: io::Error) -> StoreError {
    StoreError::Io { key: None, source }
}

impl DirStore {
    /// Replays the journals into the files and empties them (at open).
    pub(super) fn replay(&self) -> Result<(), StoreError> {
        let mut replayed = false;
        for name in [JOURNAL_OLD, JOURNAL] {
            let path = self.path().join(name);
            let bytes = match read_journal(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(e)),
            };
            let (records, _valid) = decode_journal(&path, &bytes)?;
            for ops in records {
                for op in ops {
                    self.apply_to_file(&op)?;
                    replayed = true;
                }
            }
        }
        if replayed {
            self.sync_bulk()?;
        }
        match fs::remove_file(self.path().join(JOURNAL_OLD)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        self.journal.with_quiet_file(|file, size| {
            file.set_len(0)?;
            file.sync_all()?;
            *size = 0;
            Ok(())
        })?;
        self.sync_folders()
    }

    /// Copies one journal operation into the files, unsynced ([`DirStore::sync_bulk`]).
    fn apply_to_file(&self, op: &Op) -> Result<(), StoreError> {
        self.apply_op(op, false)
    }

    fn apply_op(&self, op: &Op, sync: bool) -> Result<(), StoreError> {
        match op {
            Op::Put(key, value) => self.put_file(key, value, sync),
            Op::Remove(key) => self.remove_file(key),
        }
    }

    /// Queues `ops` as one atomic write, shows them to readers, and returns once they are
    /// durable. `shared` is released before the wait: other writers go on meanwhile.
    pub(super) fn commit(
        &self,
        mut shared: MutexGuard<'_, Shared>,
        ops: Vec<Op>,
    ) -> Result<(), StoreError> {
        let pending = self.commit_then(&mut shared, ops);
        drop(shared);
        pending?.wait()
    }

    /// Queues `ops` as one atomic write and shows them to readers; the caller releases the
    /// lock, then waits with [`Queued::wait`].
    pub(super) fn commit_then(
        &self,
        shared: &mut Shared,
        ops: Vec<Op>,
    ) -> Result<Queued<'_>, StoreError> {
        if ops.is_empty() {
            return Ok(Queued {
                store: self,
                seq: 0,
            });
        }
        let record = encode_record(&ops)?;
        let seq = self.journal.append(&record)?;
        for op in ops {
            shared.apply(op);
        }
        Ok(Queued { store: self, seq })
    }

    /// Writes a record that never goes through the journal ([`super::dir::is_direct`]):
    /// its file, synced, under the lock (these writes are rare).
    pub(super) fn write_direct(
        &self,
        mut shared: MutexGuard<'_, Shared>,
        op: Op,
    ) -> Result<(), StoreError> {
        self.apply_to_file_direct(&mut shared, op)
    }

    /// [`DirStore::write_direct`] with the lock already held by the caller.
    pub(super) fn apply_to_file_direct(
        &self,
        shared: &mut Shared,
        op: Op,
    ) -> Result<(), StoreError> {
        self.apply_op(&op, true)?;
        self.sync_folders()?;
        shared.apply_direct(&op);
        Ok(())
    }

    /// A record: the journal's version if it has one, else the file's. Fails once the
    /// journal failed (its shown writes may be lost).
    pub(super) fn read(
        &self,
        shared: &Shared,
        key: &RecordKey,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.journal.check()?;
        match shared.overlay_get(key) {
            Some(value) => Ok(value.cloned()),
            None => self.read_file(key),
        }
    }

    pub(super) fn list_family(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        let shared = self.shared_lock();
        self.journal.check()?;
        let mut numbers: BTreeSet<u64> = self.list_files(family)?.into_iter().collect();
        for (key, present) in shared.overlay_keys() {
            if let Some(n) = key.number_in(family) {
                if present {
                    numbers.insert(n);
                } else {
                    numbers.remove(&n);
                }
            }
        }
        Ok(numbers.into_iter().collect())
    }

    pub(super) fn list_archive_names(&self) -> Result<Vec<String>, StoreError> {
        let shared = self.shared_lock();
        self.journal.check()?;
        let mut names: BTreeSet<String> = self.list_archive_files()?.into_iter().collect();
        for (key, present) in shared.overlay_keys() {
            if let RecordKey::Archive(name) = key {
                if present {
                    names.insert(name.clone());
                } else {
                    names.remove(name);
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Copies every record the journal holds into its file and empties the journal. Runs by
    /// itself when the journal grows past 64 MiB and when the store is dropped;
    /// writers go on during it (only the switch to a new journal holds the store's lock).
    ///
    /// # Errors
    /// [`StoreError::Io`] if a file cannot be written; the journal then stays and is
    /// replayed at the next open.
    pub fn compact(&self) -> Result<(), StoreError> {
        if self.compacting.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.compact_now();
        self.compacting.store(false, Ordering::Release);
        result
    }

    fn compact_now(&self) -> Result<(), StoreError> {
        let old_path = self.path().join(JOURNAL_OLD);
        if old_path.exists() {
            // A compaction failed before: its records are still in memory; retry them below.
        }
        let (generation, snapshot) = {
            let mut shared = self.shared_lock();
            let generation = shared.rotate();
            let journal_path = self.path().join(JOURNAL);
            let root = self.path().to_path_buf();
            self.journal.with_quiet_file(|file, size| {
                if !old_path.exists() {
                    fs::rename(&journal_path, &old_path)?;
                    let new = super::dir::new_journal_file(&journal_path)?;
                    super::dir::sync_dir_pub(&root)?;
                    *file = new;
                    *size = 0;
                }
                Ok(())
            })?;
            (generation, shared.snapshot_until(generation))
        };
        for op in &snapshot {
            self.apply_to_file(op)?;
        }
        self.sync_bulk()?;
        match fs::remove_file(&old_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        super::dir::sync_dir_pub(self.path()).map_err(io_err)?;
        self.shared_lock().forget_until(generation);
        Ok(())
    }
}

/// A write queued in the journal, not yet known durable.
#[must_use]
pub(super) struct Queued<'a> {
    store: &'a DirStore,
    seq: u64,
}

impl Queued<'_> {
    /// The journal record this write is (0: nothing was written).
    pub(super) const fn seq(&self) -> u64 {
        self.seq
    }

    /// Returns once the write is durable (leading a group commit if none is running), then
    /// compacts if the journal has grown past [`COMPACT_AFTER`].
    pub(super) fn wait(self) -> Result<(), StoreError> {
        if self.seq == 0 {
            return Ok(());
        }
        self.store.journal.wait(self.seq)?;
        if self.store.journal.size() >= COMPACT_AFTER {
            // The write is durable: a failed compaction does not undo it (the journal stays,
            // and the next open replays it).
            let _ = self.store.compact();
        }
        Ok(())
    }
}

impl Drop for DirStore {
    fn drop(&mut self) {
        // Best effort: a reservation not released only skips counter values (C-3 allows gaps,
        // never reuse); what is not compacted stays in the journal, replayed at the next open.
        let _ = self.release_reservations();
        let _ = self.compact();
    }
}

/// A journal's bytes, never read through a symlink planted in its place.
fn read_journal(path: &std::path::Path) -> io::Result<Vec<u8>> {
    super::dir::read_record(path)
}
