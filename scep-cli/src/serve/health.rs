//! `GET /healthz`: 200 while the CA can serve; 503 when its certificate has expired (C-4,
//! C-25) or its store cannot be read and written.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use ca_core::{CaState, Store as _, storage::RecordKey};
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::App;

/// The folder in which the write probe creates its files (a dot name: the directory store
/// ignores it).
const PROBE_DIR: &str = ".healthz";

/// Distinguishes the probes of one process: overlapping checks never share a file.
static PROBES: AtomicU64 = AtomicU64::new(0);

fn check(app: &App) -> Result<(), String> {
    if app.ca.state() == CaState::Expired {
        return Err("CA certificate expired".to_owned());
    }
    app.ca
        .store()
        .get(&RecordKey::SerialCounter)
        .map_err(|e| format!("store: {e}"))?;
    write_probe(&app.dir.join(PROBE_DIR))
        .map_err(|e| format!("store: {} is not writable: {e}", app.dir.display()))
}

/// Creates, syncs and removes a file of its own in `folder`: never one that exists already
/// (no planted symlink is followed, no other check's file is touched).
fn write_probe(folder: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(folder) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let name = format!(
        "{}-{}",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    );
    let path = folder.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let written = file.write_all(b"ok").and_then(|()| file.sync_all());
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// The health answer (the check runs on the worker pool: it touches the disk).
pub(crate) async fn answer(app: &Arc<App>) -> Response<Full<Bytes>> {
    let job = Arc::clone(app);
    let result = app.pool.run("healthz", move || check(&job)).await;
    let (status, body) = match result {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_owned()),
        // The reason goes to the log only: paths and OS errors are not for every client.
        Ok(Err(why)) => {
            tracing::warn!(reason = %why, "unhealthy");
            (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n".to_owned())
        }
        Err(e) => {
            tracing::warn!(reason = %e, "unhealthy");
            (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n".to_owned())
        }
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
