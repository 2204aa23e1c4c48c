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

/// A signed PKCS #10 request with the CertificationRequestInfo DER its signature covers.
///
/// RSASSA-PKCS1-v1_5 is deterministic, so the same info signed by the same key always gives
/// the same bytes: a trustpoint keeps its last request and sends it again when a new
/// transaction would sign identical info (a same-key RENEW or SHADOW, K-6/K-8), saving a
/// private-key operation. The info holds the public key, so equal info means the same key.
/// No `Debug`: the info may hold the challengePassword.
#[derive(Clone)]
pub(crate) struct SignedCsr {
    info: Vec<u8>,
    /// The request's DER.
    pub(crate) der: Vec<u8>,
}

/// A PKCS #10 request for `subject` over `key`, with `challenge` and the subjectAltName
/// entries `sans` if given; `last` again, without signing, when its info is the same.
pub(crate) fn build_csr<R: rand::CryptoRng + ?Sized>(
    subject: &Name,
    key: &PrivateKey,
    challenge: Option<&str>,
    sans: &[crate::san::SubjectAltName],
    last: Option<&SignedCsr>,
    rng: &mut R,
) -> Result<SignedCsr, CsrError> {
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
    if let Some(last) = last.filter(|l| l.info == tbs) {
        return Ok(last.clone());
    }
    let sig = key
        .sign(DigestAlg::Sha256, &tbs, rng)
        .map_err(|_| CsrError)?;
    let req = CertReq {
        info,
        algorithm: DigestAlg::Sha256.rsa_signature_algorithm(),
        signature: BitString::from_bytes(&sig).map_err(|_| CsrError)?,
    };
    let der = req.to_der().map_err(|_| CsrError)?;
    Ok(SignedCsr { info: tbs, der })
}
