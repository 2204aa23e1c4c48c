//! K-2 (amended), from the attacker's side: a man in the middle adds its own "RA" to the
//! GetCACert answer, or serves a CA certificate whose self-signature does not verify (issue 13
//! item 4).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mitm;
mod support;

use client_core::{Event, StateName, Trustpoint};
use der::Decode;
use mitm::*;
use scep_proto::{CaCerts, Certificate};
use support::*;

const DAY: u64 = 86_400;

/// K-2 (amended): with a CA+RA answer of `bag`, every PKIOperation of an initial enrolment is
/// encrypted to the CA itself, never to an RA certificate in `rogue`; the enrolment completes.
fn enrol_behind_bag(
    ca: &mut TestCa,
    bag: Vec<Certificate>,
    rogue: &[Certificate],
    recipient: &Certificate,
    now: u64,
) {
    let mut r = rng(202);
    let now = at(now);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    answer_get_ca_cert(
        &mut tp,
        now,
        &mut r,
        CaCerts::CONTENT_TYPE_CA_RA,
        CaCerts::Chain(bag).to_der().unwrap(),
    );
    pump(&mut tp, ca, now, &mut r);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::Authenticated), "{ev:?}");
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::Warning(client_core::Warning::IgnoredCertificates { count: 1 })
        )),
        "the host hears of the ignored certificates: {ev:?}"
    );
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
    tp.handle_timeout(now);
    let mut sent = 0;
    while let Some(req) = tp.poll_request(now, &mut r) {
        let msg = pki_message(&req);
        let env = msg
            .clone()
            .verify(None)
            .unwrap()
            .envelope()
            .unwrap()
            .unwrap();
        for bad in rogue {
            assert!(
                !env.is_addressed_to(bad),
                "the challengePassword was encrypted to a rogue RA"
            );
        }
        assert!(env.is_addressed_to(recipient));
        ca.now = now;
        let reply = ca.handle(&req);
        tp.handle_response(reply, now, &mut r);
        sent += 1;
    }
    assert_eq!(sent, 1);
    assert!(events(&mut tp).contains(&Event::Enrolled));
}

/// K-2 (amended): a man in the middle adds its own "RA" — issued by another CA that even
/// bears the real CA's name — to the GetCACert answer: it is ignored.
#[test]
fn k02_impostor_ra_issued_by_another_ca_is_ignored() {
    let mut r = rng(201);
    let mut ca = TestCa::new(T0, 730);
    let rogue = ra_cert(&ca.impostor, &keys()[3], T0, 365, &mut r);
    assert_eq!(
        rogue.tbs_certificate().issuer(),
        ca.active.cert.tbs_certificate().subject(),
        "the rogue RA names the real CA as its issuer"
    );
    let bag = vec![rogue.clone(), ca.active.cert.clone()];
    let active = ca.active.cert.clone();
    enrol_behind_bag(&mut ca, bag, &[rogue], &active, T0 + 60);
}

/// K-2 (amended): the rogue "RA" placed first, before the CA's real RA: the real one is used.
#[test]
fn k02_rogue_ra_beside_the_real_one_is_ignored() {
    let mut r = rng(205);
    let mut ca = TestCa::new(T0, 730);
    ca.make_ra();
    let real = ca.ra.as_ref().unwrap().0.clone();
    let rogue = ra_cert(&ca.impostor, &keys()[3], T0, 365, &mut r);
    let bag = vec![rogue.clone(), real.clone(), ca.active.cert.clone()];
    enrol_behind_bag(&mut ca, bag, &[rogue], &real, T0 + 60);
}

/// K-2 (amended): an RA certificate of the real CA that is not valid now is ignored too.
#[test]
fn k02_ra_not_valid_now_is_ignored() {
    let mut r = rng(203);
    let mut ca = TestCa::new(T0, 730);
    let expired = ra_cert(&ca.active, &keys()[2], T0, 1, &mut r);
    let bag = vec![expired.clone(), ca.active.cert.clone()];
    let active = ca.active.cert.clone();
    enrol_behind_bag(&mut ca, bag, &[expired], &active, T0 + 10 * DAY);
}

/// K-2 (amended): the IOS CA certificate `certificate ca 01` as the Portuguese seed prints it
/// has one nibble of its modulus flipped (`…C786DEF9…` for `…C786DEE9…`). Pinned by its own
/// fingerprint it is refused — its self-signature does not verify — before GetCACaps and
/// before any PKIOperation; the genuine certificate (Korean seed) is accepted.
#[test]
fn k02_ca_certificate_with_a_flipped_modulus_nibble_is_refused_before_any_pkioperation() {
    use sha2::Digest;
    let genuine: &[u8] = include_bytes!("data/ios-ca01.der");
    let flipped: &[u8] = include_bytes!("data/ios-ca01-flipped-nibble.der");
    assert_eq!(
        genuine.iter().zip(flipped).filter(|(a, b)| a != b).count(),
        1
    );
    Certificate::from_der(flipped).expect("the flipped certificate still decodes");
    // 2016-01-01, inside the certificate's validity (2015-10-09 … 2017-10-08).
    let now = at(1_451_606_400);
    for (der, accepted) in [(genuine, true), (flipped, false)] {
        let mut r = rng(204);
        let mut c = config(Some(80));
        // The seed's CA signs with MD5 (IOS, 2015).
        c.legacy_algorithms = true;
        c.ca_fingerprint = Some(hex_of(&sha2::Sha256::digest(der)));
        let mut tp = Trustpoint::new(c).unwrap();
        tp.set_authoritative_time(true, now);
        tp.authenticate(now).unwrap();
        answer_get_ca_cert(&mut tp, now, &mut r, CaCerts::CONTENT_TYPE_CA, der.to_vec());
        let ev = events(&mut tp);
        if accepted {
            assert!(ev.is_empty(), "{ev:?}");
            let req = tp.poll_request(now, &mut r).expect("GetCACaps");
            assert!(req.target.contains("GetCACaps"));
            continue;
        }
        assert!(
            matches!(
                ev.as_slice(),
                [Event::AuthenticationFailed {
                    reason: client_core::AuthFailure::CaSelfSignature(_)
                }]
            ),
            "{ev:?}"
        );
        let text = match &ev[0] {
            Event::AuthenticationFailed { reason } => reason.to_string(),
            _ => unreachable!(),
        };
        assert!(text.contains("self-signature"), "{text}");
        assert_eq!(tp.state(), StateName::Unauthenticated);
        assert!(tp.ca_cert().is_none());
        // K-4: RENEW fires, nothing is sent; a manual enrol is refused.
        tp.handle_timeout(now);
        assert!(tp.poll_request(now, &mut r).is_none());
        assert_eq!(
            tp.enroll(now, None),
            Err(client_core::TrustpointError::NotAuthenticated)
        );
        // With host approval instead of a fingerprint it is refused as well, before asking.
        let mut tp = Trustpoint::new({
            let mut c = config(None);
            c.legacy_algorithms = true;
            c
        })
        .unwrap();
        tp.authenticate(now).unwrap();
        answer_get_ca_cert(&mut tp, now, &mut r, CaCerts::CONTENT_TYPE_CA, der.to_vec());
        let ev = events(&mut tp);
        assert!(
            matches!(ev.as_slice(), [Event::AuthenticationFailed { .. }]),
            "{ev:?}"
        );
        assert!(tp.poll_request(now, &mut r).is_none());
    }
}

fn hex_of(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// K-2: a self-signed certificate of the man in the middle placed first in a CA+RA answer
/// does not displace the CA pinned by fingerprint (the CA is the certificate with the
/// configured fingerprint); it is ignored like any other stranger.
#[test]
fn k02_rogue_self_signed_certificate_first_does_not_displace_the_pinned_ca() {
    let mut r = rng(206);
    let mut ca = TestCa::new(T0, 730);
    let (rogue, _) = mallory(&mut r);
    let bag = vec![rogue.clone(), ca.active.cert.clone()];
    let active = ca.active.cert.clone();
    enrol_behind_bag(&mut ca, bag, &[rogue], &active, T0 + 60);
}
