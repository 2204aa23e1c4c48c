//! Every malformed-input class yields its typed error (S-40), mapped to the failInfo of C-5/C-6;
//! nothing panics.

// Test crate: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use common::{ca, client, read, rng};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use scep_proto::PrivateKey;
use scep_proto::oids;
use scep_proto::{
    AlgRole, AttrName, AttrProblem, CertRepBuilder, CertRepContent, DerProblem, DigestAlg,
    Envelope, Error, FailInfo, Layer, LimitKind, Nonce, PkiMessage, Profile, RequestBody,
    RequestBuilder, Signer, TransactionId,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

fn valid_request() -> Vec<u8> {
    let (ca_cert, _) = ca();
    let (client_cert, client_key) = client();
    let csr = scep_proto::Csr::from_der(&read("keys/client.csr.der")).unwrap();
    RequestBuilder::new(TransactionId::new("MALFORMED-1").unwrap(), Nonce([1; 16]))
        .build(
            &RequestBody::PkcsReq(csr),
            Signer {
                cert: &client_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng(30),
        )
        .unwrap()
}

fn parse_verify(der: &[u8]) -> Result<scep_proto::VerifiedMessage, Error> {
    PkiMessage::from_der(der, &Profile::STRICT).and_then(|m| m.verify(None))
}

fn attr(oid: ObjectIdentifier, tag: Tag, value: &[u8]) -> Attribute {
    let mut values = SetOfVec::new();
    values.insert(Any::new(tag, value).unwrap()).unwrap();
    Attribute { oid, values }
}

fn printable(oid: ObjectIdentifier, s: &str) -> Attribute {
    attr(oid, Tag::PrintableString, s.as_bytes())
}

/// Knobs for a hand-made SignedData.
struct Craft {
    content: Vec<u8>,
    attrs: Vec<Attribute>,
    digest_oid: ObjectIdentifier,
    sig_oid: ObjectIdentifier,
    corrupt_signature: bool,
    wrong_message_digest: bool,
    extra_certs: usize,
}

impl Craft {
    fn new() -> Self {
        Self {
            content: b"not an envelope".to_vec(),
            attrs: vec![
                printable(oids::MESSAGE_TYPE, "19"),
                printable(oids::TRANSACTION_ID, "CRAFTED"),
                attr(oids::SENDER_NONCE, Tag::OctetString, &[7; 16]),
            ],
            digest_oid: oids::SHA256,
            sig_oid: oids::RSA_ENCRYPTION,
            corrupt_signature: false,
            wrong_message_digest: false,
            extra_certs: 0,
        }
    }

    fn build(self) -> Vec<u8> {
        let client_cert = x509_cert::Certificate::from_der(&read("keys/client.der")).unwrap();
        let (_, key): (_, PrivateKey) = client();
        let mut digest = DigestAlg::Sha256.digest(&self.content);
        if self.wrong_message_digest {
            digest[0] ^= 1;
        }
        let mut attrs = vec![
            attr(
                oids::CONTENT_TYPE,
                Tag::ObjectIdentifier,
                oids::ID_DATA.as_bytes(),
            ),
            attr(oids::MESSAGE_DIGEST, Tag::OctetString, &digest),
        ];
        attrs.extend(self.attrs);
        let set: SetOfVec<Attribute> = SetOfVec::try_from(attrs).unwrap();
        let mut sig = key
            .sign(DigestAlg::Sha256, &set.to_der().unwrap(), &mut rng(7))
            .unwrap();
        if self.corrupt_signature {
            sig[10] ^= 0x40;
        }
        let alg = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::null()),
        };
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
                issuer: client_cert.tbs_certificate().issuer().clone(),
                serial_number: client_cert.tbs_certificate().serial_number().clone(),
            }),
            digest_alg: alg(self.digest_oid),
            signed_attrs: Some(set),
            signature_algorithm: alg(self.sig_oid),
            signature: OctetString::new(sig).unwrap(),
            unsigned_attrs: None,
        };
        let mut certs = vec![client_cert.clone()];
        // Distinct extra certificates: re-encode the CA and client under new serials is not
        // possible here, so reuse the seed IOS certs and committed ones cyclically.
        let pool = [
            "keys/ca.der",
            "keys/ca_next.der",
            "ios/ca_01.der",
            "ios/rollover_03.der",
            "fixtures/ca.der",
            "fixtures/sscep/renewal.crt.der",
            "fixtures/micromdm-client/cert.der",
        ];
        for name in pool.iter().take(self.extra_certs) {
            certs.push(x509_cert::Certificate::from_der(&read(name)).unwrap());
        }
        let mut cert_set = SetOfVec::new();
        for c in certs {
            cert_set
                .insert(cms::cert::CertificateChoices::Certificate(c))
                .unwrap();
        }
        let mut digests = SetOfVec::new();
        digests.insert(alg(self.digest_oid)).unwrap();
        let sd = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: digests,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oids::ID_DATA,
                econtent: Some(Any::encode_from(&OctetString::new(self.content).unwrap()).unwrap()),
            },
            certificates: Some(CertificateSet(cert_set)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).unwrap()),
        };
        ContentInfo {
            content_type: oids::ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap()
    }
}

#[test]
fn s40_every_truncation_is_a_typed_bad_request() {
    let der = valid_request();
    for len in 0..der.len() {
        let err = PkiMessage::from_der(&der[..len], &Profile::STRICT).unwrap_err();
        assert!(
            matches!(err, Error::Malformed { .. }),
            "prefix {len}: {err:?}"
        );
        assert_eq!(err.fail_info(), Some(FailInfo::BadRequest));
    }
}

#[test]
fn s40_wrong_tags_and_content_types() {
    let der = valid_request();
    let mut wrong = der.clone();
    wrong[0] = 0x31; // SET instead of SEQUENCE
    assert!(matches!(
        PkiMessage::from_der(&wrong, &Profile::STRICT),
        Err(Error::Malformed {
            layer: Layer::ContentInfo,
            problem: DerProblem::Tag
        })
    ));
    // The envelope itself is not a pkiMessage.
    let env = parse_verify(&der)
        .unwrap()
        .message()
        .content()
        .unwrap()
        .to_vec();
    assert_eq!(
        PkiMessage::from_der(&env, &Profile::STRICT).unwrap_err(),
        Error::UnexpectedContentType {
            layer: Layer::ContentInfo
        }
    );
    // And a SignedData is not an envelope.
    assert!(Envelope::from_der(&der, &Profile::STRICT).is_err());
    // Trailing garbage.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        PkiMessage::from_der(&trailing, &Profile::STRICT),
        Err(Error::Malformed {
            problem: DerProblem::TrailingData | DerProblem::Truncated,
            ..
        })
    ));
}

#[test]
fn s40_absurd_lengths_nesting_bombs_and_size() {
    // A 4 GiB length in a tiny input.
    let absurd = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00];
    assert!(matches!(
        PkiMessage::from_der(&absurd, &Profile::STRICT),
        Err(Error::Malformed { .. })
    ));
    // Five length octets with leading zeros are legal BER (S-40): the normaliser shortens
    // them, and the SEQUENCE { NULL } behind is then refused as no ContentInfo.
    let five = [0x30, 0x85, 0, 0, 0, 0, 2, 0x05, 0x00];
    assert!(matches!(
        PkiMessage::from_der(&five, &Profile::STRICT),
        Err(Error::Malformed { .. })
    ));
    // More length octets than any real length needs are refused outright.
    let nine = [0x30, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x05, 0x00];
    assert!(matches!(
        PkiMessage::from_der(&nine, &Profile::STRICT),
        Err(Error::Malformed {
            problem: DerProblem::Length,
            ..
        })
    ));
    // 40 nested indefinite-length SEQUENCEs.
    let mut bomb = Vec::new();
    for _ in 0..40 {
        bomb.extend([0x30, 0x80]);
    }
    for _ in 0..40 {
        bomb.extend([0, 0]);
    }
    assert_eq!(
        PkiMessage::from_der(&bomb, &Profile::STRICT).unwrap_err(),
        Error::Limit(LimitKind::Depth)
    );
    // Deep definite nesting too.
    let mut deep = vec![0x05, 0x00];
    for _ in 0..40 {
        let mut outer = vec![0x30, u8::try_from(deep.len()).unwrap_or(0x7f)];
        if deep.len() > 0x7f {
            outer = vec![0x30, 0x81, u8::try_from(deep.len()).unwrap()];
        }
        outer.extend(deep);
        deep = outer;
    }
    assert_eq!(
        PkiMessage::from_der(&deep, &Profile::STRICT).unwrap_err(),
        Error::Limit(LimitKind::Depth)
    );
    let big = vec![0u8; 256 * 1024 + 1];
    assert_eq!(
        PkiMessage::from_der(&big, &Profile::STRICT).unwrap_err(),
        Error::Limit(LimitKind::InputSize)
    );
    assert_eq!(
        Error::Limit(LimitKind::InputSize).fail_info(),
        Some(FailInfo::BadRequest)
    );
}

#[test]
fn s18_missing_and_repeated_attributes() {
    // The crafted baseline is acceptable.
    assert!(parse_verify(&Craft::new().build()).is_ok());
    for (drop, name) in [
        (oids::MESSAGE_TYPE, AttrName::MessageType),
        (oids::TRANSACTION_ID, AttrName::TransactionId),
        (oids::SENDER_NONCE, AttrName::SenderNonce),
    ] {
        let mut c = Craft::new();
        c.attrs.retain(|a| a.oid != drop);
        let err = PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err();
        assert_eq!(
            err,
            Error::Attribute {
                attr: name,
                problem: AttrProblem::Missing
            }
        );
        assert_eq!(err.fail_info(), Some(FailInfo::BadRequest));
    }
    // A CertRep without pkiStatus, and a FAILURE without failInfo.
    let mut c = Craft::new();
    c.attrs[0] = printable(oids::MESSAGE_TYPE, "3");
    c.attrs
        .push(attr(oids::RECIPIENT_NONCE, Tag::OctetString, &[8; 16]));
    assert_eq!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
        Error::Attribute {
            attr: AttrName::PkiStatus,
            problem: AttrProblem::Missing
        }
    );
    let mut c = Craft::new();
    c.attrs[0] = printable(oids::MESSAGE_TYPE, "3");
    c.attrs
        .push(attr(oids::RECIPIENT_NONCE, Tag::OctetString, &[8; 16]));
    c.attrs.push(printable(oids::PKI_STATUS, "2"));
    assert_eq!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
        Error::Attribute {
            attr: AttrName::FailInfo,
            problem: AttrProblem::Missing
        }
    );
    // A value SET with two values.
    let mut c = Craft::new();
    let mut two = SetOfVec::new();
    two.insert(Any::new(Tag::PrintableString, b"A".as_slice()).unwrap())
        .unwrap();
    two.insert(Any::new(Tag::PrintableString, b"B".as_slice()).unwrap())
        .unwrap();
    c.attrs[1] = Attribute {
        oid: oids::TRANSACTION_ID,
        values: two,
    };
    assert_eq!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
        Error::Attribute {
            attr: AttrName::TransactionId,
            problem: AttrProblem::ValueCount
        }
    );
    // Non-numeric messageType, unknown pkiStatus.
    let mut c = Craft::new();
    c.attrs[0] = printable(oids::MESSAGE_TYPE, "PKCSReq");
    assert_eq!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
        Error::Attribute {
            attr: AttrName::MessageType,
            problem: AttrProblem::Value
        }
    );
    // IA5String and UTF8String transactionIDs are accepted (S-18).
    for tag in [Tag::Ia5String, Tag::Utf8String] {
        let mut c = Craft::new();
        c.attrs[1] = attr(oids::TRANSACTION_ID, tag, b"tid-as-other-string");
        let m = PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap();
        assert_eq!(m.transaction_id().as_str(), "tid-as-other-string");
    }
}

#[test]
fn s13_wrong_nonce_sizes() {
    for len in [0usize, 8, 15, 17, 32] {
        let mut c = Craft::new();
        c.attrs[2] = attr(oids::SENDER_NONCE, Tag::OctetString, &vec![1; len]);
        assert_eq!(
            PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
            Error::Attribute {
                attr: AttrName::SenderNonce,
                problem: AttrProblem::Size
            },
            "{len}"
        );
    }
    let mut c = Craft::new();
    c.attrs[2] = attr(
        oids::SENDER_NONCE,
        Tag::PrintableString,
        b"0123456789abcdef",
    );
    assert_eq!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err(),
        Error::Attribute {
            attr: AttrName::SenderNonce,
            problem: AttrProblem::Encoding
        }
    );
}

#[test]
fn s38_unknown_and_legacy_algorithms_are_bad_alg() {
    let mut c = Craft::new();
    c.digest_oid = ObjectIdentifier::new_unwrap("1.2.3.4.5");
    let err = PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedAlgorithm {
            layer: Layer::SignerInfo,
            role: AlgRole::Digest
        }
    );
    assert_eq!(err.fail_info(), Some(FailInfo::BadAlg));
    // RSASSA-PSS without its parameters: badAlg.
    let mut c = Craft::new();
    c.sig_oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    let err = PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err();
    assert_eq!(
        err,
        Error::PssParameters {
            layer: Layer::SignerInfo,
            problem: scep_proto::PssProblem::ParametersMissing
        }
    );
    assert_eq!(err.fail_info(), Some(FailInfo::BadAlg));
    // A <digest>WithRSA that contradicts the digest algorithm.
    let mut c = Craft::new();
    c.sig_oid = oids::SHA1_WITH_RSA;
    assert!(matches!(
        PkiMessage::from_der(&c.build(), &Profile::STRICT),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
    // sha256WithRSAEncryption matching the digest is fine (strongSwan, S-17).
    let mut c = Craft::new();
    c.sig_oid = oids::SHA256_WITH_RSA;
    assert!(parse_verify(&c.build()).is_ok());
    // MD5 without the legacy switch.
    let mut c = Craft::new();
    c.digest_oid = oids::MD5;
    let err = PkiMessage::from_der(&c.build(), &Profile::STRICT).unwrap_err();
    assert_eq!(
        err,
        Error::LegacyAlgorithmDisabled {
            layer: Layer::SignerInfo,
            role: AlgRole::Digest
        }
    );
    assert_eq!(err.fail_info(), Some(FailInfo::BadAlg));
}

#[test]
fn s19_bad_signature_and_wrong_message_digest_are_bad_message_check() {
    let mut c = Craft::new();
    c.corrupt_signature = true;
    let err = parse_verify(&c.build()).unwrap_err();
    assert_eq!(err, Error::SignatureInvalid);
    assert_eq!(err.fail_info(), Some(FailInfo::BadMessageCheck));

    let mut c = Craft::new();
    c.wrong_message_digest = true;
    let err = parse_verify(&c.build()).unwrap_err();
    assert_eq!(err, Error::MessageDigestMismatch);
    assert_eq!(err.fail_info(), Some(FailInfo::BadMessageCheck));

    // Content changed after signing.
    let der = valid_request();
    let v = parse_verify(&der).unwrap();
    let env = v.message().content().unwrap();
    let pos = der.windows(env.len()).position(|w| w == env).unwrap();
    let mut tampered = der.clone();
    tampered[pos + env.len() - 1] ^= 0xff;
    assert_eq!(
        parse_verify(&tampered).unwrap_err(),
        Error::MessageDigestMismatch
    );

    // An expected signer that is not the one named by sid: refused, even though the message
    // carries the certificate sid names (K-17, no fallback); without an expected signer the
    // carried one is used.
    let (ca_cert, _) = ca();
    let m = PkiMessage::from_der(&Craft::new().build(), &Profile::STRICT).unwrap();
    assert!(m.signer_id().matches(&m.certificates()[0]));
    assert_eq!(
        m.clone().verify(Some(&ca_cert)).unwrap_err(),
        Error::SignerNotFound,
        "no fallback to the carried certificates"
    );
    assert!(m.verify(None).is_ok());
    let mut c = Craft::new();
    c.attrs.push(printable(oids::PKI_STATUS, "0"));
    let der = c.build();
    // Strip the certificates: without them and without a matching supplied cert, no signer.
    let ci = ContentInfo::from_der(&der).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    sd.certificates = None;
    let stripped = ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    let err = PkiMessage::from_der(&stripped, &Profile::STRICT)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap_err();
    assert_eq!(err, Error::SignerNotFound);
    assert_eq!(err.fail_info(), Some(FailInfo::BadMessageCheck));
}

#[test]
fn s40_too_many_certificates() {
    let mut c = Craft::new();
    c.extra_certs = 7;
    assert!(parse_verify(&c.build()).is_ok(), "8 certificates are fine");
    // 17 certificates: build by hand from the crafted one.
    let der = Craft::new().build();
    let ci = ContentInfo::from_der(&der).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let set = sd.certificates.as_mut().unwrap();
    for i in 0..16u8 {
        // Same certificate re-wrapped as an "other" format keeps it distinct in the SET.
        let other = cms::cert::OtherCertificateFormat {
            other_cert_format: ObjectIdentifier::new_unwrap("1.2.3.4"),
            other_cert: Any::new(Tag::OctetString, vec![i]).unwrap(),
        };
        set.0
            .insert(cms::cert::CertificateChoices::Other(other))
            .unwrap();
    }
    let many = ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    assert_eq!(
        PkiMessage::from_der(&many, &Profile::STRICT).unwrap_err(),
        Error::Limit(LimitKind::Certificates)
    );
}

#[test]
fn c6_wrong_key_and_unknown_cipher() {
    let der = valid_request();
    let v = parse_verify(&der).unwrap();
    let (_, client_key) = client();
    let err = v.open_request(&client_key, &mut rng(31)).unwrap_err();
    assert!(matches!(err, Error::ContentDecryptionFailed), "{err:?}");
    assert_eq!(err.fail_info(), Some(FailInfo::BadMessageCheck));

    // Replace the AES-128-CBC OID in the envelope by AES-128-GCM (2.16.840.1.101.3.4.1.6).
    let env = v.message().content().unwrap().to_vec();
    let aes = oids::AES128_CBC.to_der().unwrap();
    let rc2 = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.6")
        .to_der()
        .unwrap();
    let pos = env
        .windows(aes.len())
        .position(|w| w == aes.as_slice())
        .unwrap();
    let mut patched = env[..pos].to_vec();
    patched.extend(&rc2);
    patched.extend(&env[pos + aes.len()..]);
    // Both OIDs encode to 9 content bytes: no length fix-ups needed.
    assert_eq!(patched.len(), env.len());
    let err = Envelope::from_der(&patched, &Profile::STRICT).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedAlgorithm {
            layer: Layer::EncryptedContent,
            role: AlgRole::ContentEncryption
        }
    );
    assert_eq!(err.fail_info(), Some(FailInfo::BadAlg));
}

#[test]
fn s29_failure_reply_attribute_rules() {
    let (ca_cert, ca_key) = ca();
    // failInfoText travels with FAILURE (S-12).
    let der = CertRepBuilder::new(
        TransactionId::new("T").unwrap(),
        Nonce([1; 16]),
        Nonce([2; 16]),
    )
    .build(
        &CertRepContent::Failure {
            fail_info: FailInfo::BadTime,
            text: Some("clock skew".into()),
        },
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        &mut rng(32),
    )
    .unwrap();
    let v = parse_verify(&der).unwrap();
    assert_eq!(v.attributes().fail_info, Some(FailInfo::BadTime));
    assert_eq!(v.attributes().fail_info_text.as_deref(), Some("clock skew"));
}
