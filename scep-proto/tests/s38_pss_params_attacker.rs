//! RSASSA-PSS parameters as an attacker spells them (S-38): hand-written DER around the
//! one valid SHA-256 encoding, each variant refused with a typed error and no panic.

// Test crate: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use der::asn1::ObjectIdentifier;
use der::{Any, Decode};
use scep_proto::{DigestAlg, Error, Layer, Profile, PssParams, PssProblem, SignatureScheme};
use spki::AlgorithmIdentifierOwned;

const PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// `SEQUENCE { OID sha256, NULL }`, the content of a hash AlgorithmIdentifier.
const SHA256_AI: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];
/// `SEQUENCE { OID mgf1, SEQUENCE { OID sha256, NULL } }`.
const MGF1_SHA256_AI: &[u8] = &[
    0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06,
    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = u8::try_from(content.len()).unwrap();
    assert!(len < 0x80);
    let mut out = vec![tag, len];
    out.extend_from_slice(content);
    out
}

/// RSASSA-PSS-params from the DER of its fields, as one SEQUENCE.
fn params(fields: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &fields.concat())
}

fn hash_field() -> Vec<u8> {
    tlv(0xa0, SHA256_AI)
}

fn mgf_field() -> Vec<u8> {
    tlv(0xa1, MGF1_SHA256_AI)
}

fn salt_field(int_der: &[u8]) -> Vec<u8> {
    tlv(0xa2, int_der)
}

fn check(params_der: &[u8]) -> Result<SignatureScheme, Error> {
    let alg = AlgorithmIdentifierOwned {
        oid: PSS,
        parameters: Some(Any::from_der(params_der).unwrap()),
    };
    SignatureScheme::from_algorithm(&alg, &Profile::STRICT, Layer::SignerInfo)
}

fn refused(problem: PssProblem) -> Result<SignatureScheme, Error> {
    Err(Error::PssParameters {
        layer: Layer::SignerInfo,
        problem,
    })
}

#[test]
fn s38_pss_hand_written_valid_encoding_is_accepted() {
    // The baseline every variant below departs from by one thing.
    let ok = params(&[hash_field(), mgf_field(), salt_field(&[0x02, 0x01, 0x20])]);
    assert_eq!(
        check(&ok),
        Ok(SignatureScheme::Pss(PssParams {
            hash: DigestAlg::Sha256,
            salt_len: 32
        }))
    );
}

#[test]
fn s38_pss_salt_length_negative_huge_or_not_minimal_is_malformed() {
    for salt in [
        &[0x02, 0x01, 0xff][..],                         // -1
        &[0x02, 0x01, 0x80][..],                         // -128
        &[0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00][..], // 2^32: past u32
        &[
            0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ][..],
        &[0x02, 0x02, 0x00, 0x20][..], // 32, not minimal (BER, not DER)
        &[0x02, 0x00][..],             // empty INTEGER
        &[0x04, 0x01, 0x20][..],       // not an INTEGER
    ] {
        let p = params(&[hash_field(), mgf_field(), salt_field(salt)]);
        assert_eq!(check(&p), refused(PssProblem::Malformed), "{salt:02x?}");
    }
    // The largest u32 decodes, and the modulus bound refuses it at verification.
    let p = params(&[
        hash_field(),
        mgf_field(),
        salt_field(&[0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff]),
    ]);
    let Ok(SignatureScheme::Pss(pss)) = check(&p) else {
        panic!("u32::MAX salt: {:?}", check(&p));
    };
    assert_eq!(pss.check_modulus(u32::MAX), Err(PssProblem::SaltLength));
}

#[test]
fn s38_pss_trailing_or_reordered_fields_are_malformed() {
    let salt = salt_field(&[0x02, 0x01, 0x20]);
    for p in [
        // A fifth field after the four the ASN.1 defines.
        params(&[hash_field(), mgf_field(), salt.clone(), tlv(0x05, &[])]),
        params(&[
            hash_field(),
            mgf_field(),
            salt.clone(),
            tlv(0xa4, &[0x02, 0x01, 0x01]),
        ]),
        // The fields out of order.
        params(&[mgf_field(), hash_field(), salt.clone()]),
        // Salt with an IMPLICIT tag where the module says EXPLICIT.
        params(&[hash_field(), mgf_field(), tlv(0x82, &[0x20])]),
        // Two INTEGERs inside the explicit salt tag.
        params(&[
            hash_field(),
            mgf_field(),
            salt_field(&[0x02, 0x01, 0x20, 0x02, 0x01, 0x20]),
        ]),
        // A hash field holding two AlgorithmIdentifiers.
        params(&[tlv(0xa0, &[SHA256_AI, SHA256_AI].concat()), mgf_field()]),
    ] {
        assert_eq!(check(&p), refused(PssProblem::Malformed), "{p:02x?}");
    }
}

#[test]
fn s38_pss_hash_and_mgf1_spelled_oddly_are_refused() {
    // SHA-256 with parameters other than absent or NULL.
    let odd_hash = tlv(0x30, &[&SHA256_AI[2..13], &[0x02, 0x01, 0x00][..]].concat());
    let p = params(&[tlv(0xa0, &odd_hash), mgf_field()]);
    assert_eq!(check(&p), refused(PssProblem::Hash));
    // MGF1 whose hash AlgorithmIdentifier carries trailing data.
    let mgf_inner = tlv(0x30, &[SHA256_AI, &[0x05, 0x00][..]].concat());
    let mgf_trailing = tlv(0x30, &[&MGF1_SHA256_AI[2..13], &mgf_inner[..]].concat());
    let p = params(&[hash_field(), tlv(0xa1, &mgf_trailing)]);
    assert_eq!(check(&p), refused(PssProblem::MaskHash));
    // MGF1 without parameters (its hash would be a guess).
    let mgf_bare = tlv(0x30, &MGF1_SHA256_AI[2..13]);
    let p = params(&[hash_field(), tlv(0xa1, &mgf_bare)]);
    assert_eq!(check(&p), refused(PssProblem::MaskHash));
    // MGF1's hash given as a bare OID rather than an AlgorithmIdentifier.
    let mgf_oid = tlv(0x30, &[&MGF1_SHA256_AI[2..13], &SHA256_AI[2..13]].concat());
    let p = params(&[hash_field(), tlv(0xa1, &mgf_oid)]);
    assert_eq!(check(&p), refused(PssProblem::MaskHash));
    // Parameters that are a SEQUENCE of nothing: every default, so SHA-1: legacy only.
    assert_eq!(
        check(&params(&[])),
        Err(Error::LegacyAlgorithmDisabled {
            layer: Layer::SignerInfo,
            role: scep_proto::AlgRole::Signature
        })
    );
    // Parameters that are not a SEQUENCE at all.
    assert_eq!(check(&[0x04, 0x01, 0x00]), refused(PssProblem::Malformed));
}
