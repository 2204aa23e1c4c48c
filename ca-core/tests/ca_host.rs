//! Test code: what the administrator sees of a request, the host's review (C-10 amended) and
//! the audit record of every decision (issue 14 item 4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::{Arc, Mutex};

use ca_core::host::{
    AuditOutcome, AuditRecord, CaHost, RequestView, Review, ReviewStage, SignerKind,
};
use ca_core::policy::{KeyPurpose, KeyPurposes, Narrowing, Violation};
use ca_core::{CaError, GrantMode, RequestSelector};
use ca_support::*;
use der::{Decode, oid::ObjectIdentifier};
use pki_timers::Duration;
use scep_proto::{Certificate, DigestAlg, FailInfo, MessageType};
use x509_cert::ext::{Extension, pkix::ExtendedKeyUsage};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

fn eku(oids: &[&str]) -> Extension {
    use der::Encode;
    let value = ExtendedKeyUsage(
        oids.iter()
            .map(|o| ObjectIdentifier::new_unwrap(o))
            .collect(),
    );
    Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.37"),
        critical: false,
        extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn san(names: &[&str]) -> Extension {
    use der::Encode;
    use x509_cert::ext::pkix::{SubjectAltName, name::GeneralName};
    let value = SubjectAltName(
        names
            .iter()
            .map(|n| GeneralName::DnsName(der::asn1::Ia5String::new(n).unwrap()))
            .collect(),
    );
    Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.17"),
        critical: false,
        extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn issued_ekus(der: &[u8]) -> Vec<String> {
    let cert = Certificate::from_der(der).unwrap();
    cert.tbs_certificate()
        .extensions()
        .and_then(|e| e.iter().find(|x| x.extn_id.to_string() == "2.5.29.37"))
        .map(|e| {
            ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .unwrap()
                .0
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A host that answers with a fixed review and keeps what it is told.
struct Recorder {
    review: Mutex<Review>,
    seen: Mutex<Vec<(ReviewStage, Vec<Violation>, SignerKind)>>,
    records: Mutex<Vec<AuditRecord>>,
}

impl Recorder {
    fn new(review: Review) -> Arc<Self> {
        Arc::new(Self {
            review: Mutex::new(review),
            seen: Mutex::new(Vec::new()),
            records: Mutex::new(Vec::new()),
        })
    }

    fn last(&self) -> AuditRecord {
        self.records.lock().unwrap().last().cloned().unwrap()
    }
}

impl CaHost for Recorder {
    fn review(&self, request: &RequestView<'_>) -> Review {
        self.seen.lock().unwrap().push((
            request.stage,
            request.violations.to_vec(),
            request.requester.kind,
        ));
        self.review.lock().unwrap().clone()
    }

    fn audit(&self, record: &AuditRecord) {
        self.records.lock().unwrap().push(record.clone());
    }
}

#[test]
fn c14_pending_list_shows_names_usages_key_and_signer_then_grant_leaves_out_forbidden_eku() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 51);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let csr = csr_der(
        &client.key,
        name("CN=router1"),
        vec![
            eku(&[SERVER_AUTH, OCSP_SIGNING]),
            san(&["router1.example", "www.bank.example"]),
        ],
        DigestAlg::Sha256,
    );
    let msg = client.pkcs_req(&ca_der, &csr, "TID-LIST");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(1)), &ca_der)
    ));
    let list = ca.list_pending();
    assert_eq!(list.len(), 1);
    let row = &list[0];
    assert_eq!(
        row.subject_alt_names,
        vec!["dns:router1.example", "dns:www.bank.example"]
    );
    assert_eq!(row.extended_key_usages, vec!["serverAuth", "OCSPSigning"]);
    assert_eq!(row.key_bits, 1024);
    assert_eq!(row.signer, Some(SignerKind::SelfSigned));
    assert_eq!(
        row.violations,
        vec![Violation::ExtendedKeyUsage(KeyPurpose::OcspSigning)]
    );
    // The administrator grants what they saw: the forbidden usage is left out.
    ca.grant(RequestSelector::All, T0, &mut rng(2)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-LIST");
    let der = client.issued(&client.open_rep(&post(&ca, &poll, T0, &mut rng(3)), &ca_der));
    assert_eq!(issued_ekus(&der), vec![SERVER_AUTH]);
}

#[test]
fn c10_host_narrows_usages_and_validity() {
    let mut narrowing = Narrowing::default();
    narrowing.extended_key_usages = Some(KeyPurposes::NONE.with(KeyPurpose::ClientAuth));
    narrowing.max_validity = Some(Duration::from_days(30));
    let host = Recorder::new(Review::Narrow(narrowing));
    let ca = open(config(), 52).with_host(host.clone());
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let csr = csr_der(
        &client.key,
        name("CN=router1"),
        vec![eku(&[SERVER_AUTH, CLIENT_AUTH])],
        DigestAlg::Sha256,
    );
    let msg = client.pkcs_req(&ca_der, &csr, "TID-NARROW");
    let der = client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(1)), &ca_der));
    assert_eq!(issued_ekus(&der), vec![CLIENT_AUTH]);
    let v = validity(&Certificate::from_der(&der).unwrap());
    assert_eq!(v.span(), Duration::from_days(30));
    let seen = host.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, ReviewStage::Arrival);
    assert_eq!(seen[0].2, SignerKind::SelfSigned);
}

#[test]
fn c10_host_rejects_on_arrival_and_at_grant() {
    let host = Recorder::new(Review::Reject("not in the inventory".to_owned()));
    let ca = open(config(), 53).with_host(host.clone());
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-REJ");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(1)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.last_serial(), 1);
    let record = host.last();
    assert_eq!(record.outcome, AuditOutcome::Failure(FailInfo::BadRequest));
    assert!(record.reason.contains("not in the inventory"), "{record:?}");
    // The requester is not told the host's reason.
    match &rep.status {
        scep_proto::CertRepStatus::Failure { text, .. } => assert_eq!(text, &None),
        other => panic!("{other:?}"),
    }

    // Manual mode: accepted on arrival, refused when the administrator grants.
    let host = Recorder::new(Review::Accept);
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 54).with_host(host.clone());
    let ca_der = ca.ca_certificate_der();
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-REJ2");
    post(&ca, &msg, T0, &mut rng(1));
    *host.review.lock().unwrap() = Review::Reject("revoked device".to_owned());
    match ca.grant(RequestSelector::All, T0, &mut rng(2)) {
        Err(CaError::HostRejected { reason }) => assert_eq!(reason, "revoked device"),
        other => panic!("{other:?}"),
    }
    assert_eq!(host.seen.lock().unwrap()[1].0, ReviewStage::AdminGrant);
    assert_eq!(ca.list_pending()[0].status, ca_core::RequestStatus::Pending);
}

#[test]
fn audit_record_for_every_decision() {
    let host = Recorder::new(Review::Accept);
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 55).with_host(host.clone());
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-AUDIT");
    post(&ca, &msg, T0, &mut rng(1));
    let r = host.last();
    assert_eq!(r.message_type, Some(MessageType::PkcsReq));
    assert_eq!(r.transaction_id.as_deref(), Some("TID-AUDIT"));
    assert_eq!(r.outcome, AuditOutcome::Pending);
    let requester = r.requester.unwrap();
    assert_eq!(requester.kind, SignerKind::SelfSigned);
    assert_eq!(requester.subject, "CN=router1");
    assert_eq!(requester.key_fingerprint.len(), 64);

    let serials = ca.grant(RequestSelector::All, T0, &mut rng(2)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-AUDIT");
    post(&ca, &poll, T0, &mut rng(3));
    let r = host.last();
    assert_eq!(r.message_type, Some(MessageType::CertPoll));
    assert_eq!(
        r.outcome,
        AuditOutcome::Success {
            serial: Some(serials[0]),
            subject: Some("CN=router1".to_owned()),
            newly_issued: false,
        }
    );

    // A takeover attempt and a garbage request: each one record.
    let attacker = Client::new(1, "CN=x");
    let msg = attacker.pkcs_req(&ca_der, &attacker.csr(), "TID-AUDIT");
    post(&ca, &msg, T0, &mut rng(4));
    let r = host.last();
    assert_eq!(r.outcome, AuditOutcome::Failure(FailInfo::BadRequest));
    assert!(r.reason.contains("another requester"), "{r:?}");
    let before = host.records.lock().unwrap().len();
    post(&ca, b"garbage", T0, &mut rng(5));
    assert_eq!(host.records.lock().unwrap().len(), before + 1);
    assert_eq!(host.last().outcome, AuditOutcome::Http(400));

    // Under Auto: SUCCESS, newly issued, with serial and subject.
    let host = Recorder::new(Review::Accept);
    let ca = open(config(), 56).with_host(host.clone());
    let ca_der = ca.ca_certificate_der();
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-AUTO");
    post(&ca, &msg, T0, &mut rng(6));
    let r = host.last();
    assert_eq!(
        r.outcome,
        AuditOutcome::Success {
            serial: Some(2),
            subject: Some("CN=router1".to_owned()),
            newly_issued: true,
        }
    );
    assert_eq!(r.reason, "granted: grant auto");
    assert_eq!(host.records.lock().unwrap().len(), 1);
}
