//! strongSwan `pki --scep --rsa-padding pss` against `scep server` (S-38): PKCSReq and
//! RenewalReq signed with RSASSA-PSS over SHA-256 and SHA-512. The CertRep stays
//! PKCS #1 v1.5 (`rsaEncryption`, what strongSwan 5.9.8 accepts); each certificate received is
//! the client's own: its key, its subject, a serial not seen before.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{
    Server, assert_own_certificate, cert_facts, openssl_verify, pki_gen_key as gen_key, require,
    run, text,
};

fn scep(server: &Server, ca: &Path, key: &Path, dn: &str, extra: &[&str]) -> Output {
    run(Command::new("pki")
        .args(["--scep", "--url", &server.url, "--dn", dn, "--in"])
        .arg(key)
        .arg("--cacert-enc")
        .arg(ca)
        .arg("--cacert-sig")
        .arg(ca)
        .args([
            "--outform",
            "pem",
            "--rsa-padding",
            "pss",
            "--maxpolltime",
            "5",
        ])
        .args(extra))
}

#[test]
fn s38_strongswan_pss_pkcsreq_and_renewalreq_sha256_and_sha512() {
    require("pki", "strongswan-pki");
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);
    let ca = tmp.path().join("ca.pem");
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
    assert!(out.status.success(), "pki --scepca: {}", text(&out));
    let mut serials = vec![cert_facts(&ca).serial];
    for digest in ["sha256", "sha512"] {
        let dn = format!("CN=strongswan-pss-{digest}");
        // PKCSReq, self-signed (PSS) signer certificate, PSS-signed CSR.
        let key1 = tmp.path().join(format!("{digest}-1.key"));
        gen_key(&key1);
        let out = scep(&server, &ca, &key1, &dn, &["--digest", digest]);
        assert!(out.status.success(), "PKCSReq {digest}: {}", text(&out));
        let cert1 = tmp.path().join(format!("{digest}-1.pem"));
        std::fs::write(&cert1, &out.stdout).unwrap();
        openssl_verify(&ca, &cert1);
        let earlier: Vec<&str> = serials.iter().map(String::as_str).collect();
        let facts = assert_own_certificate(&cert1, &key1, &dn, &earlier);
        serials.push(facts.serial);

        // RenewalReq signed (PSS) with the certificate just issued, for a new key.
        let key2 = tmp.path().join(format!("{digest}-2.key"));
        gen_key(&key2);
        let out = scep(
            &server,
            &ca,
            &key2,
            &dn,
            &[
                "--digest",
                digest,
                "--cert",
                cert1.to_str().unwrap(),
                "--key",
                key1.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "RenewalReq {digest}: {}", text(&out));
        let cert2 = tmp.path().join(format!("{digest}-2.pem"));
        std::fs::write(&cert2, &out.stdout).unwrap();
        openssl_verify(&ca, &cert2);
        let earlier: Vec<&str> = serials.iter().map(String::as_str).collect();
        let facts = assert_own_certificate(&cert2, &key2, &dn, &earlier);
        serials.push(facts.serial);
    }
    server.terminate();
}
