//! `scep client enroll`, `renew` and `run`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use client_core::{
    Agent, AutoEnroll, CaCandidate, EnrollError, Enrollment, Event, FileStore, HttpTransportConfig,
    Instant, Percent, StateName, SubjectAltName, TlsRoots, Trustpoint, pem, write_identity_files,
};

use super::exit::{self, Failure};
use super::{Connection, EnrollArgs, RenewArgs, RunArgs, record_path};

/// The file that remembers the enrolment URL (so `renew` and `run` need no --url).
const URL_FILE: &str = "url";
/// A copy of the --tls-ca-file bundle, used by later commands that are not given one.
const TLS_ROOTS_FILE: &str = "tls-roots.pem";

/// Creates DIR (mode 0700) if missing.
fn ensure_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| Failure::file("create the directory", dir, &e))
}

/// The URL from --url, else DIR/url.
fn url(conn: &Connection, dir: &Path) -> Result<String, Failure> {
    if let Some(u) = &conn.url {
        return Ok(u.clone());
    }
    let path = dir.join(URL_FILE);
    match std::fs::read_to_string(&path) {
        Ok(u) => Ok(u.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::new(
            exit::ERROR,
            format!("no --url given and {} does not exist", path.display()),
        )),
        Err(e) => Err(Failure::file("read", &path, &e)),
    }
}

/// Timeouts and TLS trust for the transport: --tls-ca-file, else the copy an earlier
/// `enroll` kept in DIR, else the system's trust store.
fn http_config(conn: &Connection, dir: &Path) -> Result<HttpTransportConfig, Failure> {
    let mut config = HttpTransportConfig::default();
    let kept = dir.join(TLS_ROOTS_FILE);
    let path = match &conn.tls_ca_file {
        Some(p) => p.clone(),
        None if kept.exists() => kept,
        None => return Ok(config),
    };
    let bytes = std::fs::read(&path).map_err(|e| Failure::file("read", &path, &e))?;
    config.tls_roots = TlsRoots::from_pem(&bytes).map_err(|e| {
        Failure::new(
            exit::FILE,
            format!("TLS trust bundle {}: {e}", path.display()),
        )
    })?;
    Ok(config)
}

/// Remembers the URL and the TLS bundle in DIR for `renew` and `run` (after checking that the
/// URL is usable, so a typo is not remembered).
fn remember(conn: &Connection, dir: &Path, url: &str) -> Result<(), Failure> {
    client_core::HttpTransport::new(url, http_config(conn, dir)?)
        .map_err(|e| Failure::from(EnrollError::Transport(e)))?;
    let url_path = dir.join(URL_FILE);
    pem::write_atomic(&url_path, format!("{url}\n").as_bytes(), false)
        .map_err(|err| Failure::file("write", &url_path, &err))?;
    if let Some(src) = &conn.tls_ca_file {
        let bytes = std::fs::read(src).map_err(|e| Failure::file("read", src, &e))?;
        let kept = dir.join(TLS_ROOTS_FILE);
        pem::write_atomic(&kept, &bytes, false).map_err(|e| Failure::file("write", &kept, &e))?;
    }
    Ok(())
}

/// One line per event on standard error.
fn report(event: &Event, _tp: &Trustpoint) {
    if !matches!(event, Event::CaApprovalNeeded { .. }) {
        eprintln!("{event}");
    }
}

/// One line before every wait: while PENDING the transactionID and the next poll.
fn waiting(tp: &Trustpoint, at: Instant) {
    let id = tp
        .transaction_id()
        .map_or_else(|| String::from("?"), |t| t.as_str().to_owned());
    match tp.state() {
        StateName::Pending => eprintln!(
            "pending: the CA holds the request with transactionID {id} until its operator \
             grants it; next poll at {at}. The state is saved: Ctrl-C is safe, run the same \
             command again to continue."
        ),
        StateName::Retrying => {
            eprintln!("no usable answer for transactionID {id}; next attempt at {at}");
        }
        _ => eprintln!("next timer at {at} (`scep client status` lists them)"),
    }
}

/// The prompt for a CA certificate without a fingerprint.
fn ask(candidate: &CaCandidate) -> bool {
    eprintln!("{candidate}");
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!(
            "no --ca-fingerprint and no terminal to ask: refusing the CA certificate (give \
             --ca-fingerprint or --trust-on-first-use)"
        );
        return false;
    }
    eprint!(
        "Accept this CA certificate? Compare a fingerprint with the one its operator published [yes/no]: "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "yes" | "y")
}

/// Writes the PEM files after a change and runs the hook.
fn publish(tp: &Trustpoint, dir: &Path, event: &str, hook: Option<&str>) -> Result<(), Failure> {
    let files = write_identity_files(tp, dir).map_err(|e| {
        Failure::new(
            exit::FILE,
            format!("cannot write the PEM files in {}: {e}", dir.display()),
        )
    })?;
    let mut out = std::io::stdout().lock();
    for p in [
        &files.key,
        &files.certificate,
        &files.chain,
        &files.ca,
        &files.next_ca,
    ]
    .into_iter()
    .flatten()
    {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    drop(out);
    if let Some(cmd) = hook {
        let path = |name: &str| dir.join(name);
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("SCEP_EVENT", event)
            .env("SCEP_CERT", path(client_core::CERT_FILE))
            .env("SCEP_KEY", path(client_core::KEY_FILE))
            .env("SCEP_CHAIN", path(client_core::CHAIN_FILE))
            .env("SCEP_CA", path(client_core::CA_FILE))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("warning: --post-renew-command exited with {s}"),
            Err(e) => eprintln!("warning: cannot run --post-renew-command: {e}"),
        }
    }
    Ok(())
}

/// Prints the identity certificate's subject, serial and validity.
fn summary(tp: &Trustpoint) {
    if let Some(cert) = tp.identity_cert() {
        let tbs = cert.tbs_certificate();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "subject: {}", tbs.subject());
        let _ = writeln!(
            out,
            "serial: {}",
            super::status::hex(tbs.serial_number().as_bytes())
        );
        let _ = writeln!(out, "valid until: {}", tbs.validity().not_after);
    }
}

/// `scep client enroll`.
pub(crate) fn enroll(args: &EnrollArgs) -> Result<(), Failure> {
    let dir = &args.dir.dir;
    ensure_dir(dir)?;
    let url = url(&args.connection, dir)?;
    let mut e = Enrollment::new(&url, &args.subject)
        .http_config(http_config(&args.connection, dir)?)
        .store_in(dir)
        .deadline(args.connection.timeout.std())
        .legacy_algorithms(args.legacy_algorithms)
        .key_bits(args.key_bits)
        .on_event(report)
        .on_wait(waiting);
    e = if args.no_auto_enroll {
        e.auto_enroll(None)
    } else {
        let percent = Percent::new(args.auto_enroll).map_err(|_| {
            Failure::new(
                2,
                format!("--auto-enroll {} is not 1 to 100", args.auto_enroll),
            )
        })?;
        let mut ae = AutoEnroll::new(percent);
        ae.regenerate = args.regenerate;
        e.auto_enroll(Some(ae))
    };
    e = match (&args.ca_fingerprint, args.trust_on_first_use) {
        (Some(fp), _) => e.ca_fingerprint(
            fp.parse()
                .map_err(|err| Failure::new(2, format!("--ca-fingerprint: {err}")))?,
        ),
        (None, true) => e.approve_ca(|c| {
            eprintln!("{c}\ntrusted on first use (--trust-on-first-use)");
            true
        }),
        (None, false) => e.approve_ca(ask),
    };
    if let Some(path) = &args.key {
        let key =
            pem::read_private_key(path).map_err(|err| Failure::file("read the key", path, &err))?;
        e = e.key(key);
    }
    let sans = args
        .san_dns
        .iter()
        .map(|n| SubjectAltName::Dns(n.clone()))
        .chain(args.san_ip.iter().map(|a| SubjectAltName::Ip(*a)))
        .chain(
            args.san_email
                .iter()
                .map(|a| SubjectAltName::Email(a.clone())),
        );
    for san in sans {
        san.validate()
            .map_err(|err| Failure::new(2, err.to_string()))?;
        e = e.subject_alt_name(san);
    }
    if let Some(path) = &args.challenge_file {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Failure::file("read the challenge file", path, &err))?;
        e = e.challenge(text.trim_end_matches(['\r', '\n']));
    }
    remember(&args.connection, dir, &url)?;
    let enrolled = e.run()?;
    if enrolled.already_enrolled() {
        eprintln!(
            "already enrolled: the stored certificate is valid (use `scep client renew` for a new one)"
        );
    }
    publish(
        enrolled.trustpoint(),
        dir,
        "enrolled",
        args.connection.post_renew_command.as_deref(),
    )?;
    summary(enrolled.trustpoint());
    Ok(())
}

fn open_agent(conn: &Connection, dir: &Path) -> Result<Agent, Failure> {
    let url = url(conn, dir)?;
    let store = FileStore::new(record_path(dir));
    Agent::open_with(&url, http_config(conn, dir)?, store)
        .map(|a| a.on_wait(waiting))
        .map_err(|e| match e {
            EnrollError::NotEnrolled => Failure::new(
                exit::ERROR,
                format!(
                    "{} holds no trustpoint: run `scep client enroll` first",
                    record_path(dir).display()
                ),
            ),
            other => other.into(),
        })
}

/// `scep client renew`.
pub(crate) fn renew(args: &RenewArgs) -> Result<(), Failure> {
    let dir: PathBuf = args.dir.dir.clone();
    let mut agent = open_agent(&args.connection, &dir)?;
    let event = agent.renew(
        args.regenerate.then_some(true),
        args.connection.timeout.std(),
        report,
    )?;
    let name = match event {
        Event::Enrolled => "enrolled",
        Event::RolloverIdentityInstalled => "rollover-identity",
        _ => "renewed",
    };
    publish(
        agent.trustpoint(),
        &dir,
        name,
        args.connection.post_renew_command.as_deref(),
    )?;
    summary(agent.trustpoint());
    Ok(())
}

/// `scep client run`.
pub(crate) fn run(args: &RunArgs) -> Result<(), Failure> {
    let dir: PathBuf = args.dir.dir.clone();
    let mut agent = open_agent(&args.connection, &dir)?;
    if let Some(on) = args.reenroll_after_expiry {
        agent.set_reenroll_after_expiry(on);
    }
    let hook = args.connection.post_renew_command.clone();
    let mut failure = None;
    let result = agent.run(|event, tp| {
        report(event, tp);
        let name = match event {
            Event::Enrolled => "enrolled",
            Event::Renewed => "renewed",
            Event::RolloverCaInstalled => "rollover-ca",
            Event::RolloverActivated => "rollover-activated",
            _ => return ControlFlow::Continue(()),
        };
        match publish(tp, &dir, name, hook.as_deref()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(f) => {
                failure = Some(f);
                ControlFlow::Break(())
            }
        }
    });
    if let Some(f) = failure {
        return Err(f);
    }
    result.map_err(Failure::from)
}
