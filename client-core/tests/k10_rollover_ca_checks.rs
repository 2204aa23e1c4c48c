//! S-33 / K-2 (amended) / K-10 from the attacker's side: the rollover CA certificate a client
//! installs (and pins at activation) must come from the signed GetNextCACert content and pass
//! the checks K-2 applies to a CA certificate.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ca_core::issue::{CaCertParams, self_signed_ca_certificate};
use client_core::{Event, NextCaProblem, StateName, Trustpoint, Warning};
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData};
use der::{Decode, Encode};
use pki_timers::{ClientTimer, Duration};
use rand::rngs::StdRng;
use scep_proto::{Certificate, DigestAlg, NextCaCerts, ScepRequest, Signer};
use support::*;

/// A GetNextCACert answer genuinely signed by the active CA with `inner` in the signed
/// certs-only set and `outer` appended in transit to the unsigned outer certificate set.
fn answer(ca: &TestCa, inner: &[Certificate], outer: &[Certificate], r: &mut StdRng) -> Vec<u8> {
    let body = NextCaCerts::build(
        inner,
        Signer {
            cert: &ca.active.cert,
            key: &ca.active.key,
        },
        DigestAlg::Sha256,
        None,
        r,
    )
    .unwrap();
    if outer.is_empty() {
        return body;
    }
    let mut ci = ContentInfo::from_der(&body).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut certs: Vec<_> = sd
        .certificates
        .take()
        .map(|s| s.0.into_vec())
        .unwrap_or_default();
    for c in outer {
        let c = Decode::from_der(&c.to_der().unwrap()).unwrap();
        certs.push(cms::cert::CertificateChoices::Certificate(c));
    }
    sd.certificates = Some(CertificateSet(certs.try_into().unwrap()));
    ci.content = der::Any::encode_from(&sd).unwrap();
    ci.to_der().unwrap()
}

/// Authenticates, fires the CA-only SHADOW timer (K-9) and answers the GetNextCACert with
/// `body`; everything else goes to the test CA. Returns the trustpoint and its events.
fn rollover_with(
    body: impl Fn(&TestCa, &mut StdRng) -> Vec<u8>,
) -> (Trustpoint, TestCa, Vec<Event>) {
    let mut r = rng(33);
    let mut ca = TestCa::new(T0, 30);
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, None, now, &mut r);
    let t = tp
        .timers()
        .into_iter()
        .find(|(k, _)| *k == ClientTimer::Shadow)
        .map(|(_, at)| at)
        .unwrap();
    tp.handle_timeout(t);
    let mut next_ca = 0;
    while let Some(req) = tp.poll_request(t, &mut r) {
        let method = match req.method {
            scep_proto::Method::Get => "GET",
            _ => "POST",
        };
        let parsed = ScepRequest::parse(method, &req.target, &req.body).unwrap();
        let reply = if matches!(parsed, ScepRequest::GetNextCaCert { .. }) {
            next_ca += 1;
            Ok(client_core::HttpReply {
                status: 200,
                content_type: Some(NextCaCerts::CONTENT_TYPE.into()),
                body: body(&ca, &mut r),
            })
        } else {
            ca.now = t;
            ca.handle(&req)
        };
        tp.handle_response(reply, t, &mut r);
    }
    assert_eq!(next_ca, 1, "one GetNextCACert");
    let ev = events(&mut tp);
    (tp, ca, ev)
}

/// Same subject as the test CA, later notAfter, self-signed by another key (key 3).
fn impostor(r: &mut StdRng) -> Certificate {
    let mut p = CaCertParams::new("CN=Test CA,O=scep-rs".parse().unwrap(), at(T0));
    p.lifetime = Duration::from_days(400);
    self_signed_ca_certificate(&p, keys()[3].clone(), r)
        .unwrap()
        .certificate()
        .clone()
}

fn refused(tp: &Trustpoint, ev: &[Event]) {
    assert!(!ev.contains(&Event::RolloverCaInstalled), "{ev:?}");
    assert!(tp.rollover_ca_cert().is_none());
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Warning(Warning::NextCaCert(_)))),
        "{ev:?}"
    );
    assert_eq!(tp.state(), StateName::AwaitingNextCaCert);
}

#[test]
fn s33_k10_impostor_in_unsigned_outer_set_is_not_installed() {
    let (tp, ca, ev) = rollover_with(|ca, r| {
        let imp = impostor(r);
        answer(ca, &[], &[imp], r)
    });
    refused(&tp, &ev);
    assert!(ev.contains(&Event::Warning(Warning::NextCaCert(
        NextCaProblem::NoRolloverCa
    ))));
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
}

/// The genuine rollover certificate with one nibble of its RSA modulus flipped: its
/// self-signature no longer verifies.
fn broken_self_signature(cert: &Certificate) -> Certificate {
    let mut der = cert.to_der().unwrap();
    let spk = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let at = der
        .windows(spk.len())
        .position(|w| w == spk.as_slice())
        .unwrap();
    // Past the RSAPublicKey and INTEGER headers: inside the modulus.
    der[at + 40] ^= 0x0f;
    Certificate::from_der(&der).unwrap()
}

#[test]
fn k02_k10_rollover_with_broken_self_signature_is_refused() {
    let (tp, ca, ev) = rollover_with(|ca, r| {
        let mut ca2 = TestCa::new(T0, 30);
        ca2.make_rollover(60);
        let bad = broken_self_signature(&ca2.rollover.as_ref().unwrap().cert);
        answer(ca, &[bad], &[], r)
    });
    refused(&tp, &ev);
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Warning(Warning::NextCaCert(NextCaProblem::InvalidRolloverCa(
            client_core::AuthFailure::CaSelfSignature(_)
        )))
    )));
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
}

#[test]
fn k10_genuine_signed_rollover_installs_and_activates() {
    let (mut tp, mut ca, ev) = rollover_with(|ca, r| {
        let mut ca2 = TestCa::new(T0, 30);
        ca2.make_rollover(60);
        answer(ca, &[ca2.rollover.as_ref().unwrap().cert.clone()], &[], r)
    });
    assert!(ev.contains(&Event::RolloverCaInstalled), "{ev:?}");
    let rollover = tp.rollover_ca_cert().unwrap().clone();
    let mut r = rng(34);
    let end = at(ca.active.not_after());
    step(&mut tp, &mut ca, end, &mut r);
    assert!(events(&mut tp).contains(&Event::RolloverActivated));
    assert_eq!(tp.ca_cert(), Some(&rollover));
}

#[test]
fn k02_k10_rollover_not_valid_at_activation_is_refused() {
    // Signed set, same subject, later notAfter, intact self-signature, but it only starts
    // 30 days after the active CA ends: no CA at the activation instant.
    let (tp, ca, ev) = rollover_with(|ca, r| {
        let mut p = CaCertParams::new(
            "CN=Test CA,O=scep-rs".parse().unwrap(),
            at(T0 + 60 * 86_400),
        );
        p.lifetime = Duration::from_days(400);
        let late = self_signed_ca_certificate(&p, keys()[1].clone(), r)
            .unwrap()
            .certificate()
            .clone();
        answer(ca, &[late], &[], r)
    });
    refused(&tp, &ev);
    assert!(ev.contains(&Event::Warning(Warning::NextCaCert(
        NextCaProblem::InvalidRolloverCa(client_core::AuthFailure::CaNotValidNow)
    ))));
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
}

/// An end-entity certificate for `key` under `subject`, issued by `issuer` from `now` on.
fn issued_by(issuer: &ca_core::issue::CaKey, key: usize, subject: &str, now: u64) -> Certificate {
    let csr = test_csr(&keys()[key], subject);
    let csr = ca_core::issue::VerifiedCsr::from_der(&csr, false).unwrap();
    let validity =
        ca_core::issue::identity_validity(at(now), issuer, Duration::from_days(365)).unwrap();
    ca_core::issue::identity_certificate(
        issuer,
        &csr,
        &ca_core::issue::IdentityParams::new(77, validity),
        &mut rng(35),
    )
    .unwrap()
}

#[test]
fn k02_s33_k10_rollover_ra_kept_only_if_the_rollover_ca_issued_it() {
    // The signed set: the rollover CA, its genuine RA, and an "RA" the active CA issued (same
    // issuer name, other key); appended in transit: an RA of an impostor CA.
    let (tp, _ca, ev) = rollover_with(|ca, r| {
        let mut ca2 = TestCa::new(T0, 30);
        ca2.make_rollover(60);
        let rollover = ca2.rollover.as_ref().unwrap();
        let genuine = issued_by(&rollover.ca, 2, "CN=Next RA,O=scep-rs", T0);
        let wrong = issued_by(&ca.active.ca, 1, "CN=Wrong RA,O=scep-rs", T0);
        let outer = issued_by(&ca.impostor.ca, 3, "CN=Outer RA,O=scep-rs", T0);
        answer(ca, &[rollover.cert.clone(), genuine, wrong], &[outer], r)
    });
    assert!(ev.contains(&Event::RolloverCaInstalled), "{ev:?}");
    let saved = tp.to_bytes().unwrap();
    let holds = |subject: &str| {
        saved
            .windows(subject.len())
            .any(|w| w == subject.as_bytes())
    };
    assert!(holds("Next RA"), "the genuine rollover RA is kept");
    assert!(
        !holds("Wrong RA"),
        "an RA the rollover CA did not issue was kept"
    );
    assert!(
        !holds("Outer RA"),
        "an RA from the unsigned outer set was kept"
    );
}
