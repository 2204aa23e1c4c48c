//! The CA's audit record in `scep server`'s JSON log, the exact count of issued certificates
//! in /metrics, and the issuance policy set from flags (issue 14 item 4; C-10 amended).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use der::{Decode, Encode};
use rand::SeedableRng;
use scep_proto::{
    CertRep, CertRepStatus, CertValidity, Certificate, Csr, FailInfo, Nonce, PkiMessage,
    PrivateKey, Profile, RequestBody, RequestBuilder, SelfSigned, Signer, TransactionId,
};
use support::{Server, pem, require, run};

/// A 1024-bit key and an openssl-made CSR for `subject` with `addext` extensions.
fn key_and_csr(work: &Path, tag: &str, subject: &str, addext: &[&str]) -> (PrivateKey, Vec<u8>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let key = PrivateKey::generate(1024, &mut rng).unwrap();
    let key_path = work.join(format!("{tag}.key"));
    std::fs::write(
        &key_path,
        pem("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap();
    let csr_path = work.join(format!("{tag}.csr"));
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-new", "-key"])
        .arg(&key_path)
        .args(["-subj", subject, "-outform", "DER", "-out"])
        .arg(&csr_path);
    for e in addext {
        cmd.args(["-addext", e]);
    }
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, std::fs::read(&csr_path).unwrap())
}

/// A PKCSReq for `csr` signed by a self-signed certificate over `key`.
fn pkcs_req(ca: &Certificate, key: &PrivateKey, csr: &[u8], tid: &str) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let csr = Csr::from_der(csr).unwrap();
    let name = csr.cert_req().info.subject.clone();
    let signer = SelfSigned::new(name, vec![0x01, 0x07], now - 3600, now + 86_400)
        .build(key, &mut rng)
        .unwrap();
    RequestBuilder::new(TransactionId::new(tid).unwrap(), Nonce([5; 16]))
        .build(
            &RequestBody::PkcsReq(csr),
            Signer { cert: &signer, key },
            ca,
            &mut rng,
        )
        .unwrap()
}

fn post(server: &Server, ca: &Certificate, key: &PrivateKey, msg: &[u8]) -> CertRep {
    let mut req = format!(
        "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-pki-message\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        msg.len()
    )
    .into_bytes();
    req.extend_from_slice(msg);
    let (status, _, body) = server.raw(&req);
    assert_eq!(status, 200);
    PkiMessage::from_der(&body, &Profile::STRICT)
        .unwrap()
        .verify(Some(ca))
        .unwrap()
        .open_cert_rep(Some(key), &mut rand::rngs::StdRng::seed_from_u64(3))
        .unwrap()
}

fn issued_total(server: &Server) -> f64 {
    let (_, body) = server.get("/metrics");
    String::from_utf8(body)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("scep_certificates_issued_total "))
        .unwrap()
        .parse()
        .unwrap()
}

/// The JSON `audit` lines of the log with this transactionID.
fn audit_lines(server: &Server, tid: &str) -> Vec<serde_json::Value> {
    server
        .log_text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["message"] == "audit" && v["transaction_id"] == tid)
        .collect()
}

#[test]
fn audit_lines_carry_serial_subject_and_reason_and_issued_is_counted_exactly() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &[
            "--grant",
            "auto",
            "--key-bits",
            "1024",
            "--log-format",
            "json",
            "--allowed-ekus",
            "serverAuth,clientAuth",
            "--max-validity",
            "30d",
        ],
    );
    let (status, ca_der) = server.get("/scep?operation=GetCACert");
    assert_eq!(status, 200);
    let ca = Certificate::from_der(&ca_der).unwrap();

    // A PKCSReq, then its retransmission: one certificate, handed out twice.
    let (key, csr) = key_and_csr(tmp.path(), "a", "/CN=audited", &[]);
    let msg = pkcs_req(&ca, &key, &csr, "AUDIT-1");
    let first = post(&server, &ca, &key, &msg);
    let again = post(&server, &ca, &key, &msg);
    let (CertRepStatus::Success(a), CertRepStatus::Success(b)) = (&first.status, &again.status)
    else {
        panic!("{:?} / {:?}", first.status, again.status);
    };
    let cert = a
        .find_by_public_key(&key.public_key_info().unwrap())
        .unwrap();
    assert_eq!(
        cert.to_der().unwrap(),
        b.find_by_public_key(&key.public_key_info().unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    );
    // --max-validity 30d.
    let v = CertValidity::of(cert);
    assert_eq!(v.not_after - v.not_before, 30 * 86_400);
    assert_eq!(
        issued_total(&server),
        1.0,
        "a retransmission is not a new certificate"
    );

    let lines = audit_lines(&server, "AUDIT-1");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, newly) in lines.iter().zip([true, false]) {
        assert_eq!(line["message_type"], "PKCSReq", "{line}");
        assert_eq!(line["outcome"], "SUCCESS", "{line}");
        assert_eq!(line["serial"], "2", "{line}");
        assert_eq!(line["subject"], "CN=audited", "{line}");
        assert_eq!(line["requester"], "CN=audited", "{line}");
        assert_eq!(line["requester_class"], "self-signed", "{line}");
        assert_eq!(line["requester_key"].as_str().unwrap().len(), 64, "{line}");
        assert_eq!(line["newly_issued"], newly, "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    assert_eq!(lines[0]["reason"], "granted: grant auto");

    // A request outside the policy (--allowed-ekus): refused, and the log says why.
    let (key, csr) = key_and_csr(
        tmp.path(),
        "b",
        "/CN=responder",
        &["extendedKeyUsage=OCSPSigning"],
    );
    let msg = pkcs_req(&ca, &key, &csr, "AUDIT-2");
    let rep = post(&server, &ca, &key, &msg);
    assert!(
        matches!(
            rep.status,
            CertRepStatus::Failure {
                fail_info: FailInfo::BadRequest,
                ..
            }
        ),
        "{:?}",
        rep.status
    );
    let lines = audit_lines(&server, "AUDIT-2");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["outcome"], "FAILURE");
    assert_eq!(lines[0]["fail_info"], "badRequest");
    assert!(
        lines[0]["reason"].as_str().unwrap().contains("OCSPSigning"),
        "{}",
        lines[0]
    );
    assert_eq!(issued_total(&server), 1.0);
    server.terminate();
}
