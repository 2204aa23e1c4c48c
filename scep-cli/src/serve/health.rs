//! `GET /healthz`: 200 while the CA can serve; 503 when its certificate has expired (C-4,
//! C-25) or its store cannot be read and written.

use std::sync::Arc;

use bytes::Bytes;
use ca_core::{CaState, RecordKey, Store as _};
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::App;

/// The file written and removed to prove the store's folder is writable (a dot name: the
/// directory store ignores it).
const PROBE: &str = ".healthz-probe";

fn check(app: &App) -> Result<(), String> {
    if app.ca.state() == CaState::Expired {
        return Err("CA certificate expired".to_owned());
    }
    app.ca
        .store()
        .get(&RecordKey::SerialCounter)
        .map_err(|e| format!("store: {e}"))?;
    let probe = app.dir.join(PROBE);
    std::fs::write(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("store: {} is not writable: {e}", app.dir.display()))
}

/// The health answer (the check runs on the worker pool: it touches the disk).
pub(crate) async fn answer(app: &Arc<App>) -> Response<Full<Bytes>> {
    let job = Arc::clone(app);
    let result = app.pool.run("healthz", move || check(&job)).await;
    let (status, body) = match result {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_owned()),
        Ok(Err(why)) => {
            tracing::warn!(reason = %why, "unhealthy");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("unhealthy: {why}\n"),
            )
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {e}\n")),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
