//! S-33 from the attacker's side: the rollover CA certificate comes from the signed inner
//! certs-only set; the outer `certificates` of the SignedData are not covered by the
//! signature, so a man in the middle can add anything there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData};
use common::{ca, ca_next, rng};
use der::{Decode, Encode};
use scep_proto::{DigestAlg, NextCaCerts, Profile, Signer};
use x509_cert::certificate::CertificateInner;

/// A genuine answer (signed by the active CA, empty inner set) with `extra` appended to the
/// unsigned outer certificate set in transit.
fn answer_with_outer(extra: &scep_proto::Certificate) -> Vec<u8> {
    let (ca_cert, ca_key) = ca();
    let body = NextCaCerts::build(
        &[],
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        DigestAlg::Sha256,
        None,
        &mut rng(33),
    )
    .unwrap();
    let mut ci = ContentInfo::from_der(&body).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut certs: Vec<_> = sd
        .certificates
        .take()
        .map(|s| s.0.into_vec())
        .unwrap_or_default();
    let extra = CertificateInner::from_der(&extra.to_der().unwrap()).unwrap();
    certs.push(cms::cert::CertificateChoices::Certificate(extra));
    sd.certificates = Some(CertificateSet(certs.try_into().unwrap()));
    ci.content = der::Any::encode_from(&sd).unwrap();
    ci.to_der().unwrap()
}

#[test]
fn s33_outer_set_cert_not_signed_by_active_ca_is_not_a_rollover() {
    let (ca_cert, _) = ca();
    // Same subject, later notAfter, self-signed by another key: exactly what an attacker adds.
    let (impostor, _) = ca_next();
    let body = answer_with_outer(&impostor);
    let got = NextCaCerts::from_der_verified(&body, &ca_cert, &Profile::STRICT).unwrap();
    assert!(got.certificates.is_empty());
    assert!(got.outer_certificates.contains(&impostor));
    assert_eq!(got.rollover_for(&ca_cert), None);
    assert_eq!(got.rollover_for_verified(&ca_cert, &Profile::STRICT), None);
}

#[test]
fn s33_outer_set_is_ignored_when_decoded_by_hand() {
    // The public fields can be filled by anyone: still only signed content counts.
    let (ca_cert, _) = ca();
    let (impostor, _) = ca_next();
    let n = NextCaCerts {
        certificates: Vec::new(),
        outer_certificates: vec![ca_cert.clone(), impostor],
    };
    assert_eq!(n.rollover_for(&ca_cert), None);
    assert_eq!(n.rollover_for_verified(&ca_cert, &Profile::LEGACY), None);
}

#[test]
fn s33_signed_inner_rollover_is_still_found() {
    let (ca_cert, ca_key) = ca();
    let (next, _) = ca_next();
    let body = NextCaCerts::build(
        std::slice::from_ref(&next),
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        DigestAlg::Sha256,
        None,
        &mut rng(34),
    )
    .unwrap();
    let got = NextCaCerts::from_der_verified(&body, &ca_cert, &Profile::STRICT).unwrap();
    assert_eq!(got.rollover_for(&ca_cert), Some(&next));
    assert_eq!(
        got.rollover_for_verified(&ca_cert, &Profile::STRICT),
        Some(&next)
    );
}
