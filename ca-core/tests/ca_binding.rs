//! Test code: requests bound to their requesters (C-12, C-13 amended; issue 13 item 3).
//!
//! transactionIDs are public: most clients derive them from the public key, and they travel
//! in clear. The attacker below knows the victim's transactionID and tries to take the
//! victim's request table entry over (C-12) or to read or consume its answer (C-13).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{Ca, GrantMode, MemoryStore, RequestSelector, RequestStatus};
use ca_support::*;
use scep_proto::{FailInfo, SelfSigned};

fn manual_ca(seed: u64) -> Ca<MemoryStore> {
    let mut c = config();
    c.grant = GrantMode::Manual;
    open(c, seed)
}

/// The victim's entry, as the administrator sees it.
fn only_entry(ca: &Ca<MemoryStore>) -> ca_core::PendingRequest {
    let list = ca.list_pending();
    assert_eq!(list.len(), 1, "{list:?}");
    list.into_iter().next().unwrap()
}

#[test]
fn c12_other_key_under_known_transaction_id_refused_pending_entry_untouched() {
    let ca = manual_ca(31);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let req = victim.pkcs_req(&ca_der, &victim.csr(), "VICTIM-TID");
    assert!(is_pending(
        &victim.open_rep(&post(&ca, &req, T0, &mut rng(1)), &ca_der)
    ));
    let before = only_entry(&ca);

    // The attacker reuses the transactionID with its own key and CSR.
    let attacker = Client::new(1, "CN=victim");
    let takeover = attacker.pkcs_req(&ca_der, &attacker.csr(), "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &takeover, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(only_entry(&ca), before, "the victim's entry is untouched");

    // The victim still gets its certificate.
    assert_eq!(
        ca.grant(RequestSelector::Id(before.id), T0, &mut rng(3))
            .unwrap(),
        vec![2]
    );
    let poll = victim.cert_poll(&ca_der, "VICTIM-TID");
    let rep = victim.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    victim.issued(&rep);
}

#[test]
fn c12_other_key_under_known_transaction_id_refused_issued_entry_untouched() {
    let ca = open(config(), 32);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let req = victim.pkcs_req(&ca_der, &victim.csr(), "VICTIM-TID");
    let issued = victim.issued(&victim.open_rep(&post(&ca, &req, T0, &mut rng(1)), &ca_der));

    let attacker = Client::new(1, "CN=victim");
    let takeover = attacker.pkcs_req(&ca_der, &attacker.csr(), "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &takeover, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.last_serial(), 2, "nothing issued to the attacker");

    // The victim's retransmission is still answered with its certificate (C-12).
    let again = victim.issued(&victim.open_rep(&post(&ca, &req, T0, &mut rng(3)), &ca_der));
    assert_eq!(again, issued);
}

#[test]
fn c12_signer_copying_the_victims_issuer_and_serial_is_not_the_victim() {
    // The victim's self-signed signer is public (it travels in every request): the attacker
    // makes one with the same issuer, subject and serial over its own key.
    let ca = manual_ca(33);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let req = victim.pkcs_req(&ca_der, &victim.csr(), "VICTIM-TID");
    post(&ca, &req, T0, &mut rng(1));
    ca.reject(RequestSelector::All).unwrap();
    let before = only_entry(&ca);

    let mut attacker = Client::new(1, "CN=victim");
    attacker.cert = SelfSigned::new(
        name("CN=victim"),
        vec![0x01, 0x00], // the victim's serial (Client::new(0, …))
        T0.unix() - 3600,
        T0.unix() + 4000 * 86_400,
    )
    .build(&attacker.key, &mut rng(99))
    .unwrap();
    let takeover = attacker.pkcs_req(&ca_der, &attacker.csr(), "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &takeover, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    let poll = attacker.cert_poll(&ca_der, "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &poll, T0, &mut rng(3)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
    assert_eq!(only_entry(&ca), before);
}

#[test]
fn c12_same_key_with_a_new_signer_still_starts_a_new_transaction() {
    // Key-derived transactionIDs (S-23a): the same key, a fresh self-signed signer.
    let ca = open(config(), 34);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let first = client.pkcs_req(&ca_der, &client.csr(), "KEY-TID");
    let a = client.issued(&client.open_rep(&post(&ca, &first, T0, &mut rng(1)), &ca_der));
    let mut again = Client::new(0, "CN=router1");
    again.cert = SelfSigned::new(
        name("CN=router1"),
        vec![0x02, 0x77],
        T0.unix() - 60,
        T0.unix() + 86_400,
    )
    .build(&again.key, &mut rng(98))
    .unwrap();
    let second = again.pkcs_req(&ca_der, &again.csr(), "KEY-TID");
    let b = again.issued(&again.open_rep(&post(&ca, &second, T0, &mut rng(2)), &ca_der));
    assert_ne!(a, b);
    assert_eq!(ca.last_serial(), 3);
}

#[test]
fn c13_poll_by_another_key_bad_cert_id_rejected_notice_not_consumed() {
    let ca = manual_ca(35);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let req = victim.pkcs_req(&ca_der, &victim.csr(), "VICTIM-TID");
    post(&ca, &req, T0, &mut rng(1));
    ca.reject(RequestSelector::All).unwrap();
    let before = only_entry(&ca);
    assert_eq!(before.status, RequestStatus::Rejected);

    let attacker = Client::new(1, "CN=victim");
    let poll = attacker.cert_poll(&ca_der, "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &poll, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
    assert_eq!(
        only_entry(&ca),
        before,
        "the Rejected notice is still there"
    );

    // The victim learns of the rejection (once).
    let poll = victim.cert_poll(&ca_der, "VICTIM-TID");
    let rep = victim.open_rep(&post(&ca, &poll, T0, &mut rng(3)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    let rep = victim.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
}

#[test]
fn c13_poll_by_another_key_gets_neither_pending_nor_the_certificate() {
    let ca = manual_ca(36);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let req = victim.pkcs_req(&ca_der, &victim.csr(), "VICTIM-TID");
    post(&ca, &req, T0, &mut rng(1));
    let attacker = Client::new(1, "CN=victim");
    let poll = attacker.cert_poll(&ca_der, "VICTIM-TID");
    let rep = attacker.open_rep(&post(&ca, &poll, T0, &mut rng(2)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId, "pending is not told");
    ca.grant(RequestSelector::All, T0, &mut rng(3)).unwrap();
    let rep = attacker.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der);
    assert_eq!(
        failure(&rep),
        FailInfo::BadCertId,
        "issued is not handed out"
    );
    let poll = victim.cert_poll(&ca_der, "VICTIM-TID");
    victim.issued(&victim.open_rep(&post(&ca, &poll, T0, &mut rng(5)), &ca_der));
}

#[test]
fn c13_renewal_polled_by_the_renewal_credential() {
    // A renewal with a new key, pending, polled with the signer that sent it (the old
    // certificate's key): the stored signer key is bound to the entry.
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 37);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let req = client.pkcs_req(&ca_der, &client.csr(), "ENROL-TID");
    post(&ca, &req, T0, &mut rng(1));
    ca.grant(RequestSelector::All, T0, &mut rng(2)).unwrap();
    let poll = client.cert_poll(&ca_der, "ENROL-TID");
    let old = client.issued(&client.open_rep(&post(&ca, &poll, T0, &mut rng(3)), &ca_der));
    let credential = client.with_cert(&old);
    let new_key = Client::new(2, "CN=router1");
    let renew = credential.renewal_req(&ca_der, &new_key.csr(), "RENEW-TID");
    assert!(is_pending(
        &credential.open_rep(&post(&ca, &renew, T0, &mut rng(4)), &ca_der)
    ));
    let poll = credential.cert_poll(&ca_der, "RENEW-TID");
    assert!(is_pending(
        &credential.open_rep(&post(&ca, &poll, T0, &mut rng(5)), &ca_der)
    ));
}
