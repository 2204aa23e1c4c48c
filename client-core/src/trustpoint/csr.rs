//! The PKCS #10 request a trustpoint sends (K-5): subject, public key, optional
//! challengePassword, extensionRequest (keyUsage, subjectAltName), signed with SHA-256 and RSA PKCS #1 v1.5.

use der::Encode;
use der::asn1::{Any, BitString, OctetString, SetOfVec, Utf8StringRef};
use scep_proto::{DigestAlg, PrivateKey, oids};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

/// Why a CSR could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CsrError;

/// The SubjectPublicKeyInfo DER of `key`.
pub(crate) fn spki_der(key: &PrivateKey) -> Result<Vec<u8>, CsrError> {
    key.public_key_info()
        .and_then(|spki| {
            spki.to_der().map_err(|_| scep_proto::Error::Encode {
                layer: scep_proto::Layer::PublicKey,
            })
        })
        .map_err(|_| CsrError)
}

/// DER of a PKCS #10 request for `subject` over `key`, with `challenge` and the
/// subjectAltName entries `sans` if given.
pub(crate) fn build_csr<R: rand::CryptoRng + ?Sized>(
    subject: &Name,
    key: &PrivateKey,
    challenge: Option<&str>,
    sans: &[crate::san::SubjectAltName],
    rng: &mut R,
) -> Result<Vec<u8>, CsrError> {
    let public_key = key.public_key_info().map_err(|_| CsrError)?;
    let mut attributes = SetOfVec::new();
    if let Some(pw) = challenge {
        let value = Any::encode_from(&Utf8StringRef::new(pw).map_err(|_| CsrError)?)
            .map_err(|_| CsrError)?;
        let values = SetOfVec::try_from(vec![value]).map_err(|_| CsrError)?;
        attributes
            .insert(Attribute {
                oid: oids::CHALLENGE_PASSWORD,
                values,
            })
            .map_err(|_| CsrError)?;
    }
    // extensionRequest (K-5): keyUsage digitalSignature + keyEncipherment, what a SCEP
    // identity signs and decrypts with.
    let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
    let ext = Extension {
        extn_id: <KeyUsage as der::oid::AssociatedOid>::OID,
        critical: true,
        extn_value: OctetString::new(usage.to_der().map_err(|_| CsrError)?)
            .map_err(|_| CsrError)?,
    };
    let mut extensions = vec![ext];
    extensions.extend(crate::san::extension(sans).map_err(|_| CsrError)?);
    let req_attr = Attribute::try_from(ExtensionReq(extensions)).map_err(|_| CsrError)?;
    attributes.insert(req_attr).map_err(|_| CsrError)?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.clone(),
        public_key,
        attributes,
    };
    let tbs = info.to_der().map_err(|_| CsrError)?;
    let sig = key
        .sign(DigestAlg::Sha256, &tbs, rng)
        .map_err(|_| CsrError)?;
    let req = CertReq {
        info,
        algorithm: DigestAlg::Sha256.rsa_signature_algorithm(),
        signature: BitString::from_bytes(&sig).map_err(|_| CsrError)?,
    };
    req.to_der().map_err(|_| CsrError)
}
