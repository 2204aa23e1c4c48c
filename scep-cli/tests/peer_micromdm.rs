//! micromdm `scepclient` (Debian `scep`) and openssl against `scep server`.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use support::{Server, assert_own_certificate, cert_facts, openssl_verify, require, run};

/// The subject `scepclient` requests for `-cn device1` with the flags below (RFC 2253).
const SUBJECT: &str = "CN=device1,OU=interop,O=scep-rs test,C=DE";

fn scepclient(server: &Server, work: &std::path::Path, cn: &str) -> (bool, String) {
    require("scepclient", "scep");
    let out = run(Command::new("scepclient")
        .arg("-server-url")
        .arg(&server.url)
        .arg("-private-key")
        .arg(work.join(format!("{cn}.key")))
        .arg("-certificate")
        .arg(work.join(format!("{cn}.pem")))
        .args(["-cn", cn, "-keySize", "2048"])
        .args([
            "-organization",
            "scep-rs test",
            "-ou",
            "interop",
            "-country",
            "DE",
        ])
        .current_dir(work));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// S-28: micromdm's client stores the first certificate of the SUCCESS bag as its identity.
/// It enrols (PKCSReq), then, run again with the certificate it stored, renews (RenewalReq
/// signed by that certificate). Both answers must be the client's own certificate: its key,
/// its subject, a new serial — with the CA certificate (serial 01) in the same bag.
#[test]
fn s28_scepclient_enrols_then_renews_and_keeps_its_own_certificates() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "auto", "--legacy-algorithms"],
    );
    let ca = tmp.path().join("ca.pem");
    server.ca_pem(&ca);
    let ca_serial = cert_facts(&ca).serial;
    let (cert, key) = (
        tmp.path().join("device1.pem"),
        tmp.path().join("device1.key"),
    );

    let (ok, text) = scepclient(&server, tmp.path(), "device1");
    assert!(ok, "scepclient PKCSReq failed: {text}");
    let first = assert_own_certificate(&cert, &key, SUBJECT, &[&ca_serial]);
    openssl_verify(&ca, &cert);

    // Second run: the stored certificate exists, so scepclient sends a RenewalReq signed by it.
    let (ok, text) = scepclient(&server, tmp.path(), "device1");
    assert!(ok, "scepclient RenewalReq failed: {text}");
    let second = assert_own_certificate(&cert, &key, SUBJECT, &[&ca_serial, &first.serial]);
    openssl_verify(&ca, &cert);

    // Both certificates are in the store (database level Complete): serials 2 and 3.
    assert_eq!(
        (first.serial.as_str(), second.serial.as_str()),
        ("02", "03")
    );
    let status = server.admin_ok(&["status"]);
    assert!(
        status.contains("Last certificate issued serial number (hex): 3"),
        "{status}"
    );
    server.terminate();
}

#[test]
fn scepclient_without_legacy_algorithms_gets_bad_alg() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let (_, text) = scepclient(&server, tmp.path(), "device2");
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
