//! An example SCEP server: `ca_core::Ca` over plain HTTP with a directory store.
//!
//! ```text
//! scep-server --dir <DIR> --listen 127.0.0.1:<PORT> [--grant auto|manual] [--legacy-algorithms] …
//! scep-server admin --url http://127.0.0.1:<PORT> <command> [arg]
//! ```
//!
//! The server answers SCEP on every path (S-1) except `/admin/…`, which carries the admin
//! operations for the CA it holds open (the directory store is locked while it runs). See the
//! crate README, "Running the example server".
#![allow(clippy::print_stdout)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration as StdDuration, SystemTime};

use ca_core::{Ca, CaConfig, CaEvent, DatabaseLevel, DirStore, GrantMode, RequestSelector};
use pki_timers::{Duration, Instant, Overlap};
use rand::rngs::StdRng;
use scep_proto::CapsProfile;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Bodies above this get 413 from the CA (S-6); reading one byte more is enough to know.
const MAX_BODY: u64 = 256 * 1024 + 1;

const USAGE: &str = "\
usage: scep-server --dir <DIR> --listen <ADDR:PORT> [options]
       scep-server admin --url http://127.0.0.1:<PORT> <command> [arg]

server options:
  --grant auto|manual|none       grant mode (default manual)
  --grant-renewals               auto-grant renewals signed by a valid certificate of this CA
  --legacy-algorithms            accept DES and MD5 from clients
  --no-ca-in-success             send only the issued certificate in a SUCCESS (default:
                                 issued certificate first, then the CA certificate)
  --issuer <DN>                  issuer name on first start (default CN=ROOTCA)
  --name <LABEL>                 server name / key label (default ROOTCA)
  --key-bits <N>                 CA key size (default 2048)
  --lifetime-cert-days <N>       issued certificate lifetime (default 365)
  --lifetime-ca-days <N>         CA certificate lifetime (default 1095)
  --lifetime-crl-hours <N>       CRL lifetime (default 6)
  --lifetime-request-hours <N>   pending request lifetime (default 168)
  --auto-rollover <DAYS>         generate the shadow CA this long before expiry
  --caps full|ios                GetCACaps profile (default full)
  --database-level minimal|names|complete   (default complete)
  --archive-password <PW>        write the CA key archive
  --threads <N>                  worker threads (default: one per core)
  --allow-non-loopback           allow listening on a non-loopback address

admin commands: status, pending, grant <id|all>, reject <id|all>, remove <id|all>,
  revoke <serial-hex>, rollover, rollover-cancel, otp [minutes]";

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let result = if args.first().is_some_and(|a| a == "admin") {
        admin_client(args.into_iter().skip(1))
    } else {
        serve(args)
    };
    if let Err(e) = result {
        eprintln!("scep-server: {e}");
        std::process::exit(1);
    }
}

fn now() -> Instant {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Instant::from_unix(secs)
}

fn rng() -> Result<StdRng, BoxError> {
    let mut os = rand::rngs::SysRng;
    Ok(<StdRng as rand::SeedableRng>::try_from_rng(&mut os)?)
}

struct ServerArgs {
    dir: PathBuf,
    listen: SocketAddr,
    allow_non_loopback: bool,
    threads: Option<usize>,
    config: CaConfig,
}

fn parse_server(args: Vec<std::ffi::OsString>) -> Result<ServerArgs, BoxError> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut dir = None;
    let mut listen = None;
    let mut allow_non_loopback = false;
    let mut threads = None;
    let mut config = CaConfig::default();
    config.database_level = DatabaseLevel::Complete;
    while let Some(arg) = p.next()? {
        match arg {
            Long("dir") => dir = Some(PathBuf::from(p.value()?)),
            Long("listen") => listen = Some(p.value()?.parse::<SocketAddr>()?),
            Long("allow-non-loopback") => allow_non_loopback = true,
            Long("threads") => threads = Some(p.value()?.parse::<usize>()?),
            Long("grant") => {
                config.grant = match p.value()?.string()?.as_str() {
                    "auto" => GrantMode::Auto,
                    "manual" => GrantMode::Manual,
                    "none" => GrantMode::None,
                    other => return Err(format!("--grant: unknown mode {other:?}").into()),
                }
            }
            Long("grant-renewals") => config.grant_auto_trustpoint = true,
            Long("legacy-algorithms") => config.legacy_algorithms = true,
            Long("no-ca-in-success") => config.ca_cert_in_success = false,
            Long("issuer") => config.issuer_name = p.value()?.string()?,
            Long("name") => config.name = p.value()?.string()?,
            Long("key-bits") => config.key_bits = p.value()?.parse()?,
            Long("lifetime-cert-days") => {
                config.lifetime_certificate = Duration::from_days(p.value()?.parse()?);
            }
            Long("lifetime-ca-days") => {
                config.lifetime_ca_certificate = Duration::from_days(p.value()?.parse()?);
            }
            Long("lifetime-crl-hours") => {
                config.lifetime_crl = Duration::from_hours(p.value()?.parse()?);
            }
            Long("lifetime-request-hours") => {
                config.lifetime_enrollment_request = Duration::from_hours(p.value()?.parse()?);
            }
            Long("auto-rollover") => {
                let days: u64 = p.value()?.parse()?;
                config.auto_rollover =
                    Some(Overlap::new(days, 0, 0).map_err(|e| format!("--auto-rollover: {e}"))?);
            }
            Long("caps") => {
                config.caps_profile = match p.value()?.string()?.as_str() {
                    "full" => CapsProfile::Full,
                    "ios" => CapsProfile::IosLike,
                    other => return Err(format!("--caps: unknown profile {other:?}").into()),
                }
            }
            Long("database-level") => {
                config.database_level = match p.value()?.string()?.as_str() {
                    "minimal" => DatabaseLevel::Minimal,
                    "names" => DatabaseLevel::Names,
                    "complete" => DatabaseLevel::Complete,
                    other => return Err(format!("--database-level: unknown {other:?}").into()),
                }
            }
            Long("archive-password") => config.archive_password = Some(p.value()?.string()?),
            Long("help") | Short('h') => {
                // Ignore a closed pipe (`--help | head`).
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("{}\n{USAGE}", arg.unexpected()).into()),
        }
    }
    Ok(ServerArgs {
        dir: dir.ok_or("--dir is required")?,
        listen: listen.ok_or("--listen is required")?,
        allow_non_loopback,
        threads,
        config,
    })
}

fn serve(args: Vec<std::ffi::OsString>) -> Result<(), BoxError> {
    let args = parse_server(args)?;
    if !args.listen.ip().is_loopback() && !args.allow_non_loopback {
        return Err(format!(
            "refusing to listen on non-loopback {} (the admin endpoints have no authentication); \
             pass --allow-non-loopback to override",
            args.listen
        )
        .into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;

    std::fs::create_dir_all(&args.dir)?;
    let store = DirStore::open(&args.dir)?;
    let mut rng = rng()?;
    let ca = Arc::new(Ca::open(args.config, store, now(), true, &mut rng)?);

    let server = Arc::new(
        tiny_http::Server::from_listener(listener(args.listen)?, None)
            .map_err(|e| e.to_string())?,
    );
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or("listener has no IP address")?;

    let workers = args
        .threads
        .unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (server, ca, stop) = (Arc::clone(&server), Arc::clone(&ca), Arc::clone(&stop));
        handles.push(thread::spawn(move || worker(&server, &ca, &stop)));
    }
    {
        let (ca, stop) = (Arc::clone(&ca), Arc::clone(&stop));
        handles.push(thread::spawn(move || timer_loop(&ca, &stop)));
    }

    println!("listening on http://{addr}/scep");
    std::io::stdout().flush()?;

    while !stop.load(Ordering::Relaxed) {
        thread::sleep(StdDuration::from_millis(50));
    }
    server.unblock();
    for h in handles {
        let _ = h.join();
    }
    eprintln!("scep-server: stopped");
    Ok(())
}

fn worker(server: &tiny_http::Server, ca: &Ca<DirStore>, stop: &AtomicBool) {
    let mut rng = match rng() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scep-server: worker: {e}");
            stop.store(true, Ordering::Relaxed);
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(StdDuration::from_millis(200)) {
            Ok(Some(request)) => answer(request, ca, &mut rng),
            Ok(None) => {}
            Err(e) => {
                eprintln!("scep-server: accept: {e}");
                thread::sleep(StdDuration::from_millis(50));
            }
        }
    }
}

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn answer(mut request: tiny_http::Request, ca: &Ca<DirStore>, rng: &mut StdRng) {
    let method = request.method().as_str().to_owned();
    let target = request.url().to_owned();
    let mut body = Vec::new();
    if let Err(e) = request.as_reader().take(MAX_BODY).read_to_end(&mut body) {
        eprintln!("scep-server: reading body: {e}");
        let _ = request.respond(tiny_http::Response::empty(400));
        return;
    }
    if target == "/admin" || target.starts_with("/admin/") || target.starts_with("/admin?") {
        let loopback = request.remote_addr().is_some_and(|a| a.ip().is_loopback());
        let (status, text) = if loopback {
            admin_endpoint(ca, &method, &target, rng)
        } else {
            (
                403,
                "admin endpoints answer loopback clients only\n".to_owned(),
            )
        };
        let mut response =
            tiny_http::Response::from_data(text.into_bytes()).with_status_code(status);
        if let Some(h) = header("Content-Type", "text/plain; charset=utf-8") {
            response.add_header(h);
        }
        let _ = request.respond(response);
        return;
    }
    let http = ca.handle(&method, &target, &body, now(), rng);
    eprintln!(
        "scep-server: {method} {} -> {} ({} bytes)",
        target.split('&').next().unwrap_or(""),
        http.status,
        http.body.len()
    );
    let mut response = tiny_http::Response::from_data(http.body).with_status_code(http.status);
    if let Some(h) = header("Content-Type", http.content_type) {
        response.add_header(h);
    }
    if let Some(allow) = http.allow.and_then(|a| header("Allow", a)) {
        response.add_header(allow);
    }
    let _ = request.respond(response);
}

fn query_param<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn selector(target: &str) -> Result<RequestSelector, String> {
    match query_param(target, "id") {
        Some("all") => Ok(RequestSelector::All),
        Some(n) => n
            .parse()
            .map(RequestSelector::Id)
            .map_err(|_| format!("bad request id {n:?}")),
        None => Err("missing ?id=<N|all>".to_owned()),
    }
}

fn event_text(e: &CaEvent) -> String {
    format!("{e:?}\n")
}

/// One admin operation; returns the HTTP status and a plain-text answer.
fn admin_endpoint(
    ca: &Ca<DirStore>,
    method: &str,
    target: &str,
    rng: &mut StdRng,
) -> (u16, String) {
    let path = target.split('?').next().unwrap_or("");
    let op = path.trim_start_matches("/admin").trim_start_matches('/');
    let t = now();
    let want = match op {
        "status" | "pending" | "timers" => "GET",
        "grant" | "reject" | "remove" | "revoke" | "rollover" | "rollover-cancel" | "otp" => "POST",
        _ => return (404, format!("unknown admin command {op:?}\n")),
    };
    if method != want {
        return (405, format!("/admin/{op} takes {want}\n"));
    }
    let result: Result<String, String> = match op {
        "status" => Ok(format!("{}\n{}", ca.status(t), ca.timer_listing(t))),
        "timers" => Ok(format!("{}", ca.timer_listing(t))),
        "pending" => Ok(ca
            .list_pending()
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {} {} {}{}\n",
                    r.id,
                    r.status,
                    r.fingerprint,
                    r.transaction_id,
                    r.subject,
                    if r.to_rollover { " (rollover)" } else { "" }
                )
            })
            .collect()),
        "grant" => selector(target).and_then(|s| {
            ca.grant(s, t, rng)
                .map(|serials| {
                    serials
                        .iter()
                        .map(|s| format!("issued serial {s:X}\n"))
                        .collect()
                })
                .map_err(|e| e.to_string())
        }),
        "reject" => selector(target).and_then(|s| {
            ca.reject(s)
                .map(|n| format!("rejected {n}\n"))
                .map_err(|e| e.to_string())
        }),
        "remove" => selector(target).and_then(|s| {
            ca.remove(s)
                .map(|n| format!("removed {n}\n"))
                .map_err(|e| e.to_string())
        }),
        "revoke" => match query_param(target, "serial").map(|s| u64::from_str_radix(s, 16)) {
            Some(Ok(serial)) => ca
                .revoke(serial, t, rng)
                .map(|n| format!("revoked {serial:X}; CRL number {n}\n"))
                .map_err(|e| e.to_string()),
            _ => Err("missing or bad ?serial=<hex>".to_owned()),
        },
        "rollover" => ca
            .rollover(t, rng)
            .map(|e| event_text(&e))
            .map_err(|e| e.to_string()),
        "rollover-cancel" => ca
            .rollover_cancel(t)
            .map(|e| event_text(&e))
            .map_err(|e| e.to_string()),
        "otp" => {
            let minutes = match query_param(target, "minutes").map(str::parse::<u32>) {
                None => Ok(None),
                Some(Ok(m)) => Ok(Some(m)),
                Some(Err(_)) => Err("bad ?minutes=".to_owned()),
            };
            minutes.and_then(|m| {
                ca.generate_otp(m, t, rng)
                    .map(|p| format!("{p}\n"))
                    .map_err(|e| e.to_string())
            })
        }
        _ => return (404, format!("unknown admin command {op:?}\n")),
    };
    match result {
        Ok(text) => (200, text),
        Err(e) => (409, format!("error: {e}\n")),
    }
}

fn timer_loop(ca: &Ca<DirStore>, stop: &AtomicBool) {
    let mut rng = match rng() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scep-server: timer: {e}");
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let t = now();
        match ca.next_wakeup() {
            Some(at) if at <= t => match ca.on_timer(t, &mut rng) {
                Ok(events) => {
                    for e in events {
                        eprintln!("scep-server: timer: {e:?}");
                    }
                }
                Err(e) => {
                    eprintln!("scep-server: timer: {e}");
                    thread::sleep(StdDuration::from_secs(1));
                }
            },
            // Sleep in short steps so SIGTERM and newly armed timers are seen promptly.
            _ => thread::sleep(StdDuration::from_millis(250)),
        }
    }
}

fn admin_client(args: impl Iterator<Item = std::ffi::OsString>) -> Result<(), BoxError> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut url = None;
    let mut words = Vec::new();
    while let Some(arg) = p.next()? {
        match arg {
            Long("url") => url = Some(p.value()?.string()?),
            Value(v) => words.push(v.string()?),
            _ => return Err(format!("{}\n{USAGE}", arg.unexpected()).into()),
        }
    }
    let url = url.ok_or("admin: --url is required")?;
    let base = url.trim_end_matches('/');
    let base = base.strip_suffix("/scep").unwrap_or(base);
    let (command, arg) = match words.as_slice() {
        [c] => (c.as_str(), None),
        [c, a] => (c.as_str(), Some(a.as_str())),
        _ => return Err(format!("admin: expected <command> [arg]\n{USAGE}").into()),
    };
    let (get, query) = match (command, arg) {
        ("status" | "pending" | "timers", None) => (true, String::new()),
        ("grant" | "reject" | "remove", Some(a)) => (false, format!("?id={a}")),
        ("revoke", Some(a)) => (false, format!("?serial={a}")),
        ("rollover" | "rollover-cancel", None) | ("otp", None) => (false, String::new()),
        ("otp", Some(m)) => (false, format!("?minutes={m}")),
        _ => return Err(format!("admin: bad command {command:?}\n{USAGE}").into()),
    };
    let full = format!("{base}/admin/{command}{query}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = if get {
        agent.get(&full).call()?
    } else {
        agent.post(&full).send_empty()?
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    print!("{text}");
    if status != 200 {
        return Err(format!("admin {command}: HTTP {status}").into());
    }
    Ok(())
}

/// The listening socket, with TCP_NODELAY set so every accepted connection inherits it (Linux
/// copies it to accepted sockets). tiny_http writes the headers and a body larger than its 1 KiB
/// buffer in two sends; with Nagle on, the body then waits for the client's delayed ACK, about
/// 40 ms per answer, which capped each connection near 20 requests per second.
fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
