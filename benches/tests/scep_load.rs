//! `scep-load` against `scep server` on 127.0.0.1: the exact last-line format with zero
//! errors under `--grant auto`, and PENDING counted as an error under `--grant manual`.
//!
//! Binaries of another package are not built by `cargo test -p benches`, so the test builds
//! `scep` itself with the same target directory, in the *other* profile than the one the
//! tests run in (release when testing in debug). That keeps the binary the scep-cli tests
//! run, built with their features, untouched, and never waits on the lock of the build that
//! is running these tests.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Builds the `scep` binary and returns its path.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<test binary>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let release = profile_dir.file_name().is_none_or(|n| n != "release");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build", "--quiet", "--locked", "-p", "scep-cli", "--bin", "scep",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        cargo.arg("--release");
    }
    let status = cargo.status().unwrap();
    assert!(status.success(), "building the scep binary failed");
    let bin = target_dir
        .join(if release { "release" } else { "debug" })
        .join("scep");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// A running `scep server`; killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: &PathBuf, grant: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .arg("server")
            .arg("--dir")
            .arg(dir.path())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--grant",
                grant,
                "--key-bits",
                "1024",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("scep server did not print its listening line");
        };
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs scep-load and returns (stdout, stderr), asserting a zero exit.
fn scep_load(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scep-load"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "scep-load failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// The fields of `throughput=<f> errors=<n> p50_ms=<f> p99_ms=<f>`, checking the exact form
/// (names, order, 1 and 2 decimals).
fn parse_last_line(stdout: &str) -> (f64, u64, f64, f64) {
    let line = stdout.lines().last().expect("no output");
    let fields: Vec<(&str, &str)> = line
        .split(' ')
        .map(|kv| kv.split_once('=').unwrap_or_else(|| panic!("{line:?}")))
        .collect();
    let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        ["throughput", "errors", "p50_ms", "p99_ms"],
        "{line:?}"
    );
    let decimals = |v: &str| v.split_once('.').map_or(0, |(_, d)| d.len());
    assert_eq!(decimals(fields[0].1), 1, "{line:?}");
    assert!(fields[1].1.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
    assert_eq!(decimals(fields[2].1), 2, "{line:?}");
    assert_eq!(decimals(fields[3].1), 2, "{line:?}");
    (
        fields[0].1.parse().unwrap(),
        fields[1].1.parse().unwrap(),
        fields[2].1.parse().unwrap(),
        fields[3].1.parse().unwrap(),
    )
}

#[test]
fn scep_load_against_scep_server() {
    let bin = server_binary();

    // --grant auto: every request is a SUCCESS.
    let auto = Server::start(&bin, "auto");
    let (stdout, stderr) = scep_load(&[
        "--url",
        &auto.url,
        "--seconds",
        "2",
        "--concurrency",
        "2",
        "--requests",
        "400",
        "--key-bits",
        "1024",
        "--cipher",
        "3des",
        "--digest",
        "sha256",
    ]);
    let (throughput, errors, p50, p99) = parse_last_line(&stdout);
    assert_eq!(errors, 0, "{stdout}\n{stderr}");
    assert!(throughput > 0.0, "{stdout}\n{stderr}");
    assert!(p50 > 0.0 && p50 <= p99, "{stdout}");
    drop(auto);

    // --grant manual: every answer is PENDING, and PENDING is an error. Few messages, so
    // they run out before the time is up, which scep-load reports on stderr.
    let manual = Server::start(&bin, "manual");
    let (stdout, stderr) = scep_load(&[
        "--url",
        &manual.url,
        "--seconds",
        "5",
        "--concurrency",
        "2",
        "--requests",
        "10",
    ]);
    let (throughput, errors, _, _) = parse_last_line(&stdout);
    assert_eq!(errors, 10, "{stdout}\n{stderr}");
    assert!(throughput.abs() < f64::EPSILON, "{stdout}");
    assert!(stdout.contains("errors_by_kind: pending=10"), "{stdout}");
    assert!(
        stderr.contains("all 10 pre-built messages were sent"),
        "{stderr}"
    );
}

#[test]
fn scep_load_help_and_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_scep-load"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--url",
        "--seconds",
        "--concurrency",
        "--cipher",
        "--digest",
    ] {
        assert!(text.contains(flag), "{text}");
    }
    for bad in [
        &["--seconds", "1"][..],
        &["--url", "http://127.0.0.1:1/scep", "--cipher", "rc2"],
        &["--url", "http://127.0.0.1:1/scep", "--concurrency", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_scep-load"))
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}
