//! Test code: RA mode (S-7, S-30, S-31, S-33, C-6, C-7, C-9 steps 5 and 6, C-22, C-25), from
//! the attacker's side first: who may pass for the RA, what a request to the RA opens, what
//! a replay buys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{
    Ca, CaConfig, CaError, CaState, GrantAutoRollover, GrantMode, MemoryStore,
    issue::{IdentityParams, VerifiedCsr, certificate_serial, identity_certificate},
};
use ca_support::*;
use der::{Decode, Encode};
use pki_timers::{Duration, Instant};
use scep_proto::{
    Certificate, CertsOnly, FailInfo, NextCaCerts, PkiMessage, PrivateKey, Profile, SelfSigned,
};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

const DAY: u64 = 86_400;
const RA: &str = "CN=ROOTCA-RA";

fn ra_config(grant: GrantMode) -> CaConfig {
    let mut c = config();
    c.grant = grant;
    c.ra_subject = Some(RA.to_owned());
    c
}

fn public_key(cert: &Certificate) -> scep_proto::PublicKey {
    scep_proto::PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info()).unwrap()
}

/// The eContent of a pkiMessage: the DER of its pkcsPKIEnvelope.
fn envelope_of(msg: &[u8]) -> Vec<u8> {
    let outer = cms::content_info::ContentInfo::from_der(msg).unwrap();
    let sd: cms::signed_data::SignedData = outer.content.decode_as().unwrap();
    let econtent = sd.encap_content_info.econtent.unwrap();
    econtent
        .decode_as::<der::asn1::OctetString>()
        .unwrap()
        .into_bytes()
        .to_vec()
}

fn at_days(d: u64) -> Instant {
    Instant::from_unix(T0.unix() + d * DAY)
}

/// The RA as a client: the CA's RA certificate and key, signing forwarded requests.
fn ra_client(ca: &Ca<MemoryStore>) -> Client {
    let (cert, key) = ca.ra_credential().unwrap();
    Client {
        key,
        cert,
        subject: RA.to_owned(),
    }
}

fn ra_der(ca: &Ca<MemoryStore>) -> Vec<u8> {
    ca.ra_certificate_der().unwrap()
}

fn get_ca_cert(ca: &Ca<MemoryStore>, now: Instant) -> scep_proto::HttpResponse {
    ca.handle("GET", "/?operation=GetCACert", b"", now, &mut rng(3))
}

/// Whether the CertRep in `resp` verifies under `signer_der`.
fn signed_by(resp: &scep_proto::HttpResponse, signer_der: &[u8]) -> bool {
    let signer = Certificate::from_der(signer_der).unwrap();
    PkiMessage::from_der(&resp.body, &Profile::STRICT)
        .unwrap()
        .verify(Some(&signer))
        .is_ok()
}

#[test]
fn s07_s31_get_ca_cert_answers_ca_then_ra_in_a_certs_only_bag() {
    let ca = open(ra_config(GrantMode::Manual), 1);
    let r = get_ca_cert(&ca, T0);
    assert_eq!(
        (r.status, r.content_type),
        (200, "application/x-x509-ca-ra-cert")
    );
    let bag = CertsOnly::from_der(&r.body).unwrap();
    let ders: Vec<Vec<u8>> = bag
        .certificates
        .iter()
        .map(|c| c.to_der().unwrap())
        .collect();
    // The documented order: the CA certificate, then the RA certificate.
    assert_eq!(ders, vec![ca.ca_certificate_der(), ra_der(&ca)]);
    let ca_cert = parse_cert(&ca.ca_certificate_der());
    let ra = parse_cert(&ra_der(&ca));
    // The RA certificate is issued by the CA key, end entity, and both encrypts and signs.
    public_key(&ca_cert)
        .verify_certificate(&ra, &Profile::STRICT)
        .unwrap();
    assert_eq!(
        ra.tbs_certificate().issuer(),
        ca_cert.tbs_certificate().subject()
    );
    assert_eq!(ra.tbs_certificate().subject().to_string(), RA);
    let (_, bc) = ra
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert!(!bc.ca);
    let (_, ku) = ra
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .unwrap()
        .unwrap();
    assert!(ku.digital_signature() && ku.key_encipherment());
    assert_eq!(certificate_serial(&ra).unwrap(), 2);
    assert_eq!(ca.last_serial(), 2);
    // Without RA mode: the one certificate (S-7).
    let plain = open(config(), 1);
    let r = get_ca_cert(&plain, T0);
    assert_eq!(r.content_type, "application/x-x509-ca-cert");
    assert_eq!(r.body, plain.ca_certificate_der());
}

#[test]
fn c06_c07_request_to_the_ra_is_opened_with_the_ra_key_and_answered_by_the_ra() {
    let ca = open(ra_config(GrantMode::Auto), 1);
    let ra = ra_der(&ca);
    let client = Client::new(0, "CN=router1");
    let resp = post(
        &ca,
        &client.pkcs_req(&ra, &client.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    // C-7: signed by the RA (the recipient), not by the CA.
    assert!(signed_by(&resp, &ra));
    assert!(!signed_by(&resp, &ca.ca_certificate_der()));
    let issued = parse_cert(&client.issued(&client.open_rep(&resp, &ra)));
    // Issued by the CA key, to the client's own key and subject.
    assert_eq!(issued.tbs_certificate().subject().to_string(), "CN=router1");
    assert_eq!(
        issued.tbs_certificate().issuer(),
        parse_cert(&ca.ca_certificate_der())
            .tbs_certificate()
            .subject()
    );
    let ca_cert = parse_cert(&ca.ca_certificate_der());
    public_key(&ca_cert)
        .verify_certificate(&issued, &Profile::STRICT)
        .unwrap();
    // A request to the CA certificate is still answered by the CA.
    let other = Client::new(1, "CN=router2");
    let resp = post(
        &ca,
        &other.pkcs_req(&ca.ca_certificate_der(), &other.csr(), "TID-2"),
        T0,
        &mut rng(4),
    );
    assert!(signed_by(&resp, &ca.ca_certificate_der()));
}

#[test]
fn c06_ra_recipient_keeps_the_one_opaque_failure() {
    // A captured envelope to the RA, its ciphertext tampered with and replayed in the
    // attacker's own SignedData: the same FAILURE badMessageCheck without text as for the CA.
    let ca = open(ra_config(GrantMode::Auto), 1);
    let ra = ra_der(&ca);
    let victim = Client::new(0, "CN=victim");
    let attacker = Client::new(1, "CN=attacker");
    let mut answers = Vec::new();
    for (i, recipient) in [ra.clone(), ca.ca_certificate_der()].iter().enumerate() {
        let captured = victim.pkcs_req(recipient, &victim.csr(), "TID-V");
        let mut env = envelope_of(&captured);
        let last = env.len() - 20;
        env[last] ^= 0x01;
        let carrier = attacker.pkcs_req(recipient, &attacker.csr(), &format!("TID-A{i}"));
        let msg = rewrap(&carrier, &attacker, &env);
        let resp = post(&ca, &msg, T0, &mut rng(4));
        let signer = if i == 0 {
            &ra
        } else {
            &ca.ca_certificate_der()
        };
        assert!(signed_by(&resp, signer));
        let rep = attacker.open_rep(&resp, signer);
        let scep_proto::CertRepStatus::Failure { fail_info, text } = rep.status else {
            panic!("expected FAILURE, got {:?}", rep.status);
        };
        answers.push((fail_info, text));
    }
    assert_eq!(answers[0], (FailInfo::BadMessageCheck, None));
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn c09_ra_auto_grants_a_request_signed_by_the_registered_ra() {
    let ca = open(ra_config(GrantMode::RaAuto), 1);
    let ra = ra_client(&ca);
    let ra_der = ra_der(&ca);
    // The RA forwards router1's CSR, signed with the RA certificate.
    let router = Client::new(0, "CN=router1");
    let resp = post(
        &ca,
        &ra.pkcs_req(&ra_der, &router.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    let rep = ra.open_rep(&resp, &ra_der);
    // The certificate is the router's: its key, its subject, a new serial.
    let issued = router.issued(&rep);
    let cert = parse_cert(&issued);
    assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=router1");
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        &router.key.public_key_info().unwrap()
    );
    assert_eq!(certificate_serial(&cert).unwrap(), 3);
    // The RA also works addressed to the CA certificate.
    let router2 = Client::new(1, "CN=router2");
    let ca_der = ca.ca_certificate_der();
    let resp = post(
        &ca,
        &ra.pkcs_req(&ca_der, &router2.csr(), "TID-2"),
        T0,
        &mut rng(4),
    );
    router2.issued(&ra.open_rep(&resp, &ca_der));
    // More than the per-key quota of forwarded requests under Manual stays possible: the
    // RA is not one key holding requests for itself (C-14).
    let manual = open(ra_config(GrantMode::Manual), 1);
    let ra = ra_client(&manual);
    for i in 0..6 {
        let c = Client::new(i % 4, &format!("CN=r{i}"));
        let msg = ra.pkcs_req(&ra_der_of(&manual), &c.csr(), &format!("TID-M{i}"));
        let rep = ra.open_rep(&post(&manual, &msg, T0, &mut rng(4)), &ra_der_of(&manual));
        assert!(is_pending(&rep), "{i}: {:?}", rep.status);
    }
}

fn ra_der_of(ca: &Ca<MemoryStore>) -> Vec<u8> {
    ra_der(ca)
}

#[test]
fn c09_ra_auto_request_to_the_ra_signed_by_someone_else_waits() {
    // Encrypted to the RA, but signed by an ordinary self-signed client: not the RA.
    let ca = open(ra_config(GrantMode::RaAuto), 1);
    let ra = ra_der(&ca);
    let client = Client::new(0, "CN=router1");
    let resp = post(
        &ca,
        &client.pkcs_req(&ra, &client.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    assert!(is_pending(&client.open_rep(&resp, &ra)));
    assert_eq!(ca.last_serial(), 2);
}

#[test]
fn c09_ra_auto_certificate_not_issued_as_ra_is_not_the_ra() {
    // A valid identity certificate of this CA (a renewal credential) is not the RA.
    let mut config = ra_config(GrantMode::RaAuto);
    config.grant_auto_trustpoint = false;
    let ca = open(config, 1);
    let ra = ra_der(&ca);
    let client = Client::new(0, "CN=router1");
    // Enrol it by hand.
    let resp = post(
        &ca,
        &client.pkcs_req(&ra, &client.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    assert!(is_pending(&client.open_rep(&resp, &ra)));
    ca.grant(ca_core::RequestSelector::All, T0, &mut rng(5))
        .unwrap();
    let poll = post(&ca, &client.cert_poll(&ra, "TID-1"), T0, &mut rng(4));
    let issued = client.issued(&client.open_rep(&poll, &ra));
    let holder = client.with_cert(&issued);
    let other = Client::new(1, "CN=router2");
    let msg = holder.pkcs_req(&ra, &other.csr(), "TID-2");
    let rep = holder.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ra);
    assert!(is_pending(&rep), "{:?}", rep.status);
}

#[test]
fn c09_impostor_ra_certificate_same_subject_is_not_the_ra() {
    let ca = open(ra_config(GrantMode::RaAuto), 1);
    let ra_der = ra_der(&ca);
    let real = parse_cert(&ra_der);
    let victim = Client::new(0, "CN=router1");
    // (a) Self-signed with the RA's subject, another issuer and serial.
    let impostor_key = key(2);
    let self_signed = SelfSigned::new(name(RA), vec![0x02], T0.unix(), T0.unix() + 400 * DAY)
        .build(&impostor_key, &mut rng(8))
        .unwrap();
    // (b) The RA's own issuer name and serial, signed by a look-alike CA key.
    let fake_ca = ca_core::issue::self_signed_ca_certificate(
        &ca_core::issue::CaCertParams::new(name("CN=ROOTCA"), T0),
        key(3),
        &mut rng(9),
    )
    .unwrap();
    let csr = VerifiedCsr::from_der(
        &csr_der(
            &impostor_key,
            name(RA),
            vec![],
            scep_proto::DigestAlg::Sha256,
        ),
        false,
    )
    .unwrap();
    let serial = certificate_serial(&real).unwrap();
    let lookalike = identity_certificate(
        &fake_ca,
        &csr,
        &IdentityParams::new(
            serial,
            validity(&parse_cert(&fake_ca.certificate_der().unwrap())),
        ),
        &mut rng(10),
    )
    .unwrap();
    assert_eq!(
        lookalike.tbs_certificate().issuer(),
        real.tbs_certificate().issuer()
    );
    assert_eq!(
        lookalike.tbs_certificate().serial_number(),
        real.tbs_certificate().serial_number()
    );
    for (i, cert) in [self_signed, lookalike].into_iter().enumerate() {
        let impostor = Client {
            key: impostor_key.clone(),
            cert,
            subject: RA.to_owned(),
        };
        let msg = impostor.pkcs_req(&ra_der, &victim.csr(), &format!("TID-{i}"));
        let rep = impostor.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ra_der);
        assert!(is_pending(&rep), "impostor {i}: {:?}", rep.status);
    }
    assert_eq!(ca.last_serial(), 2);
}

#[test]
fn c09_c12_replayed_ra_request_under_another_transaction_id_is_not_granted() {
    let ca = open(ra_config(GrantMode::RaAuto), 1);
    let ra = ra_client(&ca);
    let ra_der = ra_der(&ca);
    let router = Client::new(0, "CN=router1");
    let captured = ra.pkcs_req(&ra_der, &router.csr(), "TID-1");
    let first = router.issued(&ra.open_rep(&post(&ca, &captured, T0, &mut rng(4)), &ra_der));
    assert_eq!(ca.last_serial(), 3);
    // The same bytes again: the same certificate, nothing new signed (C-12).
    let again = router.issued(&ra.open_rep(&post(&ca, &captured, T0, &mut rng(4)), &ra_der));
    assert_eq!(again, first);
    assert_eq!(ca.last_serial(), 3);
    // The RA's envelope re-signed by an attacker under a new transactionID: not the RA.
    let attacker = Client::new(1, "CN=attacker");
    let env = envelope_of(&captured);
    let carrier = attacker.pkcs_req(&ra_der, &attacker.csr(), "TID-2");
    let resp = post(&ca, &rewrap(&carrier, &attacker, &env), T0, &mut rng(4));
    let rep = attacker.open_rep(&resp, &ra_der);
    assert!(
        !matches!(rep.status, scep_proto::CertRepStatus::Success(_)),
        "{:?}",
        rep.status
    );
    assert_eq!(ca.last_serial(), 3);
    // The RA's signed attributes with another transactionID (not re-signed): badMessageCheck.
    let tampered = replace_once(&captured, b"TID-1", b"TID-9");
    let resp = post(&ca, &tampered, T0, &mut rng(4));
    let rep = PkiMessage::from_der(&resp.body, &Profile::STRICT)
        .unwrap()
        .verify(Some(&parse_cert(&ca.ca_certificate_der())))
        .unwrap()
        .open_cert_rep(None, &mut rng(5))
        .unwrap();
    assert_eq!(failure(&rep), FailInfo::BadMessageCheck);
    assert_eq!(ca.last_serial(), 3);
}

fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn c22_s33_rollover_ca_gets_its_own_ra_served_by_get_next_ca_cert() {
    let ca = open(ra_config(GrantMode::Auto), 1);
    let old_ra = ra_der(&ca);
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let next_ra_der = ca.rollover_ra_certificate_der().unwrap();
    assert_ne!(next_ra_der, old_ra);
    let next = parse_cert(&next_der);
    let next_ra = parse_cert(&next_ra_der);
    assert_eq!(next_ra.tbs_certificate().subject().to_string(), RA);
    assert_eq!(validity(&next_ra), validity(&next));
    public_key(&next)
        .verify_certificate(&next_ra, &Profile::STRICT)
        .unwrap();
    // S-33: the rollover CA, then its RA, signed by the active key.
    let r = ca.handle("GET", "/?operation=GetNextCACert", b"", T0, &mut rng(3));
    let active = parse_cert(&ca.ca_certificate_der());
    let answer = NextCaCerts::from_der_verified(&r.body, &active, &Profile::STRICT).unwrap();
    let ders: Vec<Vec<u8>> = answer
        .certificates
        .iter()
        .map(|c| c.to_der().unwrap())
        .collect();
    assert_eq!(ders, vec![next_der.clone(), next_ra_der.clone()]);
    assert_eq!(
        answer.rollover_for(&active).unwrap().to_der().unwrap(),
        next_der
    );
    // GetCACert still serves the active pair (S-31).
    let bag = CertsOnly::from_der(&get_ca_cert(&ca, T0).body).unwrap();
    assert_eq!(bag.certificates[1].to_der().unwrap(), old_ra);
    // A shadow request to the rollover RA: issued by the rollover CA, answered by its RA.
    let client = Client::new(0, "CN=router1");
    let resp = post(
        &ca,
        &client.pkcs_req(&next_ra_der, &client.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    assert!(signed_by(&resp, &next_ra_der));
    let shadow = parse_cert(&client.issued(&client.open_rep(&resp, &next_ra_der)));
    assert_eq!(validity(&shadow).not_before(), validity(&next).not_before());
    public_key(&next)
        .verify_certificate(&shadow, &Profile::STRICT)
        .unwrap();
}

#[test]
fn c25_activation_switches_the_ra_and_the_old_ra_is_no_recipient() {
    let mut config = ra_config(GrantMode::Auto);
    config.lifetime_ca_certificate = Duration::from_days(100);
    let ca = open(config, 1);
    let old_ra = ra_der(&ca);
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let next_ra = ca.rollover_ra_certificate_der().unwrap();
    ca.handle_timeout(at_days(100), &mut rng(6)).unwrap();
    assert_eq!(ca.state(), CaState::Active);
    assert_eq!(ra_der(&ca), next_ra);
    let bag = CertsOnly::from_der(&get_ca_cert(&ca, at_days(100)).body).unwrap();
    let ders: Vec<Vec<u8>> = bag
        .certificates
        .iter()
        .map(|c| c.to_der().unwrap())
        .collect();
    assert_eq!(ders, vec![next_der.clone(), next_ra.clone()]);
    // C-25: a request still encrypted to the old RA is not addressed to this CA.
    let client = Client::new(0, "CN=router1");
    let resp = post(
        &ca,
        &client.pkcs_req(&old_ra, &client.csr(), "TID-1"),
        at_days(100),
        &mut rng(4),
    );
    let rep = client.open_rep(&resp, &next_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
    // The new RA works.
    let resp = post(
        &ca,
        &client.pkcs_req(&next_ra, &client.csr(), "TID-2"),
        at_days(100),
        &mut rng(4),
    );
    client.issued(&client.open_rep(&resp, &next_ra));
}

#[test]
fn c09_step5_grant_auto_rollover_ra_cert_grants_ra_shadow_requests_only() {
    let mut config = ra_config(GrantMode::Manual);
    config.grant_auto_rollover = GrantAutoRollover {
        ca_cert: false,
        ra_cert: true,
    };
    let ca = open(config, 1);
    let ra = ra_client(&ca);
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let router = Client::new(0, "CN=router1");
    // The RA's shadow request to the rollover CA: granted at once.
    let resp = post(
        &ca,
        &ra.pkcs_req(&next_der, &router.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    let shadow = parse_cert(&router.issued(&ra.open_rep(&resp, &next_der)));
    assert_eq!(
        shadow.tbs_certificate().issuer(),
        parse_cert(&next_der).tbs_certificate().subject()
    );
    // The RA's request to the active CA: not a rollover request, waits (Manual).
    let router2 = Client::new(1, "CN=router2");
    let msg = ra.pkcs_req(&ca.ca_certificate_der(), &router2.csr(), "TID-2");
    let rep = ra.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca.ca_certificate_der());
    assert!(is_pending(&rep));
    // An ordinary client's shadow request to the rollover CA: waits.
    let client = Client::new(2, "CN=router3");
    let msg = client.pkcs_req(&next_der, &client.csr(), "TID-3");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    assert!(is_pending(&rep));
    // Without the flag the RA's shadow request waits too.
    let mut config = ra_config(GrantMode::Manual);
    config.grant_auto_rollover = GrantAutoRollover::default();
    let ca = open(config, 1);
    let ra = ra_client(&ca);
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let msg = ra.pkcs_req(&next_der, &router.csr(), "TID-1");
    assert!(is_pending(
        &ra.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der)
    ));
}

/// A CSR asking for a CA certificate (basicConstraints cA=TRUE in the extensionRequest).
fn ca_csr(key: &PrivateKey, subject: &str) -> Vec<u8> {
    ca_csr_path_len(key, subject, None)
}

/// A CSR asking for a CA certificate with this pathLenConstraint.
fn ca_csr_path_len(key: &PrivateKey, subject: &str, path_len: Option<u8>) -> Vec<u8> {
    let ext = x509_cert::ext::Extension {
        extn_id: <BasicConstraints as der::oid::AssociatedOid>::OID,
        critical: true,
        extn_value: der::asn1::OctetString::new(
            BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            }
            .to_der()
            .unwrap(),
        )
        .unwrap(),
    };
    csr_der(key, name(subject), vec![ext], scep_proto::DigestAlg::Sha256)
}

#[test]
fn c09_step5_grant_auto_rollover_ca_cert_grants_a_subordinate_ca_only() {
    // A CA imported with a key the test holds, so it can certify a subordinate CA.
    let root_key = key(3);
    let root = ca_core::issue::self_signed_ca_certificate(
        &ca_core::issue::CaCertParams::new(name("CN=ROOTCA"), T0),
        root_key,
        &mut rng(9),
    )
    .unwrap();
    let mut config = config();
    config.grant = GrantMode::Manual;
    config.grant_auto_rollover = GrantAutoRollover {
        ca_cert: true,
        ra_cert: false,
    };
    let ca = Ca::import(config, MemoryStore::new(), root.clone(), 1, T0, &mut rng(1)).unwrap();
    let sub_key = key(0);
    let sub_csr = VerifiedCsr::from_der(&ca_csr(&sub_key, "CN=SUBCA"), false).unwrap();
    let mut params =
        IdentityParams::new(50, validity(&parse_cert(&root.certificate_der().unwrap())));
    params.allow_ca = true;
    let sub_cert = identity_certificate(&root, &sub_csr, &params, &mut rng(10)).unwrap();
    let sub = Client {
        key: sub_key.clone(),
        cert: sub_cert,
        subject: "CN=SUBCA".to_owned(),
    };
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    // The subordinate CA's shadow request for a CA certificate: granted, issued as a CA.
    let msg = sub.pkcs_req(&next_der, &ca_csr(&sub_key, "CN=SUBCA"), "TID-1");
    let rep = sub.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    let issued = parse_cert(&sub.issued(&rep));
    let (_, bc) = issued
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert!(bc.ca);
    // The same request to the active CA is not a rollover request: waits.
    let msg = sub.pkcs_req(
        &ca.ca_certificate_der(),
        &ca_csr(&sub_key, "CN=SUBCA"),
        "TID-2",
    );
    let rep = sub.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca.ca_certificate_der());
    assert!(is_pending(&rep));
    // An ordinary client (self-signed) asking the rollover CA for a CA certificate: waits.
    let client = Client::new(1, "CN=router1");
    let msg = client.pkcs_req(&next_der, &ca_csr(&client.key, "CN=router1"), "TID-3");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    assert!(is_pending(&rep));
    // An end-entity certificate of this CA asking for a CA certificate: waits.
    let mut ee_params =
        IdentityParams::new(60, validity(&parse_cert(&root.certificate_der().unwrap())));
    ee_params.allow_ca = false;
    let ee_csr = VerifiedCsr::from_der(&Client::new(2, "CN=ee").csr(), false).unwrap();
    let ee = Client {
        key: key(2),
        cert: identity_certificate(&root, &ee_csr, &ee_params, &mut rng(11)).unwrap(),
        subject: "CN=ee".to_owned(),
    };
    let msg = ee.pkcs_req(&next_der, &ca_csr(&ee.key, "CN=ee"), "TID-4");
    let rep = ee.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    assert!(is_pending(&rep), "{:?}", rep.status);
}

#[test]
fn ra_survives_reopen_sealed_or_not_and_create_ra_on_command() {
    for passphrase in [None, Some("pass phrase")] {
        let mut config = ra_config(GrantMode::Auto);
        config.key_passphrase = passphrase.map(str::to_owned);
        let ca = open(config.clone(), 1);
        ca.rollover(T0, &mut rng(2)).unwrap();
        let (ra, next_ra) = (ra_der(&ca), ca.rollover_ra_certificate_der().unwrap());
        let store = ca.into_store();
        let reopened = Ca::open(config, store, T0, true, &mut rng(1)).unwrap();
        assert_eq!(ra_der(&reopened), ra);
        assert_eq!(reopened.rollover_ra_certificate_der().unwrap(), next_ra);
        // The reloaded RA key still opens requests.
        let client = Client::new(0, "CN=router1");
        let resp = post(
            &reopened,
            &client.pkcs_req(&ra, &client.csr(), "TID-1"),
            T0,
            &mut rng(4),
        );
        client.issued(&client.open_rep(&resp, &ra));
    }
    // A CA created without an RA, reopened in RA mode, gets one (serial after the CA's).
    let ca = open(config(), 1);
    let store = ca.into_store();
    let ca = Ca::open(ra_config(GrantMode::Auto), store, T0, true, &mut rng(1)).unwrap();
    assert_eq!(certificate_serial(&parse_cert(&ra_der(&ca))).unwrap(), 2);
    assert_eq!(
        get_ca_cert(&ca, T0).content_type,
        "application/x-x509-ca-ra-cert"
    );
    // On command: a CA without an RA gets one; a second is refused.
    let ca = open(config(), 1);
    assert!(ca.ra_certificate_der().is_none());
    let serial = ca.create_ra(T0, &mut rng(2)).unwrap();
    assert_eq!(serial, 2);
    let ra = parse_cert(&ra_der(&ca));
    assert_eq!(ra.tbs_certificate().subject().to_string(), "CN=ROOTCA-RA");
    assert_eq!(
        get_ca_cert(&ca, T0).content_type,
        "application/x-x509-ca-ra-cert"
    );
    assert!(matches!(
        ca.create_ra(T0, &mut rng(2)),
        Err(CaError::RaExists)
    ));
    // An RA subject equal to the CA's is refused (clients tell them apart by subject).
    let mut bad = config();
    bad.ra_subject = Some("CN=ROOTCA".to_owned());
    assert!(bad.validate().is_err());
}

#[test]
fn c09_step6_revoked_ra_is_not_the_registered_ra() {
    // A compromised RA is revoked by its serial: from then on what it signs is not granted
    // by RaAuto (nor by grant_auto_rollover ra_cert), though its certificate is still the
    // one the CA publishes.
    let ca = open(ra_config(GrantMode::RaAuto), 1);
    let ra = ra_client(&ca);
    let ra_der = ra_der(&ca);
    let ra_serial = certificate_serial(&parse_cert(&ra_der)).unwrap();
    ca.revoke(ra_serial, T0, &mut rng(5)).unwrap();
    let router = Client::new(0, "CN=router1");
    let before = ca.last_serial();
    let resp = post(
        &ca,
        &ra.pkcs_req(&ra_der, &router.csr(), "TID-1"),
        T0,
        &mut rng(4),
    );
    let rep = ra.open_rep(&resp, &ra_der);
    assert!(is_pending(&rep), "{:?}", rep.status);
    assert_eq!(ca.last_serial(), before);
    // The same for a shadow request to the rollover CA under grant_auto_rollover ra_cert.
    let mut config = ra_config(GrantMode::Manual);
    config.grant_auto_rollover = GrantAutoRollover {
        ca_cert: false,
        ra_cert: true,
    };
    let ca = open(config, 1);
    let ra = ra_client(&ca);
    let ra_serial = certificate_serial(&ra.cert).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    ca.revoke(ra_serial, T0, &mut rng(5)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let msg = ra.pkcs_req(&next_der, &router.csr(), "TID-2");
    let rep = ra.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    assert!(is_pending(&rep), "{:?}", rep.status);
}

#[test]
fn c09_step5_ca_cert_shadow_request_cannot_widen_the_path_length() {
    // A subordinate CA certified with pathLenConstraint 0 (it may only certify end
    // entities) asks the rollover CA for a CA certificate without the constraint, or with a
    // longer one: grant_auto_rollover ca-cert renews what it holds, never more, so the
    // request waits for the operator.
    let root_key = key(3);
    let root = ca_core::issue::self_signed_ca_certificate(
        &ca_core::issue::CaCertParams::new(name("CN=ROOTCA"), T0),
        root_key,
        &mut rng(9),
    )
    .unwrap();
    let mut config = config();
    config.grant = GrantMode::Manual;
    config.grant_auto_rollover = GrantAutoRollover {
        ca_cert: true,
        ra_cert: false,
    };
    let ca = Ca::import(config, MemoryStore::new(), root.clone(), 1, T0, &mut rng(1)).unwrap();
    let sub_key = key(0);
    let sub_csr =
        VerifiedCsr::from_der(&ca_csr_path_len(&sub_key, "CN=SUBCA", Some(0)), false).unwrap();
    let mut params =
        IdentityParams::new(50, validity(&parse_cert(&root.certificate_der().unwrap())));
    params.allow_ca = true;
    let sub_cert = identity_certificate(&root, &sub_csr, &params, &mut rng(10)).unwrap();
    let (_, bc) = sub_cert
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert_eq!(bc.path_len_constraint, Some(0));
    let sub = Client {
        key: sub_key.clone(),
        cert: sub_cert,
        subject: "CN=SUBCA".to_owned(),
    };
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    for (i, wider) in [None, Some(1)].into_iter().enumerate() {
        let csr = ca_csr_path_len(&sub_key, "CN=SUBCA", wider);
        let msg = sub.pkcs_req(&next_der, &csr, &format!("TID-W{i}"));
        let rep = sub.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
        assert!(is_pending(&rep), "pathLen {wider:?}: {:?}", rep.status);
    }
    // The same constraint (or a narrower one) is still granted at once.
    let msg = sub.pkcs_req(
        &next_der,
        &ca_csr_path_len(&sub_key, "CN=SUBCA", Some(0)),
        "TID-S",
    );
    let rep = sub.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &next_der);
    let issued = parse_cert(&sub.issued(&rep));
    let (_, bc) = issued
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert!(bc.ca);
    assert_eq!(bc.path_len_constraint, Some(0));
}
