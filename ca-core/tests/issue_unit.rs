//! Test code: the issuance module without external tools — the seed fingerprints (C-28), the
//! exact structure of what is issued (C-1, C-10, C-21, C-22), validity (T-7, C-11), the typed
//! errors (S-26, S-39) and a property test of serial and validity encoding (RFC 5280 4.1.2.5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod issue_support;

use ca_core::issue::{
    CaCertParams, CaKey, CrlParams, IdentityParams, IssueError, RevokedSerial, RolloverCaParams,
    VerifiedCsr, certificate_revocation_list, certificate_serial, identity_certificate,
    identity_validity, key_identifier, md5_fingerprint, rollover_ca_certificate,
    rollover_identity_validity_for, self_signed_ca_certificate, to_x509_time,
};
use der::{Decode, Encode, asn1::OctetString, oid::AssociatedOid};
use issue_support::*;
use pki_timers::{Duration, Instant, LifetimeKind, RolloverIdentityPolicy, TimerError, Validity};
use proptest::prelude::*;
use scep_proto::{Certificate, DigestAlg, PrivateKey};
use x509_cert::{
    attr::Attribute,
    ext::{
        Extension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
            SubjectAltName, SubjectKeyIdentifier, name::GeneralName,
        },
    },
    request::{CertReq, CertReqInfo, ExtensionReq, Version},
    time::Time,
};

fn seed_cert(hex: &str) -> Vec<u8> {
    let digits: String = hex.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const SEED_CA: &str = include_str!("data/issue/ios-seed-ca-01.hex");
const SEED_ROLLOVER: &str = include_str!("data/issue/ios-seed-rollover-ca-03.hex");

fn at(rfc3339: &str) -> Instant {
    Instant::from_rfc3339(rfc3339).unwrap()
}

fn ext_summary(cert: &Certificate) -> Vec<(der::oid::ObjectIdentifier, bool)> {
    cert.tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .map(|e| (e.extn_id, e.critical))
        .collect()
}

fn ext<T: for<'a> Decode<'a> + AssociatedOid>(cert: &Certificate) -> Option<(bool, T)> {
    cert.tbs_certificate().get_extension::<T>().unwrap()
}

// ---------------------------------------------------------------- C-28

#[test]
fn c28_fingerprint_of_the_seed_ca_certificates() {
    let ca = seed_cert(SEED_CA);
    let rollover = seed_cert(SEED_ROLLOVER);
    assert_eq!(ca.len(), 571);
    assert_eq!(md5_fingerprint(&ca), "CC748544 A0AB7832 935D8CD0 214A152E");
    assert_eq!(
        md5_fingerprint(&rollover),
        "031904DC F4FAD1FD 8A866373 C63CE20F"
    );
    assert_eq!(md5_fingerprint(b""), "D41D8CD9 8F00B204 E9800998 ECF8427E");
}

// ---------------------------------------------------------------- C-1 / C-22

#[test]
fn c01_ca_certificate_has_the_seed_extensions_and_the_defaults() {
    let seed = Certificate::from_der(&seed_cert(SEED_CA)).unwrap();
    let ca = ca(SMALL_A);
    let cert = ca.certificate();
    // Same extensions, order and criticality as the IOS CA (seed DER).
    assert_eq!(ext_summary(cert), ext_summary(&seed));
    let (_, bc) = ext::<BasicConstraints>(cert).unwrap();
    assert_eq!(bc, ext::<BasicConstraints>(&seed).unwrap().1);
    let (_, ku) = ext::<KeyUsage>(cert).unwrap();
    assert_eq!(ku, ext::<KeyUsage>(&seed).unwrap().1);
    assert_eq!(
        ku.0,
        KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign
    );
    // SKI is RFC 5280 method 1; AKI = SKI (also in the seed).
    let (_, ski) = ext::<SubjectKeyIdentifier>(cert).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info();
    assert_eq!(ski.0.as_bytes(), key_identifier(spki).as_slice());
    assert_eq!(ski.0.as_bytes(), ca.key_identifier());
    let (_, aki) = ext::<AuthorityKeyIdentifier>(cert).unwrap();
    assert_eq!(aki.key_identifier.unwrap(), ski.0);
    let (_, seed_ski) = ext::<SubjectKeyIdentifier>(&seed).unwrap();
    let seed_aki = ext::<AuthorityKeyIdentifier>(&seed).unwrap().1;
    assert_eq!(seed_aki.key_identifier.unwrap(), seed_ski.0);

    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.subject(), tbs.issuer());
    assert_eq!(tbs.subject(), &ca_name());
    assert_eq!(certificate_serial(cert).unwrap(), 1);
    assert_eq!(
        validity(cert),
        Validity::starting_at(T0, days(1095)).unwrap()
    );
    assert_eq!(
        cert.signature_algorithm().oid,
        DigestAlg::Sha256.rsa_signature_oid()
    );
    assert_eq!(tbs.signature().oid, DigestAlg::Sha256.rsa_signature_oid());
}

#[test]
fn c01_md5_needs_legacy_algorithms_and_lifetime_is_range_checked() {
    let mut params = CaCertParams::new(ca_name(), T0);
    params.signature = sig(DigestAlg::Md5);
    assert_eq!(
        self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(1)).unwrap_err(),
        IssueError::LegacyAlgorithmRefused {
            hash: DigestAlg::Md5
        }
    );
    params.signature = sig(DigestAlg::Md5).with_legacy_algorithms(true);
    let legacy = self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(1)).unwrap();
    assert_eq!(
        legacy.certificate().signature_algorithm().oid,
        DigestAlg::Md5.rsa_signature_oid()
    );

    let mut params = CaCertParams::new(ca_name(), T0);
    params.lifetime = Duration::ZERO;
    assert_eq!(
        self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(1)).unwrap_err(),
        IssueError::Timer(TimerError::LifetimeOutOfRange {
            kind: LifetimeKind::CaCertificate,
            value: Duration::ZERO
        })
    );
    params.lifetime = days(1095);
    params.serial = 0;
    assert_eq!(
        self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(1)).unwrap_err(),
        IssueError::ZeroSerial
    );
}

/// The seed timeline (T-17): CA [2015-10-09T12:14:16Z, 2017-10-08T12:14:16Z], 730 days.
fn seed_ca() -> CaKey {
    let mut params = CaCertParams::new(ca_name(), Instant::from_unix(1_444_392_856));
    params.lifetime = days(730);
    self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(1)).unwrap()
}

fn seed_rollover(active: &CaKey) -> CaKey {
    let mut params = RolloverCaParams::new(3);
    params.lifetime = days(730);
    rollover_ca_certificate(active, &params, key(SMALL_B), &mut rng(2)).unwrap()
}

#[test]
fn c22_rollover_ca_certificate_t06_validity_same_subject_and_extensions() {
    let active = seed_ca();
    assert_eq!(
        active.validity().not_after(),
        Instant::from_unix(1_507_464_856)
    );
    let rollover = seed_rollover(&active);
    let cert = rollover.certificate();
    // T-17: [2017-10-08T12:14:16Z, 2019-10-08T12:14:16Z].
    assert_eq!(
        validity(cert),
        Validity::new(
            Instant::from_unix(1_507_464_856),
            Instant::from_unix(1_570_536_856)
        )
        .unwrap()
    );
    assert_eq!(certificate_serial(cert).unwrap(), 3);
    assert_eq!(cert.tbs_certificate().subject(), active.subject());
    assert_eq!(cert.tbs_certificate().issuer(), active.subject());
    assert_eq!(ext_summary(cert), ext_summary(active.certificate()));
    assert_ne!(rollover.key_identifier(), active.key_identifier());
    let (_, aki) = ext::<AuthorityKeyIdentifier>(cert).unwrap();
    assert_eq!(
        aki.key_identifier.unwrap().as_bytes(),
        rollover.key_identifier()
    );
}

#[test]
fn c01_ca_key_pairs_only_its_own_ca_certificate() {
    let ca = ca(SMALL_A);
    assert_eq!(
        CaKey::new(key(SMALL_B), ca.certificate().clone()).unwrap_err(),
        IssueError::KeyMismatch
    );
    let again = CaKey::new(key(SMALL_A), ca.certificate().clone()).unwrap();
    assert_eq!(again, ca);
    // An end-entity certificate is no CA certificate.
    let ee = identity(
        &ca,
        SMALL_C,
        2,
        identity_validity(T0, &ca, days(10)).unwrap(),
    );
    assert_eq!(
        CaKey::new(key(SMALL_C), ee).unwrap_err(),
        IssueError::InvalidCertificate
    );
}

// ---------------------------------------------------------------- S-39 keys

#[test]
fn s39_key_sizes_and_debug_without_key_material() {
    // CA keys are scep-proto's PrivateKey: one definition of the S-39 sizes.
    for bits in [0, 512, 1023, 4097, 8192] {
        assert!(PrivateKey::generate(bits, &mut rng(1)).is_err(), "{bits}");
    }
    let k = key(SMALL_A);
    assert_eq!(k.bits(), 1024);
    assert_eq!(key(BIG_A).bits(), 2048);
    let ca = ca(SMALL_A);
    let debug = format!("{ca:?}");
    assert!(debug.contains("PrivateKey { bits: 1024,"), "{debug}");
    assert!(!debug.to_lowercase().contains("modulus"), "{debug}");

    let der = k.to_pkcs8_der().unwrap();
    assert_eq!(PrivateKey::from_pkcs8_der(der.as_bytes()).unwrap(), k);
    assert!(PrivateKey::from_pkcs8_der(b"not a key").is_err());
}

// ---------------------------------------------------------------- S-26 CSR checks

#[test]
fn s26_csr_signatures_with_each_digest_verify_and_tampering_is_refused() {
    for hash in [
        DigestAlg::Sha1,
        DigestAlg::Sha256,
        DigestAlg::Sha384,
        DigestAlg::Sha512,
    ] {
        let der = csr_der(&key(SMALL_C), name("CN=router1"), vec![], hash);
        let csr = VerifiedCsr::from_der(&der, false).unwrap();
        assert_eq!(csr.signature_hash(), hash);
        assert_eq!(csr.key_bits(), 1024);
        assert_eq!(csr.as_der(), der.as_slice());
        // The decoded form verifies too.
        let decoded = CertReq::from_der(&der).unwrap();
        assert_eq!(VerifiedCsr::verify(decoded, false).unwrap(), csr);

        let mut bad = der.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_eq!(
            VerifiedCsr::from_der(&bad, false).unwrap_err(),
            IssueError::ProofOfPossession
        );
    }
    // A request signed by another key than the one it carries: no proof of possession.
    let info = CertReqInfo {
        version: Version::V1,
        subject: name("CN=thief"),
        public_key: key(SMALL_C).public_key_info().unwrap(),
        attributes: Default::default(),
    };
    let stolen = sign_csr(&key(SMALL_D), info, DigestAlg::Sha256);
    assert_eq!(
        VerifiedCsr::from_der(&stolen, false).unwrap_err(),
        IssueError::ProofOfPossession
    );
    assert!(matches!(
        VerifiedCsr::from_der(b"\x30\x03\x02\x01\x00", false).unwrap_err(),
        IssueError::MalformedRequest(_)
    ));
}

#[test]
fn s38_md5_csr_only_with_legacy_algorithms_and_unknown_algorithms_refused() {
    let der = csr_der(&key(SMALL_C), name("CN=ios2800"), vec![], DigestAlg::Md5);
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::LegacyAlgorithmRefused {
            hash: DigestAlg::Md5
        }
    );
    assert_eq!(
        VerifiedCsr::from_der(&der, true).unwrap().signature_hash(),
        DigestAlg::Md5
    );

    let mut req = CertReq::from_der(&csr_der(
        &key(SMALL_C),
        name("CN=pss"),
        vec![],
        DigestAlg::Sha256,
    ))
    .unwrap();
    let pss = der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    req.algorithm.oid = pss;
    // RSASSA-PSS without its parameters (RFC 4055 §3.1 wants them in a signature): badAlg.
    assert_eq!(
        VerifiedCsr::verify(req, false).unwrap_err(),
        IssueError::PssParameters {
            problem: scep_proto::PssProblem::ParametersMissing
        }
    );
}

// ---------------------------------------------------------------- C-10 extensions

fn san_dns(host: &str) -> SubjectAltName {
    SubjectAltName(vec![GeneralName::DnsName(
        der::asn1::Ia5String::new(host).unwrap(),
    )])
}

fn raw_ext<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Extension {
    Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn issue_with(extensions: Vec<Extension>, subject: &str, allow_ca: bool) -> Certificate {
    let ca = ca(SMALL_A);
    let der = csr_der(&key(SMALL_C), name(subject), extensions, DigestAlg::Sha256);
    let csr = VerifiedCsr::from_der(&der, false).unwrap();
    let mut params = IdentityParams::new(9, identity_validity(T0, &ca, days(30)).unwrap());
    params.allow_ca = allow_ca;
    identity_certificate(&ca, &csr, &params, &mut rng(3)).unwrap()
}

#[test]
fn c10_default_extensions_and_keys() {
    let ca = ca(SMALL_A);
    let cert = issue_with(vec![], "CN=router1", false);
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.subject(), &name("CN=router1"));
    assert_eq!(tbs.issuer(), ca.subject());
    assert_eq!(
        tbs.subject_public_key_info(),
        &key(SMALL_C).public_key_info().unwrap()
    );
    assert_eq!(certificate_serial(&cert).unwrap(), 9);
    let oids: Vec<_> = ext_summary(&cert);
    assert_eq!(
        oids,
        vec![
            (BasicConstraints::OID, true),
            (KeyUsage::OID, true),
            (SubjectKeyIdentifier::OID, false),
            (AuthorityKeyIdentifier::OID, false),
        ]
    );
    assert!(!ext::<BasicConstraints>(&cert).unwrap().1.ca);
    assert_eq!(
        ext::<KeyUsage>(&cert).unwrap().1.0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    let aki = ext::<AuthorityKeyIdentifier>(&cert).unwrap().1;
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), ca.key_identifier());
    let ski = ext::<SubjectKeyIdentifier>(&cert).unwrap().1;
    assert_eq!(
        ski.0.as_bytes(),
        key_identifier(tbs.subject_public_key_info()).as_slice()
    );
}

#[test]
fn c10_san_key_usage_and_eku_are_copied() {
    let eku = ExtendedKeyUsage(vec![der::oid::ObjectIdentifier::new_unwrap(
        "1.3.6.1.5.5.7.3.2",
    )]);
    let ku = KeyUsage(KeyUsages::DigitalSignature.into());
    let cert = issue_with(
        vec![
            raw_ext(&san_dns("router1.example.net"), false),
            raw_ext(&ku, false),
            raw_ext(&eku, true),
        ],
        "CN=router1",
        false,
    );
    assert_eq!(
        ext::<SubjectAltName>(&cert).unwrap(),
        (false, san_dns("router1.example.net"))
    );
    // keyUsage is always critical (RFC 5280 4.2.1.3 SHOULD); EKU is critical only when the
    // policy allows it (C-10 amended: by default never).
    assert_eq!(ext::<KeyUsage>(&cert).unwrap(), (true, ku));
    assert_eq!(ext::<ExtendedKeyUsage>(&cert).unwrap(), (false, eku));
}

#[test]
fn c10_no_ca_powers_without_allow_ca() {
    let ask_ca = BasicConstraints {
        ca: true,
        path_len_constraint: Some(0),
    };
    let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::DigitalSignature);
    let cert = issue_with(
        vec![raw_ext(&ask_ca, true), raw_ext(&ku, true)],
        "CN=sub",
        false,
    );
    let (critical, bc) = ext::<BasicConstraints>(&cert).unwrap();
    assert!(critical && !bc.ca && bc.path_len_constraint.is_none());
    // keyCertSign needs cA (RFC 5280 4.2.1.3): dropped for an end entity.
    assert_eq!(
        ext::<KeyUsage>(&cert).unwrap().1,
        KeyUsage(KeyUsages::DigitalSignature.into())
    );
    // Only keyCertSign asked: the default end-entity usage instead.
    let only = KeyUsage(KeyUsages::KeyCertSign.into());
    let cert = issue_with(vec![raw_ext(&only, true)], "CN=sub", false);
    assert_eq!(
        ext::<KeyUsage>(&cert).unwrap().1.0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );

    let cert = issue_with(vec![raw_ext(&ask_ca, true)], "CN=sub", true);
    assert_eq!(ext::<BasicConstraints>(&cert).unwrap(), (true, ask_ca));
    assert_eq!(
        ext::<KeyUsage>(&cert).unwrap().1.0,
        KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign
    );
    // allow_ca without a CA request: still an end entity.
    let cert = issue_with(vec![], "CN=router", true);
    assert!(!ext::<BasicConstraints>(&cert).unwrap().1.ca);
}

#[test]
fn c10_empty_subject_needs_a_critical_san() {
    let der = csr_der(&key(SMALL_C), name(""), vec![], DigestAlg::Sha256);
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::EmptySubject
    );
    let cert = issue_with(vec![raw_ext(&san_dns("r.example"), false)], "", false);
    assert!(cert.tbs_certificate().subject().is_empty());
    assert_eq!(
        ext::<SubjectAltName>(&cert).unwrap(),
        (true, san_dns("r.example"))
    );
}

#[test]
fn c10_malformed_extension_requests_are_typed_errors() {
    let csr = |exts: Vec<Extension>| {
        VerifiedCsr::from_der(
            &csr_der(&key(SMALL_C), name("CN=x"), exts, DigestAlg::Sha256),
            false,
        )
    };
    let san = raw_ext(&san_dns("a.example"), false);
    assert_eq!(
        csr(vec![san.clone(), san.clone()]).unwrap_err(),
        IssueError::MalformedExtensionRequest
    );
    let broken = Extension {
        extn_id: SubjectAltName::OID,
        critical: false,
        extn_value: OctetString::new(vec![0x04, 0x01, 0x00]).unwrap(),
    };
    assert_eq!(
        csr(vec![broken]).unwrap_err(),
        IssueError::InvalidRequestedExtension {
            oid: SubjectAltName::OID
        }
    );
    // Two extensionRequest attributes.
    let mut info = CertReqInfo {
        version: Version::V1,
        subject: name("CN=x"),
        public_key: key(SMALL_C).public_key_info().unwrap(),
        attributes: Default::default(),
    };
    let a: Attribute = ExtensionReq(vec![san]).try_into().unwrap();
    let b: Attribute = ExtensionReq(vec![raw_ext(
        &KeyUsage(KeyUsages::DigitalSignature.into()),
        true,
    )])
    .try_into()
    .unwrap();
    info.attributes.insert(a).unwrap();
    info.attributes.insert(b).unwrap();
    let der = sign_csr(&key(SMALL_C), info, DigestAlg::Sha256);
    assert_eq!(
        VerifiedCsr::from_der(&der, false).unwrap_err(),
        IssueError::MalformedExtensionRequest
    );
}

// ---------------------------------------------------------------- T-7 / C-11

#[test]
fn t07_issued_validity_never_outlives_the_issuing_ca() {
    let ca = seed_ca();
    let ca_v = ca.validity();
    // T-18 #3: issued 2017-05-15T12:20:00Z for 365 d, clamped to the CA's notAfter.
    let v = identity_validity(at("2017-05-15T12:20:00Z"), &ca, days(365)).unwrap();
    assert_eq!(v.not_before(), at("2017-05-15T12:20:00Z"));
    assert_eq!(v.not_after(), ca_v.not_after());
    let cert = identity(&ca, SMALL_C, 6, v);
    assert_eq!(validity(&cert), v);
    // Before the CA starts: nb = ca.nb.
    let early = identity_validity(Instant::from_unix(0), &ca, days(1)).unwrap();
    assert_eq!(early.not_before(), ca_v.not_before());
    // At or after the CA's notAfter: nothing is issued (C-10, badRequest).
    assert_eq!(
        identity_validity(ca_v.not_after(), &ca, days(365)).unwrap_err(),
        IssueError::IssuingCaExpired {
            at: ca_v.not_after(),
            issuing_not_after: ca_v.not_after()
        }
    );
    // A hand-made validity past the CA is refused, not signed.
    let csr = VerifiedCsr::from_der(
        &csr_der(&key(SMALL_C), name("CN=r"), vec![], DigestAlg::Sha256),
        false,
    )
    .unwrap();
    let too_long =
        Validity::new(ca_v.not_before(), ca_v.not_after().saturating_add(days(1))).unwrap();
    assert_eq!(
        identity_certificate(&ca, &csr, &IdentityParams::new(7, too_long), &mut rng(4))
            .unwrap_err(),
        IssueError::OutlivesIssuer
    );
    assert_eq!(
        identity_validity(T0, &ca, Duration::from_days(1826)).unwrap_err(),
        IssueError::Timer(TimerError::LifetimeOutOfRange {
            kind: LifetimeKind::Certificate,
            value: Duration::from_days(1826)
        })
    );
}

#[test]
fn c11_rollover_identity_balance_and_full_lifetime() {
    let active = seed_ca();
    let rollover = seed_rollover(&active);
    // T-18: #3 = [2017-05-15T12:20:00Z, 2017-10-08T12:14:16Z], SHADOW at 2017-09-09T07:27:24Z.
    let signer = identity_validity(at("2017-05-15T12:20:00Z"), &active, days(365)).unwrap();
    let now = at("2017-09-09T07:27:24Z");
    let balance = rollover_identity_validity_for(
        now,
        &rollover,
        days(365),
        Some(signer),
        RolloverIdentityPolicy::Balance,
    )
    .unwrap();
    assert_eq!(balance.not_before(), at("2017-10-08T12:14:16Z"));
    assert_eq!(balance.not_after(), at("2018-05-15T12:20:00Z"));
    let full = rollover_identity_validity_for(
        now,
        &rollover,
        days(365),
        Some(signer),
        RolloverIdentityPolicy::FullLifetime,
    )
    .unwrap();
    assert_eq!(full.not_after(), at("2018-10-08T12:14:16Z"));

    let cert = identity(&rollover, SMALL_C, 8, balance);
    assert_eq!(validity(&cert), balance);
    let aki = ext::<AuthorityKeyIdentifier>(&cert).unwrap().1;
    assert_eq!(
        aki.key_identifier.unwrap().as_bytes(),
        rollover.key_identifier()
    );
    // The active CA cannot sign a validity that starts at its own expiry.
    let csr = VerifiedCsr::from_der(
        &csr_der(&key(SMALL_C), name("CN=r"), vec![], DigestAlg::Sha256),
        false,
    )
    .unwrap();
    assert_eq!(
        identity_certificate(&active, &csr, &IdentityParams::new(9, balance), &mut rng(5))
            .unwrap_err(),
        IssueError::OutlivesIssuer
    );
}

// ---------------------------------------------------------------- C-21 / T-8

#[test]
fn c21_crl_structure() {
    let ca = ca(SMALL_A);
    let t = T0.saturating_add(days(3));
    let empty = certificate_revocation_list(&ca, &CrlParams::new(t, 1), &mut rng(6)).unwrap();
    let tbs = &empty.tbs_cert_list;
    assert_eq!(tbs.issuer, ca_name());
    assert!(tbs.revoked_certificates.is_none());
    assert_eq!(instant(&tbs.this_update), t);
    // T-8 with the default L_crl of 6 h (Q-2).
    assert_eq!(
        instant(&tbs.next_update.unwrap()),
        t.saturating_add(Duration::from_hours(6))
    );
    let exts = tbs.crl_extensions.as_ref().unwrap();
    assert!(exts.iter().all(|e| !e.critical));
    let number = exts
        .iter()
        .find(|e| e.extn_id == x509_cert::ext::pkix::CrlNumber::OID)
        .unwrap();
    assert_eq!(number.extn_value.as_bytes(), [0x02, 0x01, 0x01]);

    let mut params = CrlParams::new(t, 300);
    params.lifetime = Duration::from_hours(336);
    params.revoked = vec![RevokedSerial {
        serial: u64::MAX,
        revoked_at: T0,
    }];
    let crl = certificate_revocation_list(&ca, &params, &mut rng(7)).unwrap();
    let revoked = crl.tbs_cert_list.revoked_certificates.as_ref().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial_number.as_bytes().last(), Some(&0xFF));
    assert_eq!(instant(&revoked[0].revocation_date), T0);

    params.lifetime = Duration::from_hours(337);
    assert!(matches!(
        certificate_revocation_list(&ca, &params, &mut rng(8)).unwrap_err(),
        IssueError::Timer(TimerError::LifetimeOutOfRange { .. })
    ));
}

// ---------------------------------------------------------------- RFC 5280 4.1.2.5

/// 9999-12-31T23:59:59Z, the last instant X.509 can encode.
const LAST_X509_SECOND: u64 = 253_402_300_799;

#[test]
fn rfc5280_time_encoding_switches_to_generalized_time_in_2050() {
    let last_utc = at("2049-12-31T23:59:59Z");
    let first_gen = at("2050-01-01T00:00:00Z");
    assert!(matches!(to_x509_time(last_utc).unwrap(), Time::UtcTime(_)));
    assert!(matches!(
        to_x509_time(first_gen).unwrap(),
        Time::GeneralTime(_)
    ));
    assert!(matches!(
        to_x509_time(Instant::from_unix(LAST_X509_SECOND)).unwrap(),
        Time::GeneralTime(_)
    ));
    let beyond = Instant::from_unix(LAST_X509_SECOND + 1);
    assert_eq!(
        to_x509_time(beyond).unwrap_err(),
        IssueError::TimeOutOfRange { at: beyond }
    );
    // In a certificate: UTCTime (tag 0x17) notBefore, GeneralizedTime (0x18) notAfter.
    let mut params = CaCertParams::new(ca_name(), last_utc);
    params.lifetime = days(1);
    let ca = self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(9)).unwrap();
    let der = ca.certificate_der().unwrap();
    let utc = b"\x17\x0d491231235959Z";
    let generalized = b"\x18\x0f20500101235959Z";
    assert!(der.windows(utc.len()).any(|w| w == utc));
    assert!(der.windows(generalized.len()).any(|w| w == generalized));
}

fn crl_ca() -> &'static CaKey {
    static CA: std::sync::OnceLock<CaKey> = std::sync::OnceLock::new();
    CA.get_or_init(|| ca(SMALL_A))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Serial and validity survive the trip through DER, each instant in the encoding RFC
    /// 5280 requires for its year.
    #[test]
    fn rfc5280_serial_and_validity_round_trip(
        serial in 1..=u64::MAX,
        not_before in 0..=(LAST_X509_SECOND - 7305 * 86_400),
        lifetime in 86_400..=(7305u64 * 86_400),
    ) {
        let mut params = CaCertParams::new(ca_name(), Instant::from_unix(not_before));
        params.serial = serial;
        params.lifetime = Duration::from_secs(lifetime);
        let ca = self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(serial)).unwrap();
        let decoded = Certificate::from_der(&ca.certificate_der().unwrap()).unwrap();
        prop_assert_eq!(certificate_serial(&decoded).unwrap(), serial);
        let v = validity(&decoded);
        prop_assert_eq!(v.not_before().unix(), not_before);
        prop_assert_eq!(v.not_after().unix(), not_before + lifetime);
        let validity = decoded.tbs_certificate().validity();
        for (t, unix) in [(validity.not_before, not_before), (validity.not_after, not_before + lifetime)] {
            let generalized = unix >= at("2050-01-01T00:00:00Z").unix();
            prop_assert_eq!(matches!(t, Time::GeneralTime(_)), generalized, "{}", unix);
        }
    }

    /// CRL times follow the same rule (RFC 5280 5.1.2.4, 5.1.2.6) and round-trip.
    #[test]
    fn rfc5280_crl_times_round_trip(
        generated_at in 0..=(LAST_X509_SECOND - 336 * 3600),
        revoked_at in 0..=LAST_X509_SECOND,
        serial in 1..=u64::MAX,
        number in 0..=u64::MAX,
    ) {
        let ca = crl_ca();
        let mut params = CrlParams::new(Instant::from_unix(generated_at), number);
        params.revoked = vec![RevokedSerial { serial, revoked_at: Instant::from_unix(revoked_at) }];
        let crl = certificate_revocation_list(ca, &params, &mut rng(number)).unwrap();
        let decoded = x509_cert::crl::CertificateList::from_der(&crl.to_der().unwrap()).unwrap();
        let tbs = &decoded.tbs_cert_list;
        let entry = &tbs.revoked_certificates.as_ref().unwrap()[0];
        let next = tbs.next_update.unwrap();
        for (t, unix) in [
            (tbs.this_update, generated_at),
            (next, generated_at + 6 * 3600),
            (entry.revocation_date, revoked_at),
        ] {
            prop_assert_eq!(instant(&t).unix(), unix);
            let generalized = unix >= at("2050-01-01T00:00:00Z").unix();
            prop_assert_eq!(matches!(t, Time::GeneralTime(_)), generalized, "{}", unix);
        }
        prop_assert_eq!(entry.serial_number.clone(), x509_cert::serial_number::SerialNumber::from(serial));
    }
}

#[test]
fn issue_types_are_send_and_sync() {
    // The CA is shared by many threads (issue 4): its key, requests and errors must be too.
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<PrivateKey>();
    send_sync::<CaKey>();
    send_sync::<VerifiedCsr>();
    send_sync::<IssueError>();
}
