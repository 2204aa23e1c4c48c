//! The recorded strongSwan `pki --scep --rsa-padding pss --digest sha512` PKCSReq
//! (tests/data/strongswan-pss, see NOTES.md there): a SignerInfo, a self-signed signer
//! certificate and a CSR, all three RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
//! It verifies and opens under the strict profile (S-17, S-19, S-38), and every tampering with
//! the PSS parameters of its SignerInfo is refused with a typed error.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo, SignerInfos};
use common::{key, read, rng};
use der::asn1::{Any, ObjectIdentifier, SetOfVec};
use der::{Decode, Encode, Sequence};
use scep_proto::{
    AlgRole, DigestAlg, Error, FailInfo, Layer, PkiMessage, Profile, PssParams, PssProblem,
    PublicKey, RequestBody, SignatureScheme, oids,
};
use spki::AlgorithmIdentifierOwned;

const FIXTURE: &str = "strongswan-pss/001-PKIOperation-PKCSReq.req.der";

/// RSASSA-PSS-params as a test writes them (every field explicit).
#[derive(Sequence)]
struct Params {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

fn hash_ai(d: DigestAlg) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: d.oid(),
        parameters: Some(Any::null()),
    }
}

fn pss(hash: DigestAlg, mgf: DigestAlg, salt: u32, trailer: Option<u32>) -> Option<Any> {
    let mgf1 = AlgorithmIdentifierOwned {
        oid: oids::MGF1,
        parameters: Some(Any::from_der(&hash_ai(mgf).to_der().unwrap()).unwrap()),
    };
    let p = Params {
        hash: Some(hash_ai(hash)),
        mask_gen: Some(mgf1),
        salt_len: Some(salt),
        trailer,
    };
    Some(Any::from_der(&p.to_der().unwrap()).unwrap())
}

/// The fixture with its (only) SignerInfo changed by `edit`.
fn tampered(edit: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
    let ci = ContentInfo::from_der(&read(FIXTURE)).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut infos: Vec<SignerInfo> = sd.signer_infos.0.into_vec();
    edit(&mut infos[0]);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).unwrap());
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn with_params(params: Option<Any>) -> Vec<u8> {
    tampered(|si| si.signature_algorithm.parameters = params)
}

fn verify(der: &[u8]) -> Result<(), Error> {
    PkiMessage::from_der(der, &Profile::STRICT)?
        .verify(None)
        .map(|_| ())
}

#[test]
fn s38_strongswan_pss_sha512_request_verifies_and_opens() {
    let v = PkiMessage::from_der(&read(FIXTURE), &Profile::STRICT)
        .unwrap()
        .verify(None)
        .unwrap();
    let req = v
        .open_request(&key("keys/ca.key.der"), &mut rng(1))
        .unwrap();
    assert_eq!(req.digest, DigestAlg::Sha512);
    let RequestBody::PkcsReq(csr) = &req.body else {
        panic!("not a PKCSReq: {:?}", req.body.message_type());
    };
    // The CSR and the self-signed signer certificate are PSS-signed too; both verify.
    assert_eq!(csr.cert_req().algorithm.oid, oids::RSASSA_PSS);
    let signer_key = PublicKey::from_certificate(&req.signer).unwrap();
    signer_key
        .verify_certificate(&req.signer, &Profile::STRICT)
        .unwrap();
    assert_eq!(
        SignatureScheme::from_algorithm(
            &csr.cert_req().algorithm,
            &Profile::STRICT,
            Layer::Certificates
        ),
        Ok(SignatureScheme::Pss(PssParams {
            hash: DigestAlg::Sha512,
            salt_len: 64
        }))
    );
    // Re-encoding the SignedData with the same parameters changes nothing: the refusals
    // below come from the tampering alone.
    verify(&with_params(pss(
        DigestAlg::Sha512,
        DigestAlg::Sha512,
        64,
        None,
    )))
    .unwrap();
}

#[test]
fn s38_tampered_pss_parameters_are_refused() {
    use DigestAlg::{Sha1, Sha256, Sha512};
    let bad = |problem| Error::PssParameters {
        layer: Layer::SignerInfo,
        problem,
    };
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "MGF1 hash differs from the hash",
            with_params(pss(Sha512, Sha256, 64, None)),
            bad(PssProblem::MaskHash),
        ),
        (
            "trailer field 2",
            with_params(pss(Sha512, Sha512, 64, Some(2))),
            bad(PssProblem::Trailer),
        ),
        (
            "parameters missing",
            with_params(None),
            bad(PssProblem::ParametersMissing),
        ),
        (
            "parameters NULL",
            with_params(Some(Any::null())),
            bad(PssProblem::ParametersMissing),
        ),
        // 2048-bit key, SHA-512: at most 256 - 64 - 2 = 190 bytes of salt.
        (
            "salt longer than the modulus allows",
            with_params(pss(Sha512, Sha512, 191, None)),
            bad(PssProblem::SaltLength),
        ),
        (
            "absurd salt",
            with_params(pss(Sha512, Sha512, u32::MAX, None)),
            bad(PssProblem::SaltLength),
        ),
        (
            "PSS hash differs from digestAlgorithm",
            with_params(pss(Sha256, Sha256, 32, None)),
            bad(PssProblem::DigestMismatch),
        ),
        (
            "SHA-1 without the legacy profile",
            tampered(|si| {
                si.digest_alg = hash_ai(Sha1);
                si.signature_algorithm.parameters = pss(Sha1, Sha1, 20, None);
            }),
            Error::LegacyAlgorithmDisabled {
                layer: Layer::SignerInfo,
                role: AlgRole::Signature,
            },
        ),
        (
            "salt length other than the signer used",
            with_params(pss(Sha512, Sha512, 32, None)),
            Error::SignatureInvalid,
        ),
    ];
    for (what, der, expected) in cases {
        let err = verify(&der).unwrap_err();
        assert_eq!(err, expected, "{what}");
        let fail = if expected == Error::SignatureInvalid {
            FailInfo::BadMessageCheck
        } else {
            FailInfo::BadAlg
        };
        assert_eq!(err.fail_info(), Some(fail), "{what}");
    }
    // An unknown mask generation function.
    let other_mgf = tampered(|si| {
        let p = Params {
            hash: Some(hash_ai(Sha512)),
            mask_gen: Some(AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.99"),
                parameters: None,
            }),
            salt_len: Some(64),
            trailer: None,
        };
        si.signature_algorithm.parameters = Some(Any::from_der(&p.to_der().unwrap()).unwrap());
    });
    assert_eq!(
        verify(&other_mgf).unwrap_err(),
        bad(PssProblem::MaskGeneration)
    );
}
