//! The degenerate certs-only SignedData (RFC 8894 §3.4; SPEC S-30) and the GetCACert answer
//! body (S-7, S-31).
//!
//! ```text
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,                      -- 1
//!     digestAlgorithms DigestAlgorithmIdentifiers, -- empty
//!     encapContentInfo EncapsulatedContentInfo,    -- id-data, no eContent
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }                -- empty
//! ```

use crate::ident::Certificate;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::crl::CertificateList;

use crate::error::{Error, Layer, Result};
use crate::signed::{build_certs_only, parse_certs_only};

/// Certificates and CRLs in a degenerate SignedData (S-30).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertsOnly {
    /// The certificates: emitted in this order (S-28: the issued certificate first, then
    /// the CA), decoded in the order received. A client never relies on the order; it picks
    /// its certificate by public key ([`CertsOnly::find_by_public_key`]).
    pub certificates: Vec<Certificate>,
    /// The CRLs (GetCRL answer, S-36).
    pub crls: Vec<CertificateList>,
}

impl CertsOnly {
    /// Certificates only.
    pub fn new(certificates: Vec<Certificate>) -> Self {
        Self {
            certificates,
            crls: Vec::new(),
        }
    }

    /// Parses `ContentInfo{SignedData}` with no signers (BER accepted).
    pub fn from_der(input: &[u8]) -> Result<Self> {
        let (certificates, crls) = parse_certs_only(input)?;
        Ok(Self { certificates, crls })
    }

    /// DER `ContentInfo{SignedData}` per S-30.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        build_certs_only(&self.certificates, &self.crls)
    }

    /// The certificate whose public key equals `spki` (how a client finds its issued
    /// certificate, S-28).
    pub fn find_by_public_key(&self, spki: &SubjectPublicKeyInfoOwned) -> Option<&Certificate> {
        self.certificates
            .iter()
            .find(|c| c.tbs_certificate().subject_public_key_info() == spki)
    }
}

/// The GetCACert answer body (S-7, S-31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaCerts {
    /// `application/x-x509-ca-cert`: one DER certificate.
    Single(Box<Certificate>),
    /// `application/x-x509-ca-ra-cert`: certs-only SignedData with every certificate.
    Chain(Vec<Certificate>),
}

impl CaCerts {
    /// Content type for `Single`.
    pub const CONTENT_TYPE_CA: &'static str = "application/x-x509-ca-cert";
    /// Content type for `Chain`.
    pub const CONTENT_TYPE_CA_RA: &'static str = "application/x-x509-ca-ra-cert";

    /// The HTTP content type of this answer.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Single(_) => Self::CONTENT_TYPE_CA,
            Self::Chain(_) => Self::CONTENT_TYPE_CA_RA,
        }
    }

    /// The HTTP body.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        use der::Encode;
        match self {
            Self::Single(c) => c.to_der().map_err(|_| Error::Encode {
                layer: Layer::Certificates,
            }),
            Self::Chain(certs) => CertsOnly::new(certs.clone()).to_der(),
        }
    }

    /// Parses a body by its content type (anything but the CA-RA type is read as one
    /// certificate).
    pub fn from_der(content_type: &str, body: &[u8]) -> Result<Self> {
        use der::Decode;
        if content_type
            .trim()
            .eq_ignore_ascii_case(Self::CONTENT_TYPE_CA_RA)
        {
            let certs = CertsOnly::from_der(body)?.certificates;
            if certs.is_empty() {
                return Err(Error::Missing {
                    layer: Layer::CertsOnly,
                    field: crate::error::Field::Certificates,
                });
            }
            Ok(Self::Chain(certs))
        } else {
            Certificate::from_der(body)
                .map(|c| Self::Single(Box::new(c)))
                .map_err(|e| Error::malformed(Layer::Certificates, &e))
        }
    }
}
