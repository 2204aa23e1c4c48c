//! The two IOS CA certificates printed as hex in the seed capture (tests/data/ios/NOTES.md).
// Test crate: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scep_proto::{CertsOnly, DigestAlg, names_match};

fn md5_groups(der: &[u8]) -> String {
    let hex: String = DigestAlg::Md5
        .digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    hex.as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn q14_seed_ios_ca_certificates_parse_with_seed_fingerprints() {
    let ca = common::read("ios/ca_01.der");
    let rollover = common::read("ios/rollover_03.der");
    assert_eq!(md5_groups(&ca), "CC748544 A0AB7832 935D8CD0 214A152E");
    assert_eq!(md5_groups(&rollover), "031904DC F4FAD1FD 8A866373 C63CE20F");
    let ca = common::cert("ios/ca_01.der");
    let rollover = common::cert("ios/rollover_03.der");
    assert_eq!(ca.tbs_certificate().serial_number().as_bytes(), [1]);
    assert_eq!(rollover.tbs_certificate().serial_number().as_bytes(), [3]);
    // Same subject, the rollover runs later (V-4).
    assert!(names_match(
        ca.tbs_certificate().subject(),
        rollover.tbs_certificate().subject()
    ));
    assert!(
        rollover
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            > ca.tbs_certificate().validity().not_after.to_unix_duration()
    );
    // Both survive a certs-only round trip (S-30) byte for byte.
    let bag = CertsOnly::new(vec![ca.clone(), rollover.clone()]);
    let back = CertsOnly::from_der(&bag.to_der().unwrap()).unwrap();
    assert!(back.certificates.contains(&ca) && back.certificates.contains(&rollover));
}
