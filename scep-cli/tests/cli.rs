//! The `scep` command as an operator meets it: `--version`, `--help`, configuration from a
//! file, the environment and flags (flags win), secrets from files and the environment,
//! `scep ca init` with an existing CA key and certificate, and the HTTPS listener.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{
    Server, assert_own_certificate, cert_facts, openssl_verify, require, run, scep_binary,
};

fn scep(args: &[&str]) -> Output {
    Command::new(scep_binary()).args(args).output().unwrap()
}

fn openssl(args: &[&str], dir: &Path) {
    let out = run(Command::new("openssl").args(args).current_dir(dir));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn version_and_help_explain_every_flag() {
    let out = scep(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("scep {}", env!("CARGO_PKG_VERSION"))
    );
    let out = scep(&["server", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--dir",
        "--config",
        "--listen",
        "--tls-listen",
        "--tls-cert",
        "--tls-key",
        "--threads",
        "--max-connections",
        "--header-timeout",
        "--body-timeout",
        "--idle-timeout",
        "--shutdown-timeout",
        "--log-format",
        "--name",
        "--issuer",
        "--lifetime-certificate",
        "--lifetime-ca-certificate",
        "--lifetime-crl",
        "--lifetime-enrollment-request",
        "--auto-rollover",
        "--grant",
        "--grant-auto-trustpoint",
        "--database-level",
        "--hash",
        "--key-bits",
        "--caps",
        "--advertise-next-ca-always",
        "--rollover-id-validity",
        "--otp-default-minutes",
        "--legacy-algorithms",
        "--ca-cert-in-success",
        "--archive-password-file",
        "--key-passphrase-file",
        "--max-requests",
        "--max-csr-bytes",
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing from --help:\n{help}"));
        // Every flag has an explanation (on its line or the next).
        assert!(
            line.len() > flag.len() + 12 || help.contains(&format!("{line}\n ")),
            "{line}"
        );
    }
    for command in [&["admin", "--help"][..], &["ca", "init", "--help"]] {
        let out = scep(command);
        assert!(out.status.success(), "{command:?}");
    }
    let admin = String::from_utf8_lossy(&scep(&["admin", "--help"]).stdout).into_owned();
    for sub in [
        "status",
        "pending",
        "grant",
        "reject",
        "remove",
        "revoke",
        "rollover",
        "rollover-cancel",
        "otp",
        "timers",
    ] {
        assert!(
            admin.contains(&format!("  {sub} ")),
            "{sub} missing:\n{admin}"
        );
    }
    // A secret on the command line is not accepted.
    let out = scep(&[
        "server",
        "--dir",
        "/nonexistent",
        "--archive-password",
        "pw",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_key_passphrase_from_the_environment_or_a_file_encrypts_the_ca_keys_in_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let out = Command::new(scep_binary())
        .args(["ca", "init", "--key-bits", "1024", "--dir"])
        .arg(&dir)
        .env("SCEP_KEY_PASSPHRASE", "from the environment")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = std::fs::read_to_string(dir.join("ca/state")).unwrap();
    assert!(state.contains("\nactive_key_encrypted="), "{state}");
    assert!(
        !state.contains("\nactive_key="),
        "the CA key is stored in clear"
    );
    // Without the passphrase the CA does not open, and says why.
    let out = Command::new(scep_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .env_remove("SCEP_KEY_PASSPHRASE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SCEP_KEY_PASSPHRASE"), "{err}");
    // A wrong one from a file is refused too.
    let file = tmp.path().join("key.pw");
    std::fs::write(&file, "wrong\n").unwrap();
    let out = Command::new(scep_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .arg("--key-passphrase-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("passphrase does not open"), "{err}");
}

fn granting_mode(server: &Server) -> String {
    let status = server.admin_ok(&["status"]);
    status
        .lines()
        .find_map(|l| l.trim().strip_prefix("Granting mode is: "))
        .unwrap()
        .to_owned()
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_file_and_secrets_stay_off_the_command_line() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("scep.toml");
    let password = tmp.path().join("archive.pw");
    std::fs::write(&password, "archive secret\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "[ca]\ngrant = \"none\"\nkey_bits = 1024\nname = \"FileCA\"\narchive_password_file = {:?}\ndatabase_archive = \"pem\"\n\
             [server]\nthreads = 1\nidle_timeout = \"2s\"\n",
            password.display().to_string()
        ),
    )
    .unwrap();
    let dir = tmp.path().join("ca");
    let cfg = config.to_str().unwrap();
    let server = Server::start(&dir, &["--config", cfg]);
    assert_eq!(granting_mode(&server), "none");
    server.terminate();
    let server = Server::start_with(&dir, &["--config", cfg], &[("SCEP_GRANT", "manual")]);
    assert_eq!(granting_mode(&server), "manual");
    server.terminate();
    let server = Server::start_with(
        &dir,
        &["--config", cfg, "--grant", "auto"],
        &[("SCEP_GRANT", "manual")],
    );
    assert_eq!(granting_mode(&server), "auto");
    let status = server.admin_ok(&["status"]);
    assert!(status.contains("Certificate Server FileCA:"), "{status}");
    server.terminate();
    // The archive (C-19, PEM as the file asks) opens with the password from the file.
    let archive = dir.join("archive").join("FileCA.pem");
    let out = run(Command::new("openssl")
        .args(["pkey", "-noout", "-passin"])
        .arg(format!("file:{}", password.display()))
        .arg("-in")
        .arg(&archive));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The password from the environment.
    let dir2 = tmp.path().join("ca2");
    let server = Server::start_with(
        &dir2,
        &["--key-bits", "1024"],
        &[("SCEP_ARCHIVE_PASSWORD", "from the environment")],
    );
    server.terminate();
    // PKCS#12 by default (SPEC §3.1 `database_archive`): openssl checks the MAC and
    // decrypts the key.
    let out = run(Command::new("openssl")
        .args([
            "pkcs12",
            "-nodes",
            "-passin",
            "pass:from the environment",
            "-out",
        ])
        .arg(tmp.path().join("back.pem"))
        .arg("-in")
        .arg(dir2.join("archive").join("ROOTCA.p12")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A bad value names the key.
    let out = scep(&[
        "server",
        "--dir",
        "/nonexistent",
        "--listen",
        "127.0.0.1:0",
        "--lifetime-crl",
        "6",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lifetime-crl"));
}

/// An operator's existing CA: key and self-signed certificate made by openssl.
fn existing_ca(work: &Path) {
    openssl(&["genrsa", "-out", "plain.key", "2048"], work);
    openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "plain.key",
            "-subj",
            "/CN=Imported CA/O=Example",
            "-days",
            "400",
            "-sha256",
            "-set_serial",
            "7",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            "-out",
            "existing.pem",
        ],
        work,
    );
    std::fs::write(work.join("pass"), "key passphrase\n").unwrap();
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "plain.key",
            "-passout",
            "file:pass",
            "-out",
            "encrypted.key",
        ],
        work,
    );
    openssl(
        &[
            "rsa",
            "-traditional",
            "-in",
            "plain.key",
            "-out",
            "pkcs1.key",
        ],
        work,
    );
}

#[test]
fn ca_init_imports_an_existing_ca_that_then_issues_to_micromdm() {
    require("openssl", "openssl");
    require("scepclient", "scep");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    existing_ca(work);
    let dir = work.join("ca");
    let init = |extra: &[&str]| {
        let mut args = vec!["ca", "init", "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        scep(&args)
    };
    // Wrong passphrase, then none: refused, nothing created.
    std::fs::write(work.join("wrong"), "not it\n").unwrap();
    let out = init(&[
        "--import-key",
        work.join("encrypted.key").to_str().unwrap(),
        "--import-cert",
        work.join("existing.pem").to_str().unwrap(),
        "--import-key-passphrase-file",
        work.join("wrong").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("passphrase"));
    let out = init(&[
        "--import-key",
        work.join("encrypted.key").to_str().unwrap(),
        "--import-cert",
        work.join("existing.pem").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(!dir.join("ca.pem").exists());
    // A key that is not the certificate's: refused.
    openssl(&["genrsa", "-out", "other.key", "2048"], work);
    let out = init(&[
        "--import-key",
        work.join("other.key").to_str().unwrap(),
        "--import-cert",
        work.join("existing.pem").to_str().unwrap(),
    ]);
    assert!(!out.status.success());

    let out = init(&[
        "--import-key",
        work.join("encrypted.key").to_str().unwrap(),
        "--import-cert",
        work.join("existing.pem").to_str().unwrap(),
        "--import-key-passphrase-file",
        work.join("pass").to_str().unwrap(),
        "--last-serial",
        "1F",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("Issuer name: O=Example,CN=Imported CA"),
        "{report}"
    );
    assert!(report.contains("serial number (hex): 1F"), "{report}");
    assert_eq!(
        cert_facts(&dir.join("ca.pem")),
        cert_facts(&work.join("existing.pem")),
        "DIR/ca.pem is not the imported certificate"
    );
    // Twice: refused.
    assert!(!init(&[]).status.success());

    // Served without repeating the issuer; the issued certificate chains to the old CA.
    let server = Server::start(&dir, &["--grant", "auto", "--legacy-algorithms"]);
    let client = work.join("client");
    std::fs::create_dir_all(&client).unwrap();
    let out = run(Command::new("scepclient")
        .arg("-server-url")
        .arg(&server.url)
        .args([
            "-private-key",
            "key.pem",
            "-certificate",
            "cert.pem",
            "-cn",
            "imported1",
        ])
        .current_dir(&client));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let facts = assert_own_certificate(
        &client.join("cert.pem"),
        &client.join("key.pem"),
        "CN=imported1,OU=MDM,O=scep-client,C=US",
        &["07"],
    );
    assert_eq!(
        facts.serial, "20",
        "numbering continues after --last-serial 1F"
    );
    openssl_verify(&work.join("existing.pem"), &client.join("cert.pem"));
    server.terminate();

    // A PKCS#1 key works as well.
    let dir = work.join("ca-pkcs1");
    let out = scep(&[
        "ca",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--import-key",
        work.join("pkcs1.key").to_str().unwrap(),
        "--import-cert",
        work.join("existing.pem").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serial number (hex): 7"));
}

#[test]
fn https_listener_answers_scep_with_the_given_certificate() {
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tls.key",
            "-out",
            "tls.pem",
            "-subj",
            "/CN=127.0.0.1",
            "-days",
            "2",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        work,
    );
    let server = Server::start(
        &work.join("ca"),
        &[
            "--key-bits",
            "1024",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            work.join("tls.pem").to_str().unwrap(),
            "--tls-key",
            work.join("tls.key").to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let request = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        request.path(),
        "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    // `run` gives the child no standard input, so the shell redirects the request file.
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "openssl s_client -quiet -ign_eof -verify_return_error -CAfile {} -connect 127.0.0.1:{} < {}",
        work.join("tls.pem").display(),
        server.port,
        request.path().display()
    )));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("SHA-256"), "{text}");
    server.terminate();
}

#[test]
fn the_systemd_unit_is_hardened_and_its_command_line_parses() {
    let unit = include_str!("../../dist/scep-server.service");
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let value = |key: &str| {
        settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{key}= missing from the unit"))
    };
    assert_eq!(value("User"), "scep");
    for (key, want) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/scep"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(value(key), want, "{key}");
    }
    // The flags ExecStart passes exist (clap rejects unknown ones with status 2, before
    // touching the directory; --help after them stops it there).
    let exec = value("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "server");
    let mut with_help = args.clone();
    with_help.push("--help");
    let out = scep(&with_help);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
