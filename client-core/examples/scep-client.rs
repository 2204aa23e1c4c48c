//! `Enrollment` as a small program: enrol once and write the PEM files.
//!
//! ```text
//! scep-client [enroll] --url <URL> --dir <DIR> --subject <DN> [--ca-fingerprint <FP>]
//!             [--challenge <PW>] [--key-bits <N>] [--legacy-algorithms]
//! ```
//!
//! Without `--ca-fingerprint` the CA is trusted on first use (its fingerprints are printed).
//! The full command-line client, with renewal, status and a resident mode, is `scep client`
//! in the scep-cli crate.

use std::process::ExitCode;

use client_core::Enrollment;

fn main() -> ExitCode {
    match enroll() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scep-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn enroll() -> Result<(), Box<dyn std::error::Error>> {
    let (mut url, mut dir, mut subject) = (None, None, None);
    let (mut fingerprint, mut challenge, mut bits, mut legacy) = (None, None, 2048, false);
    let mut args = std::env::args().skip(1).filter(|a| a != "enroll");
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--dir" => dir = Some(value()?),
            "--subject" => subject = Some(value()?),
            "--ca-fingerprint" => fingerprint = Some(value()?),
            "--challenge" => challenge = Some(value()?),
            "--key-bits" => bits = value()?.parse()?,
            "--legacy-algorithms" => legacy = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (url, dir) = (
        url.ok_or("--url is required")?,
        dir.ok_or("--dir is required")?,
    );
    std::fs::create_dir_all(&dir)?;
    let mut enrollment = Enrollment::new(&url, &subject.ok_or("--subject is required")?)
        .key_bits(bits)
        .legacy_algorithms(legacy)
        .store_in(&dir)
        .on_event(|event, _| eprintln!("{event}"));
    enrollment = match fingerprint {
        Some(fp) => enrollment.ca_fingerprint(fp.parse()?),
        None => enrollment.approve_ca(|ca| {
            eprintln!("{ca}\ntrusted on first use");
            true
        }),
    };
    if let Some(pw) = challenge {
        enrollment = enrollment.challenge(&pw);
    }
    let enrolled = enrollment.run()?;
    enrolled.write_pem_files(&dir)?;
    let tbs = enrolled.certificate().tbs_certificate();
    eprintln!(
        "enrolled: {} (valid until {})",
        tbs.subject(),
        tbs.validity().not_after
    );
    Ok(())
}
