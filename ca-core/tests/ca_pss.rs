//! RSASSA-PSS requests through the CA (S-17, S-26, S-38): the recorded strongSwan
//! `--rsa-padding pss --digest sha512` PKCSReq is granted end to end, and PSS-signed CSRs made
//! by the openssl binary are checked by their parameters.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::process::Command;

use ca_core::{
    Ca, MemoryStore,
    issue::{CaKey, IssueError, VerifiedCsr},
};
use ca_support::{config, post};
use der::Decode;
use pki_timers::Instant;
use scep_proto::{
    CertRepStatus, Certificate, DigestAlg, PkiMessage, PrivateKey, Profile, PssProblem,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scep-proto/tests/data");

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{rel}")).unwrap()
}

/// The fixture's signingTime (2026-12-03T13:28:19Z), inside the test CA's validity.
const RECORDED: Instant = Instant::from_unix(1_796_304_499);

#[test]
fn s38_recorded_strongswan_pss_sha512_pkcsreq_is_granted() {
    let ca_cert = Certificate::from_der(&read("keys/ca.der")).unwrap();
    let ca_key = PrivateKey::from_pkcs8_der(&read("keys/ca.key.der")).unwrap();
    let mut cfg = config();
    cfg.issuer_name = ca_cert.tbs_certificate().subject().to_string();
    let mut rng = ca_support::rng(7);
    let ca = Ca::import(
        cfg,
        MemoryStore::new(),
        CaKey::new(ca_key, ca_cert.clone()).unwrap(),
        0,
        RECORDED,
        &mut rng,
    )
    .unwrap();
    let request = read("strongswan-pss/001-PKIOperation-PKCSReq.req.der");
    let resp = post(&ca, &request, RECORDED, &mut rng);
    assert_eq!(resp.status, 200);
    // The CertRep verifies under the CA certificate and opens with the client's key.
    let client = PrivateKey::from_pkcs8_der(&read("strongswan-pss/pkcsreq.key.der")).unwrap();
    let rep = PkiMessage::from_der(&resp.body, &Profile::STRICT)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap()
        .open_cert_rep(Some(&client), &mut rng)
        .unwrap();
    let CertRepStatus::Success(certs) = &rep.status else {
        panic!("expected SUCCESS, got {:?}", rep.status);
    };
    let issued = certs
        .find_by_public_key(&client.public_key_info().unwrap())
        .expect("the client's own certificate");
    assert_eq!(
        issued.tbs_certificate().subject().to_string(),
        "O=scep-rs test,CN=strongswan-pss"
    );
    scep_proto::PublicKey::from_certificate(&ca_cert)
        .unwrap()
        .verify_certificate(issued, &Profile::STRICT)
        .unwrap();
}

/// A CSR for a fresh 2048-bit key, signed by the openssl binary with PSS and `opts`.
fn openssl_csr(dir: &std::path::Path, digest: &str, opts: &[&str]) -> Option<Vec<u8>> {
    let key = dir.join("k.pem");
    if !key.exists() {
        let ok = Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048")
            .output()
            .ok()?
            .status
            .success();
        assert!(ok, "openssl genrsa");
    }
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-new",
        "-subj",
        "/CN=pss-csr",
        "-outform",
        "der",
        "-key",
    ])
    .arg(&key)
    .arg(format!("-{digest}"))
    .args(["-sigopt", "rsa_padding_mode:pss"]);
    for o in opts {
        cmd.args(["-sigopt", o]);
    }
    let out = cmd.output().ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

#[test]
fn s26_s38_openssl_pss_csrs_checked_by_their_parameters() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (digest, hash) in [
        ("sha256", DigestAlg::Sha256),
        ("sha384", DigestAlg::Sha384),
        ("sha512", DigestAlg::Sha512),
    ] {
        // Salt as long as the hash (strongSwan's choice) and the largest salt the key allows.
        for salt in ["rsa_pss_saltlen:digest", "rsa_pss_saltlen:max"] {
            let der = openssl_csr(tmp.path(), digest, &[salt]).unwrap();
            let csr = VerifiedCsr::from_der(&der, false)
                .unwrap_or_else(|e| panic!("{digest} {salt}: {e}"));
            assert_eq!(csr.signature_hash(), hash);
        }
    }
    // MGF1 with another hash than the message hash.
    let der = openssl_csr(tmp.path(), "sha256", &["rsa_mgf1_md:sha1"]).unwrap();
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::PssParameters {
            problem: PssProblem::MaskHash
        }
    );
    // PSS over SHA-1: legacy only.
    let der = openssl_csr(tmp.path(), "sha1", &[]).unwrap();
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::LegacyAlgorithmRefused {
            hash: DigestAlg::Sha1
        }
    );
    VerifiedCsr::from_der(&der, true).unwrap();
    // A flipped signature bit: no proof of possession.
    let mut der = openssl_csr(tmp.path(), "sha256", &[]).unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::ProofOfPossession
    );
}
