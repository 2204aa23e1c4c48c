//! SIGTERM while micromdm `scepclient`s enrol: `scep server` exits 0, leaves no partial
//! file, and every certificate a client received with SUCCESS is in the store.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, assert_own_certificate, require, run};

fn der_of(pem: &Path) -> Vec<u8> {
    let out = run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(pem));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn sigterm_under_load_exits_0_with_no_partial_file_and_every_success_stored() {
    require("scepclient", "scep");
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let work = tmp.path().join("clients");
    std::fs::create_dir_all(&work).unwrap();
    let mut server = Server::start(
        &dir,
        &[
            "--grant",
            "auto",
            "--legacy-algorithms",
            "--key-bits",
            "1024",
        ],
    );
    let url = server.url.clone();
    let began = Instant::now();
    let mut clients = Vec::new();
    let mut n = 0u32;
    let mut signalled = false;
    // New clients keep starting for 2 s; SIGTERM comes after 1 s, in the middle of them.
    while began.elapsed() < Duration::from_secs(2) {
        if !signalled && began.elapsed() > Duration::from_secs(1) {
            let status = Command::new("kill")
                .args(["-TERM", &server.pid().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            signalled = true;
        }
        n += 1;
        // A folder per client: scepclient reuses a csr.pem it finds in its folder.
        let (url, own, cn) = (
            url.clone(),
            work.join(format!("load{n}")),
            format!("load{n}"),
        );
        std::fs::create_dir_all(&own).unwrap();
        clients.push(std::thread::spawn(move || {
            run(Command::new("scepclient")
                .arg("-server-url")
                .arg(&url)
                .arg("-private-key")
                .arg(own.join("key.pem"))
                .arg("-certificate")
                .arg(own.join("cert.pem"))
                .args(["-cn", &cn, "-keySize", "1024"])
                .current_dir(&own))
        }));
        std::thread::sleep(Duration::from_millis(60));
    }
    let mut exit = None;
    for _ in 0..400 {
        if let Some(s) = server.child.try_wait().unwrap() {
            exit = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit = exit.expect("the server did not exit within 20 s of SIGTERM");
    assert!(exit.success(), "exit status {exit}: {}", server.log_text());
    for c in clients {
        let _ = c.join().unwrap();
    }
    let log = server.log_text();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );

    let mut files = Vec::new();
    all_files(&dir, &mut files);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            !name.starts_with(".tmp-") && !name.ends_with(".new"),
            "partial file left: {}",
            f.display()
        );
    }
    assert!(!dir.join("admin.sock").exists(), "admin socket left behind");
    let stored: Vec<Vec<u8>> = std::fs::read_dir(dir.join("certs"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let mut received = 0;
    for i in 1..=n {
        let pem = work.join(format!("load{i}/cert.pem"));
        if pem.exists() {
            received += 1;
            // The client's own certificate (scepclient's default OU, O and C), not the CA's.
            let subject = format!("CN=load{i},OU=MDM,O=scep-client,C=US");
            assert_own_certificate(
                &pem,
                &work.join(format!("load{i}/key.pem")),
                &subject,
                &["01"],
            );
            assert!(
                stored.contains(&der_of(&pem)),
                "load{i} received a certificate that is not in certs/"
            );
        }
    }
    eprintln!(
        "{n} clients, {received} received a certificate, {} stored",
        stored.len()
    );
    assert!(received >= 1, "no client got a certificate before SIGTERM");
    // Restarting on the same directory works.
    let server = Server::start(&dir, &["--grant", "auto", "--legacy-algorithms"]);
    server.terminate();
}
