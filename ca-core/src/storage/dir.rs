//! [`DirStore`]: one file per record in a folder tree an operator can read (C-18 … C-20).
//!
//! Layout under the store's folder (numbers in file names are canonical: no leading zeros,
//! hex in upper case):
//!
//! ```text
//! .lock              held locked while a DirStore has the folder open
//! journal            the write-ahead journal (see below; `journal.old` during a compaction)
//! serial             RecordKey::SerialCounter
//! request-id         RecordKey::RequestCounter
//! otp-id             RecordKey::OtpCounter
//! ca/state           RecordKey::CaState            (holds the CA keys)
//! crl.der            RecordKey::Crl
//! requests/<id>      RecordKey::Request, decimal id
//! names/<SERIAL>     RecordKey::IssuedName, hex serial
//! certs/<SERIAL>.der RecordKey::IssuedCert, hex serial
//! revoked/<SERIAL>   RecordKey::Revoked, hex serial
//! otp/<id>           RecordKey::OneTimePassword, decimal id
//! archive/<name>     RecordKey::Archive, the file name as given (C-19)
//! ```
//!
//! Every write but those of the CA record and the archives is first one record of the journal,
//! shared with concurrent writes' records by one sync (group commit), and reaches its file at
//! the next compaction (module `dir_journal`). File contents are the CA's bytes, unchanged.
//! Files are written to `.tmp-<tag>-<n>-<name>` in the
//! target's folder (`tag` 64 random bits drawn at open, so the name cannot be guessed in
//! advance), created exclusively (`O_CREAT|O_EXCL`: never through a symlink, never an existing
//! file, whose permissions would then be kept; a taken name is skipped), synced (or, for a
//! compaction, made durable by one `syncfs` with the rest), renamed over
//! the target, and the folder is synced; names that start with a dot are never records, and
//! leftover temp files (and links) from a crash are deleted when the store is opened. Files
//! whose name is not a canonical record name are ignored, so an operator's notes or backups in
//! these folders do not disturb the CA. On Unix every file is created `0600` and every folder
//! `0700`; records and the lock file are opened without following a symlink, and a folder any
//! user may write into (mode `o+w`) is refused at open.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::log::Op;
use super::{
    Counter, Issuance, RecordFamily, RecordKey, RequestRow, Store, StoreError, Versioned,
    check_key, is_valid_archive_name,
};

/// The lock file's name.
const LOCK_FILE: &str = ".lock";
/// The prefix of temporary files; any name starting with it is a crash leftover.
const TEMP_PREFIX: &str = ".tmp-";
/// The subfolders, created at open.
const FOLDERS: [&str; 7] = [
    "ca", "requests", "names", "certs", "revoked", "otp", "archive",
];

/// How a numbered family sits on disk.
struct FamilyLayout {
    folder: &'static str,
    radix: u32,
    suffix: &'static str,
}

const fn layout(family: RecordFamily) -> FamilyLayout {
    match family {
        RecordFamily::Request => FamilyLayout {
            folder: "requests",
            radix: 10,
            suffix: "",
        },
        RecordFamily::IssuedName => FamilyLayout {
            folder: "names",
            radix: 16,
            suffix: "",
        },
        RecordFamily::IssuedCert => FamilyLayout {
            folder: "certs",
            radix: 16,
            suffix: ".der",
        },
        RecordFamily::Revoked => FamilyLayout {
            folder: "revoked",
            radix: 16,
            suffix: "",
        },
        RecordFamily::OneTimePassword => FamilyLayout {
            folder: "otp",
            radix: 10,
            suffix: "",
        },
    }
}

impl FamilyLayout {
    fn file_name(&self, n: u64) -> String {
        if self.radix == 16 {
            format!("{n:X}{}", self.suffix)
        } else {
            format!("{n}{}", self.suffix)
        }
    }

    /// The number a file name stands for, if it is the canonical name of one.
    fn parse(&self, name: &str) -> Option<u64> {
        let digits = name.strip_suffix(self.suffix)?;
        let n = u64::from_str_radix(digits, self.radix).ok()?;
        (self.file_name(n) == name).then_some(n)
    }
}

/// The embedded default [`Store`]: a folder tree, one file per record (layout in the module
/// docs and the crate README).
///
/// [`DirStore::open`] takes an exclusive lock on the folder, held until the value is dropped:
/// a second open, from this process or another, fails with [`StoreError::Locked`]. The store
/// does not know the database level (C-18): the CA decides which records to write, so the same
/// folder works at Minimal, Names and Complete.
pub struct DirStore {
    root: PathBuf,
    /// Holds the lock; closing it releases the lock.
    _lock: File,
    /// Random per open: temp file names cannot be predicted.
    temp_tag: u64,
    /// Makes temp file names unique between threads.
    next_temp: AtomicU64,
    /// The indexes and versions of the typed operations, and the records written since the
    /// last compaction; held while an operation decides and queues its write.
    pub(super) shared: std::sync::Mutex<super::dir_typed::Shared>,
    /// The write-ahead journal (group commit).
    pub(super) journal: super::log::Journal,
    /// A compaction is running.
    pub(super) compacting: std::sync::atomic::AtomicBool,
}

/// Whether bulk copies of journal records skip the per-file sync (one `syncfs` instead).
const BULK_SYNC: bool = cfg!(target_os = "linux");

/// How many taken temp names a write skips before it gives up.
const TEMP_ATTEMPTS: u32 = 16;

impl fmt::Debug for DirStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl DirStore {
    /// Opens the store in `path`, creating the folder and its subfolders if missing, and
    /// deleting temp files a crash left behind.
    ///
    /// # Errors
    /// [`StoreError::Locked`] if the folder is open in another `DirStore` (any process);
    /// [`StoreError::Io`] if the folder cannot be created, read or locked.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = path.as_ref().to_path_buf();
        create_private_dir(&root).map_err(io_error(None))?;
        refuse_open_folder(&root).map_err(io_error(None))?;
        let lock = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(root.join(LOCK_FILE))
            .map_err(io_error(None))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked { path: root }),
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io { key: None, source });
            }
        }
        for folder in FOLDERS {
            let dir = root.join(folder);
            create_private_dir(&dir).map_err(io_error(None))?;
            refuse_open_folder(&dir).map_err(io_error(None))?;
            remove_temp_files(&dir).map_err(io_error(None))?;
        }
        remove_temp_files(&root).map_err(io_error(None))?;
        sync_dir(&root).map_err(io_error(None))?;
        let journal_path = root.join(super::dir_journal::JOURNAL);
        let journal_file = private_file_options()
            .append(true)
            .create(true)
            .open(&journal_path)
            .map_err(io_error(None))?;
        let store = Self {
            root,
            _lock: lock,
            temp_tag: random_tag(),
            next_temp: AtomicU64::new(0),
            shared: std::sync::Mutex::default(),
            journal: super::log::Journal::new(journal_path, journal_file, 0),
            // No compaction (not even the one at drop) until the journal was replayed: a store
            // that fails to open leaves its folder exactly as it found it.
            compacting: std::sync::atomic::AtomicBool::new(true),
        };
        store.replay()?;
        store.load_shared()?;
        store.compacting.store(false, Ordering::Release);
        Ok(store)
    }

    /// The store's folder.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The folder and file name of `key`.
    fn locate(&self, key: &RecordKey) -> Result<(PathBuf, String), StoreError> {
        check_key(key)?;
        let (folder, name) = match key {
            RecordKey::SerialCounter => (None, "serial".to_owned()),
            RecordKey::RequestCounter => (None, "request-id".to_owned()),
            RecordKey::OtpCounter => (None, "otp-id".to_owned()),
            RecordKey::CaState => (Some("ca"), "state".to_owned()),
            RecordKey::Crl => (None, "crl.der".to_owned()),
            RecordKey::Request(n) => family_path(RecordFamily::Request, *n),
            RecordKey::IssuedName(n) => family_path(RecordFamily::IssuedName, *n),
            RecordKey::IssuedCert(n) => family_path(RecordFamily::IssuedCert, *n),
            RecordKey::Revoked(n) => family_path(RecordFamily::Revoked, *n),
            RecordKey::OneTimePassword(n) => family_path(RecordFamily::OneTimePassword, *n),
            RecordKey::Archive(name) => (Some("archive"), name.clone()),
        };
        let dir = match folder {
            Some(folder) => self.root.join(folder),
            None => self.root.clone(),
        };
        Ok((dir, name))
    }

    /// A new temp file in `dir` for `name`, created exclusively; names already taken (by a
    /// crash leftover or a planted file or link) are skipped.
    fn create_temp(&self, dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
        let mut last = None;
        for _ in 0..TEMP_ATTEMPTS {
            let seq = self.next_temp.fetch_add(1, Ordering::Relaxed);
            let temp = dir.join(format!("{TEMP_PREFIX}{:016x}-{seq}-{name}", self.temp_tag));
            match private_file_options()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => return Ok((temp, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
    }

    /// Writes one record file atomically (written to a temp file and renamed into place).
    /// With `sync` the file is synced before the rename; without it (a bulk copy of journal
    /// records) the caller makes everything durable at once with [`DirStore::sync_bulk`]
    /// before it relies on the files. Either way the caller syncs the folders.
    pub(super) fn put_file(
        &self,
        key: &RecordKey,
        value: &[u8],
        sync: bool,
    ) -> Result<(), StoreError> {
        let (dir, name) = self.locate(key)?;
        self.write_atomically(&dir, &name, value, sync || !BULK_SYNC)
            .map_err(io_error(Some(key)))
    }

    /// Makes every file written by [`DirStore::put_file`] without `sync`, and every rename
    /// and unlink in the store's folders, durable: one `syncfs` of the store's file system
    /// on Linux (its records were written unsynced), else a sync of each folder (each file
    /// was synced as it was written).
    pub(super) fn sync_bulk(&self) -> Result<(), StoreError> {
        #[cfg(target_os = "linux")]
        {
            let root = File::open(&self.root).map_err(io_error(None))?;
            rustix::fs::syncfs(&root)
                .map_err(|e| io_error(None)(io::Error::from_raw_os_error(e.raw_os_error())))
        }
        #[cfg(not(target_os = "linux"))]
        self.sync_folders()
    }

    /// Removes one record file; the caller syncs the folders.
    pub(super) fn remove_file(&self, key: &RecordKey) -> Result<(), StoreError> {
        let (dir, name) = self.locate(key)?;
        match fs::remove_file(dir.join(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(Some(key))(e)),
        }
    }

    /// Makes every rename and unlink in the store's folders durable.
    pub(super) fn sync_folders(&self) -> Result<(), StoreError> {
        for folder in FOLDERS {
            sync_dir(&self.root.join(folder)).map_err(io_error(None))?;
        }
        sync_dir(&self.root).map_err(io_error(None))
    }

    /// The record as its file holds it (not counting the journal).
    pub(super) fn read_file(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let (dir, name) = self.locate(key)?;
        match read_record(&dir.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(Some(key))(e)),
        }
    }

    /// The numbers of the files of `family` (not counting the journal).
    pub(super) fn list_files(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        let layout = layout(family);
        Ok(visible_files(&self.root.join(layout.folder))
            .map_err(io_error(None))?
            .iter()
            .filter_map(|name| layout.parse(name))
            .collect())
    }

    /// The archive file names (not counting the journal).
    pub(super) fn list_archive_files(&self) -> Result<Vec<String>, StoreError> {
        Ok(visible_files(&self.root.join("archive"))
            .map_err(io_error(None))?
            .into_iter()
            .filter(|name| is_valid_archive_name(name))
            .collect())
    }

    fn write_atomically(&self, dir: &Path, name: &str, value: &[u8], sync: bool) -> io::Result<()> {
        let (temp, mut file) = self.create_temp(dir, name)?;
        let result = (|| {
            file.write_all(value)?;
            if sync {
                file.sync_all()?;
            }
            drop(file);
            fs::rename(&temp, dir.join(name))
        })();
        if result.is_err() {
            // Best effort: a leftover is harmless (ignored, and deleted at the next open).
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

fn family_path(family: RecordFamily, n: u64) -> (Option<&'static str>, String) {
    let layout = layout(family);
    (Some(layout.folder), layout.file_name(n))
}

fn io_error(key: Option<&RecordKey>) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        key: key.cloned(),
        source,
    }
}

/// Names of the regular files in `dir` that are not hidden (temp, lock).
fn visible_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        // Let chains need Rust 1.88; the workspace floor is 1.85.
        match entry.file_name().to_str() {
            Some(name) if !name.starts_with('.') => names.push(name.to_owned()),
            _ => {}
        }
    }
    Ok(names)
}

/// 64 bits from the operating system's random source; should it fail, the time and process
/// id (names stay unique: a taken name is skipped, only their unpredictability is lost).
fn random_tag() -> u64 {
    use rand::TryRng;
    rand::rngs::SysRng.try_next_u64().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id())
    })
}

/// Refuses a folder any user may write into: whoever can plant names there can swap records.
#[cfg(unix)]
fn refuse_open_folder(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if fs::metadata(dir)?.permissions().mode() & 0o002 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is writable by every user", dir.display()),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_open_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn remove_temp_files(dir: &Path) -> io::Result<()> {
    let mut removed = false;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let kind = entry.file_type()?;
        // Unlinking a symlink removes the link, never its target.
        if is_temp_name(&name) && (kind.is_file() || kind.is_symlink()) {
            fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}

fn is_temp_name(name: &OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX))
}

/// Files are created `0600` and never opened through a symlink (`O_NOFOLLOW`; with
/// `create_new` the kernel refuses a link anyway).
#[cfg(unix)]
fn private_file_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    options
}

#[cfg(not(unix))]
fn private_file_options() -> OpenOptions {
    OpenOptions::new()
}

/// Reads a record (or a journal) without following a symlink planted in its place.
pub(super) fn read_record(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = private_file_options().read(true).open(path)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).create(dir)
}

/// Records written straight into their files, never through the journal: archives (for the
/// operator and openssl to read, C-19) and the CA state (it holds the CA keys: a key the CA
/// re-encrypts under a passphrase must not linger in clear in a journal). Both are rare and
/// part of no multi-record write.
pub(super) fn is_direct(key: &RecordKey) -> bool {
    matches!(key, RecordKey::Archive(_) | RecordKey::CaState)
}

/// A new, empty journal file (mode `0600`, never through a link).
pub(super) fn new_journal_file(path: &Path) -> io::Result<File> {
    let file = private_file_options()
        .append(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.set_len(0)?;
    file.sync_all()?;
    Ok(file)
}

/// [`sync_dir`] for the journal module.
pub(super) fn sync_dir_pub(dir: &Path) -> io::Result<()> {
    sync_dir(dir)
}

/// Makes a rename or unlink in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Other systems cannot open a folder as a file; their rename is as durable as they make it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

impl Store for DirStore {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let shared = self.shared_lock();
        match Self::counter_given(&shared, key) {
            Some(value) => Ok(Some(value)),
            None => self.read(&shared, key),
        }
    }

    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        let shared = self.shared_lock();
        if is_direct(key) {
            return self.write_direct(shared, Op::Put(key.clone(), value.to_vec()));
        }
        self.commit(shared, vec![Op::Put(key.clone(), value.to_vec())])
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        check_key(key)?;
        let shared = self.shared_lock();
        if is_direct(key) {
            return self.write_direct(shared, Op::Remove(key.clone()));
        }
        self.commit(shared, vec![Op::Remove(key.clone())])
    }

    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        self.list_family(family)
    }

    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        self.list_archive_names()
    }

    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        self.typed_allocate(counters)
    }

    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        self.typed_raise_counter(counter, at_least)
    }

    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        self.typed_put_request(row, replaces)
    }

    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        self.typed_find_request(transaction_id)
    }

    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        self.typed_record_issuance(issuance)
    }

    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        self.typed_consume_otp(id)
    }

    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        self.typed_revoke(serial, record)
    }

    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        self.typed_ca_state()
    }

    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        self.typed_swap_ca_state(expected, bytes)
    }

    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.typed_swap_crl(expected, number, bytes)
    }

    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        self.typed_acquire_lease(holder, now, ttl_secs)
    }

    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.typed_release_lease(holder);
        Ok(())
    }

    fn shared_version(&self) -> Result<u64, StoreError> {
        self.typed_shared_version()
    }
}
