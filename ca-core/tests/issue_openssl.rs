//! Test code: what the issuance module emits, checked by real peers — the openssl CLI
//! (`verify`, `crl -verify`, `x509 -text`, CSRs from `req -new`) and pkilint's RFC 5280 lints.
//! Both tools are required (CI installs them): a missing tool fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod issue_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ca_core::issue::{
    CaCertParams, CaKey, CrlParams, IdentityParams, IssueError, RevokedSerial, RolloverCaParams,
    VerifiedCsr, certificate_revocation_list, identity_certificate, identity_validity,
    md5_fingerprint, rollover_ca_certificate, rollover_identity_validity_for,
    self_signed_ca_certificate,
};
use der::{Encode, EncodePem, pem::LineEnding};
use issue_support::*;
use pki_timers::{Duration, Instant, RolloverIdentityPolicy};
use scep_proto::{Certificate, DigestAlg};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn cert(&self, name: &str, cert: &Certificate) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, cert.to_pem(LineEnding::LF).unwrap()).unwrap();
        p
    }
}

/// Runs a tool; a missing tool is a failure, never a skip.
fn run(program: &str, args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{program} is required by this test (CI installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn openssl(args: &[&str], cwd: &Path) -> (bool, String) {
    run("openssl", args, cwd)
}

/// `openssl verify` at instant `at` (certificates are made at fixed instants).
fn verify(dir: &Dir, ca: &Path, cert: &Path, at: Instant) -> (bool, String) {
    let at = at.unix().to_string();
    let args = [
        "verify",
        "-attime",
        &at,
        "-CAfile",
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
    ];
    openssl(&args, dir.0.path())
}

fn x509_text(dir: &Dir, cert: &Path) -> String {
    let (ok, text) = openssl(
        &["x509", "-noout", "-text", "-in", cert.to_str().unwrap()],
        dir.0.path(),
    );
    assert!(ok, "{text}");
    text
}

/// Collapses whitespace so multi-line `-text` blocks can be matched.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// pkilint's RFC 5280 certificate lints: every finding (INFO and up) is printed (the report quotes them),
/// and none may be ERROR or FATAL.
fn pkilint_cert(dir: &Dir, cert: &Path) {
    let (_, all) = run(
        "lint_pkix_cert",
        &["lint", "-s", "INFO", cert.to_str().unwrap()],
        dir.0.path(),
    );
    eprintln!("pkilint {}:\n{all}", cert.display());
    let (ok, errors) = run(
        "lint_pkix_cert",
        &["lint", "-s", "ERROR", cert.to_str().unwrap()],
        dir.0.path(),
    );
    assert!(
        ok && errors.trim().is_empty(),
        "pkilint ERROR findings for {}:\n{errors}",
        cert.display()
    );
}

fn openssl_csr(dir: &Dir, name: &str, extra: &[&str]) -> Vec<u8> {
    let key = dir.path(&format!("{name}.key"));
    let out = dir.path(&format!("{name}.csr.der"));
    let mut args = vec![
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, text) = openssl(&args, dir.0.path());
    assert!(ok, "openssl req: {text}");
    fs::read(out).unwrap()
}

#[test]
fn c01_ca_certificate_openssl_text_verify_and_pkilint() {
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let text = x509_text(&dir, &ca_pem);
    let flat = squash(&text);
    for want in [
        "Version: 3 (0x2)",
        "Serial Number: 1 (0x1)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: O = Cisco, OU = TAC, CN = RootCA",
        "Subject: O = Cisco, OU = TAC, CN = RootCA",
        "Not Before: Jan 1 00:00:00 2026 GMT",
        // 1095 days later.
        "Not After : Dec 31 00:00:00 2028 GMT",
        "Public-Key: (2048 bit)",
        "X509v3 Basic Constraints: critical CA:TRUE",
        "X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign",
    ] {
        assert!(flat.contains(want), "missing {want:?} in\n{text}");
    }
    let ski = hex_colon(ca.key_identifier());
    assert!(
        flat.contains(&format!("X509v3 Subject Key Identifier: {ski}")),
        "{text}"
    );
    assert!(
        flat.contains(&format!("X509v3 Authority Key Identifier: {ski}")),
        "{text}"
    );
    // "X509v3 extensions:" heads the list of exactly four.
    assert_eq!(
        flat.matches("X509v3").count(),
        5,
        "exactly four extensions:\n{text}"
    );

    let (ok, out) = verify(&dir, &ca_pem, &ca_pem, T0);
    assert!(ok, "{out}");
    pkilint_cert(&dir, &ca_pem);

    // C-28: the IOS-style fingerprint is openssl's MD5 fingerprint, regrouped.
    let (ok, out) = openssl(
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-md5",
            "-in",
            ca_pem.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(ok, "{out}");
    let openssl_md5: String = out
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let ours = md5_fingerprint(&ca.certificate_der().unwrap());
    assert_eq!(ours.replace(' ', ""), openssl_md5);
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn c01_configured_hashes_are_what_openssl_reads() {
    let dir = Dir::new();
    for (hash, openssl_name, legacy) in [
        (DigestAlg::Sha1, "sha1WithRSAEncryption", true),
        (DigestAlg::Sha512, "sha512WithRSAEncryption", false),
        (DigestAlg::Md5, "md5WithRSAEncryption", true),
    ] {
        let mut params = CaCertParams::new(ca_name(), T0);
        params.signature = sig(hash).with_legacy_algorithms(legacy);
        let ca = self_signed_ca_certificate(&params, key(SMALL_A), &mut rng(3)).unwrap();
        let pem = dir.cert(&format!("{hash}.pem"), ca.certificate());
        let text = x509_text(&dir, &pem);
        assert!(
            text.contains(&format!("Signature Algorithm: {openssl_name}")),
            "{text}"
        );
        // MD5 and 1024-bit keys need OpenSSL's security level 0, as the seed's IOS CA would.
        let at = T0.unix().to_string();
        let (ok, out) = openssl(
            &[
                "verify",
                "-auth_level",
                "0",
                "-attime",
                &at,
                "-CAfile",
                pem.to_str().unwrap(),
                pem.to_str().unwrap(),
            ],
            dir.0.path(),
        );
        assert!(ok, "{hash}: {out}");
    }
}

#[test]
fn c10_identity_from_openssl_csr_with_san() {
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let csr = openssl_csr(
        &dir,
        "router1",
        &[
            "-subj",
            "/CN=router1.example.net",
            "-addext",
            "subjectAltName=DNS:router1.example.net,IP:192.0.2.1",
        ],
    );
    let csr = VerifiedCsr::from_der(&csr, false).unwrap();
    assert_eq!(csr.key_bits(), 2048);
    let validity = identity_validity(T0, &ca, days(365)).unwrap();
    let cert =
        identity_certificate(&ca, &csr, &IdentityParams::new(2, validity), &mut rng(4)).unwrap();
    let pem = dir.cert("router1.pem", &cert);
    let (ok, out) = verify(&dir, &ca_pem, &pem, T0.saturating_add(days(1)));
    assert!(ok, "{out}");

    let text = x509_text(&dir, &pem);
    let flat = squash(&text);
    for want in [
        "Serial Number: 2 (0x2)",
        "Issuer: O = Cisco, OU = TAC, CN = RootCA",
        "Subject: CN = router1.example.net",
        "X509v3 Basic Constraints: critical CA:FALSE",
        "X509v3 Key Usage: critical Digital Signature, Key Encipherment",
        "X509v3 Subject Alternative Name: DNS:router1.example.net, IP Address:192.0.2.1",
        &format!(
            "X509v3 Authority Key Identifier: {}",
            hex_colon(ca.key_identifier())
        ),
        "X509v3 Subject Key Identifier:",
    ] {
        assert!(flat.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!flat.contains("Alternative Name: critical"), "{text}");
    pkilint_cert(&dir, &pem);
    chain_lint(&dir, &ca_pem, &pem);
}

/// pkilint's issuer/subject chain lints (name chaining, AKI/SKI, signature algorithm).
fn chain_lint(dir: &Dir, issuer: &Path, subject: &Path) {
    let (ok, errors) = run(
        "lint_pkix_signer_signee_cert_chain",
        &[
            "lint",
            "-s",
            "ERROR",
            issuer.to_str().unwrap(),
            subject.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(ok && errors.trim().is_empty(), "chain lint:\n{errors}");
}

#[test]
fn c10_openssl_csr_with_challenge_password_and_eku() {
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let config = dir.path("req.cnf");
    fs::write(
        &config,
        "[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n\
         [dn]\nCN = router2\nO = Branch\n[attrs]\nchallengePassword = s3cret-Pass\n",
    )
    .unwrap();
    let csr = openssl_csr(
        &dir,
        "router2",
        &[
            "-config",
            config.to_str().unwrap(),
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=clientAuth,serverAuth",
        ],
    );
    let csr = VerifiedCsr::from_der(&csr, false).unwrap();
    assert_eq!(csr.challenge_password(), Some("s3cret-Pass"));
    assert!(
        !format!("{csr:?}").contains("s3cret"),
        "Debug hides the password"
    );
    let validity = identity_validity(T0, &ca, days(30)).unwrap();
    let cert =
        identity_certificate(&ca, &csr, &IdentityParams::new(3, validity), &mut rng(5)).unwrap();
    let pem = dir.cert("router2.pem", &cert);
    let (ok, out) = verify(&dir, &ca_pem, &pem, T0);
    assert!(ok, "{out}");
    let text = x509_text(&dir, &pem);
    let flat = squash(&text);
    for want in [
        "Subject: CN = router2, O = Branch",
        "X509v3 Key Usage: critical Digital Signature X509v3",
        "X509v3 Extended Key Usage: TLS Web Client Authentication, TLS Web Server Authentication",
    ] {
        assert!(flat.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!flat.contains("Alternative Name"), "{text}");
    pkilint_cert(&dir, &pem);
}

#[test]
fn s26_openssl_csr_with_broken_signature_is_refused() {
    let dir = Dir::new();
    let good = openssl_csr(&dir, "r3", &["-subj", "/CN=router3"]);
    VerifiedCsr::from_der(&good, false).unwrap();

    // The signature BIT STRING is the CSR's tail: flip a byte inside it.
    let mut bad = good.clone();
    let i = bad.len() - 20;
    bad[i] ^= 0x01;
    assert_eq!(
        VerifiedCsr::from_der(&bad, false).unwrap_err(),
        IssueError::ProofOfPossession
    );
    // A changed subject (same length) breaks the signature too.
    let mut bad = good.clone();
    let at = bad.windows(7).position(|w| w == b"router3").unwrap();
    bad[at + 6] = b'4';
    assert_eq!(
        VerifiedCsr::from_der(&bad, false).unwrap_err(),
        IssueError::ProofOfPossession
    );
}

#[test]
fn s39_openssl_csr_with_small_key_is_refused() {
    let dir = Dir::new();
    let key = dir.path("small.key");
    let out = dir.path("small.csr.der");
    let (ok, text) = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:512",
            "-out",
            key.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &[
            "req",
            "-new",
            "-key",
            key.to_str().unwrap(),
            "-subj",
            "/CN=tiny",
            "-outform",
            "DER",
            "-out",
            out.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(ok, "{text}");
    assert_eq!(
        VerifiedCsr::from_der(&fs::read(out).unwrap(), false).unwrap_err(),
        IssueError::KeySizeOutOfRange { bits: 512 }
    );
    // And an EC key is not RSA (S-39).
    let (ok, text) = openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ec.key",
            "-subj",
            "/CN=ec",
            "-outform",
            "DER",
            "-out",
            "ec.der",
        ],
        dir.0.path(),
    );
    assert!(ok, "{text}");
    assert!(matches!(
        VerifiedCsr::from_der(&fs::read(dir.path("ec.der")).unwrap(), false),
        Err(IssueError::UnsupportedKeyAlgorithm { .. })
    ));
}

#[test]
fn c22_rollover_ca_and_its_identity_certificates_verify_only_against_the_rollover() {
    let dir = Dir::new();
    let active = ca(BIG_A);
    let rollover: CaKey =
        rollover_ca_certificate(&active, &RolloverCaParams::new(3), key(BIG_B), &mut rng(6))
            .unwrap();
    let active_pem = dir.cert("active.pem", active.certificate());
    let rollover_pem = dir.cert("rollover.pem", rollover.certificate());
    assert_eq!(rollover.subject(), active.subject());
    assert_eq!(
        rollover.validity().not_before(),
        active.validity().not_after()
    );

    let text = x509_text(&dir, &rollover_pem);
    let flat = squash(&text);
    for want in [
        "Serial Number: 3 (0x3)",
        "Subject: O = Cisco, OU = TAC, CN = RootCA",
        "Not Before: Dec 31 00:00:00 2028 GMT",
        "X509v3 Basic Constraints: critical CA:TRUE",
        "X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign",
        &format!(
            "X509v3 Subject Key Identifier: {}",
            hex_colon(rollover.key_identifier())
        ),
        &format!(
            "X509v3 Authority Key Identifier: {}",
            hex_colon(rollover.key_identifier())
        ),
    ] {
        assert!(flat.contains(want), "missing {want:?} in\n{text}");
    }
    let in_rollover = rollover.validity().not_before().saturating_add(days(10));
    let (ok, out) = verify(&dir, &rollover_pem, &rollover_pem, in_rollover);
    assert!(ok, "{out}");
    pkilint_cert(&dir, &rollover_pem);

    // A shadow request (C-11): signed by a clamped certificate of the active CA.
    let signer = identity_validity(
        active.validity().not_after().saturating_sub(days(100)),
        &active,
        days(365),
    )
    .unwrap();
    let now = active.validity().not_after().saturating_sub(days(20));
    let validity = rollover_identity_validity_for(
        now,
        &rollover,
        days(365),
        Some(signer),
        RolloverIdentityPolicy::Balance,
    )
    .unwrap();
    assert_eq!(validity.not_before(), rollover.validity().not_before());
    assert_eq!(validity.span(), Duration::from_days(265));
    let csr = openssl_csr(
        &dir,
        "shadow",
        &[
            "-subj",
            "/CN=router1",
            "-addext",
            "subjectAltName=DNS:router1.example.net",
        ],
    );
    let csr = VerifiedCsr::from_der(&csr, false).unwrap();
    let cert = identity_certificate(
        &rollover,
        &csr,
        &IdentityParams::new(4, validity),
        &mut rng(7),
    )
    .unwrap();
    let pem = dir.cert("shadow.pem", &cert);
    let (ok, out) = verify(&dir, &rollover_pem, &pem, in_rollover);
    assert!(ok, "rollover CA must verify its identity cert: {out}");
    let (ok, out) = verify(&dir, &active_pem, &pem, in_rollover);
    assert!(
        !ok,
        "the old CA must not verify a rollover identity cert: {out}"
    );
    pkilint_cert(&dir, &pem);
    chain_lint(&dir, &rollover_pem, &pem);
}

#[test]
fn c21_crl_verifies_and_lists_revoked_serials() {
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let mut params = CrlParams::new(T0.saturating_add(Duration::from_hours(1)), 7);
    params.revoked = vec![
        RevokedSerial {
            serial: 0x05,
            revoked_at: T0.saturating_add(Duration::from_minutes(10)),
        },
        RevokedSerial {
            serial: 0x1A2B,
            revoked_at: T0.saturating_add(Duration::from_minutes(20)),
        },
    ];
    let crl = certificate_revocation_list(&ca, &params, &mut rng(8)).unwrap();
    let crl_path = dir.path("ca.crl");
    fs::write(&crl_path, crl.to_pem(LineEnding::LF).unwrap()).unwrap();
    let (ok, text) = openssl(
        &[
            "crl",
            "-noout",
            "-text",
            "-verify",
            "-CAfile",
            ca_pem.to_str().unwrap(),
            "-in",
            crl_path.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(ok, "{text}");
    let flat = squash(&text);
    for want in [
        "verify OK",
        "Version 2 (0x1)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: O = Cisco, OU = TAC, CN = RootCA",
        "Last Update: Jan 1 01:00:00 2026 GMT",
        "Next Update: Jan 1 07:00:00 2026 GMT",
        "X509v3 CRL Number: 7",
        &format!(
            "X509v3 Authority Key Identifier: {}",
            hex_colon(ca.key_identifier())
        ),
        "Serial Number: 05 Revocation Date: Jan 1 00:10:00 2026 GMT",
        "Serial Number: 1A2B Revocation Date: Jan 1 00:20:00 2026 GMT",
    ] {
        assert!(flat.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!flat.contains("CRL Number: critical"), "{text}");

    // pkilint's PKIX CRL profile: no ERROR findings.
    let der_path = dir.path("ca.crl.der");
    fs::write(&der_path, crl.to_der().unwrap()).unwrap();
    let (_, all) = run(
        "lint_crl",
        &[
            "lint",
            "-t",
            "CRL",
            "-p",
            "PKIX",
            "-s",
            "INFO",
            der_path.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    eprintln!("pkilint CRL:\n{all}");
    let (ok, errors) = run(
        "lint_crl",
        &[
            "lint",
            "-t",
            "CRL",
            "-p",
            "PKIX",
            "-s",
            "ERROR",
            der_path.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(
        ok && errors.trim().is_empty(),
        "pkilint CRL errors:\n{errors}"
    );

    // Signed by another key: openssl refuses it.
    let other = issue_support::ca(BIG_B);
    let forged = certificate_revocation_list(&other, &params, &mut rng(9)).unwrap();
    fs::write(&crl_path, forged.to_pem(LineEnding::LF).unwrap()).unwrap();
    let (ok, text) = openssl(
        &[
            "crl",
            "-noout",
            "-verify",
            "-CAfile",
            ca_pem.to_str().unwrap(),
            "-in",
            crl_path.to_str().unwrap(),
        ],
        dir.0.path(),
    );
    assert!(!ok || !text.contains("verify OK"), "{text}");
}

#[test]
fn c10_plain_csr_and_sub_ca_request() {
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let validity = identity_validity(T0, &ca, days(365)).unwrap();

    // No extensionRequest: keyUsage digitalSignature + keyEncipherment (critical), cA=FALSE.
    let plain = openssl_csr(&dir, "plain", &["-subj", "/CN=router5"]);
    let plain = VerifiedCsr::from_der(&plain, false).unwrap();
    let cert =
        identity_certificate(&ca, &plain, &IdentityParams::new(5, validity), &mut rng(10)).unwrap();
    let pem = dir.cert("plain.pem", &cert);
    let flat = squash(&x509_text(&dir, &pem));
    assert!(
        flat.contains("X509v3 Basic Constraints: critical CA:FALSE"),
        "{flat}"
    );
    assert!(flat.contains("X509v3 Key Usage: critical Digital Signature, Key Encipherment"));
    assert!(!flat.contains("Extended Key Usage") && !flat.contains("Alternative Name"));
    let (ok, out) = verify(&dir, &ca_pem, &pem, T0);
    assert!(ok, "{out}");
    pkilint_cert(&dir, &pem);

    // A CSR asking for a CA certificate: only an approved sub-CA (allow_ca) gets cA=TRUE.
    let sub = openssl_csr(
        &dir,
        "sub",
        &[
            "-subj",
            "/CN=SubCA",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
        ],
    );
    let sub = VerifiedCsr::from_der(&sub, false).unwrap();
    assert!(sub.requests_ca());
    let ee =
        identity_certificate(&ca, &sub, &IdentityParams::new(6, validity), &mut rng(11)).unwrap();
    let ee_pem = dir.cert("sub-ee.pem", &ee);
    let flat = squash(&x509_text(&dir, &ee_pem));
    assert!(
        flat.contains("X509v3 Basic Constraints: critical CA:FALSE"),
        "{flat}"
    );
    pkilint_cert(&dir, &ee_pem);

    let mut params = IdentityParams::new(7, validity);
    params.allow_ca = true;
    let sub_ca = identity_certificate(&ca, &sub, &params, &mut rng(12)).unwrap();
    let sub_pem = dir.cert("sub-ca.pem", &sub_ca);
    let flat = squash(&x509_text(&dir, &sub_pem));
    assert!(
        flat.contains("X509v3 Basic Constraints: critical CA:TRUE, pathlen:0"),
        "{flat}"
    );
    assert!(
        flat.contains("X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign")
    );
    let (ok, out) = verify(&dir, &ca_pem, &sub_pem, T0);
    assert!(ok, "{out}");
    pkilint_cert(&dir, &sub_pem);
    chain_lint(&dir, &ca_pem, &sub_pem);
}

#[test]
fn c10_empty_subject_with_san_lints_clean() {
    use der::asn1::{Ia5String, OctetString};
    use x509_cert::ext::{
        Extension,
        pkix::{SubjectAltName, name::GeneralName},
    };
    let dir = Dir::new();
    let ca = ca(BIG_A);
    let ca_pem = dir.cert("ca.pem", ca.certificate());
    let san = SubjectAltName(vec![GeneralName::DnsName(
        Ia5String::new("router6.example.net").unwrap(),
    )]);
    let ext = Extension {
        extn_id: <SubjectAltName as der::oid::AssociatedOid>::OID,
        critical: false,
        extn_value: OctetString::new(san.to_der().unwrap()).unwrap(),
    };
    let der = csr_der(&key(SMALL_C), name(""), vec![ext], DigestAlg::Sha256);
    let csr = VerifiedCsr::from_der(&der, false).unwrap();
    let validity = identity_validity(T0, &ca, days(365)).unwrap();
    let cert =
        identity_certificate(&ca, &csr, &IdentityParams::new(8, validity), &mut rng(13)).unwrap();
    let pem = dir.cert("nosubject.pem", &cert);
    let flat = squash(&x509_text(&dir, &pem));
    assert!(
        flat.contains("X509v3 Subject Alternative Name: critical DNS:router6.example.net"),
        "{flat}"
    );
    let (ok, out) = verify(&dir, &ca_pem, &pem, T0);
    assert!(ok, "{out}");
    pkilint_cert(&dir, &pem);
}
