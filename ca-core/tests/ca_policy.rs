//! Test code: the issuance policy from the attacker's side (C-10 amended; issue 13 item 2).
//!
//! Under `grant = Auto` anyone with a key gets a certificate; what it may contain is the
//! policy's business. Demonstrated before the fix: a CSR asking for OCSPSigning + codeSigning
//! and a bank's DNS name got all three (an OCSPSigning certificate of this CA is a delegated
//! OCSP responder for the whole CA), and a renewal could change its names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{Ca, MemoryStore};
use ca_support::*;
use der::{Decode, Encode, asn1::Ia5String, oid::ObjectIdentifier};
use scep_proto::{Certificate, DigestAlg, FailInfo};
use x509_cert::ext::{
    Extension,
    pkix::{ExtendedKeyUsage, SubjectAltName, name::GeneralName},
};

pub(crate) const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
pub(crate) const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
pub(crate) const CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
pub(crate) const TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
pub(crate) const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
pub(crate) const ANY_EKU: &str = "2.5.29.37.0";

pub(crate) fn eku(oids: &[&str], critical: bool) -> Extension {
    let value = ExtendedKeyUsage(
        oids.iter()
            .map(|o| ObjectIdentifier::new_unwrap(o))
            .collect(),
    );
    Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.37"),
        critical,
        extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

pub(crate) fn dns_san(names: &[&str]) -> Extension {
    let value = SubjectAltName(
        names
            .iter()
            .map(|n| GeneralName::DnsName(Ia5String::new(n).unwrap()))
            .collect(),
    );
    Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.17"),
        critical: false,
        extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

pub(crate) fn uri_san(uri: &str) -> Extension {
    let value = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
        Ia5String::new(uri).unwrap(),
    )]);
    Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.17"),
        critical: false,
        extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

pub(crate) fn csr_with(client: &Client, subject: &str, exts: Vec<Extension>) -> Vec<u8> {
    csr_der(&client.key, name(subject), exts, DigestAlg::Sha256)
}

/// The extension `oid` of a certificate.
pub(crate) fn ext<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a Extension> {
    let oid = ObjectIdentifier::new_unwrap(oid);
    cert.tbs_certificate()
        .extensions()
        .and_then(|e| e.iter().find(|x| x.extn_id == oid))
}

/// Sends `csr` as a PKCSReq under `tid`; the CertRep.
fn enrol(ca: &Ca<MemoryStore>, client: &Client, csr: &[u8], tid: &str) -> scep_proto::CertRep {
    let ca_der = ca.ca_certificate_der();
    let msg = client.pkcs_req(&ca_der, csr, tid);
    client.open_rep(&post(ca, &msg, T0, &mut rng(4)), &ca_der)
}

#[test]
fn c10_dangerous_ekus_refused_under_auto() {
    let ca = open(config(), 41);
    let attacker = Client::new(1, "CN=attacker");
    for (i, usages) in [
        vec![OCSP_SIGNING],
        vec![CODE_SIGNING],
        vec![ANY_EKU],
        vec![TIME_STAMPING],
        vec![SERVER_AUTH, OCSP_SIGNING, CODE_SIGNING],
    ]
    .into_iter()
    .enumerate()
    {
        let csr = csr_with(
            &attacker,
            "CN=attacker",
            vec![eku(&usages, false), dns_san(&["www.bank.example"])],
        );
        let rep = enrol(&ca, &attacker, &csr, &format!("EKU-{i}"));
        assert_eq!(failure(&rep), FailInfo::BadRequest, "{usages:?}");
    }
    assert_eq!(ca.last_serial(), 1, "nothing issued");
}

#[test]
fn c10_allowed_eku_issued_non_critical_and_names_kept() {
    let ca = open(config(), 42);
    let client = Client::new(0, "CN=router1");
    let csr = csr_with(
        &client,
        "CN=router1",
        vec![
            eku(&[SERVER_AUTH, CLIENT_AUTH], true),
            dns_san(&["router1.example"]),
        ],
    );
    // A critical EKU is outside the default policy: refused under Auto.
    let rep = enrol(&ca, &client, &csr, "CRIT");
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    let csr = csr_with(
        &client,
        "CN=router1",
        vec![
            eku(&[SERVER_AUTH, CLIENT_AUTH], false),
            dns_san(&["router1.example"]),
        ],
    );
    let rep = enrol(&ca, &client, &csr, "OK");
    let cert = Certificate::from_der(&client.issued(&rep)).unwrap();
    let e = ext(&cert, "2.5.29.37").unwrap();
    assert!(!e.critical);
    let usages = ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).unwrap();
    assert_eq!(usages.0.len(), 2);
    assert!(ext(&cert, "2.5.29.17").is_some());
}

#[test]
fn c10_uri_san_refused_under_auto() {
    let ca = open(config(), 43);
    let attacker = Client::new(1, "CN=attacker");
    let csr = csr_with(
        &attacker,
        "CN=attacker",
        vec![uri_san("https://bank.example/")],
    );
    let rep = enrol(&ca, &attacker, &csr, "URI");
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

#[test]
fn c10_renewal_asking_for_a_foreign_san_refused() {
    let ca = open(config(), 44);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let csr = csr_with(&client, "CN=router1", vec![dns_san(&["router1.example"])]);
    let old = client.issued(&enrol(&ca, &client, &csr, "ENROL"));
    let credential = client.with_cert(&old);
    let new_key = Client::new(2, "CN=router1");

    // Renewal with the bank's name added: refused.
    let foreign = csr_with(
        &new_key,
        "CN=router1",
        vec![dns_san(&["router1.example", "www.bank.example"])],
    );
    let msg = credential.renewal_req(&ca_der, &foreign, "RENEW-1");
    let rep = credential.open_rep(&post(&ca, &msg, T0, &mut rng(5)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    // Renewal with another subject: refused.
    let other = csr_with(&new_key, "CN=bank", vec![dns_san(&["router1.example"])]);
    let msg = credential.renewal_req(&ca_der, &other, "RENEW-2");
    let rep = credential.open_rep(&post(&ca, &msg, T0, &mut rng(6)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    assert_eq!(ca.last_serial(), 2);
    // The same names: renewed.
    let same = csr_with(&new_key, "CN=router1", vec![dns_san(&["router1.example"])]);
    let msg = credential.renewal_req(&ca_der, &same, "RENEW-3");
    let rep = credential.open_rep(&post(&ca, &msg, T0, &mut rng(7)), &ca_der);
    assert!(matches!(rep.status, scep_proto::CertRepStatus::Success(_)));
}
