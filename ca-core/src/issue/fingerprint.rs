//! The IOS certificate fingerprint (C-28).

use core::fmt::Write as _;

use scep_proto::DigestAlg;

/// C-28: the MD5 of `der` as IOS prints it: four groups of eight uppercase hex digits separated
/// by single spaces (`CC748544 A0AB7832 935D8CD0 214A152E` for the seed CA certificate).
#[must_use]
pub fn md5_fingerprint(der: &[u8]) -> String {
    let digest = DigestAlg::Md5.digest(der);
    let mut out = String::with_capacity(35);
    for (i, group) in digest.chunks(4).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for byte in group {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02X}");
        }
    }
    out
}
