//! The recorded real-peer pkiMessages (tests/data/<peer>/NOTES.md) through the normaliser
//! (SPEC S-40), outer SignedData and inner EnvelopedData alike.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly on purpose"
)]

mod ber_support;

use ber_support::Tree;
use cms::content_info::ContentInfo;
use cms::enveloped_data::EncryptedContentInfo;
use der::Decode;
use scep_proto::{Limits, flatten_constructed_string, normalize_ber};
use std::borrow::Cow;

macro_rules! fixture {
    ($path:literal) => {
        ($path, include_bytes!(concat!("data/", $path)).as_slice())
    };
}

/// Every recorded request and every CertRep that is a pkiMessage.
const FIXTURES: &[(&str, &[u8])] = &[
    fixture!("certmonger/008-PKIOperation-PKCSReq.req.der"),
    fixture!("certmonger/008-PKIOperation-PKCSReq.resp.bin"),
    fixture!("certmonger/010-PKIOperation-PKCSReq.req.der"),
    fixture!("certmonger/010-PKIOperation-PKCSReq.resp.bin"),
    fixture!("certmonger/012-PKIOperation-PKCSReq.req.der"),
    fixture!("certmonger/012-PKIOperation-PKCSReq.resp.bin"),
    fixture!("micromdm-client/003-PKIOperation-PKCSReq.req.der"),
    fixture!("micromdm-client/003-PKIOperation-PKCSReq.resp.bin"),
    fixture!("micromdm-client/006-PKIOperation-RenewalReq.req.der"),
    fixture!("micromdm-client/006-PKIOperation-RenewalReq.resp.bin"),
    fixture!("pyscep/005-PKIOperation-PKCSReq.req.der"),
    fixture!("pyscep/005-PKIOperation-PKCSReq.resp.bin"),
    fixture!("pyscep/008-PKIOperation-RenewalReq.req.der"),
    fixture!("pyscep/008-PKIOperation-RenewalReq.resp.bin"),
    fixture!("pyscep/011-PKIOperation-PKCSReq.req.der"),
    fixture!("pyscep/011-PKIOperation-PKCSReq.resp.bin"),
    fixture!("pyscep/014-PKIOperation-CertPoll.req.der"),
    fixture!("pyscep/019-PKIOperation-PKCSReq.req.der"),
    fixture!("pyscep/019-PKIOperation-PKCSReq.resp.bin"),
    fixture!("pyscep/022-PKIOperation-RenewalReq.req.der"),
    fixture!("pyscep/022-PKIOperation-RenewalReq.resp.bin"),
    fixture!("pyscep/025-PKIOperation-PKCSReq.req.der"),
    fixture!("pyscep/025-PKIOperation-PKCSReq.resp.bin"),
    fixture!("pyscep/028-PKIOperation-CertPoll.req.der"),
    fixture!("sscep/005-PKIOperation-PKCSReq.req.der"),
    fixture!("sscep/005-PKIOperation-PKCSReq.resp.bin"),
    fixture!("sscep/007-PKIOperation-PKCSReq.req.der"),
    fixture!("sscep/007-PKIOperation-PKCSReq.resp.bin"),
    fixture!("sscep/009-PKIOperation-CertPoll.req.der"),
    fixture!("sscep/013-PKIOperation-GetCert.req.der"),
    fixture!("sscep/015-PKIOperation-GetCRL.req.der"),
    fixture!("strongswan/006-PKIOperation-PKCSReq.req.der"),
    fixture!("strongswan/006-PKIOperation-PKCSReq.resp.bin"),
    fixture!("strongswan/008-PKIOperation-RenewalReq.req.der"),
    fixture!("strongswan/008-PKIOperation-RenewalReq.resp.bin"),
];

const ID_ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";

/// Normalises `bytes`, then checks that normalising the result again is the identity.
fn normalise_twice(name: &str, bytes: &[u8]) -> Vec<u8> {
    let limits = Limits::default();
    let once = normalize_ber(bytes, &limits)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .into_owned();
    match normalize_ber(&once, &limits).unwrap() {
        Cow::Borrowed(twice) => assert_eq!(twice, once.as_slice(), "{name}"),
        Cow::Owned(_) => panic!("{name}: second pass changed the output"),
    }
    once
}

#[test]
fn s40_recorded_pki_messages_normalise_idempotently() {
    assert_eq!(FIXTURES.len(), 35);
    for (name, bytes) in FIXTURES {
        normalise_twice(name, bytes);
    }
}

#[test]
fn s40_recorded_der_pki_messages_come_back_unchanged() {
    // Every outer layer recorded from these peers is DER-shaped; the normaliser must hand
    // each back as the very same bytes, and `der` must read it as it is.
    for (name, bytes) in FIXTURES {
        let out = normalize_ber(bytes, &Limits::default()).unwrap();
        assert!(matches!(out, Cow::Borrowed(_)), "{name} was rewritten");
        assert_eq!(&out[..], *bytes, "{name}");
        ContentInfo::from_der(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The pkcsPKIEnvelope inside a pkiMessage's eContent (S-17), if there is one. Walks the
/// element tree rather than decoding `SignedData`, so that this test depends on the
/// normaliser alone.
fn envelope(der: &[u8]) -> Option<Vec<u8>> {
    // ContentInfo { contentType, [0] SignedData { version, digestAlgorithms,
    //   encapContentInfo { eContentType, [0] { OCTET STRING } }, .. } }
    let outer = Tree::from_der(der);
    let signed = &outer.children()[1].children()[0];
    let encap = &signed.children()[2];
    let econtent = encap.children().get(1)?;
    let octets = econtent.children()[0].content();
    if octets.is_empty() {
        return None; // S-29: empty eContent of a PENDING or FAILURE CertRep.
    }
    Some(octets.to_vec())
}

#[test]
fn s40_recorded_envelopes_normalise_and_decode() {
    let mut constructed_encrypted_content = 0;
    for (name, bytes) in FIXTURES {
        let Some(inner) = envelope(bytes) else {
            continue;
        };
        let inner = normalise_twice(name, &inner);
        // ContentInfo { id-envelopedData, [0] EnvelopedData { .., EncryptedContentInfo } }.
        let mut tree = Tree::from_der(&inner);
        let enveloped = &mut tree.children_mut()[1].children_mut()[0];
        let eci_index = enveloped.children().len() - 1;
        let eci = &mut enveloped.children_mut()[eci_index];
        let field = &mut eci.children_mut()[2];
        assert_eq!(field.tag()[0] & 0xDF, 0x80, "{name}: encryptedContent [0]");
        let ciphertext = flatten_constructed_string(&field.to_der(), &Limits::default())
            .unwrap()
            .into_owned();
        assert!(
            !ciphertext.is_empty() && ciphertext.len().is_multiple_of(8),
            "{name}"
        );
        if field.tag()[0] == 0xA0 {
            // micromdm's constructed [0] IMPLICIT OCTET STRING: rewrite it as primitive,
            // which is what the codec does before handing the structure to `cms`.
            constructed_encrypted_content += 1;
            *field = Tree::Prim {
                tag: vec![0x80],
                content: ciphertext.clone(),
            };
        }
        let info = ContentInfo::from_der(&tree.to_der()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.content_type.to_string(), ID_ENVELOPED_DATA);
        // Only EncryptedContentInfo is decoded with `cms`: some recorded RecipientInfos carry
        // 32-octet serial numbers (sscep, certmonger) that x509-cert's SerialNumber refuses,
        // which is the codec's business, not the normaliser's.
        let eci = tree.children()[1].children()[0].children()[eci_index].to_der();
        let eci = EncryptedContentInfo::from_der(&eci).unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded = eci.encrypted_content.unwrap();
        assert_eq!(decoded.as_bytes(), ciphertext.as_slice(), "{name}");
    }
    // micromdm writes encryptedContent constructed in its replies and its client's requests.
    assert!(constructed_encrypted_content > 0);
}
