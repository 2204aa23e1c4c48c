//! Where a host keeps a trustpoint's bytes ([`crate::Trustpoint::to_bytes`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Durable storage for one trustpoint record.
///
/// Contract: when `save` returns `Ok`, the bytes survive a crash or power loss, and a later
/// `load` returns them (or a newer save), never a mix of two saves.
pub trait TrustpointStore {
    /// Replaces the stored record with `bytes`.
    ///
    /// # Errors
    /// Any I/O error; the previous record is then still intact.
    fn save(&self, bytes: &[u8]) -> std::io::Result<()>;
    /// The stored record, or `None` if nothing was saved yet.
    ///
    /// # Errors
    /// Any I/O error other than "not found".
    fn load(&self) -> std::io::Result<Option<Vec<u8>>>;
}

/// A record in one file, written atomically: temporary file, fsync, rename, directory fsync;
/// mode 0600 on Unix (it holds private keys). The temporary file is `.<name>.<random>.tmp`
/// beside the record, created exclusively: a file or symlink planted there is never written.
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path` (its directory must exist).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The record's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TrustpointStore for FileStore {
    /// C-20 with issue 13 item 7: the temporary file is created exclusively (never an existing
    /// file, never through a symlink) under a unique random name beside the record, mode 0600
    /// from its creation; it is removed again when anything fails.
    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(self.path.file_name().unwrap_or_default());
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut file = builder.tempfile_in(dir)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        file.persist(&self.path).map_err(|e| e.error)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }

    fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A record in memory (tests, simulations).
#[derive(Debug, Default)]
pub struct MemoryStore {
    record: Mutex<Option<Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl TrustpointStore for MemoryStore {
    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut g = self
            .record
            .lock()
            .map_err(|_| std::io::Error::other("memory store lock poisoned"))?;
        *g = Some(bytes.to_vec());
        Ok(())
    }

    fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
        let g = self
            .record
            .lock()
            .map_err(|_| std::io::Error::other("memory store lock poisoned"))?;
        Ok(g.clone())
    }
}
