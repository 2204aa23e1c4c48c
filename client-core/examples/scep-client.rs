//! `scep-client enroll --url <URL> --dir <DIR> --subject <DN> [--challenge <PW>]
//! [--legacy-algorithms] [--ca-fingerprint <FP>] [--key-bits <N>]`
//!
//! Authenticates the CA (trusting it on first use unless `--ca-fingerprint` is given), enrols,
//! waits through PENDING, writes `key.pem`, `cert.pem` and `trustpoint.bin` into `<DIR>`,
//! prints the certificate's subject, serial and validity, and exits 0 only when enrolled.

// A command-line tool: its output is on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use client_core::{
    Duration, Event, FileStore, HttpTransport, HttpTransportConfig, Instant, Trustpoint,
    TrustpointConfig, TrustpointStore, run_until,
};
use der::Encode;
use rsa::pkcs8::EncodePrivateKey;

struct Args {
    url: String,
    dir: PathBuf,
    subject: String,
    challenge: Option<String>,
    legacy: bool,
    fingerprint: Option<String>,
    key_bits: u32,
}

fn parse() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    match p.next()? {
        Some(Value(cmd)) if cmd == "enroll" => {}
        Some(arg) => return Err(arg.unexpected()),
        None => return Err("missing command (enroll)".into()),
    }
    let (mut url, mut dir, mut subject) = (None, None, None);
    let mut args = Args {
        url: String::new(),
        dir: PathBuf::new(),
        subject: String::new(),
        challenge: None,
        legacy: false,
        fingerprint: None,
        key_bits: 2048,
    };
    while let Some(arg) = p.next()? {
        match arg {
            Long("url") => url = Some(p.value()?.string()?),
            Long("dir") => dir = Some(PathBuf::from(p.value()?)),
            Long("subject") => subject = Some(p.value()?.string()?),
            Long("challenge") => args.challenge = Some(p.value()?.string()?),
            Long("legacy-algorithms") => args.legacy = true,
            Long("ca-fingerprint") => args.fingerprint = Some(p.value()?.string()?),
            Long("key-bits") => args.key_bits = p.value()?.parse()?,
            _ => return Err(arg.unexpected()),
        }
    }
    args.url = url.ok_or("--url is required")?;
    args.dir = dir.ok_or("--dir is required")?;
    args.subject = subject.ok_or("--subject is required")?;
    Ok(args)
}

fn now() -> Instant {
    Instant::from_unix(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let mut transport = HttpTransport::new(&args.url, HttpTransportConfig::default())?;
    let mut config = TrustpointConfig::default();
    config.name = String::from("scep-client");
    config.path = transport.path().to_string();
    config.subject = args.subject;
    config.challenge_password = args.challenge;
    config.legacy_algorithms = args.legacy;
    config.ca_fingerprint = args.fingerprint;
    config.key_bits = args.key_bits;
    let mut tp = Trustpoint::new(config)?;
    let mut rng = rand::rngs::SysRng;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::try_from_rng(&mut rng)?;
    // This host's clock is taken as authoritative.
    tp.set_authoritative_time(true, now());
    tp.authenticate(now())?;
    let sleep = |d: Duration| std::thread::sleep(std::time::Duration::from_secs(d.as_secs()));
    loop {
        let ev = run_until(&mut tp, &mut transport, &mut rng, now, sleep, |e| {
            matches!(
                e,
                Event::Authenticated
                    | Event::CaApprovalNeeded { .. }
                    | Event::AuthenticationFailed { .. }
            )
        })?;
        match ev {
            Event::CaApprovalNeeded { md5, sha1 } => {
                eprintln!(
                    "CA fingerprint MD5: {md5}\nCA fingerprint SHA1: {sha1}\naccepted on first use"
                );
                tp.approve_ca(true)?;
            }
            Event::Authenticated => break,
            other => return Err(format!("authentication failed: {other:?}").into()),
        }
    }
    tp.enroll(now(), None)?;
    let ev = run_until(&mut tp, &mut transport, &mut rng, now, sleep, |e| {
        if let Event::Warning(w) = e {
            eprintln!("warning: {w}");
        }
        if matches!(e, Event::Pending) {
            eprintln!("PENDING: polling");
        }
        matches!(
            e,
            Event::Enrolled
                | Event::Rejected { .. }
                | Event::RetriesExhausted
                | Event::PollExhausted
                | Event::IdentityExpiring
                | Event::LegacyAlgorithmRefused
        )
    })?;
    std::fs::create_dir_all(&args.dir)?;
    FileStore::new(args.dir.join("trustpoint.bin")).save(&tp.to_bytes()?)?;
    if ev == Event::LegacyAlgorithmRefused {
        eprintln!(
            "the CA uses DES or MD5 (legacy algorithms): refused; rerun with --legacy-algorithms to accept"
        );
        return Ok(false);
    }
    if ev != Event::Enrolled {
        eprintln!("not enrolled: {ev:?}");
        return Ok(false);
    }
    let (Some(cert), Some(key)) = (tp.identity_cert(), tp.identity_key()) else {
        return Ok(false);
    };
    std::fs::write(
        args.dir.join("cert.pem"),
        pem("CERTIFICATE", &cert.to_der()?),
    )?;
    let key_store = FileStore::new(args.dir.join("key.pem"));
    key_store.save(pem("PRIVATE KEY", key.to_pkcs8_der()?.as_bytes()).as_bytes())?;
    let tbs = cert.tbs_certificate();
    let serial: String = tbs
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    println!("subject: {}", tbs.subject());
    println!("serial: {serial}");
    println!("not before: {}", tbs.validity().not_before);
    println!("not after: {}", tbs.validity().not_after);
    Ok(true)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "usage: scep-client enroll --url <URL> --dir <DIR> --subject <DN> [--challenge <PW>] [--legacy-algorithms] [--ca-fingerprint <FP>]\n{e}"
            );
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
