//! Test code: the request table from the attacker's side: transactionID squatting (C-12,
//! amended) and filling the table (C-14).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{Ca, GrantMode, MemoryStore, RequestSelector};
use ca_support::*;
use der::Encode;
use scep_proto::{DigestAlg, FailInfo};

fn manual(max_requests: usize, seed: u64) -> Ca<MemoryStore> {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.max_requests = max_requests;
    open(c, seed)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The transactionID sscep derives from a key: MD5 of the SubjectPublicKeyInfo, upper-case hex.
fn sscep_tid(client: &Client) -> String {
    let spki = client
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    hex_upper(&DigestAlg::Md5.digest(&spki))
}

/// The transactionID strongSwan derives: SHA-1 of the SubjectPublicKeyInfo, upper-case hex.
fn strongswan_tid(client: &Client) -> String {
    let spki = client
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    hex_upper(&DigestAlg::Sha1.digest(&spki))
}

#[test]
fn c12_squatter_on_the_victims_key_derived_tid_is_displaced_by_the_victim() {
    let ca = manual(100, 60);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let attacker = Client::new(1, "CN=attacker");
    let tid = sscep_tid(&victim);
    // The attacker enrols first under the victim's transactionID with its own key.
    let squat = attacker.pkcs_req(&ca_der, &attacker.csr(), &tid);
    assert!(is_pending(
        &attacker.open_rep(&post(&ca, &squat, T0, &mut rng(1)), &ca_der)
    ));
    // The victim's own request is pending for its own key, not badRequest.
    let own = victim.pkcs_req(&ca_der, &victim.csr(), &tid);
    let rep = victim.open_rep(&post(&ca, &own, T0, &mut rng(2)), &ca_der);
    assert!(is_pending(&rep), "victim refused: {:?}", rep.status);
    let pending = ca.list_pending();
    assert_eq!(pending.len(), 1, "the squatter's entry is replaced");
    assert_eq!(pending[0].transaction_id, tid);
    assert_eq!(pending[0].subject, "CN=victim");
    // The squatter learns nothing more about the transaction.
    let poll = attacker.cert_poll(&ca_der, &tid);
    let rep = attacker.open_rep(&post(&ca, &poll, T0, &mut rng(5)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
    // Granted, the certificate is for the victim's key (SUCCESS on poll).
    ca.grant(RequestSelector::All, T0, &mut rng(3)).unwrap();
    let poll = victim.cert_poll(&ca_der, &tid);
    let cert = victim.issued(&victim.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der));
    let cert = parse_cert(&cert);
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        victim.cert.tbs_certificate().subject_public_key_info()
    );
}

#[test]
fn c12_squatter_under_auto_grant_does_not_keep_the_victims_tid() {
    // strongSwan-style derivation, Auto grant: the victim gets SUCCESS for its own key.
    let ca = open(config(), 61);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let attacker = Client::new(1, "CN=attacker");
    let tid = strongswan_tid(&victim);
    let mut c = config();
    c.grant = GrantMode::Manual;
    let manual_ca = open(c, 62);
    let manual_der = manual_ca.ca_certificate_der();
    let squat = attacker.pkcs_req(&manual_der, &attacker.csr(), &tid);
    post(&manual_ca, &squat, T0, &mut rng(1));
    let own = victim.pkcs_req(&manual_der, &victim.csr(), &tid);
    let rep = victim.open_rep(&post(&manual_ca, &own, T0, &mut rng(2)), &manual_der);
    assert!(is_pending(&rep), "victim refused (strongSwan tid)");
    // Under Auto grant the squatter's entry is already issued: it is displaced all the same,
    // and the victim gets a certificate for its own key.
    let squat = attacker.pkcs_req(&ca_der, &attacker.csr(), &tid);
    attacker.issued(&attacker.open_rep(&post(&ca, &squat, T0, &mut rng(3)), &ca_der));
    let own = victim.pkcs_req(&ca_der, &victim.csr(), &tid);
    let rep = victim.open_rep(&post(&ca, &own, T0, &mut rng(4)), &ca_der);
    victim.issued(&rep);
}

/// micromdm's client: base64 of the first 20 bytes of SHA-256 of the RSAPublicKey DER.
fn micromdm_tid(client: &Client) -> String {
    use base64::Engine as _;
    let bits = client
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(&DigestAlg::Sha256.digest(&bits)[..20])
}

#[test]
fn c12_squatter_on_a_micromdm_style_tid_is_displaced() {
    let ca = manual(100, 68);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let attacker = Client::new(1, "CN=attacker");
    let tid = micromdm_tid(&victim);
    let squat = attacker.pkcs_req(&ca_der, &attacker.csr(), &tid);
    post(&ca, &squat, T0, &mut rng(1));
    let own = victim.pkcs_req(&ca_der, &victim.csr(), &tid);
    let rep = victim.open_rep(&post(&ca, &own, T0, &mut rng(2)), &ca_der);
    assert!(is_pending(&rep), "victim refused (micromdm tid)");
    assert_eq!(ca.list_pending()[0].subject, "CN=victim");
}

#[test]
fn c12_squatter_cannot_displace_a_genuine_holder() {
    let ca = manual(100, 63);
    let ca_der = ca.ca_certificate_der();
    let holder = Client::new(0, "CN=holder");
    let attacker = Client::new(1, "CN=attacker");
    let tid = sscep_tid(&holder);
    let own = holder.pkcs_req(&ca_der, &holder.csr(), &tid);
    assert!(is_pending(
        &holder.open_rep(&post(&ca, &own, T0, &mut rng(1)), &ca_der)
    ));
    let before = ca.list_pending();
    let squat = attacker.pkcs_req(&ca_der, &attacker.csr(), &tid);
    let rep = attacker.open_rep(&post(&ca, &squat, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.list_pending(), before);
}

#[test]
fn c12_other_key_under_a_random_tid_still_bad_request_entry_untouched() {
    let ca = manual(100, 64);
    let ca_der = ca.ca_certificate_der();
    let first = Client::new(0, "CN=first");
    let other = Client::new(1, "CN=other");
    let tid = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let req = first.pkcs_req(&ca_der, &first.csr(), tid);
    assert!(is_pending(
        &first.open_rep(&post(&ca, &req, T0, &mut rng(1)), &ca_der)
    ));
    let before = ca.list_pending();
    let req = other.pkcs_req(&ca_der, &other.csr(), tid);
    let rep = other.open_rep(&post(&ca, &req, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.list_pending(), before);
}

#[test]
fn c14_a_full_table_still_answers_a_renewal_credential() {
    let ca = manual(3, 65);
    let ca_der = ca.ca_certificate_der();
    // A client enrols and is granted (one entry).
    let client = Client::new(0, "CN=router1");
    let req = client.pkcs_req(&ca_der, &client.csr(), "ENROL");
    post(&ca, &req, T0, &mut rng(1));
    ca.grant(RequestSelector::All, T0, &mut rng(2)).unwrap();
    let poll = client.cert_poll(&ca_der, "ENROL");
    let old = client.issued(&client.open_rep(&post(&ca, &poll, T0, &mut rng(3)), &ca_der));
    // An attacker fills the rest of the table with self-signed requests (two keys).
    for (k, i) in [(1usize, 0), (2, 1)] {
        let a = Client::new(k, &format!("CN=flood{i}"));
        let req = a.pkcs_req(&ca_der, &a.csr(), &format!("FLOOD-{i}"));
        assert!(is_pending(
            &a.open_rep(&post(&ca, &req, T0, &mut rng(4)), &ca_der)
        ));
    }
    let late = Client::new(3, "CN=late");
    let req = late.pkcs_req(&ca_der, &late.csr(), "LATE");
    assert_eq!(post(&ca, &req, T0, &mut rng(5)).status, 503);
    // The renewal credential's RenewalReq is still answered.
    let credential = client.with_cert(&old);
    let renew = credential.renewal_req(&ca_der, &Client::new(2, "CN=router1").csr(), "RENEW");
    let resp = post(&ca, &renew, T0, &mut rng(6));
    assert_eq!(resp.status, 200, "a renewal got HTTP {}", resp.status);
    assert!(is_pending(&credential.open_rep(&resp, &ca_der)));
}

#[test]
fn c14_fifth_pending_request_from_one_self_signed_key_is_refused() {
    let ca = manual(100, 66);
    let ca_der = ca.ca_certificate_der();
    let attacker = Client::new(1, "CN=flood");
    for i in 0..4 {
        let req = attacker.pkcs_req(&ca_der, &attacker.csr(), &format!("FLOOD-{i}"));
        assert!(is_pending(
            &attacker.open_rep(&post(&ca, &req, T0, &mut rng(1)), &ca_der)
        ));
    }
    let req = attacker.pkcs_req(&ca_der, &attacker.csr(), "FLOOD-4");
    let rep = attacker.open_rep(&post(&ca, &req, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.list_pending().len(), 4);
    // A retransmission of a known transaction is still answered.
    let req = attacker.pkcs_req(&ca_der, &attacker.csr(), "FLOOD-0");
    assert!(is_pending(
        &attacker.open_rep(&post(&ca, &req, T0, &mut rng(3)), &ca_der)
    ));
    // A different key still works until the table is full.
    let other = Client::new(2, "CN=other");
    let req = other.pkcs_req(&ca_der, &other.csr(), "OTHER");
    assert!(is_pending(
        &other.open_rep(&post(&ca, &req, T0, &mut rng(4)), &ca_der)
    ));
    let ca = manual(5, 67);
    let ca_der = ca.ca_certificate_der();
    for i in 0..4 {
        let req = attacker.pkcs_req(&ca_der, &attacker.csr(), &format!("FLOOD-{i}"));
        post(&ca, &req, T0, &mut rng(5));
    }
    let req = other.pkcs_req(&ca_der, &other.csr(), "OTHER");
    assert!(is_pending(
        &other.open_rep(&post(&ca, &req, T0, &mut rng(6)), &ca_der)
    ));
    let third = Client::new(3, "CN=third");
    let req = third.pkcs_req(&ca_der, &third.csr(), "THIRD");
    assert_eq!(post(&ca, &req, T0, &mut rng(7)).status, 503);
}
