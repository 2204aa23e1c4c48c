//! A SCEP client over the trustpoint state machine.
//!
//! ```text
//! scep-client enroll --url <URL> --dir <DIR> --subject <DN> [--challenge <PW>]
//!                    [--legacy-algorithms] [--ca-fingerprint <FP>] [--key-bits <N>]
//!                    [--auto-enroll <PERCENT>] [--regenerate]
//! scep-client renew  --url <URL> --dir <DIR> [--regenerate]
//! scep-client status --dir <DIR>
//! scep-client run    --url <URL> --dir <DIR>
//! ```
//!
//! `enroll` authenticates the CA (trusting it on first use unless `--ca-fingerprint` is given),
//! enrols, waits through PENDING, writes `key.pem`, `cert.pem` and `trustpoint.bin` into
//! `<DIR>`, prints the certificate's subject, serial and validity, and exits 0 only when
//! enrolled. `renew` is the manual renewal (K-15). `status` shows the saved trustpoint and its
//! timers. `run` stays resident: it restores `trustpoint.bin`, runs the timers (RENEW, SHADOW,
//! POLL, activation) and saves the record after every step, so a killed process resumes where
//! it stopped.

// A command-line tool: its output is on stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use client_core::{
    AutoEnroll, Duration, Event, FileStore, HttpTransport, HttpTransportConfig, Instant, Percent,
    Transport, Trustpoint, TrustpointConfig, TrustpointStore, run_until,
};
use der::Encode;

type Error = Box<dyn std::error::Error>;

#[derive(Default)]
struct Args {
    command: String,
    url: Option<String>,
    dir: Option<PathBuf>,
    subject: Option<String>,
    challenge: Option<String>,
    legacy: bool,
    fingerprint: Option<String>,
    key_bits: Option<u32>,
    auto_enroll: Option<u32>,
    regenerate: bool,
}

fn parse() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut args = Args::default();
    match p.next()? {
        Some(Short('h') | Long("help")) => {
            args.command = "help".into();
            return Ok(args);
        }
        Some(Value(cmd)) => args.command = cmd.string()?,
        Some(arg) => return Err(arg.unexpected()),
        None => return Err("missing command".into()),
    }
    while let Some(arg) = p.next()? {
        match arg {
            Long("url") => args.url = Some(p.value()?.string()?),
            Long("dir") => args.dir = Some(PathBuf::from(p.value()?)),
            Long("subject") => args.subject = Some(p.value()?.string()?),
            Long("challenge") => args.challenge = Some(p.value()?.string()?),
            Long("legacy-algorithms") => args.legacy = true,
            Long("ca-fingerprint") => args.fingerprint = Some(p.value()?.string()?),
            Long("key-bits") => args.key_bits = Some(p.value()?.parse()?),
            Long("auto-enroll") => args.auto_enroll = Some(p.value()?.parse()?),
            Long("regenerate") => args.regenerate = true,
            Short('h') | Long("help") => args.command = "help".into(),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}

fn now() -> Instant {
    Instant::from_unix(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn sleep(d: Duration) {
    std::thread::sleep(std::time::Duration::from_secs(d.as_secs()));
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

fn rng() -> Result<rand::rngs::StdRng, Error> {
    let mut os = rand::rngs::SysRng;
    Ok(<rand::rngs::StdRng as rand::SeedableRng>::try_from_rng(
        &mut os,
    )?)
}

fn store(dir: &Path) -> FileStore {
    FileStore::new(dir.join("trustpoint.bin"))
}

fn load(dir: &Path) -> Result<Trustpoint, Error> {
    let bytes = store(dir)
        .load()?
        .ok_or("no trustpoint.bin in --dir: run enroll first")?;
    Ok(Trustpoint::from_bytes(&bytes)?)
}

/// Writes key.pem and cert.pem and prints the certificate.
fn write_identity(tp: &Trustpoint, dir: &Path) -> Result<bool, Error> {
    let (Some(cert), Some(key)) = (tp.identity_cert(), tp.identity_key()) else {
        return Ok(false);
    };
    std::fs::write(dir.join("cert.pem"), pem("CERTIFICATE", &cert.to_der()?))?;
    FileStore::new(dir.join("key.pem"))
        .save(pem("PRIVATE KEY", key.to_pkcs8_der()?.as_bytes()).as_bytes())?;
    print_cert(tp);
    Ok(true)
}

fn print_cert(tp: &Trustpoint) {
    let Some(cert) = tp.identity_cert() else {
        return;
    };
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
}

fn log(e: &Event) {
    match e {
        Event::Warning(w) => eprintln!("warning: {w}"),
        Event::LegacyAlgorithmRefused => eprintln!(
            "the CA uses DES or MD5 (legacy algorithms): refused; enrol with --legacy-algorithms to accept"
        ),
        other => eprintln!("event: {other:?}"),
    }
}

fn is_final(e: &Event) -> bool {
    matches!(
        e,
        Event::Enrolled
            | Event::Renewed
            | Event::Rejected { .. }
            | Event::RetriesExhausted
            | Event::PollExhausted
            | Event::IdentityExpiring
            | Event::LegacyAlgorithmRefused
    )
}

/// Runs the trustpoint's manual enrolment to its end; saves the record.
fn finish(tp: &mut Trustpoint, t: &mut HttpTransport, dir: &Path) -> Result<bool, Error> {
    let mut rng = rng()?;
    let ev = run_until(tp, t, &mut rng, now, sleep, |e| {
        log(e);
        is_final(e)
    })?;
    std::fs::create_dir_all(dir)?;
    store(dir).save(&tp.to_bytes()?)?;
    if matches!(ev, Event::Enrolled | Event::Renewed) {
        write_identity(tp, dir)
    } else {
        eprintln!("not enrolled: {ev:?}");
        Ok(false)
    }
}

fn enroll(args: Args) -> Result<bool, Error> {
    let url = args.url.ok_or("--url is required")?;
    let dir = args.dir.ok_or("--dir is required")?;
    let mut transport = HttpTransport::new(&url, HttpTransportConfig::default())?;
    let mut config = TrustpointConfig::default();
    config.name = String::from("scep-client");
    config.path = transport.path().to_string();
    config.subject = args.subject.ok_or("--subject is required")?;
    config.challenge_password = args.challenge;
    config.legacy_algorithms = args.legacy;
    config.ca_fingerprint = args.fingerprint;
    config.key_bits = args.key_bits.unwrap_or(2048);
    if let Some(p) = args.auto_enroll {
        let mut ae = AutoEnroll::new(Percent::new(p)?);
        ae.regenerate = args.regenerate;
        config.auto_enroll = Some(ae);
    }
    let mut tp = Trustpoint::new(config)?;
    let mut rng = rng()?;
    // This host's clock is taken as authoritative.
    tp.set_authoritative_time(true, now());
    tp.authenticate(now())?;
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
    // With auto-enroll the initial enrolment is armed already (K-3); without, start it.
    if tp.config().auto_enroll.is_none() {
        tp.enroll(now(), None)?;
    }
    finish(&mut tp, &mut transport, &dir)
}

fn renew(args: Args) -> Result<bool, Error> {
    let dir = args.dir.ok_or("--dir is required")?;
    let mut transport = HttpTransport::new(
        &args.url.ok_or("--url is required")?,
        HttpTransportConfig::default(),
    )?;
    let mut tp = load(&dir)?;
    tp.set_authoritative_time(true, now());
    tp.enroll(now(), args.regenerate.then_some(true))?;
    finish(&mut tp, &mut transport, &dir)
}

fn status(args: Args) -> Result<bool, Error> {
    let dir = args.dir.ok_or("--dir is required")?;
    let tp = load(&dir)?;
    println!("state: {}", tp.state().as_str());
    if let Some(ca) = tp.ca_cert() {
        println!("CA: {}", ca.tbs_certificate().subject());
    }
    println!(
        "rollover CA: {}",
        if tp.rollover_ca_cert().is_some() {
            "stored"
        } else {
            "none"
        }
    );
    print_cert(&tp);
    print!("{}", tp.timer_listing(now()));
    Ok(true)
}

fn run(args: Args) -> Result<bool, Error> {
    let dir = args.dir.ok_or("--dir is required")?;
    let mut transport = HttpTransport::new(
        &args.url.ok_or("--url is required")?,
        HttpTransportConfig::default(),
    )?;
    let mut tp = load(&dir)?;
    let mut rng = rng()?;
    tp.set_authoritative_time(true, now());
    let store = store(&dir);
    loop {
        while let Some(e) = tp.poll_event() {
            log(&e);
            if matches!(
                e,
                Event::Enrolled | Event::Renewed | Event::RolloverActivated
            ) {
                write_identity(&tp, &dir)?;
            }
        }
        store.save(&tp.to_bytes()?)?;
        if let Some(req) = tp.poll_request(now(), &mut rng) {
            let reply = transport.send(&req);
            tp.handle_response(reply, now(), &mut rng);
            continue;
        }
        let Some(at) = tp.poll_timeout() else {
            eprintln!("nothing left to do (no timer armed)");
            return Ok(tp.identity_cert().is_some());
        };
        let t = now();
        if at > t {
            sleep(at.saturating_since(t));
        }
        tp.handle_timeout(now());
    }
}

fn main() -> ExitCode {
    let usage = "usage: scep-client enroll --url <URL> --dir <DIR> --subject <DN> [--challenge <PW>] \
                 [--legacy-algorithms] [--ca-fingerprint <FP>] [--key-bits <N>] [--auto-enroll <P>] [--regenerate]\n\
                 \x20      scep-client renew --url <URL> --dir <DIR> [--regenerate]\n\
                 \x20      scep-client status --dir <DIR>\n\
                 \x20      scep-client run --url <URL> --dir <DIR>";
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{usage}\n{e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command.as_str() {
        "help" => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        "enroll" => enroll(args),
        "renew" => renew(args),
        "status" => status(args),
        "run" => run(args),
        other => {
            eprintln!("{usage}\nunknown command {other}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
