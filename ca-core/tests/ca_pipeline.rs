//! Test code: the CA's HTTP operations and PKIOperation pipeline (C-1 … C-17, S-7 … S-36).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{
    Ca, CaError, GrantMode, MemoryStore, RequestSelector, RequestStatus, issue::certificate_serial,
};
use ca_support::*;
use der::{Decode, Encode};
use pki_timers::{Duration, Instant};
use scep_proto::{Capabilities, Capability, FailInfo};

#[test]
fn c01_creation_refused_without_authoritative_time() {
    let err = Ca::open(config(), MemoryStore::new(), T0, false, &mut rng(1)).unwrap_err();
    assert!(matches!(err, CaError::NoAuthoritativeTime));
}

#[test]
fn c01_created_ca_certificate_fields_and_reopen() {
    let ca = Ca::open(config(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    let cert = parse_cert(&ca.ca_certificate_der());
    assert_eq!(certificate_serial(&cert).unwrap(), 1);
    let v = validity(&cert);
    assert_eq!(v.not_before(), T0);
    assert_eq!(v.not_after(), T0.saturating_add(Duration::from_days(1095)));
    assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=ROOTCA");
    assert_eq!(cert.tbs_certificate().issuer().to_string(), "CN=ROOTCA");
    assert_eq!(ca.last_serial(), 1);
    assert!(!ca.crl_der().is_empty());
    // Reopen, even without authoritative time: the same CA.
    let (der, crl) = (ca.ca_certificate_der(), ca.crl_der());
    let again = Ca::open(config(), ca.into_store(), T0, false, &mut rng(2)).unwrap();
    assert_eq!(again.ca_certificate_der(), der);
    assert_eq!(again.crl_der(), crl);
}

#[test]
fn c02_issuer_name_change_refused_on_reopen() {
    let store = Ca::open(config(), MemoryStore::new(), T0, true, &mut rng(1))
        .unwrap()
        .into_store();
    let mut other = config();
    other.issuer_name = "CN=OTHER".to_owned();
    assert!(matches!(
        Ca::open(other, store, T0, true, &mut rng(1)),
        Err(CaError::Config(_))
    ));
}

#[test]
fn c01_dir_store_reload_gives_same_ca() {
    let dir = tempfile::tempdir().unwrap();
    let der = {
        let store = ca_core::DirStore::open(dir.path()).unwrap();
        let ca = Ca::open(config(), store, T0, true, &mut rng(1)).unwrap();
        ca.ca_certificate_der()
    };
    let store = ca_core::DirStore::open(dir.path()).unwrap();
    let ca = Ca::open(config(), store, T0, true, &mut rng(2)).unwrap();
    assert_eq!(ca.ca_certificate_der(), der);
}

#[test]
fn s31_get_ca_cert_and_c27_caps() {
    let ca = open(config(), 1);
    let r = ca.handle(
        "GET",
        "/scep?operation=GetCACert&message=ROOTCA",
        b"",
        T0,
        &mut rng(3),
    );
    assert_eq!(
        (r.status, r.content_type),
        (200, "application/x-x509-ca-cert")
    );
    assert_eq!(r.body, ca.ca_certificate_der());
    let r = ca.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(3));
    assert_eq!((r.status, r.content_type), (200, "text/plain"));
    let caps = Capabilities::parse(&r.body);
    assert!(caps.contains(Capability::GetNextCaCert));
    assert!(caps.contains(Capability::PostPkiOperation));
    // C-27: without advertise_next_ca_always, only during a rollover.
    let mut c = config();
    c.advertise_next_ca_always = false;
    let ca = open(c, 1);
    let r = ca.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(3));
    assert!(!Capabilities::parse(&r.body).contains(Capability::GetNextCaCert));
}

#[test]
fn s33_get_next_ca_cert_404_without_rollover() {
    let ca = open(config(), 1);
    let r = ca.handle("GET", "/scep?operation=GetNextCACert", b"", T0, &mut rng(3));
    assert_eq!(r.status, 404);
}

#[test]
fn s36_plain_get_crl() {
    let ca = open(config(), 1);
    let r = ca.handle("GET", "/scep?operation=GetCRL", b"", T0, &mut rng(3));
    assert_eq!((r.status, r.content_type), (200, "application/pkix-crl"));
    assert_eq!(r.body, ca.crl_der());
}

#[test]
fn s08_never_panics_on_garbage() {
    let ca = open(config(), 1);
    let mut r = rng(3);
    assert_eq!(
        ca.handle("PUT", "/scep?operation=GetCACert", b"", T0, &mut r)
            .status,
        405
    );
    assert_eq!(ca.handle("GET", "/scep", b"", T0, &mut r).status, 400);
    assert_eq!(
        ca.handle("GET", "/scep?operation=Nope", b"", T0, &mut r)
            .status,
        400
    );
    for body in [&b""[..], b"garbage", &[0x30, 0x80, 0, 0], &[0x30; 64]] {
        let s = post(&ca, body, T0, &mut r).status;
        assert_eq!(s, 400, "body {body:?}");
    }
    let huge = vec![0u8; 300 * 1024];
    assert_eq!(post(&ca, &huge, T0, &mut r).status, 413);
    let r2 = ca.handle(
        "GET",
        "/scep?operation=PKIOperation&message=%%%",
        b"",
        T0,
        &mut r,
    );
    assert_eq!(r2.status, 400);
}

#[test]
fn c17_auto_grant_success_in_same_exchange_t07_validity() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-1");
    let now = T0.saturating_add(Duration::from_hours(1));
    let rep = client.open_rep(&post(&ca, &msg, now, &mut rng(4)), &ca_der);
    assert_eq!(rep.transaction_id.as_str(), "TID-1");
    assert_eq!(rep.recipient_nonce.0, [1; 16]);
    let issued = parse_cert(&client.issued(&rep));
    assert_eq!(
        issued.tbs_certificate().subject_public_key_info(),
        &client.key.public_key_info().unwrap()
    );
    assert_eq!(certificate_serial(&issued).unwrap(), 2);
    let v = validity(&issued);
    assert_eq!(v.not_before(), now);
    assert_eq!(v.not_after(), now.saturating_add(Duration::from_days(365)));
    // GET form works too (S-3).
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-2");
    let target = format!(
        "/cgi-bin/pkiclient.exe?operation=PKIOperation&message={}",
        scep_proto::encode_get_message(&msg)
    );
    let r = ca.handle("GET", &target, b"", now, &mut rng(4));
    let rep = client.open_rep(&r, &ca_der);
    assert_eq!(
        certificate_serial(&parse_cert(&client.issued(&rep))).unwrap(),
        3
    );
}

#[test]
fn c12_replayed_request_redelivers_same_certificate() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-R");
    let a = client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
    let b = client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(5)), &ca_der));
    assert_eq!(a, b);
    assert_eq!(ca.last_serial(), 2);
    // Same transactionID, different key: refused, the entry kept (C-12 amended; the
    // same-key case is in ca_binding.rs).
    let other = Client::new(1, "CN=router2");
    let msg = other.pkcs_req(&ca_der, &other.csr(), "TID-R");
    let rep = other.open_rep(&post(&ca, &msg, T0, &mut rng(6)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.last_serial(), 2);
}

#[test]
fn c09_manual_pending_grant_then_c13_poll_success() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-M");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    // Re-sent identical request (micromdm style): PENDING again, no new entry.
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    let pending = ca.list_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, 1);
    assert_eq!(pending[0].status, RequestStatus::Pending);
    assert_eq!(pending[0].fingerprint.len(), 32);
    assert_eq!(pending[0].subject, "CN=router1");
    let poll = client.cert_poll(&ca_der, "TID-M");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der)
    ));
    let later = T0.saturating_add(Duration::from_hours(2));
    assert_eq!(
        ca.grant(RequestSelector::Id(1), later, &mut rng(8))
            .unwrap(),
        vec![2]
    );
    assert!(matches!(
        ca.grant(RequestSelector::Id(1), later, &mut rng(8)),
        Err(CaError::NotPending { id: 1 })
    ));
    let rep = client.open_rep(&post(&ca, &poll, later, &mut rng(4)), &ca_der);
    let issued = parse_cert(&client.issued(&rep));
    // C-10: t_issue is the grant instant.
    assert_eq!(validity(&issued).not_before(), later);
}

#[test]
fn c15_reject_then_poll_bad_request_then_bad_cert_id() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-X");
    post(&ca, &msg, T0, &mut rng(4));
    assert_eq!(ca.reject(RequestSelector::All).unwrap(), 1);
    let poll = client.cert_poll(&ca_der, "TID-X");
    let rep = client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    let rep = client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
}

#[test]
fn c13_unknown_transaction_poll_bad_cert_id() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let poll = client.cert_poll(&ca_der, "NOPE");
    let rep = client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
}

#[test]
fn c09_grant_none_bad_request() {
    let mut c = config();
    c.grant = GrantMode::None;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-N");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.last_serial(), 1);
}

/// A Manual CA with `grant_auto_trustpoint`, and a client holding a certificate from it.
fn renewal_setup() -> (Ca<MemoryStore>, Client, Vec<u8>) {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.grant_auto_trustpoint = true;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-E");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    ca.grant(RequestSelector::All, T0, &mut rng(8)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-E");
    let cert = client.issued(&client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der));
    (ca, client, cert)
}

#[test]
fn c09_authorized_renewal_auto_granted_in_manual_mode() {
    let (ca, client, cert) = renewal_setup();
    let ca_der = ca.ca_certificate_der();
    let renewing = client.with_cert(&cert);
    let now = T0.saturating_add(Duration::from_days(100));
    for (tid, msg) in [
        (
            "TID-R1",
            renewing.pkcs_req(&ca_der, &client.csr(), "TID-R1"),
        ),
        (
            "TID-R2",
            renewing.renewal_req(&ca_der, &client.csr(), "TID-R2"),
        ),
    ] {
        let rep = renewing.open_rep(&post(&ca, &msg, now, &mut rng(4)), &ca_der);
        let issued = parse_cert(&renewing.issued(&rep));
        assert_eq!(validity(&issued).not_before(), now, "{tid}");
    }
    // A self-signed request from the same subject stays pending.
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-SELF");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, now, &mut rng(4)), &ca_der)
    ));
}

#[test]
fn c08_expired_not_yet_valid_revoked_signers_not_authorized() {
    let (ca, client, cert) = renewal_setup();
    let ca_der = ca.ca_certificate_der();
    let renewing = client.with_cert(&cert);
    let v = validity(&parse_cert(&cert));
    let mut n = 0;
    let mut check = |now: Instant| {
        n += 1;
        let tid = format!("TID-BAD-{n}");
        let msg = renewing.renewal_req(&ca_der, &client.csr(), &tid);
        let rep = renewing.open_rep(&post(&ca, &msg, now, &mut rng(4)), &ca_der);
        assert_eq!(failure(&rep), FailInfo::BadRequest);
        let tid = format!("TID-BADP-{n}");
        let msg = renewing.pkcs_req(&ca_der, &client.csr(), &tid);
        assert!(is_pending(
            &renewing.open_rep(&post(&ca, &msg, now, &mut rng(4)), &ca_der)
        ));
    };
    check(v.not_after()); // expired (na is exclusive)
    check(Instant::from_unix(v.not_before().unix() - 1)); // not yet valid
    let serial = certificate_serial(&parse_cert(&cert)).unwrap();
    ca.revoke(serial, T0, &mut rng(9)).unwrap();
    check(T0.saturating_add(Duration::from_days(1))); // revoked
}

#[test]
fn c08_signer_from_another_ca_not_authorized() {
    let (ca, client, _cert) = renewal_setup();
    let ca_der = ca.ca_certificate_der();
    // A different CA with the same name issues a certificate for the client's key.
    let other = open(
        {
            let mut c = config();
            c.grant = GrantMode::Auto;
            c
        },
        77,
    );
    let other_der = other.ca_certificate_der();
    let msg = client.pkcs_req(&other_der, &client.csr(), "TID-O");
    let foreign = client.issued(&client.open_rep(&post(&other, &msg, T0, &mut rng(4)), &other_der));
    let renewing = client.with_cert(&foreign);
    let msg = renewing.renewal_req(&ca_der, &client.csr(), "TID-O2");
    let rep = renewing.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

#[test]
fn c08_signature_by_wrong_key_fails_bad_message_check() {
    let (ca, client, cert) = renewal_setup();
    let ca_der = ca.ca_certificate_der();
    // The issued certificate, but the message is signed with another key.
    let mut impostor = Client::new(1, "CN=router1").with_cert(&cert);
    impostor.cert = scep_proto::Certificate::from_der(&cert).unwrap();
    let msg = impostor.renewal_req(&ca_der, &client.csr(), "TID-W");
    let r = post(&ca, &msg, T0, &mut rng(4));
    let rep = client.open_rep(&r, &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadMessageCheck);
}

#[test]
fn c06_request_to_foreign_ca_bad_request() {
    let ca = open(config(), 1);
    // RecipientInfo names issuer + serial: a foreign CA differs in at least one of them.
    let mut c = config();
    c.issuer_name = "CN=OTHERCA".to_owned();
    let other = open(c, 2);
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&other.ca_certificate_der(), &client.csr(), "TID-F");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca.ca_certificate_der());
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(rep_text(&rep).as_deref(), Some("not addressed to this CA"));
}

fn rep_text(rep: &scep_proto::CertRep) -> Option<String> {
    match &rep.status {
        scep_proto::CertRepStatus::Failure { text, .. } => text.clone(),
        _ => None,
    }
}

#[test]
fn s26_broken_csr_signature_bad_message_check() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let mut csr = x509_cert::request::CertReq::from_der(&client.csr()).unwrap();
    let mut sig = csr.signature.raw_bytes().to_vec();
    sig[10] ^= 0x55;
    csr.signature = der::asn1::BitString::from_bytes(&sig).unwrap();
    let msg = client.pkcs_req(&ca_der, &csr.to_der().unwrap(), "TID-P");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadMessageCheck);
    assert_eq!(ca.last_serial(), 1);
}

#[test]
fn c09_one_time_password_works_once() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let otp = ca.generate_otp(None, T0, &mut rng(11)).unwrap();
    let client = Client::new(0, "CN=router1");
    let csr = client.csr_with_password(&otp);
    let msg = client.pkcs_req(&ca_der, &csr, "TID-OTP1");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    client.issued(&rep);
    let msg = client.pkcs_req(&ca_der, &csr, "TID-OTP2");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    // An expired one does not grant; an unknown one is ignored (S-25).
    let otp = ca.generate_otp(Some(1), T0, &mut rng(12)).unwrap();
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&otp), "TID-OTP3");
    let late = T0.saturating_add(Duration::from_minutes(2));
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, late, &mut rng(4)), &ca_der)
    ));
}

#[test]
fn s35_get_cert_only_at_complete_level_and_s36_get_crl_message() {
    let mut c = config();
    c.database_level = ca_core::DatabaseLevel::Complete;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-G");
    let issued = client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
    let ias =
        scep_proto::IssuerAndSerialNumber::of(&scep_proto::Certificate::from_der(&issued).unwrap());
    let body = scep_proto::RequestBody::GetCert(ias.clone());
    let msg = client.message(&ca_der, &body, "TID-G2", scep_proto::Nonce([9; 16]));
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(client.issued(&rep), issued);
    let body = scep_proto::RequestBody::GetCrl(ias);
    let msg = client.message(&ca_der, &body, "TID-G3", scep_proto::Nonce([9; 16]));
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    let scep_proto::CertRepStatus::Success(certs) = rep.status else {
        panic!("no CRL");
    };
    assert_eq!(certs.crls[0].to_der().unwrap(), ca.crl_der());
    // Minimal level: badCertId.
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let ias =
        scep_proto::IssuerAndSerialNumber::of(&scep_proto::Certificate::from_der(&issued).unwrap());
    let msg = client.message(
        &ca_der,
        &scep_proto::RequestBody::GetCert(ias),
        "TID-G4",
        scep_proto::Nonce([9; 16]),
    );
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
}

#[test]
fn c14_remove_and_admin_errors() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    assert!(matches!(
        ca.grant(RequestSelector::Id(5), T0, &mut rng(1)),
        Err(CaError::UnknownRequest { id: 5 })
    ));
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    post(
        &ca,
        &client.pkcs_req(&ca_der, &client.csr(), "A"),
        T0,
        &mut rng(4),
    );
    post(
        &ca,
        &client.pkcs_req(&ca_der, &client.csr(), "B"),
        T0,
        &mut rng(4),
    );
    assert_eq!(
        ca.list_pending().iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(ca.remove(RequestSelector::Id(1)).unwrap(), 1);
    post(
        &ca,
        &client.pkcs_req(&ca_der, &client.csr(), "C"),
        T0,
        &mut rng(4),
    );
    // Ids are never reused.
    assert_eq!(
        ca.list_pending().iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(matches!(
        ca.revoke(99, T0, &mut rng(1)),
        Err(CaError::UnknownSerial { serial: 99 })
    ));
}

#[test]
fn s28_s37_cert_rep_mirrors_cipher_and_digest_legacy_des_only_when_enabled() {
    use scep_proto::{ContentCipher, DigestAlg, Nonce, RequestBody, RequestBuilder, TransactionId};
    let client = Client::new(0, "CN=router1");
    let body = RequestBody::PkcsReq(scep_proto::Csr::from_der(&client.csr()).unwrap());
    let build = |ca_der: &[u8], tid: &str, cipher, digest| {
        let mut b = RequestBuilder::new(TransactionId::new(tid).unwrap(), Nonce([4; 16]));
        b.cipher = cipher;
        b.digest = digest;
        client.message_with(b, ca_der, &body)
    };
    // Strict CA: DES is refused with badAlg.
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let msg = build(&ca_der, "TID-DES", ContentCipher::Des, DigestAlg::Sha256);
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadAlg);
    // 3DES + SHA-512: mirrored.
    let msg = build(&ca_der, "TID-3DES", ContentCipher::Des3, DigestAlg::Sha512);
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(rep.cipher, Some(ContentCipher::Des3));
    assert_eq!(rep.digest, DigestAlg::Sha512);
    client.issued(&rep);
    // Legacy CA: DES works and the answer uses DES too.
    let mut c = config();
    c.legacy_algorithms = true;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let msg = build(&ca_der, "TID-DES2", ContentCipher::Des, DigestAlg::Sha1);
    let r = post(&ca, &msg, T0, &mut rng(4));
    let ca_cert = scep_proto::Certificate::from_der(&ca_der).unwrap();
    let rep = scep_proto::PkiMessage::from_der(&r.body, &scep_proto::Profile::LEGACY)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap()
        .open_cert_rep(Some(&client.key), &mut rng(5))
        .unwrap();
    assert_eq!(rep.cipher, Some(ContentCipher::Des));
    client.issued(&rep);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn shared() -> &'static (Ca<MemoryStore>, Vec<u8>) {
        static CA: OnceLock<(Ca<MemoryStore>, Vec<u8>)> = OnceLock::new();
        CA.get_or_init(|| {
            let ca = open(config(), 1);
            let client = Client::new(0, "CN=router1");
            let msg = client.pkcs_req(&ca.ca_certificate_der(), &client.csr(), "TID-FUZZ");
            (ca, msg)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// S-8: any method, target and body gets an answer with a SCEP status.
        #[test]
        fn s08_any_input_is_answered(
            method in prop::sample::select(vec!["GET", "POST", "PUT", "get", ""]),
            target in "[ -~]{0,80}",
            body in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let (ca, _) = shared();
            let r = ca.handle(method, &target, &body, T0, &mut rng(1));
            prop_assert!([200, 400, 404, 405, 413, 503].contains(&r.status));
        }

        /// C-5: a valid pkiMessage with one byte changed is answered 200 or 400, never a
        /// panic.
        #[test]
        fn c05_mutated_message_is_answered(pos in any::<prop::sample::Index>(), xor in 1u8..) {
            let (ca, msg) = shared();
            let mut m = msg.clone();
            let i = pos.index(m.len());
            m[i] ^= xor;
            let r = post(ca, &m, T0, &mut rng(2));
            prop_assert!(r.status == 200 || r.status == 400, "status {}", r.status);
        }
    }
}

#[test]
fn s38_md5_signed_request_refused_with_bad_alg_unless_legacy() {
    use scep_proto::{DigestAlg, Nonce, RequestBody, RequestBuilder, TransactionId};
    let client = Client::new(0, "CN=router1");
    let body = RequestBody::PkcsReq(scep_proto::Csr::from_der(&client.csr()).unwrap());
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let mut b = RequestBuilder::new(TransactionId::new("TID-MD5").unwrap(), Nonce([6; 16]));
    b.digest = DigestAlg::Md5;
    let msg = client.message_with(b, &ca_der, &body);
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadAlg);
    assert_eq!(rep.transaction_id.as_str(), "TID-MD5");
    assert_eq!(rep.digest, DigestAlg::Sha256);
}

#[test]
fn config_validate_names_the_bad_key() {
    use ca_core::{CaConfig, ConfigError};
    let ok = CaConfig::default();
    ok.validate().unwrap();
    let check = |f: &dyn Fn(&mut CaConfig)| {
        let mut c = CaConfig::default();
        f(&mut c);
        match c.validate() {
            Err(CaError::Config(e)) => e,
            other => panic!("{other:?}"),
        }
    };
    assert!(matches!(
        check(&|c| c.key_bits = 512),
        ConfigError::KeyBits { bits: 512 }
    ));
    assert!(matches!(
        check(&|c| c.otp_default_minutes = 0),
        ConfigError::OtpMinutes { .. }
    ));
    assert!(matches!(
        check(&|c| c.lifetime_certificate = Duration::from_days(3000)),
        ConfigError::Lifetime(_)
    ));
    assert!(matches!(
        check(&|c| c.issuer_name = "garbage".into()),
        ConfigError::InvalidIssuerName
    ));
    assert!(matches!(
        check(&|c| c.name = "../x".into()),
        ConfigError::InvalidName
    ));
    assert!(matches!(
        check(&|c| c.hash = scep_proto::DigestAlg::Md5),
        ConfigError::LegacyHash
    ));
    let mut c = CaConfig::default();
    c.archive_password = Some("secret".into());
    assert!(!format!("{c:?}").contains("secret"));
}

#[test]
fn c22_dir_store_reopen_keeps_the_rollover() {
    let dir = tempfile::tempdir().unwrap();
    let (der, next) = {
        let ca = Ca::open(
            config(),
            ca_core::DirStore::open(dir.path()).unwrap(),
            T0,
            true,
            &mut rng(1),
        )
        .unwrap();
        ca.rollover(T0, &mut rng(2)).unwrap();
        (
            ca.ca_certificate_der(),
            ca.rollover_certificate_der().unwrap(),
        )
    };
    let ca = Ca::open(
        config(),
        ca_core::DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(3),
    )
    .unwrap();
    assert_eq!(ca.ca_certificate_der(), der);
    assert_eq!(ca.rollover_certificate_der().unwrap(), next);
    assert_eq!(ca.state(), ca_core::CaState::ActiveWithRollover);
    // The rollover key decrypts requests addressed to it after the reopen.
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&next, &client.csr(), "TID-D");
    let later = T0.saturating_add(Duration::from_days(1));
    client.issued(&client.open_rep(&post(&ca, &msg, later, &mut rng(4)), &next));
}

/// S-28: a SUCCESS bag carries the issued certificate first on the wire, then the CA
/// certificate, whichever of the two encodes smaller (a DER-sorted SET OF put the smaller one
/// first, and real clients stored the CA certificate as their own); only the issued one when
/// `ca_cert_in_success` is off.
#[test]
fn s28_success_bag_has_issued_first_then_ca_unless_configured_off() {
    use issue_support::{BIG_A, SMALL_A};
    // A 1024-bit CA with a 2048-bit client (the CA certificate encodes smaller), then the
    // reverse.
    for (ca_bits, client_key, include_ca) in [
        (1024, BIG_A, true),
        (2048, SMALL_A, true),
        (1024, BIG_A, false),
    ] {
        let mut c = config();
        c.key_bits = ca_bits;
        c.ca_cert_in_success = include_ca;
        let ca = open(c, 28);
        let ca_der = ca.ca_certificate_der();
        let client = Client::new(client_key, "CN=order.example");
        let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-28");
        let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(28)), &ca_der);
        let scep_proto::CertRepStatus::Success(bag) = &rep.status else {
            panic!("expected SUCCESS, got {:?}", rep.status);
        };
        let got: Vec<Vec<u8>> = bag
            .certificates
            .iter()
            .map(|c| c.to_der().unwrap())
            .collect();
        let mut want = vec![client.issued(&rep)];
        if include_ca {
            want.push(ca_der.clone());
        }
        let serials: Vec<_> = bag
            .certificates
            .iter()
            .map(|c| c.tbs_certificate().serial_number().as_bytes().to_vec())
            .collect();
        assert!(
            got == want,
            "CA {ca_bits} bits, CA included: {include_ca}: serials on the wire {serials:?}"
        );
    }
}
