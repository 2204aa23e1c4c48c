//! CA certificate fingerprints as people paste them: `0F67B2A1 68FD2F6C …` from a router,
//! `3f:9a:…` from a web page, `SHA256 Fingerprint=3F:9A:…` from `openssl x509 -fingerprint`,
//! `sha256:3f9a…` from a deployment file.

use core::fmt;
use core::str::FromStr;

use scep_proto::DigestAlg;

/// The digest of a fingerprint. Which one is meant follows from the length (16, 20 or 32
/// bytes) or an explicit prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FingerprintAlg {
    /// MD5 (16 bytes), as IOS shows a CA certificate.
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
}

impl FingerprintAlg {
    fn digest_alg(self) -> DigestAlg {
        match self {
            Self::Md5 => DigestAlg::Md5,
            Self::Sha1 => DigestAlg::Sha1,
            Self::Sha256 => DigestAlg::Sha256,
        }
    }

    /// `MD5`, `SHA-1` or `SHA-256`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
        }
    }

    fn from_prefix(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "md5" => Some(Self::Md5),
            "sha1" | "sha-1" => Some(Self::Sha1),
            "sha256" | "sha-256" => Some(Self::Sha256),
            _ => None,
        }
    }
}

/// Why a fingerprint text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// Something other than hex digits, colons and spaces after the optional prefix.
    #[error("CA fingerprint {0:?} holds a character that is not a hex digit, colon or space")]
    NotHex(String),
    /// The digits are not 32, 40 or 64 (MD5, SHA-1, SHA-256).
    #[error("CA fingerprint {text:?} has {digits} hex digits; MD5 has 32, SHA-1 40, SHA-256 64")]
    Length {
        /// The text as given.
        text: String,
        /// How many hex digits it holds.
        digits: usize,
    },
    /// The prefix names another digest than the length says (`sha256:` and 40 digits).
    #[error("CA fingerprint {text:?} says {named} but has the length of another digest")]
    PrefixMismatch {
        /// The text as given.
        text: String,
        /// The digest the prefix names.
        named: &'static str,
    },
}

/// A CA certificate fingerprint to pin: the digest and its bytes.
///
/// Parsed from text with [`str::parse`], accepting upper or lower case, with or without colons
/// or spaces between the digits, and an optional `md5:`, `sha1:`, `sha256:` (also `sha-256:`,
/// `SHA256 Fingerprint=`) prefix:
///
/// ```
/// use client_core::{CaFingerprint, FingerprintAlg};
///
/// let ios: CaFingerprint = "0F67B2A1 68FD2F6C 0A1B2C3D 4E5F6071".parse()?;
/// assert_eq!(ios.algorithm(), FingerprintAlg::Md5);
/// let openssl: CaFingerprint = "sha1 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01".parse()?;
/// assert_eq!(openssl.algorithm(), FingerprintAlg::Sha1);
/// assert!("sha256:0f67b2a1".parse::<CaFingerprint>().is_err());
/// # Ok::<(), client_core::FingerprintError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CaFingerprint {
    alg: FingerprintAlg,
    digest: Vec<u8>,
}

impl CaFingerprint {
    /// The fingerprint of a DER certificate with `alg`.
    #[must_use]
    pub fn of(der: &[u8], alg: FingerprintAlg) -> Self {
        Self {
            alg,
            digest: alg.digest_alg().digest(der),
        }
    }

    /// The digest.
    #[must_use]
    pub fn algorithm(&self) -> FingerprintAlg {
        self.alg
    }

    /// The digest's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.digest
    }

    /// Whether the DER certificate `der` has this fingerprint.
    #[must_use]
    pub fn matches(&self, der: &[u8]) -> bool {
        Self::of(der, self.alg).digest == self.digest
    }

    /// Lower-case hex without separators (what [`TrustpointConfig::ca_fingerprint`] holds).
    ///
    /// [`TrustpointConfig::ca_fingerprint`]: crate::TrustpointConfig::ca_fingerprint
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `SHA-256 3F:9A:…` (upper-case hex, colon separated).
impl fmt::Display for CaFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alg.name())?;
        for (i, b) in self.digest.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ":" })?;
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CaFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaFingerprint({self})")
    }
}

impl FromStr for CaFingerprint {
    type Err = FingerprintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let (named, rest) = split_prefix(trimmed);
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            if c.is_ascii_hexdigit() {
                digits.push(c.to_ascii_lowercase());
            } else if c != ':' && !c.is_whitespace() {
                return Err(FingerprintError::NotHex(text.to_owned()));
            }
        }
        let by_len = match digits.len() {
            32 => FingerprintAlg::Md5,
            40 => FingerprintAlg::Sha1,
            64 => FingerprintAlg::Sha256,
            n => {
                return Err(FingerprintError::Length {
                    text: text.to_owned(),
                    digits: n,
                });
            }
        };
        if let Some(named) = named
            && named != by_len
        {
            return Err(FingerprintError::PrefixMismatch {
                text: text.to_owned(),
                named: named.name(),
            });
        }
        let digest = digits
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                core::str::from_utf8(pair)
                    .ok()
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| FingerprintError::NotHex(text.to_owned()))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(Self {
            alg: by_len,
            digest,
        })
    }
}

/// `sha256:…`, `SHA-256 …`, `SHA256 Fingerprint=…` → the digest named and the rest.
fn split_prefix(text: &str) -> (Option<FingerprintAlg>, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let Some(alg) = FingerprintAlg::from_prefix(word) else {
        return (None, text);
    };
    let rest = rest.trim_start();
    // openssl: `SHA256 Fingerprint=AB:…`.
    let rest = match rest.get(..12) {
        Some(head) if head.eq_ignore_ascii_case("fingerprint=") => rest.get(12..).unwrap_or(""),
        _ => rest,
    };
    let rest = rest.strip_prefix([':', '=']).unwrap_or(rest);
    (Some(alg), rest)
}

/// The three fingerprints of a CA certificate, for a person to compare with what the CA's
/// operator published before trusting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaFingerprints {
    /// MD5 (what IOS shows).
    pub md5: CaFingerprint,
    /// SHA-1.
    pub sha1: CaFingerprint,
    /// SHA-256.
    pub sha256: CaFingerprint,
}

impl CaFingerprints {
    /// The fingerprints of the DER certificate `der`.
    #[must_use]
    pub fn of(der: &[u8]) -> Self {
        Self {
            md5: CaFingerprint::of(der, FingerprintAlg::Md5),
            sha1: CaFingerprint::of(der, FingerprintAlg::Sha1),
            sha256: CaFingerprint::of(der, FingerprintAlg::Sha256),
        }
    }
}

/// One line per digest.
impl fmt::Display for CaFingerprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.md5)?;
        writeln!(f, "{}", self.sha1)?;
        write!(f, "{}", self.sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = b"not a certificate, but bytes to digest";

    #[test]
    fn k2_fingerprints_parse_in_every_pasted_format() {
        let want = CaFingerprint::of(DER, FingerprintAlg::Sha256);
        let lower = want.to_hex();
        let upper = lower.to_ascii_uppercase();
        let colons: Vec<String> = want.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        let groups: Vec<String> = upper
            .as_bytes()
            .chunks(8)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        for text in [
            lower.clone(),
            upper.clone(),
            colons.join(":"),
            groups.join(" "),
            format!("sha256:{lower}"),
            format!("SHA-256:{}", colons.join(":")),
            format!("SHA256 Fingerprint={}", colons.join(":")),
            format!("  sha256 {}  ", groups.join(" ")),
            want.to_string(),
        ] {
            let got: CaFingerprint = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            assert!(got.matches(DER));
        }
        for alg in [FingerprintAlg::Md5, FingerprintAlg::Sha1] {
            let fp = CaFingerprint::of(DER, alg);
            let prefixed = format!("{}:{}", alg.name(), fp.to_hex());
            assert_eq!(prefixed.parse::<CaFingerprint>().unwrap(), fp);
            assert_eq!(fp.to_string().parse::<CaFingerprint>().unwrap(), fp);
        }
    }

    #[test]
    fn k2_bad_fingerprints_are_refused_with_the_reason() {
        let sha1 = CaFingerprint::of(DER, FingerprintAlg::Sha1).to_hex();
        assert!(matches!(
            format!("sha256:{sha1}").parse::<CaFingerprint>(),
            Err(FingerprintError::PrefixMismatch {
                named: "SHA-256",
                ..
            })
        ));
        assert!(matches!(
            "0F67B2A1 68FD".parse::<CaFingerprint>(),
            Err(FingerprintError::Length { digits: 12, .. })
        ));
        assert!(matches!(
            "sha512:00".parse::<CaFingerprint>(),
            Err(FingerprintError::NotHex(_))
        ));
        assert!(matches!(
            format!("{}zz", &sha1[2..]).parse::<CaFingerprint>(),
            Err(FingerprintError::NotHex(_))
        ));
        assert!(!CaFingerprint::of(DER, FingerprintAlg::Md5).matches(b"other"));
    }
}
