//! One client connection: HTTP/1.1 with a capped head, the header timeout (hyper's), the
//! idle keep-alive timeout and the write-progress deadline (here), and a graceful close on
//! shutdown.

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

/// `Activity::write_blocked_ms` when no write is waiting for the client.
const NOT_BLOCKED: u64 = u64::MAX;

/// What the timeouts watch: requests in progress, the time of the last byte, and since when
/// an answer has been waiting for the client to read.
#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Since when a write has been pending with nothing written (a client that stops reading
    /// its answers), or [`NOT_BLOCKED`].
    write_blocked_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            write_blocked_ms: AtomicU64::new(NOT_BLOCKED),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .min(NOT_BLOCKED - 1)
    }

    fn touch(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Records the outcome of a write: progress clears the blocked mark, a pending write
    /// sets it unless already set.
    fn wrote(&self, poll: &Poll<std::io::Result<usize>>) {
        match poll {
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.touch();
                self.write_blocked_ms.store(NOT_BLOCKED, Ordering::Relaxed);
            }
            Poll::Pending => {
                let _ = self.write_blocked_ms.compare_exchange(
                    NOT_BLOCKED,
                    self.now_ms(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            Poll::Ready(_) => {}
        }
    }

    /// Whether a write has waited for the client for `limit` or longer.
    fn write_stalled(&self, limit: Duration) -> bool {
        let since = self.write_blocked_ms.load(Ordering::Relaxed);
        since != NOT_BLOCKED
            && self.now_ms().saturating_sub(since)
                >= u64::try_from(limit.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the connection has had no request and no byte for `idle`.
    fn idle_for(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0 && self.last_io() + idle <= Instant::now()
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
        this.activity.wrote(&poll);
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
        this.activity.wrote(&poll);
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
    // An answer must keep moving: a client that stops reading (slow-read) is dropped after
    // the body timeout, closing or not, so it cannot hold its slot under the cap for ever.
    let write_deadline = app.limits.body_timeout;
    let mut tick = tokio::time::interval(check_every(idle, write_deadline));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    loop {
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
            _ = tick.tick() => {
                if activity.write_stalled(write_deadline) {
                    tracing::debug!(peer = %peer, "dropping a connection whose client stopped reading");
                    break;
                }
                if !closing && activity.idle_for(idle) {
                    tracing::debug!(peer = %peer, "closing an idle keep-alive connection");
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
    app.metrics.connections().dec();
}

/// How often a connection looks at its clocks: a quarter of the shorter timeout, between
/// 100 ms and 1 s (a timeout fires at most that late; no busy loop while a request runs).
fn check_every(idle: Duration, write_deadline: Duration) -> Duration {
    (idle.min(write_deadline) / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}
