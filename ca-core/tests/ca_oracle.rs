//! Test code: no padding oracle (C-6, S-20). A request whose content key does not unwrap (bad
//! PKCS #1 v1.5 padding) and one whose key unwraps but does not decrypt the content get the
//! same CertRep, FAILURE badMessageCheck, whatever the RSA backend (`--features aws-lc`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_support::*;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use cms::signed_data::SignedData;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use scep_proto::{
    CertRepStatus, Certificate, Csr, FailInfo, KeyTransport, Nonce, PkiMessage, Profile,
    RequestBody, RequestBuilder, TransactionId,
};

/// Rebuilds `msg` (a pkiMessage from [`Client::message_with`]) with its RecipientInfo's
/// encryptedKey replaced by `encrypted_key`, re-signed by `client` so the outer layer verifies.
fn with_encrypted_key(msg: &[u8], client: &Client, encrypted_key: Vec<u8>) -> Vec<u8> {
    let outer = ContentInfo::from_der(msg).unwrap();
    let sd: SignedData = outer.content.decode_as().unwrap();
    let econtent = sd.encap_content_info.econtent.as_ref().unwrap();
    let env_der = econtent.decode_as::<OctetString>().unwrap().into_bytes();
    let env_ci = ContentInfo::from_der(&env_der).unwrap();
    let mut env: EnvelopedData = env_ci.content.decode_as().unwrap();
    let mut infos: Vec<RecipientInfo> = env.recip_infos.0.into_vec();
    let RecipientInfo::Ktri(ktri) = &mut infos[0] else {
        panic!("expected a KeyTransRecipientInfo");
    };
    ktri.enc_key = OctetString::new(encrypted_key).unwrap();
    env.recip_infos = RecipientInfos(SetOfVec::try_from(infos).unwrap());
    let env_der = ContentInfo {
        content_type: env_ci.content_type,
        content: Any::encode_from(&env).unwrap(),
    }
    .to_der()
    .unwrap();
    // S-19: the new eContent re-signed by the client, so the outer layer still verifies.
    rewrap(msg, client, &env_der)
}

/// The CA's answer to `msg`, decoded; the CA's RNG seed differs per call so the senderNonces do.
fn answer(
    ca: &ca_core::Ca<ca_core::MemoryStore>,
    client: &Client,
    msg: &[u8],
    seed: u64,
) -> scep_proto::CertRep {
    let resp = post(ca, msg, T0, &mut rng(seed));
    assert_eq!(resp.status, 200);
    let ca_cert = Certificate::from_der(&ca.ca_certificate_der()).unwrap();
    PkiMessage::from_der(&resp.body, &Profile::STRICT)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap()
        .open_cert_rep(Some(&client.key), &mut rng(5))
        .unwrap()
}

fn c06_s20_no_padding_oracle(key_bits: u32, seed: u64) {
    let mut cfg = config();
    cfg.key_bits = key_bits;
    let ca = open(cfg, seed);
    let ca_der = ca.ca_certificate_der();
    let ca_cert = Certificate::from_der(&ca_der).unwrap();
    let ca_public =
        scep_proto::PublicKey::from_spki(ca_cert.tbs_certificate().subject_public_key_info())
            .unwrap();
    let client = Client::new(0, "CN=oracle");
    let body = RequestBody::PkcsReq(Csr::from_der(&client.csr()).unwrap());
    let builder = || {
        let mut b = RequestBuilder::new(TransactionId::new("oracle-1").unwrap(), Nonce([9; 16]));
        b.key_transport = KeyTransport::RsaPkcs1v15;
        b
    };
    let good = client.message_with(builder(), &ca_der, &body);
    let modulus_len = usize::try_from(ca_public.bits().div_ceil(8)).unwrap();

    // Bad padding: a value below the modulus whose decryption is not a PKCS #1 v1.5 block.
    let mut bad_block = vec![0x5a; modulus_len];
    bad_block[0] = 0;
    let bad_padding = with_encrypted_key(&good, &client, bad_block);
    // Good padding, wrong key: a well-formed wrapping of a key that did not encrypt the content.
    let wrong_key = ca_public
        .encrypt(KeyTransport::RsaPkcs1v15, &[0x42; 16], &mut rng(4))
        .unwrap();
    let bad_payload = with_encrypted_key(&good, &client, wrong_key);
    // Good padding, key of the wrong length for AES-128.
    let short_key = ca_public
        .encrypt(KeyTransport::RsaPkcs1v15, &[0x42; 5], &mut rng(4))
        .unwrap();
    let bad_length = with_encrypted_key(&good, &client, short_key);

    let reference = answer(&ca, &client, &bad_payload, 100);
    assert!(
        matches!(
            reference.status,
            CertRepStatus::Failure {
                fail_info: FailInfo::BadMessageCheck,
                ..
            }
        ),
        "{:?}",
        reference.status
    );
    for (what, msg, seed) in [
        ("bad padding", &bad_padding, 101),
        ("bad length", &bad_length, 102),
    ] {
        let rep = answer(&ca, &client, msg, seed);
        match &rep.status {
            CertRepStatus::Failure { fail_info, .. } => {
                assert_eq!(*fail_info, FailInfo::BadMessageCheck, "{what}");
            }
            other => panic!("{what}: expected FAILURE, got {other:?}"),
        }
        // Equal in everything but the CA's own senderNonce.
        assert_ne!(rep.sender_nonce, reference.sender_nonce, "{what}");
        assert_eq!(rep.transaction_id, reference.transaction_id, "{what}");
        assert_eq!(rep.recipient_nonce, reference.recipient_nonce, "{what}");
        assert_eq!(rep.digest, reference.digest, "{what}");
        assert_eq!(rep.cipher, reference.cipher, "{what}");
        assert_eq!(rep.signer, reference.signer, "{what}");
        assert_eq!(rep.status, reference.status, "{what}");
    }
    // And the untampered request is served (the tampering helper itself is sound).
    let ok = answer(&ca, &client, &good, 103);
    assert!(
        matches!(ok.status, CertRepStatus::Success(_)),
        "{:?}",
        ok.status
    );
}

#[test]
fn c06_s20_no_padding_oracle_1024_bit_ca() {
    c06_s20_no_padding_oracle(1024, 11);
}

/// 2048 bits: the size aws-lc serves itself (it refuses 1024-bit keys; RustCrypto does those).
#[test]
fn c06_s20_no_padding_oracle_2048_bit_ca() {
    c06_s20_no_padding_oracle(2048, 12);
}
