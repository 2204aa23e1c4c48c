//! Before the timed phase: GetCACaps and GetCACert (S-1, S-7, S-31), and which certificate
//! requests are encrypted to.

use client_core::{HttpTransport, Transport as _};
use scep_proto::{CaCerts, Capabilities, Certificate, ClientRequest, names_match};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

use super::LoadError;

/// What the load generator needs to know about the CA.
#[derive(Clone, Debug)]
pub struct CaInfo {
    /// The GetCACaps answer (empty if the server has none, as S-5 allows).
    pub caps: Capabilities,
    /// The certificate requests are encrypted to: the RA's encryption certificate when the
    /// answer carries an RA, else the CA certificate.
    pub recipient: Certificate,
    /// Every certificate of the GetCACert answer: a CertRep must be signed by one of them.
    pub certificates: Vec<Certificate>,
    /// True if the answer was `application/x-x509-ca-ra-cert`.
    pub is_chain: bool,
}

/// Fetches GetCACaps and GetCACert through `transport`.
pub fn discover(transport: &mut HttpTransport) -> Result<CaInfo, LoadError> {
    let path = transport.path().to_owned();
    let caps_reply = transport
        .send(&ClientRequest::get_ca_caps(&path, None))
        .map_err(|source| LoadError::Http {
            operation: "GetCACaps",
            source,
        })?;
    let caps = Capabilities::from_http_response(caps_reply.status, &caps_reply.body);
    let reply = transport
        .send(&ClientRequest::get_ca_cert(&path, None))
        .map_err(|source| LoadError::Http {
            operation: "GetCACert",
            source,
        })?;
    if reply.status != 200 {
        return Err(LoadError::CaCertStatus {
            status: reply.status,
        });
    }
    let content_type = reply.content_type.unwrap_or_default();
    let answer = CaCerts::from_der(&content_type, &reply.body).map_err(LoadError::CaCert)?;
    let (certificates, is_chain) = match answer {
        CaCerts::Single(cert) => (vec![*cert], false),
        CaCerts::Chain(certs) => (certs, true),
    };
    let recipient = pick_recipient(&certificates)
        .ok_or(LoadError::NoCertificate)?
        .clone();
    Ok(CaInfo {
        caps,
        recipient,
        certificates,
        is_chain,
    })
}

/// The RA certificate allowed to decrypt (keyEncipherment, or no keyUsage at all) if the
/// answer has one, else the first RA certificate, else the CA certificate (S-31).
fn pick_recipient(certs: &[Certificate]) -> Option<&Certificate> {
    let ras: Vec<&Certificate> = certs.iter().filter(|c| !is_ca(c)).collect();
    ras.iter()
        .copied()
        .find(|c| key_usage(c).is_none_or(|u| u.0.contains(KeyUsages::KeyEncipherment)))
        .or_else(|| ras.first().copied())
        .or_else(|| certs.iter().find(|c| is_ca(c)))
        .or_else(|| certs.first())
}

/// A CA certificate: basicConstraints cA, or self-issued without basicConstraints.
fn is_ca(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) => bc.ca,
        _ => names_match(tbs.subject(), tbs.issuer()),
    }
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    match cert.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => Some(ku),
        _ => None,
    }
}
