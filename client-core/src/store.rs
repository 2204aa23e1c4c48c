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
/// mode 0600 on Unix (it holds private keys).
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
    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
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
