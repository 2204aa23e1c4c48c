//! Builders → decoders round trips for every message type and every cipher × digest
//! (S-17 … S-30, S-33).
// Test crate: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ca, ca_next, cert, client, read, rng};
use der::{Decode, Encode};
use scep_proto::{
    CaCerts, CertRepBuilder, CertRepContent, CertRepStatus, CertsOnly, ContentCipher, Csr,
    DigestAlg, Error, FailInfo, IssuerAndSerialNumber, IssuerAndSubject, KeyTransport, MessageType,
    NextCaCerts, Nonce, PkiMessage, PkiStatus, Profile, RequestBody, RequestBuilder, Signer,
    TransactionId,
};

fn bodies() -> Vec<RequestBody> {
    let (ca_cert, _) = ca();
    let (client_cert, _) = client();
    let csr = Csr::from_der(&read("keys/client.csr.der")).unwrap();
    let subject = csr.cert_req().info.subject.clone();
    vec![
        RequestBody::PkcsReq(csr.clone()),
        RequestBody::RenewalReq(csr),
        RequestBody::CertPoll(IssuerAndSubject {
            issuer: ca_cert.tbs_certificate().subject().clone(),
            subject,
        }),
        RequestBody::GetCert(IssuerAndSerialNumber::of(&client_cert)),
        RequestBody::GetCrl(IssuerAndSerialNumber::of(&client_cert)),
    ]
}

#[test]
fn s17_s21_every_request_type_and_every_cipher_digest_round_trips() {
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(7);
    let bodies = bodies();
    for cipher in ContentCipher::ALL {
        for digest in DigestAlg::ALL {
            for body in &bodies {
                let tid = TransactionId::random(&mut rng);
                let nonce = Nonce::random(&mut rng);
                let mut b = RequestBuilder::new(tid.clone(), nonce);
                b.digest = digest;
                b.cipher = cipher;
                b.signing_time = Some(1_795_422_887);
                let der = b
                    .build(
                        body,
                        Signer {
                            cert: &client_cert,
                            key: &client_key,
                        },
                        &ca_cert,
                        &mut rng,
                    )
                    .unwrap();
                let legacy = cipher.is_legacy() || digest.is_legacy();
                if legacy {
                    let strict = PkiMessage::from_der(&der, &Profile::STRICT)
                        .and_then(|m| m.verify(None))
                        .and_then(|v| v.open_request(&ca_key, &mut rng));
                    assert!(
                        matches!(strict, Err(Error::LegacyAlgorithmDisabled { .. })),
                        "{cipher:?} {digest:?}: {strict:?}"
                    );
                }
                let profile = if legacy {
                    Profile::LEGACY
                } else {
                    Profile::STRICT
                };
                let msg = PkiMessage::from_der(&der, &profile).unwrap();
                assert_eq!(msg.message_type(), body.message_type());
                assert_eq!(msg.digest(), digest);
                assert_eq!(msg.transaction_id(), &tid);
                assert_eq!(msg.sender_nonce(), nonce);
                assert_eq!(msg.attributes().signing_time, Some(1_795_422_887));
                let v = msg.verify(None).unwrap();
                assert_eq!(v.signer(), &client_cert);
                let env = v.envelope().unwrap().unwrap();
                assert!(env.is_addressed_to(&ca_cert));
                assert!(!env.is_addressed_to(&client_cert));
                let req = v.open_request(&ca_key, &mut rng).unwrap();
                assert_eq!(&req.body, body, "{cipher:?} {digest:?}");
                assert_eq!(req.cipher, cipher);
                assert_eq!(req.digest, digest);
            }
        }
    }
}

#[test]
fn s20_oaep_key_transport_round_trips() {
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(8);
    let body = &bodies()[0];
    let mut b = RequestBuilder::new(TransactionId::new("OAEP-1").unwrap(), Nonce([9; 16]));
    b.key_transport = KeyTransport::RsaOaepSha1;
    b.cipher = ContentCipher::Aes256;
    let der = b
        .build(
            body,
            Signer {
                cert: &client_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng,
        )
        .unwrap();
    let v = PkiMessage::from_der(&der, &Profile::STRICT)
        .unwrap()
        .verify(None)
        .unwrap();
    let env = v.envelope().unwrap().unwrap();
    assert_eq!(env.recipients()[0].key_transport, KeyTransport::RsaOaepSha1);
    let plain = env.decrypt_for(&ca_cert, &ca_key, &mut rng).unwrap();
    assert_eq!(plain, body.to_der().unwrap());
    // The wrong certificate is refused before any RSA work.
    assert_eq!(
        env.decrypt_for(&client_cert, &client_key, &mut rng),
        Err(Error::RecipientMismatch)
    );
}

#[test]
fn s10_unknown_message_type_decodes_as_unknown() {
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(9);
    let der = RequestBuilder::new(TransactionId::new("X").unwrap(), Nonce([1; 16]))
        .build(
            &RequestBody::Unknown(18, vec![0x05, 0x00]),
            Signer {
                cert: &client_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng,
        )
        .unwrap();
    let v = PkiMessage::from_der(&der, &Profile::STRICT)
        .unwrap()
        .verify(None)
        .unwrap();
    assert_eq!(v.attributes().message_type, MessageType::Unknown(18));
    let req = v.open_request(&ca_key, &mut rng).unwrap();
    assert_eq!(req.body, RequestBody::Unknown(18, vec![0x05, 0x00]));
}

fn open_reply(der: &[u8], ca_cert: &scep_proto::Certificate) -> scep_proto::VerifiedMessage {
    PkiMessage::from_der(der, &Profile::STRICT)
        .unwrap()
        .verify(Some(ca_cert))
        .unwrap()
}

#[test]
fn s27_s28_cert_rep_success_round_trips_for_every_cipher_digest() {
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(10);
    let issued = CertsOnly::new(vec![client_cert.clone(), ca_cert.clone()]);
    for cipher in [
        ContentCipher::Des3,
        ContentCipher::Aes128,
        ContentCipher::Aes192,
        ContentCipher::Aes256,
    ] {
        for digest in [
            DigestAlg::Sha1,
            DigestAlg::Sha224,
            DigestAlg::Sha256,
            DigestAlg::Sha384,
            DigestAlg::Sha512,
        ] {
            let mut b = CertRepBuilder::new(
                TransactionId::new("T-1").unwrap(),
                Nonce([2; 16]),
                Nonce([3; 16]),
            );
            b.cipher = cipher;
            b.digest = digest;
            let der = b
                .build(
                    &CertRepContent::Success {
                        certs: &issued,
                        recipient: &client_cert,
                    },
                    Signer {
                        cert: &ca_cert,
                        key: &ca_key,
                    },
                    &mut rng,
                )
                .unwrap();
            let v = open_reply(&der, &ca_cert);
            let rep = v.open_cert_rep(Some(&client_key), &mut rng).unwrap();
            assert_eq!(rep.recipient_nonce, Nonce([3; 16]));
            assert_eq!(rep.sender_nonce, Nonce([2; 16]));
            assert_eq!(rep.cipher, Some(cipher));
            assert_eq!(rep.digest, digest);
            let CertRepStatus::Success(certs) = rep.status else {
                panic!("{:?}", rep.status)
            };
            let spki = client_cert.tbs_certificate().subject_public_key_info();
            assert_eq!(certs.find_by_public_key(spki), Some(&client_cert));
            assert_eq!(certs.certificates.len(), 2);
        }
    }
}

#[test]
fn s29_failure_and_pending_carry_empty_econtent() {
    let (ca_cert, ca_key) = ca();
    let mut rng = rng(11);
    let signer = Signer {
        cert: &ca_cert,
        key: &ca_key,
    };
    let b = || {
        CertRepBuilder::new(
            TransactionId::new("T-2").unwrap(),
            Nonce([4; 16]),
            Nonce([5; 16]),
        )
    };
    let failure = b()
        .build(
            &CertRepContent::Failure {
                fail_info: FailInfo::BadCertId,
                text: Some("no such certificate".into()),
            },
            signer,
            &mut rng,
        )
        .unwrap();
    let v = open_reply(&failure, &ca_cert);
    assert_eq!(v.message().content(), Some(&[][..]), "present and empty");
    assert!(v.envelope().unwrap().is_none());
    let rep = v.open_cert_rep(None, &mut rng).unwrap();
    assert_eq!(
        rep.status,
        CertRepStatus::Failure {
            fail_info: FailInfo::BadCertId,
            text: Some("no such certificate".into())
        }
    );
    let pending = b()
        .build(&CertRepContent::Pending, signer, &mut rng)
        .unwrap();
    let v = open_reply(&pending, &ca_cert);
    assert_eq!(v.attributes().pki_status, Some(PkiStatus::Pending));
    assert_eq!(v.attributes().fail_info, None);
    assert_eq!(
        v.open_cert_rep(None, &mut rng).unwrap().status,
        CertRepStatus::Pending
    );
}

#[test]
fn s29_decoders_accept_absent_econtent() {
    // Build PENDING, then drop the (empty) eContent: the signed attributes and hence the
    // signature stay valid because messageDigest covers the same zero octets.
    let (ca_cert, ca_key) = ca();
    let mut rng = rng(12);
    let der = CertRepBuilder::new(
        TransactionId::new("T-3").unwrap(),
        Nonce([6; 16]),
        Nonce([7; 16]),
    )
    .build(
        &CertRepContent::Pending,
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        &mut rng,
    )
    .unwrap();
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let mut sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    assert!(sd.encap_content_info.econtent.is_some());
    sd.encap_content_info.econtent = None;
    let stripped = cms::content_info::ContentInfo {
        content_type: ci.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    assert!(stripped.len() < der.len());
    let v = open_reply(&stripped, &ca_cert);
    assert_eq!(v.message().content(), None);
    assert_eq!(
        v.open_cert_rep(None, &mut rng).unwrap().status,
        CertRepStatus::Pending
    );
}

#[test]
fn s30_certs_only_and_s7_get_ca_cert_bodies_round_trip() {
    let (ca_cert, _) = ca();
    let (client_cert, _) = client();
    let bag = CertsOnly::new(vec![ca_cert.clone(), client_cert.clone()]);
    let der = bag.to_der().unwrap();
    let back = CertsOnly::from_der(&der).unwrap();
    assert_eq!(back.certificates.len(), 2);
    assert!(back.certificates.contains(&ca_cert));
    assert_eq!(CertsOnly::from_der(&back.to_der().unwrap()).unwrap(), back);
    // S-30 shape: version 1, empty digestAlgorithms and signerInfos, no eContent.
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.version, cms::content_info::CmsVersion::V1);
    assert!(sd.digest_algorithms.is_empty() && sd.signer_infos.0.is_empty());
    assert!(sd.encap_content_info.econtent.is_none());

    let single = CaCerts::Single(Box::new(ca_cert.clone()));
    assert_eq!(single.content_type(), "application/x-x509-ca-cert");
    assert_eq!(single.to_der().unwrap(), ca_cert.to_der().unwrap());
    assert_eq!(
        CaCerts::from_der(single.content_type(), &single.to_der().unwrap()).unwrap(),
        single
    );
    let chain = CaCerts::Chain(vec![ca_cert.clone(), client_cert]);
    assert_eq!(chain.content_type(), "application/x-x509-ca-ra-cert");
    let CaCerts::Chain(got) =
        CaCerts::from_der(chain.content_type(), &chain.to_der().unwrap()).unwrap()
    else {
        panic!()
    };
    // S-28, S-31: the CA+RA answer keeps the documented order (CA first) on the wire.
    let CaCerts::Chain(sent) = &chain else {
        panic!()
    };
    assert_eq!(&got, sent);
}

#[test]
fn s33_next_ca_answer_round_trips_and_is_checked() {
    let (ca_cert, ca_key) = ca();
    let (next_cert, next_key) = ca_next();
    let mut rng = rng(13);
    let body = NextCaCerts::build(
        std::slice::from_ref(&next_cert),
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        DigestAlg::Sha256,
        Some(1_800_000_000),
        &mut rng,
    )
    .unwrap();
    let got = NextCaCerts::from_der_verified(&body, &ca_cert, &Profile::STRICT).unwrap();
    assert_eq!(got.certificates, vec![next_cert.clone()]);
    assert_eq!(got.rollover_for(&ca_cert), Some(&next_cert));
    // Verified only with the active CA: the rollover key's signature is refused.
    let forged = NextCaCerts::build(
        std::slice::from_ref(&next_cert),
        Signer {
            cert: &next_cert,
            key: &next_key,
        },
        DigestAlg::Sha256,
        None,
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        NextCaCerts::from_der_verified(&forged, &ca_cert, &Profile::STRICT),
        Err(Error::SignerNotFound)
    );
    // A certificate with another subject or an earlier notAfter is not a rollover.
    let other = NextCaCerts::build(
        &[cert("keys/client.der")],
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        DigestAlg::Sha256,
        None,
        &mut rng,
    )
    .unwrap();
    let got = NextCaCerts::from_der_verified(&other, &ca_cert, &Profile::STRICT).unwrap();
    assert_eq!(got.rollover_for(&ca_cert), None);
    assert_eq!(got.rollover_for(&next_cert), None);
}

#[test]
fn s23_s13_attribute_value_rules() {
    assert!(TransactionId::new("").is_err());
    assert!(TransactionId::new("x".repeat(129)).is_err());
    assert!(TransactionId::new("x".repeat(128)).is_ok());
    assert!(TransactionId::new("T5ZsSQFassWFwvehJy6E+a7lMGQ=").is_ok());
    let t = TransactionId::random(&mut rng(1));
    assert_eq!(t.as_str().len(), 32);
    assert!(
        t.as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
    );
    assert!(Nonce::from_slice(&[0; 15]).is_err());
    assert!(Nonce::from_slice(&[0; 16]).is_ok());
    assert_eq!(MessageType::from_code(20), MessageType::CertPoll);
    assert_eq!(MessageType::from_code(18), MessageType::Unknown(18));
    assert_eq!(PkiStatus::from_code(1), None);
    assert_eq!(FailInfo::from_code(4), Some(FailInfo::BadCertId));
}

/// Where `needle` starts inside `haystack`.
fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("certificate not found in the encoding"))
}

/// S-28: a certs-only bag is emitted in the order given, whichever certificate encodes
/// smaller; DER's SET OF sorting would put the smaller one first, and clients that take the
/// first certificate would store the CA certificate as their own. Decoding keeps the order
/// received.
#[test]
fn s28_certs_only_keeps_the_given_order_whichever_encodes_smaller() {
    let (ca_cert, _) = ca();
    let (client_cert, _) = client();
    let (ca_der, client_der) = (ca_cert.to_der().unwrap(), client_cert.to_der().unwrap());
    assert_ne!(ca_der.len(), client_der.len(), "the two sizes must differ");
    // Once with the CA certificate encoding smaller than the "issued" one, once larger.
    for (issued, issuer) in [(&client_cert, &ca_cert), (&ca_cert, &client_cert)] {
        let bag = CertsOnly::new(vec![issued.clone(), issuer.clone()]);
        let der = bag.to_der().unwrap();
        assert!(
            position(&der, &issued.to_der().unwrap()) < position(&der, &issuer.to_der().unwrap()),
            "the issued certificate must come first on the wire"
        );
        assert_eq!(CertsOnly::from_der(&der).unwrap(), bag);
    }
}

/// S-28 through a CertRep SUCCESS: the decrypted bag holds the issued certificate first.
#[test]
fn s28_cert_rep_success_bag_has_the_issued_certificate_first() {
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(28);
    for (issued, issuer) in [(&client_cert, &ca_cert), (&ca_cert, &client_cert)] {
        let bag = CertsOnly::new(vec![issued.clone(), issuer.clone()]);
        let der = CertRepBuilder::new(
            TransactionId::new("T-28").unwrap(),
            Nonce([2; 16]),
            Nonce([3; 16]),
        )
        .build(
            &CertRepContent::Success {
                certs: &bag,
                recipient: &client_cert,
            },
            Signer {
                cert: &ca_cert,
                key: &ca_key,
            },
            &mut rng,
        )
        .unwrap();
        let rep = open_reply(&der, &ca_cert)
            .open_cert_rep(Some(&client_key), &mut rng)
            .unwrap();
        let CertRepStatus::Success(got) = rep.status else {
            panic!("not SUCCESS: {:?}", rep.status);
        };
        assert_eq!(got.certificates, bag.certificates);
    }
}
