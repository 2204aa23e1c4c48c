//! One client connection: HTTP/1.1 with a capped head, the header timeout (hyper's), the
//! idle keep-alive timeout (here), and a graceful close on shutdown.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

use super::App;

/// The read buffer, and so the largest request head (request line and headers) a client may
/// send: above it hyper answers 431. Room for the 64 KiB request targets S-6 asks servers to
/// accept (the `http` crate itself stops at 65 534 bytes).
pub(crate) const MAX_HEAD: usize = 80 * 1024;
/// Header fields per request at most.
const MAX_HEADERS: usize = 64;

/// What the idle timeout watches: requests in progress and the time of the last byte.
#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_io_ms.store(ms, Ordering::Relaxed);
    }

    fn last_io(&self) -> Instant {
        self.base + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed))
    }

    /// Marks a request in progress until the guard drops.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

/// A request in progress on a connection (see [`Activity::request`]).
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A stream that records when bytes last moved.
struct Watched<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        poll
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Serves one connection until the client closes it, a timeout closes it, or shutdown has
/// let its request in progress finish. `_permit` is the connection's slot under the cap.
pub(crate) async fn serve<IO>(
    io: IO,
    peer: SocketAddr,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    app.metrics.connections().inc();
    let activity = Arc::new(Activity::new());
    activity.touch();
    let io = Watched {
        io,
        activity: Arc::clone(&activity),
    };
    let service = {
        let (app, activity) = (Arc::clone(&app), Arc::clone(&activity));
        service_fn(move |request| {
            super::http::answer(Arc::clone(&app), activity.request(), peer, request)
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(app.limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let idle = app.limits.idle_timeout;
    let mut closing = false;
    loop {
        let idle_at = activity.last_io() + idle;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = crate::serve::stopped(&mut shutdown), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_at), if !closing => {
                let quiet = activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.last_io() + idle <= Instant::now();
                if quiet {
                    tracing::debug!(peer = %peer, "closing an idle keep-alive connection");
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
    app.metrics.connections().dec();
}
