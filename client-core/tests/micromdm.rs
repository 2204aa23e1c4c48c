//! Against micromdm's `scepserver` (Debian package `scep`): authenticate, enrol, renew with
//! the legacy switch on; a clear badAlg-class refusal with it off.
//!
//! The outer test starts `scepserver` in a private network namespace whose only interface is
//! loopback (`unshare -n`, `ip link set lo up`) and re-runs this test binary there for the
//! inner test, which talks to it over HTTP. `bash .ci/test` installs the tools; a missing one
//! fails the test (a peer test that skips itself would pass without testing anything).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use client_core::{
    Event, HttpTransport, HttpTransportConfig, Instant, StateName, Trustpoint, TrustpointConfig,
    run_until,
};

const PORT: &str = "18641";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn micromdm_scepserver_enrol_renew_and_legacy_refusal() {
    for tool in ["scepserver", "unshare", "openssl", "ip"] {
        assert!(
            have(tool),
            "{tool} is not installed: run `bash .ci/test`, which installs it"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
    // A CA with digitalSignature (scepserver's own `ca -init` lacks it) and its key as
    // traditional DES3-encrypted PKCS#1, as scepserver reads it with -capass.
    sh("openssl genrsa -out ca.plain.key 2048");
    sh(
        "openssl req -x509 -new -key ca.plain.key -subj '/CN=micromdm test CA/O=scep-rs' \
        -days 30 -sha256 -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment' \
        -out depot/ca.pem",
    );
    sh("openssl rsa -in ca.plain.key -traditional -des3 -passout pass:capw -out depot/ca.key");
    sh("echo 1 > depot/serial && touch depot/index.txt");
    let exe = std::env::current_exe().unwrap();
    // `cargo test` builds the examples next to the test binaries' `deps/` folder.
    let client = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/scep-client");
    assert!(client.exists(), "{} not built", client.display());
    let script = format!(
        "ip link set lo up || exit 1; \
         scepserver -depot '{depot}' -capass capw -port {PORT} -allowrenew 0 > '{log}' 2>&1 & \
         srv=$!; \
         for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/{PORT}) 2>/dev/null && break; sleep 0.1; done; \
         MICROMDM_URL=http://127.0.0.1:{PORT}/scep '{exe}' --exact inner --ignored --nocapture; \
         rc=$?; \
         '{client}' enroll --url http://127.0.0.1:{PORT}/scep --dir '{tp}/strict' --subject 'CN=ex1,O=scep-rs' \
           --key-bits 1024; echo \"example-strict-exit=$?\"; \
         '{client}' enroll --url http://127.0.0.1:{PORT}/scep --dir '{tp}/legacy' --subject 'CN=ex2,O=scep-rs' \
           --key-bits 1024 --legacy-algorithms; echo \"example-legacy-exit=$?\"; \
         kill $srv; wait $srv; exit $rc",
        depot = depot.display(),
        log = d.join("server.log").display(),
        exe = exe.display(),
        client = client.display(),
        tp = d.display(),
    );
    let out = Command::new("unshare")
        .args(["-n", "--kill-child", "bash", "-c", &script])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{text}\nserver log:\n{}",
        std::fs::read_to_string(d.join("server.log")).unwrap_or_default()
    );
    assert!(text.contains("1 passed"), "{text}");
    // The example client (issue's fixed command form): refuses DES without the legacy switch,
    // enrols with it and writes a key and a certificate that openssl chains to the CA.
    assert!(text.contains("example-strict-exit=1"), "{text}");
    assert!(text.contains("example-legacy-exit=0"), "{text}");
    let legacy = d.join("legacy");
    // Its own certificate: its key, the requested subject, not the CA's serial.
    sh(&format!(
        "openssl verify -CAfile depot/ca.pem '{0}/cert.pem' && \
         [ \"$(openssl x509 -in '{0}/cert.pem' -noout -pubkey)\" = \"$(openssl pkey -in '{0}/key.pem' -pubout)\" ] && \
         [ \"$(openssl x509 -in '{0}/cert.pem' -noout -subject -nameopt RFC2253)\" = 'subject=CN=ex2,O=scep-rs' ] && \
         [ \"$(openssl x509 -in '{0}/cert.pem' -noout -serial)\" != \"$(openssl x509 -in depot/ca.pem -noout -serial)\" ]",
        legacy.display()
    ));
}

fn now() -> Instant {
    Instant::from_unix(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn drive(tp: &mut Trustpoint, t: &mut HttpTransport, stop: impl FnMut(&Event) -> bool) -> Event {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(99);
    run_until(
        tp,
        t,
        &mut rng,
        now,
        |d| std::thread::sleep(std::time::Duration::from_secs(d.as_secs())),
        stop,
    )
    .unwrap()
}

fn trustpoint(url: &str, legacy: bool, cn: &str) -> (Trustpoint, HttpTransport) {
    let t = HttpTransport::new(url, HttpTransportConfig::default()).unwrap();
    let mut c = TrustpointConfig::default();
    c.path = t.path().to_string();
    c.subject = format!("CN={cn},O=scep-rs");
    c.key_bits = 1024;
    c.legacy_algorithms = legacy;
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now());
    (tp, t)
}

fn authenticate(tp: &mut Trustpoint, t: &mut HttpTransport) {
    tp.authenticate(now()).unwrap();
    let ev = drive(tp, t, |e| matches!(e, Event::CaApprovalNeeded { .. }));
    assert!(matches!(ev, Event::CaApprovalNeeded { .. }));
    tp.approve_ca(true).unwrap();
    assert_eq!(
        drive(tp, t, |e| matches!(e, Event::Authenticated)),
        Event::Authenticated
    );
}

/// S-28 "identity, not plausibility": the trustpoint's identity certificate certifies its
/// own key, carries the requested subject, and has a serial that is neither the CA's nor an
/// earlier certificate's.
fn assert_own(tp: &Trustpoint, subject: &str, earlier: &[&scep_proto::Certificate]) {
    let cert = tp.identity_cert().unwrap();
    let tbs = cert.tbs_certificate();
    let key = tp.identity_key().unwrap().public_key_info().unwrap();
    assert_eq!(
        tbs.subject_public_key_info(),
        &key,
        "not the trustpoint's key"
    );
    assert_eq!(tbs.subject().to_string(), subject);
    let ca = tp.ca_cert().unwrap().tbs_certificate();
    assert_ne!(tbs.serial_number(), ca.serial_number(), "the CA's serial");
    for old in earlier {
        assert_ne!(tbs.serial_number(), old.tbs_certificate().serial_number());
    }
}

#[test]
#[ignore = "run by micromdm_scepserver_enrol_renew_and_legacy_refusal inside a namespace"]
fn inner() {
    let url = std::env::var("MICROMDM_URL").expect("MICROMDM_URL");
    let done = |e: &Event| {
        matches!(
            e,
            Event::Enrolled
                | Event::Renewed
                | Event::Rejected { .. }
                | Event::LegacyAlgorithmRefused
                | Event::RetriesExhausted
        )
    };
    // Legacy switch on: authenticate, enrol, renew.
    let (mut tp, mut t) = trustpoint(&url, true, "mdm-legacy");
    authenticate(&mut tp, &mut t);
    tp.enroll(now(), None).unwrap();
    assert_eq!(drive(&mut tp, &mut t, done), Event::Enrolled);
    let first = tp.identity_cert().unwrap().clone();
    assert_own(&tp, "CN=mdm-legacy,O=scep-rs", &[]);
    tp.enroll(now(), None).unwrap();
    assert_eq!(drive(&mut tp, &mut t, done), Event::Renewed);
    assert_ne!(tp.identity_cert().unwrap(), &first);
    assert_own(&tp, "CN=mdm-legacy,O=scep-rs", &[&first]);
    assert_eq!(tp.state(), StateName::Enrolled);
    // Legacy switch off: the DES reply is refused as such.
    let (mut tp, mut t) = trustpoint(&url, false, "mdm-strict");
    authenticate(&mut tp, &mut t);
    tp.enroll(now(), None).unwrap();
    assert_eq!(drive(&mut tp, &mut t, done), Event::LegacyAlgorithmRefused);
    assert!(tp.identity_cert().is_none());
}
