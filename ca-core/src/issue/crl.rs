//! The CRL (C-21, T-8).

use der::{Decode, Encode, asn1::BitString};
use pki_timers::{Duration, Instant, LifetimeKind};
use rand::CryptoRng;
use scep_proto::DigestAlg;
use x509_cert::{
    certificate::Version,
    crl::{CertificateList, RevokedCert, TbsCertList},
    ext::pkix::CrlNumber,
    serial_number::SerialNumber,
};

use super::{
    cert::{authority_key_identifier, extension},
    error::IssueError,
    key::{CaKey, sign},
    signature::SignatureConfig,
    time::to_x509_time,
};

/// One revoked certificate: its serial and when it was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RevokedSerial {
    /// The certificate's serial (C-3).
    pub serial: u64,
    /// The revocation instant (the admin `revoke`, C-14).
    pub revoked_at: Instant,
}

/// Inputs of a CRL (C-21). [`CrlParams::new`] fills the SPEC defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrlParams {
    /// When the CRL is generated: thisUpdate (T-8).
    pub generated_at: Instant,
    /// `lifetime_crl`, L_crl (default 6 hours, 1–336 hours): nextUpdate = thisUpdate + L_crl.
    pub lifetime: Duration,
    /// The cRLNumber (C-21: the previous one + 1).
    pub crl_number: u64,
    /// The revoked serials to list. The CA passes only unexpired certificates it issued with
    /// the signing key; they are listed as given.
    pub revoked: Vec<RevokedSerial>,
    /// The configured `hash` and `legacy_algorithms`.
    pub signature: SignatureConfig,
}

impl CrlParams {
    /// L_crl = 6 hours, nothing revoked, SHA-256.
    #[must_use]
    pub const fn new(generated_at: Instant, crl_number: u64) -> Self {
        Self {
            generated_at,
            lifetime: Duration::from_hours(6),
            crl_number,
            revoked: Vec::new(),
            signature: SignatureConfig::new(DigestAlg::Sha256),
        }
    }
}

/// C-21: a v2 CRL issued and signed by `ca`: thisUpdate/nextUpdate from T-8
/// ([`pki_timers::crl_window`]), the revoked serials with their revocation dates, and the
/// non-critical cRLNumber and AKI (= the CA's SKI) extensions. With nothing revoked the
/// revokedCertificates list is absent (RFC 5280 5.1.2.6).
///
/// # Errors
/// [`IssueError::Timer`] for L_crl outside 1–336 hours; [`IssueError::ZeroSerial`] for a
/// revoked serial 0; [`IssueError::LegacyAlgorithmRefused`]; [`IssueError::TimeOutOfRange`];
/// signing and encoding errors.
pub fn certificate_revocation_list<R: CryptoRng + ?Sized>(
    ca: &CaKey,
    params: &CrlParams,
    rng: &mut R,
) -> Result<CertificateList, IssueError> {
    let hash = params.signature.checked_hash()?;
    let lifetime = LifetimeKind::Crl
        .check(params.lifetime)
        .map_err(IssueError::from_timer)?;
    let window = pki_timers::crl_window(params.generated_at, lifetime);
    let revoked = params
        .revoked
        .iter()
        .map(|r| {
            if r.serial == 0 {
                return Err(IssueError::ZeroSerial);
            }
            Ok(RevokedCert {
                serial_number: SerialNumber::from(r.serial),
                revocation_date: to_x509_time(r.revoked_at)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let number = CrlNumber::try_from(params.crl_number).map_err(IssueError::Encoding)?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: hash.rsa_signature_algorithm(),
        issuer: ca.subject().clone(),
        this_update: to_x509_time(window.this_update)?,
        next_update: Some(to_x509_time(window.next_update)?),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(revoked)
        },
        crl_extensions: Some(vec![
            authority_key_identifier(ca.key_identifier())?,
            extension(&number, false)?,
        ]),
    };
    let tbs_der = tbs.to_der().map_err(IssueError::Encoding)?;
    let sig = sign(ca.key(), hash, &tbs_der, rng)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: hash.rsa_signature_algorithm(),
        signature: BitString::from_bytes(&sig).map_err(IssueError::Encoding)?,
    };
    // Round-trip through DER so what the caller holds is exactly what a peer decodes.
    let der = crl.to_der().map_err(IssueError::Encoding)?;
    CertificateList::from_der(&der).map_err(IssueError::Encoding)
}
