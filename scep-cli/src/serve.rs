//! `scep server`: the CA over HTTP(S), its admin socket and its timers, in one process.
//!
//! ```text
//!  TCP ──accept (cap)──► conn: hyper HTTP/1.1 ──► http::answer ──┐
//!  TLS ──handshake────►        (head cap, header and idle        │ body read (cap, timeout)
//!                               timeouts)                        ▼
//!  DIR/admin.sock ──► admin::socket ─────────────────────────► Pool (N workers) ──► Ca
//!  timers ───────────────────────────────────────────────────►
//! ```
//!
//! The library crates are synchronous: every `Ca` call runs on the bounded worker pool; the
//! tokio threads only move bytes.

mod conn;
mod health;
mod http;
mod logging;
mod metrics;
mod pool;
mod store;
mod timers;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ca_core::Ca;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

pub(crate) use self::metrics::Metrics;
pub(crate) use self::pool::Pool;
pub(crate) use self::store::ServerStore;
use crate::settings::{CaSettings, ConfigFile, LogFormat, ServerSettings};
use crate::span::Span;
use crate::{DirArg, ca_files};

/// `scep server` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    dir: DirArg,
    /// TOML configuration file with `[ca]` and `[server]` tables (keys as the flags, `_` for
    /// `-`); flags and SCEP_* variables win over it.
    #[arg(long, env = "SCEP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: Box<store::StoreArgs>,
    #[command(flatten)]
    server: ServerSettings,
    #[command(flatten)]
    ca: CaSettings,
}

/// The time limits of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

/// What every connection, the admin socket and the timer task share.
pub(crate) struct App {
    pub(crate) ca: Ca<ServerStore>,
    pub(crate) dir: PathBuf,
    pub(crate) pool: Pool,
    pub(crate) metrics: Metrics,
    pub(crate) limits: Limits,
}

/// Opens (or creates) the CA, then serves until SIGTERM or SIGINT.
pub(crate) fn run(args: ServerArgs) -> Result<ExitCode, String> {
    let file = ConfigFile::load(args.config.as_deref())?;
    let server = args.server.over(file.server);
    let ca_settings = args.ca.over(file.ca);
    logging::init(server.log_format.unwrap_or(LogFormat::Text));
    if server.listen.is_none() && server.tls_listen.is_none() {
        return Err("give --listen and/or --tls-listen".to_owned());
    }
    let tls = match (&server.tls_listen, &server.tls_cert, &server.tls_key) {
        (Some(_), Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (Some(_), _, _) => return Err("--tls-listen needs --tls-cert and --tls-key".to_owned()),
        (None, None, None) => None,
        (None, _, _) => return Err("--tls-cert/--tls-key need --tls-listen".to_owned()),
    };
    let dir = args.dir.dir;
    let metrics = Metrics::new();
    // Default: four workers per core. A request's CPU work is bounded by the cores anyway;
    // the extra workers wait on the store's durable writes, which concurrent requests share
    // (group commit), so more requests in flight means fewer syncs per request.
    let workers = server
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, |n| n.get().saturating_mul(4))
        })
        .max(1);
    let key_passphrase = crate::secrets::read_secret(
        ca_settings.key_passphrase_file.as_deref(),
        "SCEP_KEY_PASSPHRASE",
    )?
    .is_some();
    let store = ServerStore::open(&dir, &args.store, workers, key_passphrase)?;
    let place = store.describe(&dir);
    let ca = crate::init::open_in(&dir, store, &place, &ca_settings)?.with_host(Arc::new(
        crate::observe::Audit {
            issued: metrics.issued_counter(),
        },
    ));
    ca_files::publish(&dir, &ca)?;
    let max_connections = server.max_connections.unwrap_or(1024).clamp(1, 1 << 20);
    let secs = |s: Option<Span>, default: u64| s.map_or(Duration::from_secs(default), Span::std);
    let limits = Limits {
        header_timeout: secs(server.header_timeout, 10),
        body_timeout: secs(server.body_timeout, 10),
        idle_timeout: secs(server.idle_timeout, 5),
    };
    let shutdown_timeout = secs(server.shutdown_timeout, 30);
    let app = Arc::new(App {
        ca,
        dir: dir.clone(),
        pool: Pool::new(workers),
        metrics,
        limits,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.clamp(1, 4))
        .max_blocking_threads(workers.saturating_add(4))
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let listeners = Listeners {
        plain: server.listen,
        tls: server.tls_listen.zip(tls),
    };
    let served = runtime.block_on(serve(
        Arc::clone(&app),
        listeners,
        max_connections,
        shutdown_timeout,
    ));
    // Waits for jobs still on the worker pool (a job is never cut short: the store sees
    // whole writes only).
    drop(runtime);
    let app = Arc::try_unwrap(app).map_err(|_| "the CA is still in use at exit".to_owned())?;
    // Closing the CA gives the store's timer lease up: other instances take the timers
    // over at once.
    drop(app.ca.into_store());
    crate::admin::socket::remove(&dir);
    served?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

struct Listeners {
    plain: Option<SocketAddr>,
    tls: Option<(SocketAddr, TlsAcceptor)>,
}

async fn serve(
    app: Arc<App>,
    listeners: Listeners,
    max_connections: usize,
    shutdown_timeout: Duration,
) -> Result<(), String> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut tasks = Vec::new();
    let mut ready = Vec::new();
    if let Some(addr) = listeners.plain {
        let listener = bind(addr).await?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        ready.push(format!("listening on http://{local}/scep"));
        tasks.push(tokio::spawn(accept(
            listener,
            None,
            Arc::clone(&app),
            Arc::clone(&slots),
            stop_rx.clone(),
        )));
    }
    if let Some((addr, acceptor)) = listeners.tls {
        let listener = bind(addr).await?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        ready.push(format!("listening on https://{local}/scep"));
        tasks.push(tokio::spawn(accept(
            listener,
            Some(acceptor),
            Arc::clone(&app),
            Arc::clone(&slots),
            stop_rx.clone(),
        )));
    }
    let admin = crate::admin::socket::bind(&app.dir)?;
    tasks.push(tokio::spawn(crate::admin::socket::serve(
        admin,
        Arc::clone(&app),
        stop_rx.clone(),
    )));
    tasks.push(tokio::spawn(timers::run(Arc::clone(&app), stop_rx.clone())));
    let mut signals = Signals::new()?;
    for line in &ready {
        tracing::info!(workers = app.pool.workers(), max_connections, "{line}");
        print_ready(line);
    }
    let signal = signals.next().await;
    tracing::info!(signal, "shutting down: finishing requests in progress");
    let _ = stop_tx.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(shutdown_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = max_connections.saturating_sub(slots.available_permits()),
            "connections still open after the shutdown timeout are closed"
        );
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

/// Resolves once shutdown has begun (at once if it already has).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across an await.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Prints a ready line on standard output (scripts and tests wait for it).
#[allow(clippy::print_stdout)] // The one line on stdout, by design.
fn print_ready(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listening on {addr}: {e}"))
}

/// Accepts connections while a slot under the cap is free, until shutdown.
async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            () = stopped(&mut stop) => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(ok) => ok,
                Err(e) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => return,
        };
        // Answers leave at once instead of waiting for the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let (app, stop) = (Arc::clone(&app), stop.clone());
        match &tls {
            None => {
                tokio::spawn(conn::serve(stream, peer, app, stop, permit));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let limit = app.limits.header_timeout;
                    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => conn::serve(tls, peer, app, stop, permit).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

/// SIGTERM and SIGINT.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, String> {
        use tokio::signal::unix::{SignalKind, signal};
        let err = |e: std::io::Error| format!("installing signal handlers: {e}");
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(err)?,
            int: signal(SignalKind::interrupt()).map_err(err)?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
