//! A resident client is killed with SIGKILL while polling, restarted from its saved record,
//! and continues the same transaction until enrolled (issue 5, persistence).
//!
//! The test CA answers over real HTTP on 127.0.0.1 (a thread of this process); the client runs
//! in a child process (this test binary again) and saves its record after every step with
//! `FileStore`. Both sides use the same accelerated clock: one real millisecond is one virtual
//! second, so P = 60 s takes 60 ms.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use client_core::{
    Event, FileStore, HttpTransport, HttpTransportConfig, Instant, StateName, Trustpoint,
    TrustpointStore,
};
use scep_proto::MessageType;
use support::*;

fn real_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Virtual now: T0 + 60 s + one virtual second per real millisecond since `base_ms`.
fn vnow(base_ms: u64) -> Instant {
    at(T0 + 60 + real_ms().saturating_sub(base_ms))
}

fn serve(listener: TcpListener, ca: Arc<Mutex<TestCa>>, base_ms: u64) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let reply = {
            let mut ca = ca.lock().unwrap();
            ca.now = vnow(base_ms);
            ca.handle_raw(&method, &target, &body).unwrap()
        };
        let head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            reply.status,
            reply.content_type.unwrap_or_default(),
            reply.body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&reply.body);
    }
}

#[test]
fn persist_sigkill_while_polling_then_restart_finishes_the_same_transaction() {
    let mut ca = TestCa::new(T0, 730);
    ca.hold = true;
    let fingerprint = ca.fingerprint_sha256();
    let ca = Arc::new(Mutex::new(ca));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/scep", listener.local_addr().unwrap());
    let base_ms = real_ms();
    {
        let ca = Arc::clone(&ca);
        std::thread::spawn(move || serve(listener, ca, base_ms));
    }
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "resident", "--ignored", "--nocapture"])
            .env("RESIDENT_URL", &url)
            .env("RESIDENT_DIR", dir.path())
            .env("RESIDENT_BASE_MS", base_ms.to_string())
            .env("RESIDENT_FP", &fingerprint)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    // Wait for the request and a few polls, then kill the client without warning.
    let deadline = real_ms() + 20_000;
    while ca.lock().unwrap().seen.len() < 3 {
        assert!(real_ms() < deadline, "the client never polled");
        std::thread::sleep(StdDuration::from_millis(10));
    }
    first.kill().unwrap(); // SIGKILL on Unix
    first.wait().unwrap();
    let record = FileStore::new(dir.path().join("trustpoint.bin"))
        .load()
        .unwrap()
        .unwrap();
    let saved = Trustpoint::from_bytes(&record).unwrap();
    // Killed between polls, or with a poll about to go out: both resume the transaction.
    assert!(
        matches!(
            saved.state(),
            StateName::Pending | StateName::AwaitingCertRep
        ),
        "{:?}",
        saved.state()
    );
    let tid = saved.transaction_id().unwrap().clone();
    let before = ca.lock().unwrap().seen.len();
    ca.lock().unwrap().hold = false;
    let second = spawn().wait_with_output().unwrap();
    assert!(
        second.status.success(),
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    let ca = ca.lock().unwrap();
    assert!(
        ca.seen.iter().all(|s| s.transaction_id == tid),
        "one transaction"
    );
    assert_eq!(
        ca.seen
            .iter()
            .filter(|s| s.message_type == MessageType::PkcsReq)
            .count(),
        1,
        "the restarted client only polled"
    );
    assert!(ca.seen.len() > before);
    let done = Trustpoint::from_bytes(
        &FileStore::new(dir.path().join("trustpoint.bin"))
            .load()
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(done.state(), StateName::Enrolled);
}

/// The resident client: restore or create, then step and save until enrolled.
#[test]
#[ignore = "run as a child process by the SIGKILL test"]
fn resident() {
    let url = std::env::var("RESIDENT_URL").unwrap();
    let dir = std::path::PathBuf::from(std::env::var("RESIDENT_DIR").unwrap());
    let base_ms: u64 = std::env::var("RESIDENT_BASE_MS").unwrap().parse().unwrap();
    let store = FileStore::new(dir.join("trustpoint.bin"));
    let mut transport = HttpTransport::new(&url, HttpTransportConfig::default()).unwrap();
    let mut r = rng(real_ms());
    let mut tp = match store.load().unwrap() {
        Some(bytes) => Trustpoint::from_bytes(&bytes).unwrap(),
        None => {
            let mut c = config(None);
            c.path = transport.path().to_string();
            c.ca_fingerprint = Some(std::env::var("RESIDENT_FP").unwrap());
            let mut tp = Trustpoint::new(c).unwrap();
            tp.set_authoritative_time(true, vnow(base_ms));
            tp.authenticate(vnow(base_ms)).unwrap();
            while let Some(req) = tp.poll_request(vnow(base_ms), &mut r) {
                let reply = client_core::Transport::send(&mut transport, &req);
                tp.handle_response(reply, vnow(base_ms), &mut r);
            }
            tp.enroll(vnow(base_ms), None).unwrap();
            tp
        }
    };
    loop {
        while let Some(e) = tp.poll_event() {
            if e == Event::Enrolled {
                store.save(&tp.to_bytes().unwrap()).unwrap();
                return;
            }
        }
        store.save(&tp.to_bytes().unwrap()).unwrap();
        if let Some(req) = tp.poll_request(vnow(base_ms), &mut r) {
            let reply = client_core::Transport::send(&mut transport, &req);
            tp.handle_response(reply, vnow(base_ms), &mut r);
            continue;
        }
        let at = tp.poll_timeout().expect("a timer is armed");
        let now = vnow(base_ms);
        if at > now {
            std::thread::sleep(StdDuration::from_millis(at.saturating_since(now).as_secs()));
        }
        tp.handle_timeout(vnow(base_ms));
    }
}
