//! DIR/ca.pem (the current CA certificate, always) and DIR/ca-next.pem (the rollover CA
//! certificate while one exists), for operators and for clients set up by hand.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ca_core::{Ca, Store};
use der::Decode as _;
use pkcs8::der::pem::{self, LineEnding};

/// File name of the current CA certificate.
pub(crate) const CURRENT: &str = "ca.pem";
/// File name of the rollover CA certificate.
pub(crate) const NEXT: &str = "ca-next.pem";

/// Brings both files in line with the CA: written atomically (temp file, sync, rename) when
/// their content changes; ca-next.pem removed when there is no rollover.
pub(crate) fn publish<S: Store>(dir: &Path, ca: &Ca<S>) -> Result<(), String> {
    // The timer task and admin commands publish from different workers: one at a time, each
    // reading the CA's state inside the lock, so the last writer writes the newest state.
    static PUBLISHING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = PUBLISHING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    write_if_changed(dir, CURRENT, &ca.ca_certificate_der())?;
    match ca.rollover_certificate_der() {
        Some(der) => write_if_changed(dir, NEXT, &der),
        None => match std::fs::remove_file(dir.join(NEXT)) {
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("removing {}: {e}", dir.join(NEXT).display())),
        },
    }
}

fn write_if_changed(dir: &Path, name: &str, der: &[u8]) -> Result<(), String> {
    let text = pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .map_err(|e| format!("PEM-encoding {name}: {e}"))?;
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    // A dot name the directory store ignores, new for every write and created exclusively:
    // a planted file or symlink is never written through. A crash between write and rename
    // leaves a harmless file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temp = dir.join(format!(
        ".{name}.{}-{}.new",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    })();
    result.map_err(|e| format!("writing {}: {e}", path.display()))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing {}: {e}", dir.display()))
}

/// The subject (RFC 4514) of the certificate in DIR/ca.pem, if that file exists and holds
/// one.
pub(crate) fn stored_issuer(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(CURRENT)).ok()?;
    let (label, der) = pem::decode_vec(text.as_bytes()).ok()?;
    if label != "CERTIFICATE" {
        return None;
    }
    let cert = scep_proto::Certificate::from_der(&der).ok()?;
    Some(cert.tbs_certificate().subject().to_string())
}
