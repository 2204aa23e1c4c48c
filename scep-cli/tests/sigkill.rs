//! Crash safety of `scep server`: SIGKILL it repeatedly while micromdm `scepclient`s
//! enrol, restart it on the same directory, then check that no serial was used twice and that
//! every certificate a client received is in the store (database level Complete: `certs/`).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{Server, assert_own_certificate, require, run};

/// DER of a PEM certificate file, through openssl.
/// A folder of the client's own for its key and certificate: scepclient writes its CSR to
/// `csr.pem` beside the key and reuses it when it exists, so clients sharing a folder send each
/// other's CSR (and rightly get certificates for each other's keys).
fn own_dir(work: &Path, cn: &str) -> std::path::PathBuf {
    let dir = work.join(cn);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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

fn serial_of(pem_or_der: &Path, der: bool) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["x509", "-noout", "-serial", "-in"])
        .arg(pem_or_der);
    if der {
        cmd.args(["-inform", "DER"]);
    }
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().strip_prefix("serial=").unwrap().to_owned();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_ascii_uppercase()
    }
}

#[test]
fn sigkill_during_enrolments_loses_nothing_and_reuses_no_serial() {
    require("scepclient", "scep");
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let work = tmp.path().join("clients");
    std::fs::create_dir_all(&work).unwrap();
    let flags = ["--grant", "auto", "--legacy-algorithms"];

    let mut client_no = 0u32;
    let delays_ms = [120u64, 260, 400, 550, 700, 900];
    for delay in delays_ms {
        let server = Server::start(&dir, &flags);
        let mut clients = Vec::new();
        for _ in 0..4 {
            client_no += 1;
            let cn = format!("crash{client_no}");
            let url = server.url.clone();
            let work = work.clone();
            clients.push(std::thread::spawn(move || {
                run(Command::new("scepclient")
                    .arg("-server-url")
                    .arg(&url)
                    .arg("-private-key")
                    .arg(own_dir(&work, &cn).join("key.pem"))
                    .arg("-certificate")
                    .arg(own_dir(&work, &cn).join("cert.pem"))
                    .args(["-cn", &cn, "-keySize", "1024"])
                    .current_dir(own_dir(&work, &cn)))
            }));
        }
        std::thread::sleep(Duration::from_millis(delay));
        server.kill();
        for c in clients {
            let _ = c.join().unwrap();
        }
    }

    // Restart on the same directory: the CA opens, and one more enrolment still works.
    let server = Server::start(&dir, &flags);
    client_no += 1;
    let cn = format!("crash{client_no}");
    let out = run(Command::new("scepclient")
        .arg("-server-url")
        .arg(&server.url)
        .arg("-private-key")
        .arg(own_dir(&work, &cn).join("key.pem"))
        .arg("-certificate")
        .arg(own_dir(&work, &cn).join("cert.pem"))
        .args(["-cn", &cn, "-keySize", "1024"])
        .current_dir(own_dir(&work, &cn)));
    assert!(
        out.status.success(),
        "enrolment after restarts: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.terminate();

    // Every stored certificate sits under its own serial.
    let mut stored: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("certs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_ascii_uppercase();
        let serial = serial_of(&path, true);
        assert_eq!(serial, name, "{} holds serial {serial}", path.display());
        let der = std::fs::read(&path).unwrap();
        assert!(stored.insert(der, serial).is_none());
    }

    // Every certificate a client received is stored, and no serial was handed out twice.
    let mut received = 0;
    let mut serials = BTreeSet::new();
    for n in 1..=client_no {
        let pem = work.join(format!("crash{n}/cert.pem"));
        if !pem.exists() {
            continue;
        }
        received += 1;
        // S-28: the client's own certificate (scepclient's default OU, O and C), not the CA's.
        let key = work.join(format!("crash{n}/key.pem"));
        let subject = format!("CN=crash{n},OU=MDM,O=scep-client,C=US");
        assert_own_certificate(&pem, &key, &subject, &["01"]);
        let der = der_of(&pem);
        let serial = stored
            .get(&der)
            .unwrap_or_else(|| panic!("crash{n}: certificate received but not in certs/"));
        assert!(
            serials.insert(serial.clone()),
            "serial {serial} issued twice"
        );
    }
    eprintln!(
        "{client_no} clients, {received} received a certificate, {} stored",
        stored.len()
    );
    assert!(received >= 1, "no client ever got a certificate");
    // The serial counter is past every stored serial.
    let stored_serials: BTreeSet<u64> = stored
        .values()
        .map(|s| u64::from_str_radix(s, 16).unwrap())
        .collect();
    assert_eq!(stored_serials.len(), stored.len());
    assert!(
        !stored_serials.contains(&1),
        "serial 1 is the CA certificate's"
    );
}
