//! Test code: S-40 end to end: a PKCSReq whose CSR is BER (indefinite lengths inside the
//! messageData) is issued the requester's own certificate through `Ca::handle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{RequestStatus, issue::certificate_serial};
use ca_support::*;
use der::{Decode, Encode};
use x509_cert::request::CertReq;

/// `der` re-encoded with every constructed element in the indefinite length form (S-40: jscep
/// and Apple clients send it); primitive elements keep their definite lengths.
fn indefinite(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = der;
    while !rest.is_empty() {
        let tag = rest[0];
        let (len, header) = match rest[1] {
            n if n < 0x80 => (usize::from(n), 2),
            0x81 => (usize::from(rest[2]), 3),
            0x82 => (usize::from(rest[2]) << 8 | usize::from(rest[3]), 4),
            other => panic!("length form {other:#x} not in the test's CSRs"),
        };
        let contents = &rest[header..header + len];
        if tag & 0x20 != 0 {
            out.extend_from_slice(&[tag, 0x80]);
            out.extend(indefinite(contents));
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&rest[..header + len]);
        }
        rest = &rest[header + len..];
    }
    out
}

#[test]
fn s40_ber_csr_in_a_pkcsreq_is_issued_the_requesters_own_certificate() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=BER CLIENT,O=EXAMPLE");
    let der_csr = client.csr();
    let ber_csr = indefinite(&der_csr);
    // The conversion is real: the bytes differ, strict DER refuses them, and they still hold
    // the same request.
    assert_ne!(ber_csr, der_csr);
    assert!(ber_csr.windows(2).any(|w| w == [0x30, 0x80]));
    assert!(CertReq::from_der(&ber_csr).is_err());
    let asked = CertReq::from_der(&der_csr).unwrap();
    let serial_before = ca.last_serial();

    let msg = client.pkcs_req(&ca_der, &ber_csr, "BER-TID-1");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(2)), &ca_der);
    let issued = parse_cert(&client.issued(&rep));
    let tbs = issued.tbs_certificate();

    // The requester's own key and subject, under this CA, with a serial handed out now.
    assert_eq!(
        tbs.subject_public_key_info().to_der().unwrap(),
        asked.info.public_key.to_der().unwrap()
    );
    assert_eq!(tbs.subject().to_string(), asked.info.subject.to_string());
    assert_eq!(tbs.subject().to_string(), "CN=BER CLIENT,O=EXAMPLE");
    assert_eq!(
        tbs.issuer().to_string(),
        parse_cert(&ca_der).tbs_certificate().subject().to_string()
    );
    let serial = certificate_serial(&issued).unwrap();
    assert!(serial > serial_before, "{serial} after {serial_before}");
    assert_eq!(ca.last_serial(), serial);
    // The request table holds it as issued, under that serial (C-18).
    let rows = ca.list_pending();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, RequestStatus::Issued(serial));
    assert_eq!(rows[0].subject, "CN=BER CLIENT,O=EXAMPLE");
    assert_eq!(rows[0].key_bits, 1024);
}
