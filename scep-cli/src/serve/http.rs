//! What the TCP listeners answer: SCEP on every path (S-1), `GET /healthz`, `GET /metrics`,
//! and 404 for anything under `/admin` (administration is only on DIR/admin.sock).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::App;
use super::conn::InFlight;
use crate::clock;
use crate::observe::Exchange;

/// The largest request body (S-6: POST bodies up to 256 KiB are accepted, larger get 413).
pub(crate) const MAX_BODY: usize = 256 * 1024;

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, body: &str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// An answer after which the connection is closed (the body was not read to its end).
fn closing(status: StatusCode, body: &str) -> Answer {
    let mut r = text(status, body);
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Whether `path` is `/admin` or below it, in any letter case.
fn is_admin_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first.eq_ignore_ascii_case("admin")
}

/// Answers one request. Never fails: every problem is an HTTP status.
pub(crate) async fn answer(
    app: Arc<App>,
    in_flight: InFlight,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let response = if is_admin_path(&path) {
        tracing::warn!(peer = %peer, path = ?path, "admin path requested over TCP; administration is only on the admin socket");
        text(StatusCode::NOT_FOUND, "not found\n")
    } else if path == "/healthz" && request.method() == Method::GET {
        super::health::answer(&app).await
    } else if path == "/metrics" && request.method() == Method::GET {
        metrics(&app).await
    } else {
        scep(&app, peer, request, started).await
    };
    drop(in_flight);
    Ok(response)
}

async fn metrics(app: &Arc<App>) -> Answer {
    let job = Arc::clone(app);
    match app
        .pool
        .run("metrics", move || job.metrics.render(&job.ca))
        .await
    {
        Ok(Ok(body)) => {
            let mut r = text(StatusCode::OK, &body);
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        _ => text(StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n"),
    }
}

/// Reads the body within the cap and the body timeout, then lets the CA answer on the pool.
async fn scep(
    app: &Arc<App>,
    peer: SocketAddr,
    request: Request<Incoming>,
    started: Instant,
) -> Answer {
    let method = request.method().as_str().to_owned();
    let uri = request.uri();
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        log_refusal(
            app,
            peer,
            &method,
            413,
            started,
            "body larger than the cap announced",
        );
        return closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    let body = Limited::new(request.into_body(), MAX_BODY);
    let body = match tokio::time::timeout(app.limits.body_timeout, body.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            log_refusal(app, peer, &method, 413, started, "body larger than the cap");
            return closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
        }
        Ok(Err(e)) => {
            log_refusal(
                app,
                peer,
                &method,
                400,
                started,
                &format!("reading the body: {e}"),
            );
            return closing(StatusCode::BAD_REQUEST, "bad request body\n");
        }
        Err(_) => {
            log_refusal(
                app,
                peer,
                &method,
                408,
                started,
                "body not received within the body timeout",
            );
            return closing(StatusCode::REQUEST_TIMEOUT, "request body timeout\n");
        }
    };
    let shared = Arc::clone(app);
    let job = app.pool.run("scep request", move || {
        let mut rng = clock::rng()?;
        let response = shared
            .ca
            .handle(&method, &target, &body, clock::now(), &mut rng);
        let exchange = Exchange::read(&method, &target, &body, &response);
        Ok::<_, String>((response, exchange))
    });
    let (response, exchange) = match job.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::error!(peer = %peer, error = %e, "no answer");
            return text(StatusCode::SERVICE_UNAVAILABLE, "try again later\n");
        }
        Err(e) => {
            tracing::error!(peer = %peer, error = %e, "no answer");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    // Issued certificates are counted from the CA's audit record (observe::Audit).
    app.metrics
        .request(exchange.metric_operation(), &exchange.outcome, seconds);
    tracing::info!(
        peer = %peer,
        operation = exchange.operation,
        message_type = exchange.message_type.unwrap_or("-"),
        transaction_id = exchange.transaction_id.as_deref().unwrap_or("-"),
        outcome = %exchange.outcome,
        fail_info = exchange.fail_info.as_deref().unwrap_or("-"),
        signer = exchange.signer.as_deref().unwrap_or("-"),
        status = response.status,
        latency_ms = (seconds * 10_000.0).round() / 10.0,
        "scep"
    );
    let mut r = Response::new(Full::new(Bytes::from(response.body)));
    *r.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(response.content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    if let Some(allow) = response.allow.and_then(|a| HeaderValue::from_str(a).ok()) {
        r.headers_mut().insert(ALLOW, allow);
    }
    r
}

fn log_refusal(
    app: &App,
    peer: SocketAddr,
    method: &str,
    status: u16,
    started: Instant,
    why: &str,
) {
    let seconds = started.elapsed().as_secs_f64();
    let outcome = format!("HTTP_{status}");
    app.metrics.request("-", &outcome, seconds);
    tracing::warn!(peer = %peer, method, status, outcome = %outcome, reason = why, "refused");
}

#[cfg(test)]
mod tests {
    use super::is_admin_path;

    #[test]
    fn admin_paths_in_any_case_and_depth() {
        for p in [
            "/admin",
            "/admin/",
            "/admin/grant",
            "/ADMIN/otp",
            "//admin/x",
            "/Admin",
        ] {
            assert!(is_admin_path(p), "{p}");
        }
        for p in [
            "/scep",
            "/",
            "/administrator",
            "/cgi-bin/pkiclient.exe",
            "/scep/admin",
        ] {
            assert!(!is_admin_path(p), "{p}");
        }
    }
}
