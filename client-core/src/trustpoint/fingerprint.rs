//! Fingerprint text (K-2): the configured fingerprint compared, the host shown MD5 and SHA-1
//! as IOS shows them.

use scep_proto::DigestAlg;

use super::config;

/// Upper-case hex in groups of eight digits, as IOS shows fingerprints.
pub(super) fn fingerprint_text(digest: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in digest.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

pub(super) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `der` has the configured fingerprint (digest chosen by its length, K-2).
pub(super) fn fingerprint_matches(expected: &str, der: &[u8]) -> bool {
    let Some(want) = config::normalize_fingerprint(expected) else {
        return false;
    };
    let got = match want.len() {
        32 => hex(&DigestAlg::Md5.digest(der)),
        40 => hex(&DigestAlg::Sha1.digest(der)),
        _ => hex(&DigestAlg::Sha256.digest(der)),
    };
    got == want
}
