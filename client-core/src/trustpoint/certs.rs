//! Certificate helpers of the trustpoint: validity as timer inputs, keyUsage, and the K-2
//! judgement of a GetCACert answer (which certificate is the CA, which may act as its RA).

use der::Encode;
use pki_timers::{Instant, Validity};
use scep_proto::{CertValidity, Certificate, Profile, PublicKey, names_match};
use x509_cert::ext::pkix::KeyUsage;

use super::AuthFailure;
use super::fingerprint::fingerprint_matches;
use super::state::CaChain;

/// notBefore/notAfter of a certificate as timer inputs.
pub(super) fn cert_validity(cert: &Certificate) -> Option<Validity> {
    let v = CertValidity::of(cert);
    Validity::from_unix(v.not_before, v.not_after).ok()
}

pub(super) fn not_after(cert: &Certificate) -> Instant {
    Instant::from_unix(CertValidity::of(cert).not_after)
}

pub(super) fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, ku)| ku)
}

/// K-2: the CA certificate of a GetCACert answer — the one with the configured fingerprint if
/// there is one (a stranger placed first does not displace it), else the self-signed one, else
/// the issuer of another — and the other certificates, not yet judged.
pub(super) fn split_chain(
    certs: Vec<Certificate>,
    fingerprint: Option<&str>,
) -> Option<(Certificate, Vec<Certificate>)> {
    let is_self_signed =
        |c: &Certificate| names_match(c.tbs_certificate().issuer(), c.tbs_certificate().subject());
    let pinned = fingerprint.and_then(|fp| {
        certs
            .iter()
            .position(|c| c.to_der().is_ok_and(|der| fingerprint_matches(fp, &der)))
    });
    let ca_pos = pinned
        .or_else(|| certs.iter().position(is_self_signed))
        .or_else(|| {
            certs.iter().position(|c| {
                certs.iter().any(|o| {
                    names_match(o.tbs_certificate().issuer(), c.tbs_certificate().subject())
                })
            })
        })?;
    let mut certs = certs;
    if ca_pos >= certs.len() {
        return None;
    }
    let ca = certs.remove(ca_pos);
    Some((ca, certs))
}

/// K-2 (amended): the CA certificate must be valid now and, when it names itself as its
/// issuer, its signature must verify with its own key (a corrupt or forged certificate is
/// refused even when it carries the configured fingerprint). A subordinate CA whose issuer is
/// not in the answer has no signature to check here: the fingerprint or the host pins it.
pub(super) fn check_ca(
    ca: &Certificate,
    now: Instant,
    profile: &Profile,
) -> Result<PublicKey, AuthFailure> {
    let key = PublicKey::from_certificate(ca).map_err(AuthFailure::CaKey)?;
    let tbs = ca.tbs_certificate();
    if names_match(tbs.issuer(), tbs.subject()) {
        key.verify_certificate(ca, profile)
            .map_err(AuthFailure::CaSelfSignature)?;
    }
    if !cert_validity(ca).is_some_and(|v| v.contains(now)) {
        return Err(AuthFailure::CaNotValidNow);
    }
    Ok(key)
}

/// K-2 (amended): whether `ra` may stand in for the CA: issued by it (name and signature under
/// the pinned CA key) and valid now. Anything else in a GetCACert answer is ignored.
pub(super) fn is_ca_issued_ra(
    ra: &Certificate,
    ca: &Certificate,
    ca_key: &PublicKey,
    now: Instant,
    profile: &Profile,
) -> bool {
    names_match(
        ra.tbs_certificate().issuer(),
        ca.tbs_certificate().subject(),
    ) && ca_key.verify_certificate(ra, profile).is_ok()
        && cert_validity(ra).is_some_and(|v| v.contains(now))
}

/// K-2: the CA certificate and, among `others`, the RA certificates it issued that are valid
/// now (keyEncipherment one encrypts, digitalSignature one signs); the count of those ignored.
pub(super) fn build_chain(
    ca: Certificate,
    ca_key: &PublicKey,
    others: Vec<Certificate>,
    now: Instant,
    profile: &Profile,
) -> (CaChain, usize) {
    let total = others.len();
    let ras: Vec<Certificate> = others
        .into_iter()
        .filter(|c| is_ca_issued_ra(c, &ca, ca_key, now, profile))
        .collect();
    let ignored = total.saturating_sub(ras.len());
    let ra_encrypt = ras
        .iter()
        .find(|c| key_usage(c).is_none_or(|ku| ku.key_encipherment()))
        .cloned();
    let ra_sign = ras
        .iter()
        .find(|c| key_usage(c).is_none_or(|ku| ku.digital_signature()))
        .cloned();
    (
        CaChain {
            ca,
            ra_encrypt,
            ra_sign,
        },
        ignored,
    )
}
