//! Manual rollover through the admin interface, then GetNextCACert checked with
//! `openssl cms -verify` against the current CA certificate.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use support::{Server, require, run};

#[test]
fn get_next_ca_cert_verifies_with_openssl_cms_after_admin_rollover() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let ca = tmp.path().join("ca.pem");
    server.ca_pem(&ca);

    // No rollover yet: 404 (C-27).
    let (status, _) = server.get("/scep?operation=GetNextCACert");
    assert_eq!(status, 404);

    assert!(!server.dir.join("ca-next.pem").exists());
    let event = server.admin_ok(&["rollover"]);
    assert!(
        event.starts_with("rollover CA certificate generated: serial 2"),
        "{event}"
    );
    let status_report = server.admin_ok(&["status"]);
    assert!(status_report.contains("Rollover"), "{status_report}");

    let (status, body) = server.get("/scep?operation=GetNextCACert");
    assert_eq!(status, 200);
    let next = tmp.path().join("next.der");
    std::fs::write(&next, &body).unwrap();
    let content = tmp.path().join("content.der");
    let out = run(Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(&next)
        .arg("-CAfile")
        .arg(&ca)
        .arg("-out")
        .arg(&content));
    assert!(
        out.status.success(),
        "openssl cms -verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
        .arg(&content));
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(printed.contains("subject=CN = ROOTCA"), "{printed}");
    // The certificate it yields is the rollover certificate, not the current one.
    let current = std::fs::read_to_string(&ca).unwrap();
    let rollover_pem = printed
        .find("-----BEGIN CERTIFICATE-----")
        .map(|i| printed[i..].to_owned())
        .expect("no certificate in the GetNextCACert content");
    assert_ne!(rollover_pem.trim(), current.trim());
    let rollover = tmp.path().join("rollover.pem");
    std::fs::write(&rollover, &rollover_pem).unwrap();
    // DIR/ca.pem is the current CA certificate, DIR/ca-next.pem the rollover one.
    assert_eq!(
        std::fs::read_to_string(server.dir.join("ca.pem"))
            .unwrap()
            .trim(),
        current.trim()
    );
    assert_eq!(
        std::fs::read_to_string(server.dir.join("ca-next.pem"))
            .unwrap()
            .trim(),
        rollover_pem.trim()
    );
    // It is a self-signed CA certificate of its own; its validity starts when the active CA
    // expires (shadow CA), so the time check is left out.
    let out = run(Command::new("openssl")
        .args(["verify", "-no_check_time", "-CAfile"])
        .arg(&rollover)
        .arg(&rollover));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // rollover-cancel discards it again.
    let event = server.admin_ok(&["rollover-cancel"]);
    assert!(event.starts_with("rollover cancelled"), "{event}");
    let (status, _) = server.get("/scep?operation=GetNextCACert");
    assert_eq!(status, 404);
    assert!(!server.dir.join("ca-next.pem").exists());
    server.terminate();
}
