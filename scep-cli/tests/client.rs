//! `scep client` against `scep server` (both the real binary, on 127.0.0.1): enrolment and
//! renewal over HTTPS with the certificate checked to be the client's own; SIGINT while
//! PENDING, a grant, a restart that completes the same transaction; exit codes.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{
    Server, assert_own_certificate, cert_facts, public_key_of, require, run, scep_binary,
};

fn openssl(args: &[&str], dir: &Path) -> String {
    let out = run(Command::new("openssl").args(args).current_dir(dir));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A TLS CA and a server certificate for 127.0.0.1 issued by it: (tlsca.pem, tls.pem, tls.key).
fn tls_files(work: &Path) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tlsca.key",
            "-out",
            "tlsca.pem",
            "-subj",
            "/CN=scep-rs test TLS CA",
            "-days",
            "2",
        ],
        work,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tls.key",
            "-out",
            "tls.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        work,
    );
    std::fs::write(
        work.join("tls.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "tlsca.pem",
            "-CAkey",
            "tlsca.key",
            "-CAcreateserial",
            "-out",
            "tls.pem",
            "-days",
            "2",
            "-extfile",
            "tls.ext",
        ],
        work,
    );
    (
        work.join("tlsca.pem"),
        work.join("tls.pem"),
        work.join("tls.key"),
    )
}

/// `scep client <args>` with a time limit.
fn client(args: &[&str]) -> Output {
    run(Command::new(scep_binary()).arg("client").args(args))
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Names in `dir` that are not the finished files (temporary files of an atomic write).
fn stray_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect()
}

#[test]
fn k5_k6_scep_client_enrols_and_renews_over_https_with_its_own_key() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let (tls_ca, tls_cert, tls_key) = tls_files(work);
    let server = Server::start(
        &work.join("ca"),
        &[
            "--grant",
            "auto",
            "--key-bits",
            "1024",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            tls_cert.to_str().unwrap(),
            "--tls-key",
            tls_key.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let ca_pem = server.dir.join("ca.pem");
    // The fingerprint as `openssl x509 -fingerprint` prints it, pasted as is.
    let fingerprint = openssl(
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            ca_pem.to_str().unwrap(),
        ],
        work,
    );
    let ca_serial = cert_facts(&ca_pem).serial;
    // Without the TLS CA the server's certificate is not trusted: a sentence naming the host
    // and TLS's reason, exit 95 (network), nothing requested.
    let untrusted = work.join("untrusted");
    let out = client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        untrusted.to_str().unwrap(),
        "--subject",
        "CN=nobody",
        "--trust-on-first-use",
    ]);
    assert_eq!(out.status.code(), Some(95), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("TLS with the CA at 127.0.0.1:{}", server.port)),
        "{err}"
    );
    let dir = work.join("client");
    let d = dir.to_str().unwrap();
    let subject = "CN=client1,O=scep-rs";
    let out = client(&[
        "enroll",
        "--url",
        &server.url,
        "--tls-ca-file",
        tls_ca.to_str().unwrap(),
        "--dir",
        d,
        "--subject",
        subject,
        "--san-dns",
        "client1.example",
        "--san-ip",
        "192.0.2.9",
        "--ca-fingerprint",
        fingerprint.trim(),
        "--key-bits",
        "1024",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let first = assert_own_certificate(&cert, &key, subject, &[&ca_serial]);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let sans = openssl(
        &[
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            cert.to_str().unwrap(),
        ],
        work,
    );
    assert!(
        sans.contains("DNS:client1.example") && sans.contains("IP Address:192.0.2.9"),
        "{sans}"
    );
    assert_eq!(cert_facts(&dir.join("ca.pem")).serial, ca_serial);
    let chain = std::fs::read_to_string(dir.join("chain.pem")).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(stray_files(&dir).is_empty(), "{:?}", stray_files(&dir));

    // Manual renewal, same key: a new serial for the same subject and key (URL from DIR/url).
    let hook_file = work.join("hook.txt");
    let hook_cmd = format!(
        "echo \"$SCEP_EVENT $SCEP_CERT\" > '{}'",
        hook_file.display()
    );
    let out = client(&[
        "renew",
        "--dir",
        d,
        "--tls-ca-file",
        tls_ca.to_str().unwrap(),
        "--post-renew-command",
        &hook_cmd,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second = assert_own_certificate(&cert, &key, subject, &[&ca_serial, &first.serial]);
    assert_eq!(
        second.public_key, first.public_key,
        "same key without --regenerate"
    );
    let hook = std::fs::read_to_string(&hook_file).unwrap_or_default();
    assert_eq!(hook.trim(), format!("renewed {}", cert.display()));

    // With --regenerate: a new key in key.pem, and the certificate carries it.
    // URL and TLS trust are remembered from `enroll` (DIR/url, DIR/tls-roots.pem).
    let out = client(&["renew", "--dir", d, "--regenerate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let third = assert_own_certificate(
        &cert,
        &key,
        subject,
        &[&ca_serial, &first.serial, &second.serial],
    );
    assert_ne!(third.public_key, first.public_key);
    assert_eq!(public_key_of(&key), third.public_key);
    assert_eq!(mode(&key), 0o600);

    let out = client(&["status", "--dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Certificate\n  Status: Available",
        &format!("Certificate Serial Number (hex): {}", third.serial),
        "CA Certificate\n  Status: Available",
        "State: Enrolled",
        "Auto-enroll: 80%",
        "RENEW",
    ] {
        assert!(status.contains(want), "{want:?} missing:\n{status}");
    }
    server.terminate();
}

#[test]
fn k11_sigint_while_pending_then_grant_then_restart_completes_the_same_transaction() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let server = Server::start(
        &work.join("ca"),
        &["--grant", "manual", "--key-bits", "1024"],
    );
    let dir = work.join("client");
    let d = dir.to_str().unwrap().to_owned();
    let args = [
        "client",
        "enroll",
        "--url",
        &server.url,
        "--dir",
        &d,
        "--subject",
        "CN=pending1,O=scep-rs",
        "--trust-on-first-use",
        "--key-bits",
        "1024",
    ];
    let mut child = Command::new(scep_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    let pending_line = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(40))
            .unwrap_or_else(|_| panic!("no pending line; so far:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("pending:") {
            break line;
        }
    };
    let id = pending_line
        .split("transactionID ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(pending_line.contains("next poll at 20"), "{pending_line}");
    // Ctrl-C while it waits.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(!exit.success(), "{exit}");
    // The record is saved; nothing half-written is visible.
    assert!(dir.join("trustpoint.bin").exists());
    assert!(!dir.join("cert.pem").exists() && !dir.join("key.pem").exists());
    assert!(stray_files(&dir).is_empty(), "{:?}", stray_files(&dir));
    let out = client(&["status", "--dir", &d]);
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(status.contains("State: Pending"), "{status}");
    assert!(
        status.contains(&format!("Transaction under way: {id}")),
        "{status}"
    );
    assert!(status.contains("POLL"), "{status}");
    // The administrator sees that transaction and grants it.
    let pending = server.admin_ok(&["pending"]);
    assert!(pending.contains(&id), "{id} not in:\n{pending}");
    server.admin_ok(&["grant", "all"]);
    // Restart: the same transaction completes at once.
    let started = std::time::Instant::now();
    let out = run(Command::new(scep_binary()).args(args));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    let ca_serial = cert_facts(&server.dir.join("ca.pem")).serial;
    assert_own_certificate(
        &dir.join("cert.pem"),
        &dir.join("key.pem"),
        "CN=pending1,O=scep-rs",
        &[&ca_serial],
    );
    // One request in the CA's table: the restart polled, it did not send a new request.
    let table = server.admin_ok(&["pending"]);
    assert_eq!(table.matches("pending1").count(), 1, "{table}");
    assert!(table.contains(&id), "{table}");
    assert!(stray_files(&dir).is_empty(), "{:?}", stray_files(&dir));
    server.terminate();
}

#[test]
fn scep_client_exit_codes_name_the_cause() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let server = Server::start(&work.join("ca"), &["--grant", "none", "--key-bits", "1024"]);
    let dir = |n: &str| work.join(n).to_str().unwrap().to_owned();
    // badRequest: 72.
    let out = client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        &dir("a"),
        "--subject",
        "CN=a",
        "--trust-on-first-use",
        "--key-bits",
        "1024",
    ]);
    assert_eq!(out.status.code(), Some(72), "{}", text(&out));
    assert!(text(&out).contains("badRequest"), "{}", text(&out));
    // Wrong fingerprint: 91, and the served fingerprints in the message.
    let out = client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        &dir("b"),
        "--subject",
        "CN=b",
        "--ca-fingerprint",
        &"ab".repeat(32),
    ]);
    assert_eq!(out.status.code(), Some(91), "{}", text(&out));
    assert!(text(&out).contains("SHA-256"), "{}", text(&out));
    // No terminal to ask and no fingerprint: refused, 91.
    let out = client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        &dir("c"),
        "--subject",
        "CN=c",
    ]);
    assert_eq!(out.status.code(), Some(91), "{}", text(&out));
    // Nobody listens: 95, naming the host and the OS error.
    let port = server.port;
    server.terminate();
    let out = client(&[
        "enroll",
        "--url",
        &format!("http://127.0.0.1:{port}/scep"),
        "--dir",
        &dir("d"),
        "--subject",
        "CN=d",
        "--trust-on-first-use",
    ]);
    assert_eq!(out.status.code(), Some(95), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("os error"),
        "{err}"
    );
    // A bad fingerprint text is a command-line error, 2.
    let out = client(&[
        "enroll",
        "--url",
        "http://127.0.0.1:1/scep",
        "--dir",
        &dir("e"),
        "--subject",
        "CN=e",
        "--ca-fingerprint",
        "sha256:0011",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Every flag is explained, and the exit codes are listed.
    let out = client(&["enroll", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--url",
        "--ca-fingerprint",
        "--trust-on-first-use",
        "--subject",
        "--key ",
        "--key-bits",
        "--challenge-file",
        "--auto-enroll",
        "--regenerate",
        "--post-renew-command",
        "--legacy-algorithms",
        "--san-dns",
        "--san-ip",
        "--san-email",
        "--dir",
        "--timeout",
        "Exit codes:",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

/// Starts `scep client <args>` in the background with standard error read line by line.
fn spawn_client(args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(scep_binary())
        .arg("client")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Waits for a line starting with `prefix`.
fn wait_line(rx: &mpsc::Receiver<String>, prefix: &str) -> String {
    let mut seen = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(40))
            .unwrap_or_else(|_| panic!("no {prefix:?} line; so far:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with(prefix) {
            return line;
        }
    }
}

#[test]
fn k4_run_continues_a_pending_enrolment_after_ctrl_c_and_stays_resident_with_renewal_armed() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let server = Server::start(
        &work.join("ca"),
        &["--grant", "manual", "--key-bits", "1024"],
    );
    let dir = work.join("client");
    let d = dir.to_str().unwrap().to_owned();
    let (mut child, rx) = spawn_client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        &d,
        "--subject",
        "CN=resident1,O=scep-rs",
        "--trust-on-first-use",
        "--key-bits",
        "1024",
    ]);
    wait_line(&rx, "pending:");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    server.admin_ok(&["grant", "all"]);
    // `run` (URL remembered in DIR/url) picks the pending request up at once.
    let hook_file = work.join("hook.txt");
    let hook = format!("echo \"$SCEP_EVENT\" >> '{}'", hook_file.display());
    let (mut run, rx) = spawn_client(&[
        "run",
        "--dir",
        &d,
        "--post-renew-command",
        &hook,
        "--reenroll-after-expiry",
    ]);
    wait_line(&rx, "enrolled");
    // Files are written after the event line: wait for the hook.
    for _ in 0..200 {
        if hook_file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = run.kill();
    let _ = run.wait();
    assert_eq!(
        std::fs::read_to_string(&hook_file).unwrap().trim(),
        "enrolled"
    );
    let ca_serial = cert_facts(&server.dir.join("ca.pem")).serial;
    assert_own_certificate(
        &dir.join("cert.pem"),
        &dir.join("key.pem"),
        "CN=resident1,O=scep-rs",
        &[&ca_serial],
    );
    let out = client(&["status", "--dir", &d]);
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(status.contains("State: Enrolled"), "{status}");
    assert!(status.contains("RENEW"), "renewal armed:\n{status}");
    // K-5a: `run --reenroll-after-expiry` is kept in the record.
    assert!(status.contains("Re-enrol after expiry: on"), "{status}");
    // A trustpoint enrolled with --no-auto-enroll: `run` refuses at once instead of idling.
    let off = work.join("off");
    let o = off.to_str().unwrap();
    server.admin_ok(&["status"]);
    let (mut child, rx) = spawn_client(&[
        "enroll",
        "--url",
        &server.url,
        "--dir",
        o,
        "--subject",
        "CN=manual1",
        "--trust-on-first-use",
        "--key-bits",
        "1024",
        "--no-auto-enroll",
    ]);
    wait_line(&rx, "pending:");
    server.admin_ok(&["grant", "all"]);
    let _ = child.kill();
    let _ = child.wait();
    let out = client(&["run", "--dir", o]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("auto-enroll off"), "{}", text(&out));
    server.terminate();
}
