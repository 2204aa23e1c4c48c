//! C-19 PKCS#12 archive (IOS `database archive pkcs12`), checked by the openssl 3 CLI: with
//! the password `openssl pkcs12` gives back the very key and certificate, reports PBES2
//! (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 MAC; with a wrong password it fails;
//! a DirStore keeps the file readable by its owner only.

// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use ca_core::{
    DirStore, Store,
    archive::{ArchiveError, ArchiveFormat, ArchiveGeneration, ArchiveParams, open_pkcs12_archive},
};
use der::{Decode, Encode};
use rand::{SeedableRng, rngs::StdRng};
use scep_proto::{Certificate, PrivateKey};

const PASSWORD: &str = "archive pass 1";

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed for this test")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The committed 2048-bit test CA key and certificate of scep-proto.
fn ca() -> (PrivateKey, Certificate) {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../scep-proto/tests/data/keys");
    let key = PrivateKey::from_pkcs8_der(&fs::read(format!("{data}/ca.key.der")).unwrap());
    let cert = Certificate::from_der(&fs::read(format!("{data}/ca.der")).unwrap());
    (key.unwrap(), cert.unwrap())
}

fn pkcs12() -> ArchiveParams {
    let mut params = ArchiveParams::default();
    params.format = ArchiveFormat::Pkcs12;
    params
}

/// `openssl pkcs12` with `password`: (key PKCS#8 DER, certificate DER, `-info` text).
fn read_back(file: &Path, password: &str) -> Result<(Vec<u8>, Vec<u8>, String), String> {
    let dir = file.parent().unwrap();
    let pass = format!("pass:{password}");
    let f = file.to_str().unwrap();
    let info = openssl(
        &[
            "pkcs12", "-info", "-in", f, "-passin", &pass, "-nodes", "-out", "all.pem",
        ],
        dir,
    );
    if !info.status.success() {
        return Err(String::from_utf8_lossy(&info.stderr).into_owned());
    }
    ok(&openssl(
        &[
            "pkcs12", "-in", f, "-passin", &pass, "-nocerts", "-nodes", "-out", "k.pem",
        ],
        dir,
    ));
    ok(&openssl(
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "k.pem", "-outform", "DER", "-out", "k.der",
        ],
        dir,
    ));
    ok(&openssl(
        &[
            "pkcs12", "-in", f, "-passin", &pass, "-nokeys", "-clcerts", "-out", "c.pem",
        ],
        dir,
    ));
    ok(&openssl(
        &["x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der"],
        dir,
    ));
    Ok((
        fs::read(dir.join("k.der")).unwrap(),
        fs::read(dir.join("c.der")).unwrap(),
        String::from_utf8_lossy(&info.stderr).into_owned(),
    ))
}

#[test]
fn c19_pkcs12_archive_opens_in_openssl_with_the_password_only() {
    let (key, cert) = ca();
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path().join("ca")).unwrap();
    let mut rng = StdRng::seed_from_u64(12);
    let file = pkcs12()
        .export(
            "ROOTCA",
            ArchiveGeneration::Rollover(1),
            &key,
            &cert,
            PASSWORD.as_bytes(),
            &mut rng,
        )
        .unwrap();
    assert_eq!(file.name(), "ROOTCA_00001.p12");
    store.put(&file.record_key(), file.contents()).unwrap();
    let on_disk = tmp.path().join("ca/archive/ROOTCA_00001.p12");
    // Attacker view: never readable by group or others.
    let mode = fs::metadata(&on_disk).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "archive mode {mode:o}");

    let (key_back, cert_back, info) = read_back(&on_disk, PASSWORD).unwrap();
    // Plain asserts: a failure must not print the key.
    assert!(
        key_back == key.to_pkcs8_der().unwrap().as_bytes(),
        "openssl decrypted a different key"
    );
    assert!(
        cert_back == cert.to_der().unwrap(),
        "openssl read a different certificate"
    );
    for want in [
        "MAC: sha256",
        "PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
    ] {
        assert!(info.contains(want), "-info lacks {want:?}: {info}");
    }

    // Wrong passwords: openssl refuses (MAC verification), nothing comes out.
    for wrong in ["archive pass 2", ""] {
        assert!(read_back(&on_disk, wrong).is_err(), "{wrong:?} opened it");
    }
}

#[test]
fn c19_pkcs12_password_must_be_text_and_pem_stays_available() {
    let (key, cert) = ca();
    let mut rng = StdRng::seed_from_u64(13);
    let err = pkcs12()
        .export(
            "ROOTCA",
            ArchiveGeneration::Creation,
            &key,
            &cert,
            &[0xff, 0xfe],
            &mut rng,
        )
        .unwrap_err();
    assert!(matches!(err, ArchiveError::PasswordNotText), "{err}");
    let mut pem = ArchiveParams::default();
    pem.pbkdf2_iterations = 2048;
    let file = pem
        .export(
            "ROOTCA",
            ArchiveGeneration::Creation,
            &key,
            &cert,
            PASSWORD.as_bytes(),
            &mut rng,
        )
        .unwrap();
    assert_eq!(file.name(), "ROOTCA.pem");
}

#[test]
fn c19_pkcs12_read_back_typed_errors_and_openssl_made_files() {
    let (key, cert) = ca();
    let mut rng = StdRng::seed_from_u64(14);
    let mut params = pkcs12();
    params.pbkdf2_iterations = 2048;
    let file = params
        .export(
            "ROOTCA",
            ArchiveGeneration::Creation,
            &key,
            &cert,
            PASSWORD.as_bytes(),
            &mut rng,
        )
        .unwrap();
    let (k, c) = open_pkcs12_archive(file.contents(), PASSWORD.as_bytes()).unwrap();
    assert!(k == key, "a different key came back");
    assert_eq!(c, cert);

    // Attacker view: a wrong password, a changed byte, junk: typed errors, no panic.
    for wrong in ["archive pass 2", ""] {
        assert!(matches!(
            open_pkcs12_archive(file.contents(), wrong.as_bytes()),
            Err(ArchiveError::WrongPassword)
        ));
    }
    let mut changed = file.contents().to_vec();
    let mid = changed.len() / 2;
    changed[mid] ^= 0x01;
    assert!(matches!(
        open_pkcs12_archive(&changed, PASSWORD.as_bytes()),
        Err(ArchiveError::WrongPassword | ArchiveError::Unreadable)
    ));
    for junk in [&b""[..], b"\x30\x03\x02\x01\x03", &file.contents()[..40]] {
        assert!(matches!(
            open_pkcs12_archive(junk, PASSWORD.as_bytes()),
            Err(ArchiveError::Unreadable)
        ));
    }
    assert!(matches!(
        open_pkcs12_archive(file.contents(), &[0xff]),
        Err(ArchiveError::PasswordNotText)
    ));

    // A PFX written by openssl 3 with the same algorithms (plain cert bag) reads back too.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("key.der"), key.to_pkcs8_der().unwrap().as_bytes()).unwrap();
    fs::write(d.join("cert.der"), cert.to_der().unwrap()).unwrap();
    ok(&openssl(
        &[
            "pkey", "-inform", "DER", "-in", "key.der", "-out", "key.pem",
        ],
        d,
    ));
    ok(&openssl(
        &[
            "x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem",
        ],
        d,
    ));
    ok(&openssl(
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-keypbe",
            "AES-256-CBC",
            "-certpbe",
            "NONE",
            "-macalg",
            "sha256",
            "-passout",
            &format!("pass:{PASSWORD}"),
            "-out",
            "openssl.p12",
        ],
        d,
    ));
    let made = fs::read(d.join("openssl.p12")).unwrap();
    let (k, c) = open_pkcs12_archive(&made, PASSWORD.as_bytes()).unwrap();
    assert!(k == key, "a different key came back from openssl's file");
    assert_eq!(c, cert);
    assert!(matches!(
        open_pkcs12_archive(&made, b"not it"),
        Err(ArchiveError::WrongPassword)
    ));
}
