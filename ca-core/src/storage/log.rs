//! The [`DirStore`](super::DirStore) write-ahead journal: one record per atomic write, group
//! commit.
//!
//! A journal is a sequence of records, each `len: u32 LE | crc32(payload): u32 LE | payload`.
//! A payload is one atomic write: `count: u32 LE`, then `count` operations, each
//! `tag: u8` (1 put, 2 remove), the record key (`kind: u8`, then a `u64 LE` number for the
//! numbered kinds or `u16 LE` length + bytes for an archive name), and for a put
//! `u32 LE` length + the value.
//!
//! Reading stops cleanly at a *torn tail* — a last record cut short by a crash (a header or
//! payload that runs past the end of the file, a final record whose checksum does not match,
//! or zero bytes to the end) — and refuses anything else: a bad checksum or an impossible
//! length followed by more data is [`StoreError::CorruptLog`].
//!
//! Group commit: writers append encoded records to a shared buffer (in the order their
//! operations took effect) and then wait; the first waiter that finds no flush in progress
//! becomes the leader, writes everything buffered so far with one `write` and one
//! `fdatasync`, and wakes every writer whose record it covered. No lock is held across the
//! sync: writers keep appending while the leader waits for the disk.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::{RecordKey, StoreError};

/// The largest payload a record may have (a CA record is a few KiB; an archive tens).
pub(crate) const MAX_RECORD: usize = 16 * 1024 * 1024;
/// Bytes of a record header.
const HEADER: usize = 8;

/// One operation of an atomic write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Write the whole record.
    Put(RecordKey, Vec<u8>),
    /// Remove the record.
    Remove(RecordKey),
}

fn put_len(out: &mut Vec<u8>, n: usize) -> Result<(), StoreError> {
    let n = u32::try_from(n).map_err(|_| too_large())?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn too_large() -> StoreError {
    StoreError::Io {
        key: None,
        source: io::Error::new(
            io::ErrorKind::InvalidInput,
            "record too large for the journal",
        ),
    }
}

fn encode_key(out: &mut Vec<u8>, key: &RecordKey) -> Result<(), StoreError> {
    let (kind, number): (u8, Option<u64>) = match key {
        RecordKey::SerialCounter => (0, None),
        RecordKey::RequestCounter => (1, None),
        RecordKey::OtpCounter => (2, None),
        RecordKey::CaState => (3, None),
        RecordKey::Crl => (4, None),
        RecordKey::Request(n) => (5, Some(*n)),
        RecordKey::IssuedName(n) => (6, Some(*n)),
        RecordKey::IssuedCert(n) => (7, Some(*n)),
        RecordKey::Revoked(n) => (8, Some(*n)),
        RecordKey::OneTimePassword(n) => (9, Some(*n)),
        RecordKey::Archive(name) => {
            out.push(10);
            let len = u16::try_from(name.len())
                .map_err(|_| StoreError::InvalidKey { key: key.clone() })?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            return Ok(());
        }
    };
    out.push(kind);
    if let Some(n) = number {
        out.extend_from_slice(&n.to_le_bytes());
    }
    Ok(())
}

/// One journal record (header and payload) holding `ops`.
pub(crate) fn encode_record(ops: &[Op]) -> Result<Vec<u8>, StoreError> {
    let mut payload = Vec::new();
    put_len(&mut payload, ops.len())?;
    for op in ops {
        match op {
            Op::Put(key, value) => {
                payload.push(1);
                encode_key(&mut payload, key)?;
                put_len(&mut payload, value.len())?;
                payload.extend_from_slice(value);
            }
            Op::Remove(key) => {
                payload.push(2);
                encode_key(&mut payload, key)?;
            }
        }
    }
    if payload.len() > MAX_RECORD {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(payload.len().saturating_add(HEADER));
    put_len(&mut out, payload.len())?;
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// A cursor over a payload; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<usize> {
        usize::try_from(u32::from_le_bytes(self.take(4)?.try_into().ok()?)).ok()
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn key(&mut self) -> Option<RecordKey> {
        let kind = self.u8()?;
        Some(match kind {
            0 => RecordKey::SerialCounter,
            1 => RecordKey::RequestCounter,
            2 => RecordKey::OtpCounter,
            3 => RecordKey::CaState,
            4 => RecordKey::Crl,
            5 => RecordKey::Request(self.u64()?),
            6 => RecordKey::IssuedName(self.u64()?),
            7 => RecordKey::IssuedCert(self.u64()?),
            8 => RecordKey::Revoked(self.u64()?),
            9 => RecordKey::OneTimePassword(self.u64()?),
            10 => {
                let len = usize::from(self.u16()?);
                let name = core::str::from_utf8(self.take(len)?).ok()?;
                let key = RecordKey::Archive(name.to_owned());
                super::check_key(&key).ok()?;
                key
            }
            _ => return None,
        })
    }
}

/// The operations of a payload whose checksum matched; `None` if it does not parse (then the
/// writer was not this code: corrupt).
fn decode_payload(payload: &[u8]) -> Option<Vec<Op>> {
    let mut r = Reader { bytes: payload };
    let count = r.u32()?;
    // Each operation takes at least two bytes: a count beyond that is a lie.
    if count > payload.len() / 2 {
        return None;
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = r.u8()?;
        let key = r.key()?;
        ops.push(match tag {
            1 => {
                let len = r.u32()?;
                Op::Put(key, r.take(len)?.to_vec())
            }
            2 => Op::Remove(key),
            _ => return None,
        });
    }
    r.bytes.is_empty().then_some(ops)
}

/// Every atomic write of a journal's bytes, in order, and the length of its valid prefix
/// (the rest is a torn tail).
///
/// # Errors
/// [`StoreError::CorruptLog`] for damage that is not a torn tail.
pub(crate) fn decode_journal(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<Vec<Op>>, usize), StoreError> {
    let corrupt = |offset: usize| StoreError::CorruptLog {
        path: path.to_path_buf(),
        offset: u64::try_from(offset).unwrap_or(u64::MAX),
    };
    let mut records = Vec::new();
    let mut at = 0usize;
    loop {
        let Some(rest) = bytes.get(at..) else {
            return Ok((records, at));
        };
        if rest.is_empty() || rest.iter().all(|&b| b == 0) {
            // The end, or a tail of zeros a crash left after the last complete write.
            return Ok((records, at));
        }
        let Some(header) = rest.get(..HEADER) else {
            return Ok((records, at)); // a header cut short: torn tail
        };
        let mut h = Reader { bytes: header };
        let (Some(len), Some(crc)) = (h.u32(), h.u32()) else {
            return Err(corrupt(at));
        };
        if len > MAX_RECORD || len == 0 {
            return Err(corrupt(at));
        }
        let end = HEADER.saturating_add(len);
        let Some(payload) = rest.get(HEADER..end) else {
            return Ok((records, at)); // the payload runs past the end: torn tail
        };
        let last = rest.len() == end;
        if crc32fast::hash(payload) != u32::try_from(crc).unwrap_or(0) {
            if last {
                return Ok((records, at)); // the last write, torn
            }
            return Err(corrupt(at));
        }
        records.push(decode_payload(payload).ok_or_else(|| corrupt(at))?);
        at = at.saturating_add(end);
    }
}

/// The journal file and its group commit.
pub(crate) struct Journal {
    path: PathBuf,
    state: Mutex<State>,
    flushed: Condvar,
}

struct State {
    /// Encoded records not yet written.
    pending: Vec<u8>,
    /// Sequence number of the last record appended.
    appended: u64,
    /// Sequence number of the last record durable on disk.
    durable: u64,
    /// The file; `None` while the leader writes it.
    file: Option<File>,
    /// A leader is writing.
    flushing: bool,
    /// A write or sync failed: every later call fails (what was shown may be lost).
    failed: bool,
    /// Bytes in the file.
    size: u64,
}

impl Journal {
    /// A journal appending to `file` (already `size` bytes long) at `path`.
    pub(crate) fn new(path: PathBuf, file: File, size: u64) -> Self {
        Self {
            path,
            state: Mutex::new(State {
                pending: Vec::new(),
                appended: 0,
                durable: 0,
                file: Some(file),
                flushing: false,
                failed: false,
                size,
            }),
            flushed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed_error(&self) -> StoreError {
        StoreError::Io {
            key: None,
            source: io::Error::other(format!(
                "journal {} failed earlier: the store must be reopened",
                self.path.display()
            )),
        }
    }

    /// `Ok` unless a write or sync failed: then what readers were shown may be lost, and
    /// every read fails too (nothing is decided on a write that was lost).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.lock().failed {
            return Err(self.failed_error());
        }
        Ok(())
    }

    /// Queues `record`; its sequence number, for [`Journal::wait`].
    pub(crate) fn append(&self, record: &[u8]) -> Result<u64, StoreError> {
        let mut state = self.lock();
        if state.failed {
            return Err(self.failed_error());
        }
        state.pending.extend_from_slice(record);
        state.appended = state.appended.saturating_add(1);
        Ok(state.appended)
    }

    /// Returns once record `seq` is durable, leading a flush if none is running.
    pub(crate) fn wait(&self, seq: u64) -> Result<(), StoreError> {
        let mut state = self.lock();
        loop {
            if state.failed {
                return Err(self.failed_error());
            }
            if state.durable >= seq {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state = self.lead(state);
        }
    }

    /// Writes and syncs everything pending, with the lock released meanwhile.
    fn lead<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let (Some(mut file), batch, target) = (
            state.file.take(),
            core::mem::take(&mut state.pending),
            state.appended,
        ) else {
            state.failed = true;
            return state;
        };
        state.flushing = true;
        drop(state);
        let result = file.write_all(&batch).and_then(|()| file.sync_data());
        let mut state = self.lock();
        state.file = Some(file);
        state.flushing = false;
        match result {
            Ok(()) => {
                state.durable = target;
                state.size = state
                    .size
                    .saturating_add(u64::try_from(batch.len()).unwrap_or(u64::MAX));
            }
            Err(_) => state.failed = true,
        }
        self.flushed.notify_all();
        state
    }

    /// Bytes written to the file so far.
    pub(crate) fn size(&self) -> u64 {
        self.lock().size
    }

    /// Flushes everything appended, then hands the file over to `f` with no flush running
    /// (the caller must keep appends out, e.g. by holding the store's lock): for a rotation.
    pub(crate) fn with_quiet_file<T>(
        &self,
        f: impl FnOnce(&mut File, &mut u64) -> io::Result<T>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        loop {
            if state.failed {
                return Err(self.failed_error());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            if state.durable < state.appended {
                state = self.lead(state);
                continue;
            }
            break;
        }
        let State { file, size, .. } = &mut *state;
        let Some(file) = file.as_mut() else {
            return Err(self.failed_error());
        };
        let result = f(file, size);
        if result.is_err() {
            state.failed = true;
        }
        result.map_err(|source| StoreError::Io { key: None, source })
    }
}
