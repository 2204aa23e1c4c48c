//! strongSwan's strict SCEP client (`pki --scepca`, `pki --scep`; Debian `strongswan-pki`)
//! against `scep server`.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::{
    Server, assert_own_certificate, cert_facts, openssl_verify, pki_gen_key as gen_key, require,
    run, text,
};

fn setup(work: &Path, server: &Server) -> std::path::PathBuf {
    require("pki", "strongswan-pki");
    require("openssl", "openssl");
    let ca = work.join("ca.pem");
    let out = run(Command::new("pki")
        .args([
            "--scepca",
            "--url",
            &server.url,
            "--outform",
            "pem",
            "--caout",
        ])
        .arg(&ca));
    assert!(
        out.status.success() && ca.exists(),
        "pki --scepca: {}",
        text(&out)
    );
    ca
}

/// `pki --scep` with the given key, DN and extra flags; the certificate goes to `out`.
fn scep(server: &Server, ca: &Path, key: &Path, dn: &str, extra: &[&str]) -> (Output, Vec<u8>) {
    let out = run(Command::new("pki")
        .args(["--scep", "--url", &server.url, "--dn", dn, "--in"])
        .arg(key)
        .arg("--cacert-enc")
        .arg(ca)
        .arg("--cacert-sig")
        .arg(ca)
        .args(["--outform", "pem"])
        .args(extra));
    let cert = out.stdout.clone();
    (out, cert)
}

#[test]
fn strongswan_enrols_with_3des_and_aes_sha256_under_auto_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let ca = setup(tmp.path(), &server);
    let key = tmp.path().join("key.pem");
    gen_key(&key);
    // S-28: each answer is the client's own certificate with a new serial (same key twice).
    let mut serials = vec![cert_facts(&ca).serial];
    for cipher in ["des3", "aes"] {
        let (out, cert) = scep(
            &server,
            &ca,
            &key,
            &format!("CN=strongswan-{cipher}"),
            &[
                "--cipher",
                cipher,
                "--digest",
                "sha256",
                "--maxpolltime",
                "5",
            ],
        );
        assert!(out.status.success(), "pki --scep {cipher}: {}", text(&out));
        let path = tmp.path().join(format!("{cipher}.pem"));
        std::fs::write(&path, cert).unwrap();
        openssl_verify(&ca, &path);
        let earlier: Vec<&str> = serials.iter().map(String::as_str).collect();
        let facts =
            assert_own_certificate(&path, &key, &format!("CN=strongswan-{cipher}"), &earlier);
        serials.push(facts.serial);
    }
    server.terminate();
}

#[test]
fn strongswan_manual_grant_then_authorized_renewal() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "manual", "--grant-renewals"],
    );
    let ca = setup(tmp.path(), &server);
    let key1 = tmp.path().join("key1.pem");
    gen_key(&key1);
    let dn = "CN=strongswan-manual";

    // PENDING: the client polls every second while the admin grants the request.
    let url = server.url.clone();
    let (ca2, key2) = (ca.clone(), key1.clone());
    let client = std::thread::spawn(move || {
        run(Command::new("pki")
            .args(["--scep", "--url", &url, "--dn", dn, "--in"])
            .arg(&key2)
            .arg("--cacert-enc")
            .arg(&ca2)
            .arg("--cacert-sig")
            .arg(&ca2)
            .args(["--outform", "pem", "--interval", "1", "--maxpolltime", "40"]))
    });
    let mut id = None;
    for _ in 0..200 {
        let pending = server.admin_ok(&["pending"]);
        if let Some(line) = pending
            .lines()
            .find(|l| l.contains(" pending ") && l.contains("strongswan-manual"))
        {
            id = Some(line.split(' ').next().unwrap().to_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = id.expect("the request never showed up as pending");
    let granted = server.admin_ok(&["grant", &id]);
    assert_eq!(granted, "granted: certificate serial 2 issued\n");
    let out = client.join().unwrap();
    assert!(out.status.success(), "pki --scep (manual): {}", text(&out));
    let cert1 = tmp.path().join("cert1.pem");
    std::fs::write(&cert1, &out.stdout).unwrap();
    openssl_verify(&ca, &cert1);
    let ca_serial = cert_facts(&ca).serial;
    let first = assert_own_certificate(&cert1, &key1, dn, &[&ca_serial]);

    // Renewal signed with the old certificate and key: auto-granted at once.
    let key_new = tmp.path().join("key-new.pem");
    gen_key(&key_new);
    let (out, cert) = scep(
        &server,
        &ca,
        &key_new,
        dn,
        &[
            "--cert",
            cert1.to_str().unwrap(),
            "--key",
            key1.to_str().unwrap(),
            "--interval",
            "1",
            "--maxpolltime",
            "3",
        ],
    );
    assert!(out.status.success(), "renewal: {}", text(&out));
    let cert2 = tmp.path().join("cert2.pem");
    std::fs::write(&cert2, cert).unwrap();
    openssl_verify(&ca, &cert2);
    // The renewal certifies the new key, not the signing one.
    assert_own_certificate(&cert2, &key_new, dn, &[&ca_serial, &first.serial]);

    // A self-signed request for the same subject stays PENDING (the client gives up).
    let key3 = tmp.path().join("key3.pem");
    gen_key(&key3);
    let (out, _) = scep(
        &server,
        &ca,
        &key3,
        dn,
        &["--interval", "1", "--maxpolltime", "2"],
    );
    assert!(
        !out.status.success(),
        "self-signed request was issued: {}",
        text(&out)
    );
    let pending = server.admin_ok(&["pending"]);
    assert!(
        pending
            .lines()
            .any(|l| l.contains(" pending ") && l.contains("strongswan-manual")),
        "{pending}"
    );
    server.terminate();
}

#[test]
fn strongswan_enrols_against_the_rollover_ca_and_openssl_verifies_the_rollover_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let ca = setup(tmp.path(), &server);
    server.admin_ok(&["rollover"]);

    // The rollover CA certificate, from GetNextCACert (checked with openssl cms).
    let (status, body) = server.get("/scep?operation=GetNextCACert");
    assert_eq!(status, 200);
    let next = tmp.path().join("next.der");
    std::fs::write(&next, body).unwrap();
    let content = tmp.path().join("content.der");
    let out = run(Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(&next)
        .arg("-CAfile")
        .arg(&ca)
        .arg("-out")
        .arg(&content));
    assert!(out.status.success(), "openssl cms -verify: {}", text(&out));
    let out = run(Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
        .arg(&content));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = printed.find("-----BEGIN CERTIFICATE-----").unwrap();
    let rollover = tmp.path().join("rollover.pem");
    std::fs::write(&rollover, &printed[start..]).unwrap();

    // A request encrypted to the rollover certificate gets a rollover identity certificate.
    let key = tmp.path().join("key.pem");
    gen_key(&key);
    let out = run(Command::new("pki")
        .args([
            "--scep",
            "--url",
            &server.url,
            "--dn",
            "CN=strongswan-rollover",
            "--in",
        ])
        .arg(&key)
        .arg("--cacert-enc")
        .arg(&rollover)
        .arg("--cacert-sig")
        .arg(&rollover)
        .args(["--outform", "pem", "--maxpolltime", "5"]));
    assert!(
        out.status.success(),
        "pki --scep (rollover): {}",
        text(&out)
    );
    let cert = tmp.path().join("rollover-id.pem");
    std::fs::write(&cert, &out.stdout).unwrap();
    // It starts when the rollover CA becomes active, hence no time check.
    let verify = |anchor: &Path| {
        run(Command::new("openssl")
            .args(["verify", "-no_check_time", "-CAfile"])
            .arg(anchor)
            .arg(&cert))
    };
    let out = verify(&rollover);
    assert!(
        out.status.success(),
        "against the rollover CA: {}",
        text(&out)
    );
    let out = verify(&ca);
    assert!(
        !out.status.success(),
        "a rollover identity certificate verified against the current CA"
    );
    let earlier = [cert_facts(&ca).serial, cert_facts(&rollover).serial];
    assert_own_certificate(
        &cert,
        &key,
        "CN=strongswan-rollover",
        &[&earlier[0], &earlier[1]],
    );
    server.terminate();
}
