//! Test code: no decryption oracle past the key unwrap (C-6 amended, issue 13 item 1).
//!
//! The attack: SCEP travels over plain HTTP, so an attacker captures a victim's PKCSReq. The
//! pkcsPKIEnvelope is unauthenticated CBC: the attacker keeps its encryptedKey (the CA unwraps
//! the victim's real content key), tampers with the IV or the ciphertext, wraps the result in
//! a SignedData of its own (which verifies: it is the attacker's own key) and reads the
//! CertRep. Any difference between "the padding was wrong" and "the padding was right but the
//! content is garbage" decrypts the victim's request byte by byte (challengePassword included).
//!
//! Every tampered variant must get byte-for-byte the same CertRep (the CA's RNG is seeded the
//! same, so even its senderNonce and signature are equal), for every PKIOperation messageType:
//! FAILURE badMessageCheck without a failInfoText where the plaintext matters (PKCSReq,
//! RenewalReq, GetCert), and for CertPoll and GetCRL an answer that does not depend on it. An
//! unknown messageType is refused from the signed attributes, before any decryption.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{Ca, DatabaseLevel, MemoryStore};
use ca_support::*;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use scep_proto::{
    CertRepStatus, Certificate, Csr, FailInfo, IssuerAndSerialNumber, IssuerAndSubject,
    KeyTransport, Nonce, PkiMessage, Profile, RequestBody,
};

const BLOCK: usize = 16;

/// The envelope (eContent) of a pkiMessage.
fn envelope_of(msg: &[u8]) -> Vec<u8> {
    PkiMessage::from_der(msg, &Profile::STRICT)
        .unwrap()
        .content()
        .unwrap()
        .to_vec()
}

/// Rewrites the victim's envelope: `f` gets (IV, ciphertext, encryptedKey) to tamper with.
fn tamper(env_der: &[u8], f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>, &mut Vec<u8>)) -> Vec<u8> {
    let ci = ContentInfo::from_der(env_der).unwrap();
    let mut env: EnvelopedData = ci.content.decode_as().unwrap();
    let alg = &mut env.encrypted_content.content_enc_alg;
    let mut iv = alg.parameters.as_ref().unwrap().value().to_vec();
    let mut ct = env
        .encrypted_content
        .encrypted_content
        .as_ref()
        .unwrap()
        .as_bytes()
        .to_vec();
    let mut infos: Vec<RecipientInfo> = env.recip_infos.0.into_vec();
    let RecipientInfo::Ktri(ktri) = &mut infos[0] else {
        panic!("expected a KeyTransRecipientInfo");
    };
    let mut ek = ktri.enc_key.as_bytes().to_vec();
    f(&mut iv, &mut ct, &mut ek);
    ktri.enc_key = OctetString::new(ek).unwrap();
    env.recip_infos = RecipientInfos(SetOfVec::try_from(infos).unwrap());
    env.encrypted_content.content_enc_alg.parameters =
        Some(Any::new(Tag::OctetString, iv).unwrap());
    env.encrypted_content.encrypted_content = Some(OctetString::new(ct).unwrap());
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&env).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// XORs `delta` into the ciphertext block before the last one (or the IV when there is one
/// block), which XORs it into the last plaintext block.
fn xor_last_block(iv: &mut [u8], ct: &mut [u8], delta: &[u8; BLOCK]) {
    let n = ct.len();
    let prev: &mut [u8] = if n >= 2 * BLOCK {
        &mut ct[n - 2 * BLOCK..n - BLOCK]
    } else {
        iv
    };
    for (b, d) in prev.iter_mut().zip(delta) {
        *b ^= d;
    }
}

/// The attacker's tampered variants of the victim's envelope, named. `plain` is the victim's
/// messageData (the attacker does not know it; the test uses it to aim the changes).
fn variants(
    env: &[u8],
    plain: &[u8],
    ca_public: &scep_proto::PublicKey,
) -> Vec<(&'static str, Vec<u8>)> {
    let pad = BLOCK - plain.len() % BLOCK;
    let pad_byte = u8::try_from(pad).unwrap();
    let mut out = Vec::new();
    // (a) IV tampered: the first plaintext block (the CSR's outer header) changes.
    out.push((
        "iv tampered",
        tamper(env, |iv, _, _| {
            iv[0] ^= 0x01;
            iv[1] ^= 0x80;
        }),
    ));
    // (b) the last block's padding broken: its last byte becomes 0.
    out.push((
        "padding broken",
        tamper(env, |iv, ct, _| {
            let mut d = [0u8; BLOCK];
            d[BLOCK - 1] = pad_byte;
            xor_last_block(iv, ct, &d);
        }),
    ));
    // (b') padding broken differently: the last byte names more bytes than there are equal.
    out.push((
        "padding inconsistent",
        tamper(env, |iv, ct, _| {
            let mut d = [0u8; BLOCK];
            d[BLOCK - 1] = pad_byte ^ 0x0c;
            d[BLOCK - 2] = 0x5a;
            xor_last_block(iv, ct, &d);
        }),
    ));
    // (c) padding valid, content garbage: the last block ends in 0x01 and the old padding
    // bytes become content (and the block before it is scrambled).
    out.push((
        "padding valid, garbage",
        tamper(env, |iv, ct, _| {
            let mut d = [0u8; BLOCK];
            d[BLOCK - 1] = pad_byte ^ 0x01;
            if pad_byte == 0x01 {
                // Already one padding byte: make it two (both bytes 0x02) instead.
                d[BLOCK - 1] = 0x01 ^ 0x02;
                d[BLOCK - 2] = plain[plain.len() - 1] ^ 0x02;
            }
            xor_last_block(iv, ct, &d);
        }),
    ));
    // (c') padding valid, content truncated: the first block alone, ending in a valid pad.
    out.push((
        "truncated, padding valid",
        tamper(env, |iv, ct, _| {
            let mut d = [0u8; BLOCK];
            d[BLOCK - 1] = plain[BLOCK - 1] ^ 0x01;
            for (b, x) in iv.iter_mut().zip(d) {
                *b ^= x;
            }
            ct.truncate(BLOCK);
        }),
    ));
    // (d) wrong key: a well-formed wrapping of a key that never encrypted this content.
    out.push((
        "wrong key",
        tamper(env, |_, _, ek| {
            *ek = ca_public
                .encrypt(KeyTransport::RsaPkcs1v15, &[0x42; 16], &mut rng(4))
                .unwrap();
        }),
    ));
    // (d') an encryptedKey that does not unwrap at all (S-20, for comparison).
    out.push((
        "key does not unwrap",
        tamper(env, |_, _, ek| {
            let len = ek.len();
            *ek = vec![0x5a; len];
            ek[0] = 0;
        }),
    ));
    out
}

fn complete_ca(seed: u64) -> Ca<MemoryStore> {
    let mut cfg = config();
    cfg.database_level = DatabaseLevel::Complete;
    open(cfg, seed)
}

/// The CA's answer with a fixed RNG seed: identical answers are identical bytes.
fn raw_answer(ca: &Ca<MemoryStore>, msg: &[u8]) -> Vec<u8> {
    let resp = post(ca, msg, T0, &mut rng(77));
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    resp.body
}

/// Carrier messages of every PKIOperation messageType, signed by `attacker`.
fn carriers(attacker: &Client, ca_der: &[u8], tid: &str) -> Vec<(&'static str, Vec<u8>)> {
    let ca_cert = Certificate::from_der(ca_der).unwrap();
    let csr = Csr::from_der(&attacker.csr()).unwrap();
    let ias = IssuerAndSerialNumber::of(&ca_cert);
    let bodies = [
        ("PKCSReq", RequestBody::PkcsReq(csr.clone())),
        ("RenewalReq", RequestBody::RenewalReq(csr)),
        (
            "CertPoll",
            RequestBody::CertPoll(IssuerAndSubject {
                issuer: ca_cert.tbs_certificate().subject().clone(),
                subject: name(&attacker.subject),
            }),
        ),
        ("GetCert", RequestBody::GetCert(ias.clone())),
        ("GetCRL", RequestBody::GetCrl(ias)),
    ];
    bodies
        .into_iter()
        .map(|(n, b)| (n, attacker.message(ca_der, &b, tid, Nonce([0x33; 16]))))
        .collect()
}

fn assert_opaque(ca_der: &[u8], attacker: &Client, raw: &[u8], what: &str) {
    let ca_cert = Certificate::from_der(ca_der).unwrap();
    let rep = PkiMessage::from_der(raw, &Profile::STRICT)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap()
        .open_cert_rep(Some(&attacker.key), &mut rng(5))
        .unwrap();
    assert_eq!(
        rep.status,
        CertRepStatus::Failure {
            fail_info: FailInfo::BadMessageCheck,
            text: None
        },
        "{what}"
    );
}

#[test]
fn c06_tampered_victim_envelope_gets_one_answer_for_every_message_type() {
    let ca = complete_ca(21);
    let ca_der = ca.ca_certificate_der();
    let ca_cert = Certificate::from_der(&ca_der).unwrap();
    let ca_public =
        scep_proto::PublicKey::from_spki(ca_cert.tbs_certificate().subject_public_key_info())
            .unwrap();

    // The victim's PKCSReq, captured on the wire (never sent to the CA by the victim here).
    let victim = Client::new(0, "CN=victim");
    let victim_csr = victim.csr_with_password("s3cret-0TP-of-the-victim");
    let victim_msg = victim.pkcs_req(&ca_der, &victim_csr, "VICTIM-TID");
    let victim_env = envelope_of(&victim_msg);

    // Two attackers: a self-signed one, and one holding a certificate of this CA (so that a
    // RenewalReq passes every cleartext check and reaches the decryption).
    let self_signed = Client::new(1, "CN=attacker");
    let enrol = self_signed.pkcs_req(&ca_der, &self_signed.csr(), "ATTACKER-ENROL");
    let rep = self_signed.open_rep(&post(&ca, &enrol, T0, &mut rng(8)), &ca_der);
    let credential = self_signed.with_cert(&self_signed.issued(&rep));

    let tampered = variants(&victim_env, &victim_csr, &ca_public);
    for (who, attacker) in [("self-signed", &self_signed), ("credential", &credential)] {
        for (mt, carrier) in carriers(attacker, &ca_der, "ATTACKER-TID") {
            let answers: Vec<(&str, Vec<u8>)> = tampered
                .iter()
                .map(|(what, env)| (*what, raw_answer(&ca, &rewrap(&carrier, attacker, env))))
                .collect();
            let (first_what, reference) = &answers[0];
            for (what, raw) in &answers {
                assert!(
                    raw == reference,
                    "{who} {mt}: '{what}' and '{first_what}' got different CertReps"
                );
            }
            // A RenewalReq from a self-signed signer is refused in clear; CertPoll and GetCRL
            // are answered without regard to their messageData: identical answers, but not
            // the opaque failure.
            let refused_in_clear = who == "self-signed" && mt == "RenewalReq";
            let plaintext_unused = matches!(mt, "CertPoll" | "GetCRL");
            if !refused_in_clear && !plaintext_unused {
                assert_opaque(&ca_der, attacker, reference, &format!("{who} {mt}"));
            }
            // The victim's untampered envelope under a messageType whose messageData it is
            // not: also the one answer.
            if matches!(mt, "CertPoll" | "GetCert" | "GetCRL") {
                let raw = raw_answer(&ca, &rewrap(&carrier, attacker, &victim_env));
                assert!(&raw == reference, "{who} {mt}: untampered victim envelope");
            }
        }
    }
    // Nothing was issued from any of it (serial 2 is the attacker's own enrolment).
    assert_eq!(ca.last_serial(), 2);
}

#[test]
fn c06_unknown_message_type_refused_before_decrypting() {
    let ca = complete_ca(22);
    let ca_der = ca.ca_certificate_der();
    let ca_cert = Certificate::from_der(&ca_der).unwrap();
    let ca_public =
        scep_proto::PublicKey::from_spki(ca_cert.tbs_certificate().subject_public_key_info())
            .unwrap();
    let victim = Client::new(0, "CN=victim");
    let victim_csr = victim.csr();
    let victim_env = envelope_of(&victim.pkcs_req(&ca_der, &victim_csr, "VICTIM-TID"));
    let attacker = Client::new(1, "CN=attacker");
    for code in [18u32, 23, 99] {
        let carrier = attacker.message(
            &ca_der,
            &RequestBody::Unknown(code, victim_csr.clone()),
            "ATTACKER-TID",
            Nonce([0x44; 16]),
        );
        let reference = raw_answer(&ca, &rewrap(&carrier, &attacker, &victim_env));
        let rep = PkiMessage::from_der(&reference, &Profile::STRICT)
            .unwrap()
            .verify(Some(&ca_cert))
            .unwrap()
            .open_cert_rep(None, &mut rng(5))
            .unwrap();
        assert!(
            matches!(
                rep.status,
                CertRepStatus::Failure {
                    fail_info: FailInfo::BadRequest,
                    ..
                }
            ),
            "messageType {code}: {:?}",
            rep.status
        );
        // Whatever the envelope holds, even one that cannot be decrypted, the answer is the
        // same: the messageType alone decided it.
        for (what, env) in variants(&victim_env, &victim_csr, &ca_public) {
            let raw = raw_answer(&ca, &rewrap(&carrier, &attacker, &env));
            assert!(raw == reference, "messageType {code}: '{what}' differs");
        }
    }
}

/// One block holding `structure` and valid PKCS #7 padding, made from the victim's first
/// ciphertext block by choosing the IV (the attacker needs to know that block's plaintext;
/// a block it knows all but one byte of leaks that byte in at most 256 requests if parsing
/// success shows).
fn one_block(env: &[u8], victim_plain: &[u8], structure: &[u8]) -> Vec<u8> {
    let mut wanted = structure.to_vec();
    let pad = u8::try_from(BLOCK - structure.len()).unwrap();
    wanted.resize(BLOCK, pad);
    tamper(env, |iv, ct, _| {
        for ((b, p), w) in iv.iter_mut().zip(&victim_plain[..BLOCK]).zip(&wanted) {
            *b ^= p ^ w;
        }
        ct.truncate(BLOCK);
    })
}

#[test]
fn c06_no_format_oracle_on_unauthenticated_message_data() {
    // CertPoll, GetCert and GetCRL carry no proof of possession: their messageData is as
    // malleable as the padding. Whether a crafted plaintext parses must not show.
    let ca = complete_ca(23);
    let ca_der = ca.ca_certificate_der();
    let victim = Client::new(0, "CN=victim");
    let victim_csr = victim.csr();
    let victim_env = envelope_of(&victim.pkcs_req(&ca_der, &victim_csr, "VICTIM-TID"));
    let attacker = Client::new(1, "CN=attacker");
    // IssuerAndSubject{ {}, {} } and IssuerAndSerialNumber{ {}, 1 }, each with one byte off.
    let poll_ok: &[u8] = &[0x30, 0x04, 0x30, 0x00, 0x30, 0x00];
    let poll_bad: &[u8] = &[0x30, 0x05, 0x30, 0x00, 0x30, 0x00];
    let ias_ok: &[u8] = &[0x30, 0x05, 0x30, 0x00, 0x02, 0x01, 0x01];
    let ias_bad: &[u8] = &[0x30, 0x05, 0x30, 0x00, 0x03, 0x01, 0x01];
    for (mt, carrier, ok, bad) in carriers(&attacker, &ca_der, "ATTACKER-TID")
        .into_iter()
        .filter_map(|(mt, c)| match mt {
            "CertPoll" => Some((mt, c, poll_ok, poll_bad)),
            "GetCert" | "GetCRL" => Some((mt, c, ias_ok, ias_bad)),
            _ => None,
        })
    {
        let parses = raw_answer(
            &ca,
            &rewrap(
                &carrier,
                &attacker,
                &one_block(&victim_env, &victim_csr, ok),
            ),
        );
        let garbage = raw_answer(
            &ca,
            &rewrap(
                &carrier,
                &attacker,
                &one_block(&victim_env, &victim_csr, bad),
            ),
        );
        assert!(parses == garbage, "{mt}: a parsing plaintext is told apart");
        let padding = raw_answer(
            &ca,
            &rewrap(
                &carrier,
                &attacker,
                &tamper(&victim_env, |iv, _, _| iv[0] ^= 1),
            ),
        );
        assert!(padding == garbage, "{mt}: tampering is told apart");
    }
}
