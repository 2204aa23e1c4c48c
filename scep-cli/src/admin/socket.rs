//! The server side of DIR/admin.sock.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ca_core::RequestSelector;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::protocol::{Answer, OtpPassword, Reply, Request, Target};
use super::render;
use crate::serve::App;
use crate::{ca_files, clock};

/// The socket's file name inside DIR.
pub(crate) const SOCKET: &str = "admin.sock";
/// The longest request line.
const MAX_LINE: usize = 4096;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket's path.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// The bound socket and the uid allowed to use it.
pub(crate) struct AdminSocket {
    listener: UnixListener,
    owner: u32,
}

/// Binds DIR/admin.sock with mode 0600. A leftover socket file is replaced: the directory
/// store's lock, held by this process, proves no other server runs on DIR.
pub(crate) fn bind(dir: &Path) -> Result<AdminSocket, String> {
    let path = path(dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("removing the old {}: {e}", path.display())),
    }
    let listener =
        UnixListener::bind(&path).map_err(|e| format!("binding {}: {e}", path.display()))?;
    // DIR is 0700, so nobody else could reach the socket between bind and chmod.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("chmod 0600 {}: {e}", path.display()))?;
    // The socket file is ours: its owner is this process's effective uid.
    let owner = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .uid();
    if let Err(why) = private_dir(dir, owner) {
        let _ = std::fs::remove_file(&path);
        return Err(why);
    }
    Ok(AdminSocket { listener, owner })
}

/// DIR holds the CA key, the socket and files written by name: it must belong to the user
/// running the server and be writable by nobody else (an existing folder keeps its mode, so
/// a loose one is refused rather than trusted).
fn private_dir(dir: &Path, owner: u32) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    if meta.uid() != owner {
        return Err(format!(
            "{} belongs to uid {}, not to uid {owner} who runs the server: refusing to use it",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} has mode {mode:03o}, writable by other users: refusing to use it \
             (chmod 700 {})",
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Removes the socket file at exit (best effort).
pub(crate) fn remove(dir: &Path) {
    let _ = std::fs::remove_file(path(dir));
}

/// Answers admin connections until shutdown.
pub(crate) async fn serve(socket: AdminSocket, app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            r = socket.listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = crate::serve::stopped(&mut stop) => return,
        };
        let app = Arc::clone(&app);
        let owner = socket.owner;
        tokio::spawn(async move {
            if let Err(e) = session(stream, owner, app).await {
                tracing::warn!(error = %e, "admin session failed");
            }
        });
    }
}

async fn session(stream: UnixStream, owner: u32, app: Arc<App>) -> Result<(), String> {
    let uid = stream
        .peer_cred()
        .map_err(|e| format!("reading the peer's credentials: {e}"))?
        .uid();
    let (read, mut write) = stream.into_split();
    let answer = if uid == owner {
        match read_request(read).await {
            Ok(request) => {
                let shown = serde_json::to_string(&request).unwrap_or_default();
                let answer = execute(&app, request).await;
                match &answer {
                    Answer::Ok(_) => tracing::info!(uid, request = %shown, "admin"),
                    Answer::Error(e) => {
                        tracing::warn!(uid, request = %shown, error = %e, "admin refused");
                    }
                }
                answer
            }
            Err(e) => Answer::Error(e),
        }
    } else {
        tracing::warn!(uid, owner, "admin connection from another user refused");
        Answer::Error(format!(
            "uid {uid} may not administer this CA (only uid {owner}, who runs the server)"
        ))
    };
    let mut line = serde_json::to_vec(&answer).map_err(|e| e.to_string())?;
    line.push(b'\n');
    write.write_all(&line).await.map_err(|e| e.to_string())?;
    write.shutdown().await.map_err(|e| e.to_string())
}

async fn read_request(read: tokio::net::unix::OwnedReadHalf) -> Result<Request, String> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_LINE as u64));
    tokio::time::timeout(READ_TIMEOUT, reader.read_until(b'\n', &mut line))
        .await
        .map_err(|_| "no request within 10 s".to_owned())?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&line).map_err(|e| format!("bad request: {e}"))
}

fn selector(target: Target) -> RequestSelector {
    match target {
        Target::All => RequestSelector::All,
        Target::Id(id) => RequestSelector::Id(id),
    }
}

/// Runs one request on the worker pool.
async fn execute(app: &Arc<App>, request: Request) -> Answer {
    let job = Arc::clone(app);
    match app.pool.run("admin", move || run(&job, request)).await {
        Ok(Ok(reply)) => Answer::Ok(reply),
        Ok(Err(e)) => Answer::Error(e),
        Err(e) => Answer::Error(e.to_string()),
    }
}

fn run(app: &App, request: Request) -> Result<Reply, String> {
    let ca = &app.ca;
    let now = clock::now();
    let mut rng = clock::rng()?;
    let err = |e: ca_core::CaError| e.to_string();
    let reply = match request {
        Request::Status => Reply::Status(Box::new(render::status(ca, &app.dir, now))),
        Request::Timers => {
            let listing = ca.timer_listing(now);
            Reply::Timers {
                timers: render::timers(&listing),
                text: listing.to_string(),
            }
        }
        Request::Pending => Reply::Requests {
            requests: ca.list_pending().iter().map(render::row).collect(),
        },
        Request::Grant { target } => {
            let serials = ca.grant(selector(target), now, &mut rng).map_err(err)?;
            app.metrics.issued(serials.len() as u64);
            Reply::Granted {
                serials: serials.iter().map(|s| format!("{s:X}")).collect(),
            }
        }
        Request::Reject { target } => Reply::Rejected {
            count: ca.reject(selector(target)).map_err(err)?,
        },
        Request::Remove { target } => Reply::Removed {
            count: ca.remove(selector(target)).map_err(err)?,
        },
        Request::Revoke { serial } => Reply::Revoked {
            serial: format!("{serial:X}"),
            crl_number: ca.revoke(serial, now, &mut rng).map_err(err)?,
        },
        Request::Rollover => {
            let event = ca.rollover(now, &mut rng).map_err(err)?;
            ca_files::publish(&app.dir, ca)?;
            Reply::Event {
                event: render::event_text(&event),
            }
        }
        Request::RolloverCancel => {
            let event = ca.rollover_cancel(now).map_err(err)?;
            ca_files::publish(&app.dir, ca)?;
            Reply::Event {
                event: render::event_text(&event),
            }
        }
        Request::Otp { minutes } => {
            let password = ca.generate_otp(minutes, now, &mut rng).map_err(err)?;
            let minutes = minutes.unwrap_or(ca.config().otp_default_minutes);
            let expires =
                now.saturating_add(pki_timers::Duration::from_minutes(u64::from(minutes)));
            Reply::Otp {
                password: OtpPassword(password),
                expires: expires.to_string(),
            }
        }
    };
    Ok(reply)
}
