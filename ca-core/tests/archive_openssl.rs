//! C-19 key archive, checked by a real peer: the openssl CLI must open what `ca_core` writes
//! with the archive password, give back the same key and certificate, and refuse a wrong
//! password. The key and certificate are made with openssl at test time.

// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ca_core::{
    DirStore, Store,
    archive::{
        ArchiveError, ArchiveFormat, ArchiveGeneration, ArchiveParams, MAX_ROLLOVER_COUNTER,
        archive_file_name, export_archive,
    },
};
use der::Decode;
use rand::{SeedableRng, rngs::StdRng};
use scep_proto::{Certificate, PrivateKey};

const PASSWORD: &str = "archive pass 1";

struct Fixture {
    _dir: tempfile::TempDir,
    key_der: Vec<u8>,
    cert_der: Vec<u8>,
    key: PrivateKey,
    cert: Certificate,
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed for this test")
}

fn run_ok(args: &[&str], dir: &Path) {
    let out = openssl(args, dir);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RSA-2048 CA key (PKCS#8 DER) and its self-signed certificate (DER), made once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run_ok(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-subj",
                "/CN=ROOTCA",
                "-days",
                "2",
            ],
            d,
        );
        run_ok(
            &[
                // `pkey -outform DER` would write PKCS#1 for RSA; the CA hands us PKCS#8.
                "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out",
                "key.der",
            ],
            d,
        );
        run_ok(
            &[
                "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
            ],
            d,
        );
        let key_der = fs::read(d.join("key.der")).unwrap();
        let cert_der = fs::read(d.join("cert.der")).unwrap();
        Fixture {
            key: PrivateKey::from_pkcs8_der(&key_der).unwrap(),
            cert: Certificate::from_der(&cert_der).unwrap(),
            key_der,
            cert_der,
            _dir: dir,
        }
    })
}

/// Fewer PBKDF2 rounds than the default, so the error-path tests stay fast.
fn quick() -> ArchiveParams {
    let mut params = ArchiveParams::default();
    params.pbkdf2_iterations = 2048;
    params
}

/// What openssl reads back from `file`: (key DER, certificate DER), or the failure text.
fn openssl_read_back(file: &Path, password: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let dir = file.parent().unwrap();
    let key_out = dir.join("back-key.der");
    let cert_out = dir.join("back-cert.der");
    let _ = fs::remove_file(&key_out);
    let pass = format!("pass:{password}");
    let file_arg = file.to_str().unwrap();
    // `pkey` is how an operator opens it; `pkcs8` prints the decrypted PKCS#8 DER to compare.
    let out = openssl(&["pkey", "-in", file_arg, "-passin", &pass, "-noout"], dir);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let out = openssl(
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            file_arg,
            "-passin",
            &pass,
            "-outform",
            "DER",
            "-out",
            key_out.to_str().unwrap(),
        ],
        dir,
    );
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    run_ok(
        &[
            "x509",
            "-in",
            file.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            cert_out.to_str().unwrap(),
        ],
        dir,
    );
    Ok((fs::read(key_out).unwrap(), fs::read(cert_out).unwrap()))
}

#[test]
fn c19_openssl_opens_the_archive_with_the_password() {
    let fx = fixture();
    let mut rng = StdRng::seed_from_u64(19);
    let file = export_archive(
        "ROOTCA",
        ArchiveGeneration::Creation,
        &fx.key,
        &fx.cert,
        PASSWORD.as_bytes(),
        &mut rng,
    )
    .unwrap();
    assert_eq!(file.name(), "ROOTCA.pem");
    let text = std::str::from_utf8(file.contents()).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
        "{text}"
    );
    assert!(text.contains("-----BEGIN CERTIFICATE-----\n"));

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(file.name());
    fs::write(&path, file.contents()).unwrap();
    let (key, cert) = openssl_read_back(&path, PASSWORD).unwrap();
    // Plain asserts: a failure must not print the key.
    assert!(key == fx.key_der, "openssl decrypted a different key");
    assert!(cert == fx.cert_der, "openssl read a different certificate");

    // The encryption is PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, at the default count.
    let out = openssl(&["asn1parse", "-in", path.to_str().unwrap()], tmp.path());
    let dump = String::from_utf8_lossy(&out.stdout);
    for want in [
        "PBES2",
        "PBKDF2",
        "hmacWithSHA256",
        "aes-256-cbc",
        ":0927C0",
    ] {
        assert!(dump.contains(want), "asn1parse lacks {want}: {dump}");
    }
}

#[test]
fn c19_wrong_password_is_refused_by_openssl() {
    let fx = fixture();
    let mut rng = StdRng::seed_from_u64(20);
    let file = quick()
        .export(
            "ROOTCA",
            ArchiveGeneration::Rollover(1),
            &fx.key,
            &fx.cert,
            PASSWORD.as_bytes(),
            &mut rng,
        )
        .unwrap();
    assert_eq!(file.name(), "ROOTCA_00001.pem");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(file.name());
    fs::write(&path, file.contents()).unwrap();
    assert!(openssl_read_back(&path, "wrong password").is_err());
    assert!(openssl_read_back(&path, "").is_err());
    let (key, _) = openssl_read_back(&path, PASSWORD).unwrap();
    assert!(key == fx.key_der, "openssl decrypted a different key");
}

#[test]
fn c19_archive_stored_in_a_dir_store_opens_with_openssl() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path().join("ca")).unwrap();
    let mut rng = StdRng::seed_from_u64(21);
    for generation in [
        ArchiveGeneration::Creation,
        ArchiveGeneration::Rollover(1),
        ArchiveGeneration::Rollover(2),
    ] {
        let file = quick()
            .export(
                "ROOTCA",
                generation,
                &fx.key,
                &fx.cert,
                PASSWORD.as_bytes(),
                &mut rng,
            )
            .unwrap();
        store.put(&file.record_key(), file.contents()).unwrap();
    }
    assert_eq!(
        store.list_archives().unwrap(),
        ["ROOTCA.pem", "ROOTCA_00001.pem", "ROOTCA_00002.pem"]
    );
    let on_disk: PathBuf = tmp.path().join("ca/archive/ROOTCA_00002.pem");
    let (key, cert) = openssl_read_back(&on_disk, PASSWORD).unwrap();
    assert!(
        key == fx.key_der && cert == fx.cert_der,
        "openssl read back other bytes"
    );
}

#[test]
fn c19_file_names() {
    let pem = ArchiveFormat::Pem;
    let name = |g| archive_file_name("ROOTCA", g, pem);
    assert_eq!(name(ArchiveGeneration::Creation).unwrap(), "ROOTCA.pem");
    assert_eq!(
        name(ArchiveGeneration::Rollover(1)).unwrap(),
        "ROOTCA_00001.pem"
    );
    assert_eq!(
        name(ArchiveGeneration::Rollover(42)).unwrap(),
        "ROOTCA_00042.pem"
    );
    assert_eq!(
        name(ArchiveGeneration::Rollover(MAX_ROLLOVER_COUNTER)).unwrap(),
        "ROOTCA_99999.pem"
    );
    for counter in [0, MAX_ROLLOVER_COUNTER + 1, u32::MAX] {
        assert!(matches!(
            name(ArchiveGeneration::Rollover(counter)),
            Err(ArchiveError::CounterOutOfRange { counter: c }) if c == counter
        ));
    }
    let long = "N".repeat(200);
    for bad in [
        "",
        "../ROOTCA",
        "a/b",
        "ROOT.CA",
        ".hidden",
        "é",
        "sp ace",
        &long,
    ] {
        assert!(
            matches!(
                archive_file_name(bad, ArchiveGeneration::Creation, pem),
                Err(ArchiveError::InvalidName { ref name }) if name == bad
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        archive_file_name("sub-CA_2", ArchiveGeneration::Creation, pem).unwrap(),
        "sub-CA_2.pem"
    );
}

#[test]
fn c19_bad_inputs_are_typed_errors() {
    let fx = fixture();
    let mut rng = StdRng::seed_from_u64(22);
    assert!(matches!(
        quick().export(
            "ROOTCA",
            ArchiveGeneration::Creation,
            &fx.key,
            &fx.cert,
            b"",
            &mut rng,
        ),
        Err(ArchiveError::EmptyPassword)
    ));
    // The archive takes a key and a certificate, not bytes: what is not one never gets there.
    // A certificate is not a key, and a key with trailing bytes is not DER.
    let mut trailing = fx.key_der.clone();
    trailing.push(0);
    for bad in [&b"not a key"[..], &fx.cert_der, &trailing] {
        assert!(PrivateKey::from_pkcs8_der(bad).is_err());
    }
    for bad in [&b"\x04\x01x"[..], b""] {
        assert!(Certificate::from_der(bad).is_err());
    }
    let mut weak = ArchiveParams::default();
    weak.pbkdf2_iterations = PrivateKey::MIN_PBKDF2_ITERATIONS - 1;
    assert!(matches!(
        weak.export(
            "ROOTCA",
            ArchiveGeneration::Creation,
            &fx.key,
            &fx.cert,
            PASSWORD.as_bytes(),
            &mut rng
        ),
        Err(ArchiveError::TooFewIterations { iterations: 999 })
    ));
}

#[test]
fn c19_randomness_comes_from_the_rng_and_debug_hides_contents() {
    let fx = fixture();
    let make = |seed| {
        quick()
            .export(
                "ROOTCA",
                ArchiveGeneration::Creation,
                &fx.key,
                &fx.cert,
                PASSWORD.as_bytes(),
                &mut StdRng::seed_from_u64(seed),
            )
            .unwrap()
    };
    let (a, b, c) = (make(1), make(1), make(2));
    assert_eq!(a, b, "same seed, same salt and IV, same file");
    assert_ne!(a.contents(), c.contents());
    let shown = format!("{a:?}");
    assert!(shown.contains("ROOTCA.pem"));
    assert!(!shown.contains("BEGIN"), "{shown}");
}
