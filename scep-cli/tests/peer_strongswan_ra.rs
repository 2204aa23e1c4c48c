//! strongSwan (`pki --scepca`, `pki --scep`; Debian `strongswan-pki`) against `scep server
//! --ra`: the CA+RA GetCACert answer (S-7, S-30, S-31), requests encrypted to the RA and
//! CertReps signed by it (C-6, C-7), and the rollover RA of GetNextCACert (S-33).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{
    Server, assert_own_certificate, cert_facts, openssl_verify, pki_gen_key as gen_key, require,
    run, text,
};

/// The subject of a PEM certificate as openssl prints it (RFC 2253).
fn subject(cert: &Path) -> String {
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(cert));
    assert!(out.status.success(), "openssl x509: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The notBefore of a PEM certificate as openssl prints it.
fn start_date(cert: &Path) -> String {
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", "-startdate", "-in"])
        .arg(cert));
    assert!(out.status.success(), "openssl x509: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `pki --scepca`: the CA certificate and the RA certificate, as strongSwan sorts them.
fn scepca(work: &Path, server: &Server) -> (PathBuf, PathBuf) {
    require("pki", "strongswan-pki");
    require("openssl", "openssl");
    let (ca, ra) = (work.join("ca.pem"), work.join("ra.pem"));
    let out = run(Command::new("pki")
        .args([
            "--scepca",
            "--url",
            &server.url,
            "--outform",
            "pem",
            "--caout",
        ])
        .arg(&ca)
        .arg("--raout")
        .arg(&ra));
    assert!(
        out.status.success() && ca.exists() && ra.exists(),
        "pki --scepca: {}",
        text(&out)
    );
    (ca, ra)
}

/// `pki --scep` encrypting to `enc`, checking the answer's signature with `sig`.
fn scep(server: &Server, key: &Path, dn: &str, enc: &Path, sig: &Path, ca: &Path) -> Output {
    run(Command::new("pki")
        .args(["--scep", "--url", &server.url, "--dn", dn, "--in"])
        .arg(key)
        .arg("--cacert-enc")
        .arg(enc)
        .arg("--cacert-sig")
        .arg(sig)
        .arg("--cacert")
        .arg(ca)
        .args(["--outform", "pem", "--maxpolltime", "5"]))
}

#[test]
fn s07_s31_c06_c07_strongswan_enrols_through_the_ra() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "auto", "--ra-subject", "CN=ROOTCA-RA"],
    );
    let (ca, ra) = scepca(tmp.path(), &server);
    // OpenSSL reads the GetCACert answer as PKCS #7: the CA certificate, then the RA.
    let (status, body) = server.get("/scep?operation=GetCACert");
    assert_eq!(status, 200);
    let bag = tmp.path().join("bag.der");
    std::fs::write(&bag, body).unwrap();
    let out = run(Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-noout", "-in"])
        .arg(&bag));
    assert!(out.status.success(), "openssl pkcs7: {}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let subjects: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("subject"))
        .collect();
    assert_eq!(subjects.len(), 2, "{printed}");
    assert!(subjects[0].ends_with("CN = ROOTCA"), "{printed}");
    assert!(subjects[1].ends_with("CN = ROOTCA-RA"), "{printed}");
    // strongSwan told the CA from the RA; the RA is issued by the CA.
    assert_eq!(subject(&ca), "subject=CN=ROOTCA");
    assert_eq!(subject(&ra), "subject=CN=ROOTCA-RA");
    openssl_verify(&ca, &ra);

    let key = tmp.path().join("key.pem");
    gen_key(&key);
    let dn = "CN=strongswan-ra";
    let out = scep(&server, &key, dn, &ra, &ra, &ca);
    assert!(
        out.status.success(),
        "pki --scep via the RA: {}",
        text(&out)
    );
    let cert = tmp.path().join("cert.pem");
    std::fs::write(&cert, &out.stdout).unwrap();
    openssl_verify(&ca, &cert);
    // The client's own certificate: its key, its subject, a serial after the CA's and RA's.
    let earlier = [cert_facts(&ca).serial, cert_facts(&ra).serial];
    assert_own_certificate(&cert, &key, dn, &[&earlier[0], &earlier[1]]);

    server.terminate();
}

#[test]
fn s33_strongswan_gets_the_rollover_ra_and_enrols_with_the_rollover_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto", "--ra"]);
    let (ca, ra) = scepca(tmp.path(), &server);
    server.admin_ok(&["rollover"]);

    // GetNextCACert, verified with the active CA by openssl: the rollover CA, then its RA.
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
    let blocks: Vec<&str> = printed
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|b| b.split("-----END CERTIFICATE-----").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "{printed}");
    let write = |name: &str, b64: &str| {
        let path = tmp.path().join(name);
        std::fs::write(
            &path,
            format!("-----BEGIN CERTIFICATE-----{b64}-----END CERTIFICATE-----\n"),
        )
        .unwrap();
        path
    };
    let (rollover, rollover_ra) = (
        write("rollover.pem", blocks[0]),
        write("next-ra.pem", blocks[1]),
    );
    assert_eq!(subject(&rollover), "subject=CN=ROOTCA");
    assert_eq!(subject(&rollover_ra), "subject=CN=ROOTCA-RA");
    assert_ne!(cert_facts(&rollover_ra).serial, cert_facts(&ra).serial);

    // The rollover RA is issued by the rollover CA and, like it, valid from the activation.
    let out = run(Command::new("openssl")
        .args(["verify", "-no_check_time", "-CAfile"])
        .arg(&rollover)
        .arg(&rollover_ra));
    assert!(out.status.success(), "rollover RA: {}", text(&out));
    assert_eq!(start_date(&rollover_ra), start_date(&rollover));

    // Before the activation strongSwan refuses a CertRep signed by the not-yet-valid rollover
    // RA (it checks the signer and its issuer against the clock), so a shadow request goes
    // to the rollover CA itself, which the RA-mode server still answers (C-6).
    let key = tmp.path().join("key.pem");
    gen_key(&key);
    let dn = "CN=strongswan-rollover-ra";
    let out = scep(&server, &key, dn, &rollover, &rollover, &rollover);
    assert!(
        out.status.success(),
        "pki --scep to the rollover CA: {}",
        text(&out)
    );
    let cert = tmp.path().join("cert.pem");
    std::fs::write(&cert, &out.stdout).unwrap();
    // Issued by the rollover CA (valid from the activation on, hence no time check).
    let verify = |anchor: &Path| {
        run(Command::new("openssl")
            .args(["verify", "-no_check_time", "-CAfile"])
            .arg(anchor)
            .arg(&cert))
    };
    assert!(verify(&rollover).status.success());
    assert!(!verify(&ca).status.success());
    let earlier: Vec<String> = [&ca, &ra, &rollover, &rollover_ra]
        .iter()
        .map(|c| cert_facts(c).serial)
        .collect();
    let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
    assert_own_certificate(&cert, &key, dn, &earlier);
    server.terminate();
}
