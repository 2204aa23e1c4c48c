//! micromdm `scepclient` (Debian `scep`) and openssl against the example server.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use std::process::Command;

use server_support::{Server, openssl_verify, require, run};

fn scepclient(server: &Server, work: &std::path::Path, cn: &str) -> std::process::Output {
    require("scepclient", "scep");
    run(Command::new("scepclient")
        .arg("-server-url")
        .arg(&server.url)
        .arg("-private-key")
        .arg(work.join(format!("{cn}.key")))
        .arg("-certificate")
        .arg(work.join(format!("{cn}.pem")))
        .args(["-cn", cn, "-keySize", "2048"])
        .current_dir(work))
}

#[test]
fn scepclient_enrols_with_legacy_algorithms_and_openssl_verifies() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "auto", "--legacy-algorithms"],
    );
    let out = scepclient(&server, tmp.path(), "device1");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scepclient failed: {text}");
    let cert = tmp.path().join("device1.pem");
    assert!(cert.exists(), "no certificate written: {text}");
    let ca = tmp.path().join("ca.pem");
    server.ca_pem(&ca);
    openssl_verify(&ca, &cert);
    // The certificate is in the store (database level Complete).
    let status = server.admin_ok(&["status"]);
    assert!(
        status.contains("Last certificate issued serial number (hex): 2"),
        "{status}"
    );
    server.terminate();
}

#[test]
fn scepclient_without_legacy_algorithms_gets_bad_alg() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let out = scepclient(&server, tmp.path(), "device2");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !tmp.path().join("device2.pem").exists(),
        "a DES request got a certificate: {text}"
    );
    assert!(text.contains("badAlg"), "expected FAILURE badAlg: {text}");
    // Nothing was issued: only the CA certificate (serial 1) exists.
    let status = server.admin_ok(&["status"]);
    assert!(
        status.contains("Last certificate issued serial number (hex): 1"),
        "{status}"
    );
    server.terminate();
}
