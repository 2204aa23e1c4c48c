//! The GetNextCACert answer (RFC 8894 §4.7; SPEC S-33): `ContentInfo{SignedData}` signed by
//! the active CA whose eContent is the DER of a certs-only SignedData with the rollover
//! certificate(s). Not a pkiMessage: the signed attributes are contentType, messageDigest and
//! optionally signingTime.

use crate::ident::Certificate;

use crate::PublicKey;
use crate::algorithms::{DigestAlg, Profile};
use crate::certs_only::CertsOnly;
use crate::error::{Error, Field, Layer, Result};
use crate::ident::names_match;
use crate::oid;
use crate::signed::{ParsedSigned, SignedContent, Signer, build_signed};

/// A GetNextCACert answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextCaCerts {
    /// Certificates of the inner certs-only SignedData (rollover CA, rollover RA).
    pub certificates: Vec<Certificate>,
    /// Certificates of the outer SignedData (normally the active CA certificate).
    pub outer_certificates: Vec<Certificate>,
}

impl NextCaCerts {
    /// Content type of the HTTP answer.
    pub const CONTENT_TYPE: &'static str = "application/x-x509-next-ca-cert";

    /// Builds the answer body: `rollover` certificates inside, signed by the active CA.
    pub fn build<R: rand::CryptoRng + ?Sized>(
        rollover: &[Certificate],
        active: Signer<'_>,
        digest: DigestAlg,
        signing_time: Option<u64>,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let inner = CertsOnly::new(rollover.to_vec()).to_der()?;
        build_signed(
            SignedContent {
                content: Some(&inner),
                extra_attrs: Vec::new(),
                digest,
                signing_time,
                extra_certs: &[],
            },
            active,
            rng,
        )
    }

    /// Decodes an answer and verifies its signature with `active_ca` (S-33).
    pub fn from_der_verified(
        body: &[u8],
        active_ca: &Certificate,
        profile: &Profile,
    ) -> Result<Self> {
        let signed = ParsedSigned::from_der(body, profile)?;
        if signed.content_type != oid::ID_DATA {
            return Err(Error::UnexpectedContentType {
                layer: Layer::EncapsulatedContent,
            });
        }
        if !signed.sid.matches(active_ca) {
            return Err(Error::SignerNotFound);
        }
        signed.verify(Some(active_ca))?;
        let content = signed.content.as_deref().ok_or(Error::Missing {
            layer: Layer::SignedData,
            field: Field::EContent,
        })?;
        let inner = CertsOnly::from_der(content)?;
        Ok(Self {
            certificates: inner.certificates,
            outer_certificates: signed.certificates,
        })
    }

    /// The rollover CA certificate a client may accept from the signed content (S-33):
    /// subject equal to the active CA's (S-41) and a later notAfter, taken from the inner
    /// certs-only set only. The outer `certificates` are not covered by the signature and are
    /// never searched here.
    pub fn rollover_for(&self, active_ca: &Certificate) -> Option<&Certificate> {
        let tbs = active_ca.tbs_certificate();
        let active_end = tbs.validity().not_after.to_unix_duration();
        self.certificates
            .iter()
            .find(|c| succeeds(c, tbs.subject(), active_end))
    }

    /// As [`Self::rollover_for`]; when the inner set is empty, a certificate of the outer
    /// (unsigned) set is accepted only if its signature verifies under the active CA's key
    /// under `profile` (S-33, recommended). A certificate whose key or signature cannot be read is
    /// skipped.
    pub fn rollover_for_verified(
        &self,
        active_ca: &Certificate,
        profile: &Profile,
    ) -> Option<&Certificate> {
        if !self.certificates.is_empty() {
            return self.rollover_for(active_ca);
        }
        let key = PublicKey::from_certificate(active_ca).ok()?;
        let tbs = active_ca.tbs_certificate();
        let active_end = tbs.validity().not_after.to_unix_duration();
        self.outer_certificates.iter().find(|c| {
            succeeds(c, tbs.subject(), active_end) && key.verify_certificate(c, profile).is_ok()
        })
    }
}

/// Whether `c` may succeed a CA named `subject` ending at `active_end` (S-33, S-41).
fn succeeds(
    c: &Certificate,
    subject: &x509_cert::name::Name,
    active_end: core::time::Duration,
) -> bool {
    let t = c.tbs_certificate();
    names_match(t.subject(), subject) && t.validity().not_after.to_unix_duration() > active_end
}
