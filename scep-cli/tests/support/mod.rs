//! Shared helpers for the tests that run the `scep` binary on 127.0.0.1.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `scep` binary cargo built for these tests.
pub fn scep_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scep"))
}

/// Fails with the Debian package name when a peer program is missing.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` not found: install the Debian package `{package}` (.ci/test does)"
    );
}

/// A running `scep server` on 127.0.0.1 with an OS-chosen port.
pub struct Server {
    pub child: Child,
    /// Where its log (standard error) goes.
    pub log: PathBuf,
    pub url: String,
    pub base: String,
    pub port: u16,
    pub dir: PathBuf,
}

impl Server {
    /// Starts `scep server` on `dir` with extra flags and waits for its `listening on` line.
    pub fn start(dir: &Path, flags: &[&str]) -> Self {
        Self::start_with(dir, flags, &[])
    }

    /// A server on a PostgreSQL store (`flags` name it): with the key passphrase that
    /// `--store postgres://` demands.
    pub fn start_pg(dir: &Path, flags: &[&str]) -> Self {
        Self::start_with(dir, flags, &[("SCEP_KEY_PASSPHRASE", "pg test passphrase")])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let log = dir.with_extension("log");
        let mut child = Command::new(scep_binary())
            .arg("server")
            .arg("--dir")
            .arg(dir)
            .args(if flags.contains(&"--tls-listen") {
                &["--threads", "2"][..]
            } else {
                &["--listen", "127.0.0.1:0", "--threads", "2"][..]
            })
            .args(flags)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(45)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not print its listening line in time");
            }
        };
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(
            (url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"))
                && url.ends_with("/scep"),
            "{url}"
        );
        let base = url.trim_end_matches("/scep").to_owned();
        let port = base.rsplit(':').next().unwrap().parse().unwrap();
        Self {
            child,
            log,
            url,
            base,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// SIGTERM, then waits for a clean exit (status 0).
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut ok = None;
        for _ in 0..200 {
            if let Some(s) = self.child.try_wait().unwrap() {
                ok = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let s = ok.expect("server did not stop within 10 s of SIGTERM");
        assert!(s.success(), "server exited with {s} after SIGTERM");
    }

    /// SIGKILL, no cleanup.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs `scep admin --dir DIR <args>`.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(scep_binary())
            .arg("admin")
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Like [`Server::admin`], asserting success; returns stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "admin {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A raw HTTP/1.1 exchange; returns (status, headers, body).
    pub fn raw(&self, request: &[u8]) -> (u16, String, Vec<u8>) {
        raw_http(self.port, request)
    }

    /// GET `target` and return (status, body).
    pub fn get(&self, target: &str) -> (u16, Vec<u8>) {
        let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let (s, _, b) = self.raw(req.as_bytes());
        (s, b)
    }

    /// Writes the CA certificate (GetCACert) as PEM into `path`.
    pub fn ca_pem(&self, path: &Path) {
        let (status, der) = self.get("/scep?operation=GetCACert");
        assert_eq!(status, 200);
        std::fs::write(path, pem("CERTIFICATE", &der)).unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one request on a fresh connection and reads the whole answer.
pub fn raw_http(port: u16, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may answer (413) before the whole body is written: ignore write errors.
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if complete(&buf) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, body)
}

fn complete(buf: &[u8]) -> bool {
    let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| buf.len() >= split + 4 + n)
}

/// PEM armour.
pub fn pem(label: &str, der: &[u8]) -> String {
    use std::fmt::Write as _;
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for c in der.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                b64.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", std::str::from_utf8(line).unwrap());
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// Runs a command with a time limit of 50 s; returns its output.
pub fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let out_pipe = child.stdout.take().unwrap();
    let err_pipe = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = BufReader::new(out_pipe).read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = BufReader::new(err_pipe).read_to_end(&mut v);
        v
    });
    let mut status = None;
    for _ in 0..500 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within 50 s");
        }
    };
    Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

/// `openssl verify -CAfile ca cert`, asserting OK.
pub fn openssl_verify(ca: &Path, cert: &Path) {
    let out = run(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .arg(cert));
    assert!(
        out.status.success(),
        "openssl verify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a peer-written certificate file says about itself, read by openssl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// `openssl x509 -subject -nameopt RFC2253`, without the `subject=` prefix.
    pub subject: String,
    /// The serial in upper-case hex, as openssl prints it.
    pub serial: String,
    /// The SubjectPublicKeyInfo, PEM.
    pub public_key: String,
}

fn openssl_text(args: &[&str], path: &Path) -> String {
    let out = run(Command::new("openssl").args(args).arg(path));
    assert!(
        out.status.success(),
        "openssl {args:?} {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Subject, serial and public key of the PEM certificate at `cert`.
pub fn cert_facts(cert: &Path) -> CertFacts {
    let subject = openssl_text(
        &["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"],
        cert,
    );
    let serial = openssl_text(&["x509", "-noout", "-serial", "-in"], cert);
    CertFacts {
        subject: subject.trim().trim_start_matches("subject=").to_owned(),
        serial: serial.trim().trim_start_matches("serial=").to_owned(),
        public_key: openssl_text(&["x509", "-noout", "-pubkey", "-in"], cert),
    }
}

/// The public key (SubjectPublicKeyInfo, PEM) of the private key at `key`.
pub fn public_key_of(key: &Path) -> String {
    openssl_text(&["pkey", "-pubout", "-in"], key)
}

/// S-28 "assert identity, not plausibility": the certificate at `cert` is the one its
/// requester asked for — its public key is the request key at `key`, its subject is
/// `subject` (RFC 2253), and its serial is none of `earlier_serials` (the CA's own among
/// them). Returns its facts. Verifying against the CA is not enough: the CA certificate
/// verifies too.
pub fn assert_own_certificate(
    cert: &Path,
    key: &Path,
    subject: &str,
    earlier_serials: &[&str],
) -> CertFacts {
    let facts = cert_facts(cert);
    assert_eq!(
        facts.public_key,
        public_key_of(key),
        "{} does not carry the requester's key: {facts:?}",
        cert.display()
    );
    assert_eq!(facts.subject, subject, "{}: wrong subject", cert.display());
    assert!(
        !earlier_serials.contains(&facts.serial.as_str()),
        "{}: serial {} is not new (earlier: {earlier_serials:?})",
        cert.display(),
        facts.serial
    );
    facts
}

/// A program's stdout then stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh 2048-bit RSA key from strongSwan's `pki --gen`, PEM, written to `path`.
pub fn pki_gen_key(path: &Path) {
    let out = run(Command::new("pki").args([
        "--gen",
        "--type",
        "rsa",
        "--size",
        "2048",
        "--outform",
        "pem",
    ]));
    assert!(out.status.success(), "pki --gen: {}", text(&out));
    std::fs::write(path, &out.stdout).unwrap();
}
