//! Certificate identifiers (`sid`, `rid`) and S-41 name matching.

use der::asn1::{Any, OctetString};
use der::{Choice, Encode, Sequence, Tagged as _};
use x509_cert::certificate::{CertificateInner, Profile};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// The X.509 certificate profile this crate decodes with: RFC 5280 except that serial numbers
/// of any length are accepted (sscep puts its 32-byte transactionID in the serial of its
/// self-signed signer certificate) and validity times are kept as encoded.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Copy, Clone, Default)]
pub struct Lenient;

impl Profile for Lenient {
    fn check_serial_number(_serial: &SerialNumber<Self>) -> der::Result<()> {
        Ok(())
    }
    fn time_encoding(time: Time) -> der::Result<Time> {
        Ok(time)
    }
}

/// An X.509 certificate as this crate reads and writes it (see [`Lenient`]): the one
/// certificate type of the workspace. [`crate::CertValidity`] reads its validity and
/// [`crate::PublicKey::verify_certificate`] checks its signature.
pub type Certificate = CertificateInner<Lenient>;

/// RFC 5652 §10.2.4 with the [`Lenient`] serial number.
///
/// ```text
/// IssuerAndSerialNumber ::= SEQUENCE {
///     issuer Name,
///     serialNumber CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerAndSerialNumber {
    /// Issuer DN.
    pub issuer: Name,
    /// Serial number.
    pub serial_number: SerialNumber<Lenient>,
}

impl IssuerAndSerialNumber {
    /// The issuer and serial of `cert`.
    pub fn of(cert: &Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        Self {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }
    }
}

/// RFC 5652 §5.3 `SignerIdentifier` (and, same shape, §6.2.1 `RecipientIdentifier`).
///
/// ```text
/// SignerIdentifier ::= CHOICE {
///     issuerAndSerialNumber IssuerAndSerialNumber,
///     subjectKeyIdentifier [0] SubjectKeyIdentifier }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub(crate) enum CertIdAsn1 {
    IssuerAndSerialNumber(IssuerAndSerialNumber),
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    SubjectKeyIdentifier(OctetString),
}

/// How a SignerInfo (`sid`) or a RecipientInfo (`rid`) names a certificate (RFC 5652 §5.3,
/// §6.2.1):
///
/// ```text
/// SignerIdentifier ::= CHOICE {
///     issuerAndSerialNumber IssuerAndSerialNumber,
///     subjectKeyIdentifier [0] SubjectKeyIdentifier }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertId {
    /// The certificate's issuer name and serial number.
    IssuerAndSerialNumber {
        /// Issuer DN.
        issuer: Name,
        /// Serial number (INTEGER content octets).
        serial: Vec<u8>,
    },
    /// The certificate's subjectKeyIdentifier extension value.
    SubjectKeyIdentifier(Vec<u8>),
}

impl CertId {
    /// The issuer-and-serial identifier of `cert` (what our encoders emit, S-17, S-20).
    pub fn of(cert: &Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        Self::IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial: tbs.serial_number().as_bytes().to_vec(),
        }
    }

    /// True if this identifier names `cert`: serial equal and issuer equal per S-41, or the
    /// certificate's subjectKeyIdentifier equal.
    pub fn matches(&self, cert: &Certificate) -> bool {
        let tbs = cert.tbs_certificate();
        match self {
            Self::IssuerAndSerialNumber { issuer, serial } => {
                serial.as_slice() == tbs.serial_number().as_bytes()
                    && names_match(issuer, tbs.issuer())
            }
            Self::SubjectKeyIdentifier(ski) => matches!(
                tbs.get_extension::<SubjectKeyIdentifier>(),
                Ok(Some((_, SubjectKeyIdentifier(own)))) if own.as_bytes() == ski.as_slice()
            ),
        }
    }

    pub(crate) fn from_asn1(id: &CertIdAsn1) -> Self {
        match id {
            CertIdAsn1::IssuerAndSerialNumber(isn) => Self::IssuerAndSerialNumber {
                issuer: isn.issuer.clone(),
                serial: isn.serial_number.as_bytes().to_vec(),
            },
            CertIdAsn1::SubjectKeyIdentifier(ski) => {
                Self::SubjectKeyIdentifier(ski.as_bytes().to_vec())
            }
        }
    }
}

/// Compares two distinguished names per S-41: DER bytes first; if they differ, attribute by
/// attribute (same RDN structure and types), string values compared case-insensitively.
pub fn names_match(a: &Name, b: &Name) -> bool {
    if let (Ok(x), Ok(y)) = (a.to_der(), b.to_der())
        && x == y
    {
        return true;
    }
    let (ra, rb): (Vec<_>, Vec<_>) = (a.iter_rdn().collect(), b.iter_rdn().collect());
    if ra.len() != rb.len() {
        return false;
    }
    ra.iter().zip(rb.iter()).all(|(x, y)| {
        let (xa, ya): (Vec<_>, Vec<_>) = (x.iter().collect(), y.iter().collect());
        xa.len() == ya.len()
            && xa.iter().all(|atv| {
                ya.iter()
                    .any(|other| atv.oid == other.oid && values_match(&atv.value, &other.value))
            })
    })
}

fn string_of(value: &Any) -> Option<String> {
    use der::Tag;
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks_exact(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn values_match(a: &Any, b: &Any) -> bool {
    match (string_of(a), string_of(b)) {
        (Some(x), Some(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    #[test]
    fn s41_names_match_bytes_first_then_case_insensitive_values() {
        let a = Name::from_str("CN=Test SCEP CA,O=scep-rs test,C=US").unwrap();
        let b = Name::from_str("CN=test scep ca,O=SCEP-RS Test,C=us").unwrap();
        let c = Name::from_str("CN=Other CA,O=scep-rs test,C=US").unwrap();
        let d = Name::from_str("O=scep-rs test,C=US").unwrap();
        assert!(names_match(&a, &a));
        assert!(names_match(&a, &b));
        assert!(!names_match(&a, &c));
        assert!(!names_match(&a, &d));
    }
}
