//! subjectAltName entries a trustpoint asks for in its CSR (the CA decides what it copies).

use core::fmt;
use core::str::FromStr;
use std::net::IpAddr;

use der::Encode as _;
use der::asn1::{Ia5String, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName as SanExtension;
use x509_cert::ext::pkix::name::GeneralName;

/// One subjectAltName entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// A DNS name (`host.example.com`, `*.example.com`).
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An e-mail address (rfc822Name).
    Email(String),
}

/// Why a subjectAltName entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a usable subjectAltName: {0:?} (expected dns:NAME, ip:ADDRESS or email:ADDRESS)")]
pub struct SanError(pub String);

impl SubjectAltName {
    /// Checks the entry: ASCII without spaces, a DNS name of labels, an e-mail with one `@`.
    ///
    /// # Errors
    /// [`SanError`] naming the entry.
    pub fn validate(&self) -> Result<(), SanError> {
        let bad = || SanError(self.to_string());
        let ascii = |s: &str| !s.is_empty() && s.is_ascii() && !s.chars().any(char::is_whitespace);
        match self {
            Self::Dns(name) => {
                let labels_ok = name.split('.').enumerate().all(|(i, label)| {
                    (i == 0 && label == "*")
                        || (!label.is_empty()
                            && label.len() <= 63
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                });
                (ascii(name) && name.len() <= 253 && labels_ok)
                    .then_some(())
                    .ok_or_else(bad)
            }
            Self::Email(addr) => (ascii(addr) && addr.matches('@').count() == 1)
                .then_some(())
                .ok_or_else(bad),
            Self::Ip(_) => Ok(()),
        }
    }

    fn general_name(&self) -> Result<GeneralName, SanError> {
        let bad = || SanError(self.to_string());
        Ok(match self {
            Self::Dns(n) => GeneralName::DnsName(Ia5String::new(n).map_err(|_| bad())?),
            Self::Email(a) => GeneralName::Rfc822Name(Ia5String::new(a).map_err(|_| bad())?),
            Self::Ip(IpAddr::V4(a)) => {
                GeneralName::IpAddress(OctetString::new(a.octets()).map_err(|_| bad())?)
            }
            Self::Ip(IpAddr::V6(a)) => {
                GeneralName::IpAddress(OctetString::new(a.octets()).map_err(|_| bad())?)
            }
        })
    }
}

/// `dns:NAME`, `ip:ADDRESS`, `email:ADDRESS`.
impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(n) => write!(f, "dns:{n}"),
            Self::Ip(a) => write!(f, "ip:{a}"),
            Self::Email(a) => write!(f, "email:{a}"),
        }
    }
}

/// Parses `dns:NAME`, `ip:ADDRESS` or `email:ADDRESS` (the form [`Display`](fmt::Display)
/// writes and the trustpoint record stores).
impl FromStr for SubjectAltName {
    type Err = SanError;

    fn from_str(text: &str) -> Result<Self, SanError> {
        let bad = || SanError(text.to_owned());
        let (kind, value) = text.split_once(':').ok_or_else(bad)?;
        let san = match kind {
            "dns" => Self::Dns(value.to_owned()),
            "email" => Self::Email(value.to_owned()),
            "ip" => Self::Ip(value.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        san.validate()?;
        Ok(san)
    }
}

/// The non-critical subjectAltName extension for `names` (the subject is never empty here),
/// `None` without names.
pub(crate) fn extension(names: &[SubjectAltName]) -> Result<Option<Extension>, SanError> {
    if names.is_empty() {
        return Ok(None);
    }
    let general = names
        .iter()
        .map(SubjectAltName::general_name)
        .collect::<Result<Vec<_>, _>>()?;
    let der = SanExtension(general)
        .to_der()
        .map_err(|_| SanError(String::from("subjectAltName encoding")))?;
    Ok(Some(Extension {
        extn_id: <SanExtension as der::oid::AssociatedOid>::OID,
        critical: false,
        extn_value: OctetString::new(der)
            .map_err(|_| SanError(String::from("subjectAltName encoding")))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_parse_display_and_refuse_what_is_not_a_name() {
        for text in [
            "dns:host.example.com",
            "dns:*.example.com",
            "ip:192.0.2.7",
            "ip:2001:db8::1",
            "email:ops@example.com",
        ] {
            let san: SubjectAltName = text.parse().unwrap();
            assert_eq!(san.to_string(), text);
        }
        for text in [
            "host.example.com",
            "dns:",
            "dns:a b",
            "dns:a..b",
            "dns:h\u{e9}.example",
            "ip:300.1.1.1",
            "email:nobody",
            "uri:x",
        ] {
            assert!(text.parse::<SubjectAltName>().is_err(), "{text}");
        }
        assert!(extension(&[]).unwrap().is_none());
        let ext = extension(&[
            "dns:a.example".parse().unwrap(),
            "ip:192.0.2.1".parse().unwrap(),
        ])
        .unwrap()
        .unwrap();
        assert!(!ext.critical);
    }
}
