//! Hostile clients against `scep server` on 127.0.0.1 (issue 14): lying Content-Lengths,
//! idle bodies, an endless request line, /admin over TCP, and the admin socket's owner check.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, scep_binary};

/// Worker threads of the servers these tests start (`--threads 2` in `Server::start`).
const WORKERS: usize = 2;

fn caps_answered(server: &Server) {
    let (status, body) = server.get("/scep?operation=GetCACaps");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("SHA-256"));
}

#[test]
fn lying_content_lengths_then_close_leave_every_worker_answering() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--key-bits", "1024"]);
    for length in [
        i64::MAX.to_string(),
        u64::MAX.to_string(),
        "99999999999".to_owned(),
    ] {
        // More such requests than workers, so every worker would have met one.
        for _ in 0..(WORKERS * 3) {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            let head = format!(
                "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n"
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(b"\x30\x82").unwrap();
            drop(s);
        }
        for _ in 0..(WORKERS * 2) {
            caps_answered(&server);
        }
    }
    // The process is alive and still answers PKI work.
    let (status, _) = server.get("/scep?operation=GetCACert");
    assert_eq!(status, 200);
    server.terminate();
}

#[test]
fn idle_connections_announcing_bodies_neither_stall_caps_nor_stay_open() {
    let tmp = tempfile::tempdir().unwrap();
    let body_timeout = 3;
    let server = Server::start(
        &tmp.path().join("ca"),
        &[
            "--key-bits",
            "1024",
            "--body-timeout",
            "3s",
            "--header-timeout",
            "10s",
        ],
    );
    let mut idle = Vec::new();
    for _ in 0..(4 * WORKERS) {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(
            b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\n\r\n\x30\x82\x07",
        )
        .unwrap();
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    caps_answered(&server);
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "GetCACaps took {:?} beside idle bodies",
        began.elapsed()
    );
    // Each idle connection is answered (408) and closed within the body timeout.
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(body_timeout + 3)))
            .unwrap();
        let mut got = Vec::new();
        let r = s.read_to_end(&mut got);
        assert!(
            r.is_ok(),
            "connection not closed within the body timeout: {r:?}"
        );
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert!(began.elapsed() < Duration::from_secs(body_timeout + 3));
    server.terminate();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_64_mib_request_line_gets_431_or_400_and_little_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--key-bits", "1024"]);
    caps_answered(&server);
    let before = rss_kib(server.pid());
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let chunk = vec![b'A'; 1 << 20];
    let mut line = b"GET /scep?operation=GetCACaps&message=".to_vec();
    line.extend_from_slice(&chunk[..1000]);
    let _ = s.write_all(&line);
    // The server answers and closes long before 64 MiB: stop writing when it does.
    for _ in 0..64 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"),
        "{text:.200}"
    );
    let after = rss_kib(server.pid());
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );
    caps_answered(&server);
    server.terminate();
}

#[test]
fn admin_paths_on_tcp_are_404_whatever_the_host_and_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--key-bits", "1024"]);
    for (method, path) in [
        ("POST", "/admin/otp"),
        ("POST", "/admin/grant?id=all"),
        ("GET", "/admin/status"),
        ("GET", "/admin"),
        ("POST", "/ADMIN/revoke?serial=1"),
        ("GET", "http://127.0.0.1/admin/pending"),
    ] {
        for (host, origin) in [
            ("127.0.0.1", None),
            ("localhost", Some("http://localhost")),
            ("rebind.attacker.example", Some("https://attacker.example")),
        ] {
            let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
            if let Some(o) = origin {
                req.push_str(&format!("Origin: {o}\r\n"));
            }
            req.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
            let (status, head, body) = server.raw(req.as_bytes());
            assert_eq!(status, 404, "{method} {path} Host {host}: {head}");
            assert!(!String::from_utf8_lossy(&body).contains("password"));
        }
    }
    // No one-time password was made and nothing changed.
    let status = server.admin_ok(&["status"]);
    assert!(status.contains("Rollover status: none"), "{status}");
    server.terminate();
}

/// Runs `scep admin --dir DIR status` as uid/gid 65534 (nobody).
fn admin_as_nobody(bin: &std::path::Path, dir: &std::path::Path) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin)
        .arg("admin")
        .arg("--dir")
        .arg(dir)
        .arg("status")
        .output()
        .unwrap()
}

#[test]
fn the_admin_socket_is_0600_and_refuses_another_uid() {
    assert_eq!(
        std::fs::metadata("/proc/self").unwrap().uid(),
        0,
        "this test switches to another uid and needs root (CI runs as root)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let server = Server::start(&dir, &["--key-bits", "1024"]);
    let socket = dir.join("admin.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), 0);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // A copy of the binary the other user can run.
    let bin = tmp.path().join("scep");
    std::fs::copy(scep_binary(), &bin).unwrap();
    for p in [tmp.path(), bin.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The file modes stop it first.
    let out = admin_as_nobody(&bin, &dir);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ermission denied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With the modes opened, the server's peer-uid check still refuses.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = admin_as_nobody(&bin, &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("uid 65534 may not administer"), "{err}");
    assert!(out.stdout.is_empty());
    // The owner still may.
    server.admin_ok(&["status"]);
    assert!(
        server
            .log_text()
            .contains("admin connection from another user refused")
    );
    server.terminate();
}

#[test]
fn non_scep_requests_get_s8_codes_and_the_server_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "auto", "--key-bits", "1024"],
    );
    let (status, head, _) = server.raw(
        b"DELETE /scep?operation=GetCACert HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405, "{head}");
    assert!(head.to_ascii_lowercase().contains("\r\nallow:"), "{head}");
    let (status, head, _) =
        server.raw(b"GET /scep HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 400, "{head}");
    // 300 KiB announced: 413 before the body is read.
    let big = vec![0x30u8; 300 * 1024];
    let mut req = format!(
        "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .into_bytes();
    req.extend_from_slice(&big);
    let (status, head, _) = server.raw(&req);
    assert_eq!(status, 413, "{head}");
    // The same body chunked (no Content-Length): 413 once the cap is passed.
    let mut req = b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for part in big.chunks(64 * 1024) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (status, head, _) = server.raw(&req);
    assert_eq!(status, 413, "{head}");
    let mut req = b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n".to_vec();
    req.extend_from_slice(b"hello");
    let (status, head, _) = server.raw(&req);
    assert!(status == 400 || status == 200, "{head}");
    let (status, body) = server.get("/anything/else?operation=GetCACaps");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("SHA-256"));
    server.terminate();
}

/// Opens a connection that pipelines `count` GET /metrics and never reads an answer: the
/// server's send buffer and the client's receive buffer fill, and hyper's write blocks.
fn slow_reader(port: u16, count: usize) -> std::thread::JoinHandle<TcpStream> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let one = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        for _ in 0..count {
            // The server stops reading once its writes block: stop writing then too.
            if s.write_all(one).is_err() {
                break;
            }
        }
        s
    })
}

/// A GetCACaps on a new connection; how long it took, or `None` if no answer came within
/// `wait`.
fn caps_within(port: u16, wait: Duration) -> Option<Duration> {
    let began = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(
        b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    String::from_utf8_lossy(&answer)
        .starts_with("HTTP/1.1 200")
        .then(|| began.elapsed())
}

#[test]
fn slow_readers_do_not_hold_every_connection_slot() {
    // The review's attack: pipelined requests whose answers are never read keep hyper's write
    // pending; before the write-progress deadline such a connection held its slot for ever.
    let tmp = tempfile::tempdir().unwrap();
    let max_connections = 3;
    let server = Server::start(
        &tmp.path().join("ca"),
        &[
            "--key-bits",
            "1024",
            "--max-connections",
            &max_connections.to_string(),
            "--body-timeout",
            "3s",
            "--idle-timeout",
            "3s",
        ],
    );
    let attackers: Vec<_> = (0..max_connections)
        .map(|_| slow_reader(server.port, 4000))
        .collect();
    let held: Vec<TcpStream> = attackers.into_iter().map(|t| t.join().unwrap()).collect();
    // Each attacker connection now has answers stuck in both buffers.
    let took = caps_within(server.port, Duration::from_secs(20));
    assert!(
        took.is_some(),
        "GetCACaps not answered within 20 s while {max_connections} slow readers held the slots"
    );
    drop(held);
    server.terminate();
}

/// `scep server` on `dir` under `timeout`: a server that starts keeps running and is killed
/// (exit 124); one that refuses exits at once.
fn start_briefly(dir: &std::path::Path) -> std::process::Output {
    Command::new("timeout")
        .arg("10")
        .arg(scep_binary())
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "2",
            "--dir",
        ])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn a_folder_other_users_may_write_is_refused() {
    // Review finding: an existing DIR kept its mode (0777 or 0770) and the server trusted it,
    // though the CA key, the admin socket and files written by name live there.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    Server::start(&dir, &["--key-bits", "1024"]).terminate();
    for mode in [0o777, 0o770] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = start_briefly(&dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(
            out.status.code(),
            Some(124),
            "started with DIR mode {mode:o}"
        );
        assert!(!out.status.success());
        assert!(stderr.contains("writable by"), "{stderr}");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    Server::start(&dir, &[]).terminate();
}

#[test]
fn ca_pem_is_never_written_through_a_planted_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    Server::start(&dir, &["--key-bits", "1024"]).terminate();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // The old fixed temp name, and ca.pem missing so that the next start writes it.
    std::os::unix::fs::symlink(&victim, dir.join(".ca.pem.new")).unwrap();
    std::fs::remove_file(dir.join("ca.pem")).unwrap();
    let server = Server::start(&dir, &[]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(
        std::fs::read_to_string(dir.join("ca.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    server.terminate();
}
