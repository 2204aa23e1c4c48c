//! `scep client` against micromdm's `scepserver` (Debian package `scep`): a clear refusal of
//! its DES answers without `--legacy-algorithms` (exit 75), then enrolment and renewal with
//! it, each certificate the client's own (its key, its subject, a new serial).
//!
//! `scepserver` runs in a private network namespace whose only interface is loopback
//! (`unshare -n`, `ip link set lo up`), as in client-core's tests/micromdm.rs; `scep client`
//! runs in the same namespace. A missing tool fails the test (`bash .ci/test` installs them).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use support::{assert_own_certificate, cert_facts, openssl_verify, require, scep_binary};

const PORT: &str = "18642";

#[test]
fn scep_client_enrols_and_renews_against_micromdm_scepserver() {
    for (tool, package) in [
        ("scepserver", "scep"),
        ("unshare", "util-linux"),
        ("openssl", "openssl"),
        ("ip", "iproute2"),
    ] {
        require(tool, package);
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let depot = d.join("depot");
    std::fs::create_dir(&depot).unwrap();
    let sh = |script: &str| {
        let out = Command::new("sh")
            .args(["-c", script])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A CA with digitalSignature, its key as DES3-encrypted PKCS #1 as scepserver reads it.
    sh("openssl genrsa -out ca.plain.key 2048");
    sh(
        "openssl req -x509 -new -key ca.plain.key -subj '/CN=micromdm test CA/O=scep-rs' \
        -days 30 -sha256 -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment' \
        -out depot/ca.pem",
    );
    sh("openssl rsa -in ca.plain.key -traditional -des3 -passout pass:capw -out depot/ca.key");
    sh("echo 1 > depot/serial && touch depot/index.txt");
    let script = format!(
        "ip link set lo up || exit 1; \
         scepserver -depot '{depot}' -capass capw -port {PORT} -allowrenew 0 > '{log}' 2>&1 & \
         srv=$!; \
         for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/{PORT}) 2>/dev/null && break; sleep 0.1; done; \
         url=http://127.0.0.1:{PORT}/scep; \
         '{scep}' client enroll --url $url --dir '{d}/strict' --subject 'CN=mm1,O=scep-rs' \
           --trust-on-first-use --key-bits 1024; echo \"strict-exit=$?\"; \
         '{scep}' client enroll --url $url --dir '{d}/legacy' --subject 'CN=mm2,O=scep-rs' \
           --trust-on-first-use --key-bits 1024 --legacy-algorithms; echo \"enroll-exit=$?\"; \
         cp '{d}/legacy/cert.pem' '{d}/first.pem'; \
         '{scep}' client renew --dir '{d}/legacy'; echo \"renew-exit=$?\"; \
         kill $srv; wait $srv; exit 0",
        depot = depot.display(),
        log = d.join("server.log").display(),
        scep = scep_binary().display(),
        d = d.display(),
    );
    let out = Command::new("unshare")
        .args(["-n", "--kill-child", "bash", "-c", &script])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(d.join("server.log")).unwrap_or_default();
    assert!(out.status.success(), "{text}\nserver log:\n{log}");
    assert!(
        text.contains("strict-exit=75"),
        "{text}\nserver log:\n{log}"
    );
    assert!(text.contains("legacy algorithms"), "{text}");
    assert!(text.contains("enroll-exit=0"), "{text}\nserver log:\n{log}");
    assert!(text.contains("renew-exit=0"), "{text}\nserver log:\n{log}");
    let ca = depot.join("ca.pem");
    let ca_serial = cert_facts(&ca).serial;
    let legacy = d.join("legacy");
    let (cert, key) = (legacy.join("cert.pem"), legacy.join("key.pem"));
    let first = cert_facts(&d.join("first.pem"));
    assert_eq!(first.public_key, support::public_key_of(&key));
    let renewed = assert_own_certificate(
        &cert,
        &key,
        "CN=mm2,O=scep-rs",
        &[&ca_serial, &first.serial],
    );
    assert_eq!(renewed.public_key, first.public_key);
    openssl_verify(&ca, &cert);
    assert!(!d.join("strict/cert.pem").exists());
}
