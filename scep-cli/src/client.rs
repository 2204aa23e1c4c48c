//! `scep client`: enrol this machine with a SCEP server, keep the certificate renewed, show
//! its state. Built on client-core's `Enrollment` and `Agent`; everything lives in one
//! directory (`--dir`): `trustpoint.bin` (the key, certificates and any request under way),
//! and the PEM files `key.pem` (0600), `cert.pem`, `chain.pem`, `ca.pem`, `ca-next.pem`.

mod commands;
mod exit;
mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::secrets::redact_password;
use crate::span::Span;

/// `scep client` arguments.
#[derive(Debug, Args)]
#[command(after_long_help = exit::EXIT_CODES)]
pub(crate) struct ClientArgs {
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Get a certificate: authenticate the CA, make a key (or use --key), send the request,
    /// wait while it is pending, write the PEM files. Run again after Ctrl-C or a reboot to
    /// continue the same request; on an enrolled directory it only rewrites the files.
    Enroll(EnrollArgs),
    /// Renew now (a manual renewal): a new certificate for the same subject, with the same key
    /// unless --regenerate. A renewal left pending by an earlier run is continued.
    Renew(RenewArgs),
    /// Stay resident: renew at the auto-enroll percentage, poll pending requests, install and
    /// activate the CA's rollover certificate, rewrite the PEM files and run
    /// --post-renew-command after each change. Stop with Ctrl-C or SIGTERM at any time.
    Run(RunArgs),
    /// Show the certificates (identity, CA, rollover CA, rollover identity) like IOS's
    /// `show crypto pki certificates`, and the trustpoint's state and timers.
    Status(StatusArgs),
}

/// Where the client keeps its state.
#[derive(Debug, Args)]
pub(crate) struct ClientDir {
    /// The client's directory: trustpoint.bin and the PEM files (created with mode 0700 if
    /// missing).
    #[arg(long, env = "SCEP_CLIENT_DIR", value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

/// How the CA is reached. `Debug` shows the URL without a password in its user information.
#[derive(Args)]
pub(crate) struct Connection {
    /// The SCEP URL, http:// or https:// (e.g. `https://ca.example/cgi-bin/pkiclient.exe`):
    /// every request goes to its path. After `enroll` it is remembered in DIR/url.
    #[arg(long, env = "SCEP_URL", value_name = "URL")]
    pub(crate) url: Option<String>,
    /// For https:// URLs: trust only the CA certificates in this PEM file for the server's
    /// TLS certificate [default: the operating system's trust store]. `enroll` keeps a copy
    /// in DIR/tls-roots.pem for later commands.
    #[arg(long, value_name = "PEM")]
    pub(crate) tls_ca_file: Option<PathBuf>,
    /// Give up after this long (e.g. 30m, 1h, 2d); a pending request is kept and continued
    /// by the next run.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub(crate) timeout: Span,
    /// A shell command run after new files were written (enrolment, renewal, CA rollover),
    /// e.g. 'systemctl reload nginx'. It gets SCEP_EVENT, SCEP_CERT, SCEP_KEY, SCEP_CHAIN and
    /// SCEP_CA in its environment; its failure is reported but changes nothing.
    #[arg(long, value_name = "COMMAND")]
    pub(crate) post_renew_command: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url.as_deref().map(redact_password))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("timeout", &self.timeout)
            .field("post_renew_command", &self.post_renew_command)
            .finish()
    }
}

/// `scep client enroll`.
#[derive(Debug, Args)]
#[command(after_long_help = exit::EXIT_CODES)]
pub(crate) struct EnrollArgs {
    #[command(flatten)]
    pub(crate) dir: ClientDir,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// The certificate's subject, e.g. 'CN=host.example.com,O=Example' (RFC 4514).
    #[arg(long, value_name = "DN")]
    pub(crate) subject: String,
    /// Ask for this DNS name as a subjectAltName (repeat for more).
    #[arg(long, value_name = "NAME")]
    pub(crate) san_dns: Vec<String>,
    /// Ask for this IP address as a subjectAltName (repeat for more).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) san_ip: Vec<std::net::IpAddr>,
    /// Ask for this e-mail address as a subjectAltName (repeat for more).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) san_email: Vec<String>,
    /// The CA certificate's fingerprint as its operator published it: MD5, SHA-1 or SHA-256,
    /// with or without colons or spaces, any case, optionally prefixed (sha256:…). Without
    /// it (and without --trust-on-first-use) the fingerprints are shown and you are asked.
    #[arg(
        long,
        value_name = "FINGERPRINT",
        conflicts_with = "trust_on_first_use"
    )]
    pub(crate) ca_fingerprint: Option<String>,
    /// Trust the CA certificate the URL serves without asking (only on a network path no
    /// attacker can sit on). It is pinned from then on.
    #[arg(long)]
    pub(crate) trust_on_first_use: bool,
    /// Request the certificate for this existing private key (PEM: PRIVATE KEY or RSA PRIVATE
    /// KEY) instead of generating one.
    #[arg(long, value_name = "FILE", conflicts_with = "key_bits")]
    pub(crate) key: Option<PathBuf>,
    /// Size of the generated RSA key.
    #[arg(long, default_value_t = 2048, value_name = "BITS")]
    pub(crate) key_bits: u32,
    /// A file holding the challenge password the CA's operator gave you (one line).
    #[arg(long, value_name = "FILE")]
    pub(crate) challenge_file: Option<PathBuf>,
    /// Renew automatically at this share of the certificate's lifetime (1–100) when
    /// `scep client run` is running.
    #[arg(
        long,
        default_value_t = 80,
        value_name = "PERCENT",
        conflicts_with = "no_auto_enroll"
    )]
    pub(crate) auto_enroll: u32,
    /// Never renew automatically (only `scep client renew`).
    #[arg(long)]
    pub(crate) no_auto_enroll: bool,
    /// Make a new key pair for every automatic renewal.
    #[arg(long)]
    pub(crate) regenerate: bool,
    /// Accept DES and MD5 from old servers (micromdm's scepserver, old NDES).
    #[arg(long)]
    pub(crate) legacy_algorithms: bool,
}

/// `scep client renew`.
#[derive(Debug, Args)]
#[command(after_long_help = exit::EXIT_CODES)]
pub(crate) struct RenewArgs {
    #[command(flatten)]
    pub(crate) dir: ClientDir,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Use a new key pair for this renewal.
    #[arg(long)]
    pub(crate) regenerate: bool,
}

/// `scep client run`.
#[derive(Debug, Args)]
#[command(after_long_help = exit::EXIT_CODES)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) dir: ClientDir,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// After a CA outage longer than the renewal lead time the certificate expires: enrol
    /// afresh (a new request with the stored challenge password, as `enroll` sent) as soon as
    /// the CA answers again, trying once per enrollment retry period, instead of stopping.
    /// `--reenroll-after-expiry=false` turns it off; the choice is kept in DIR/trustpoint.bin
    /// [default: as stored, off for a new trustpoint].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) reenroll_after_expiry: Option<bool>,
}

/// `scep client status`.
#[derive(Debug, Args)]
#[command(after_long_help = exit::EXIT_CODES)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) dir: ClientDir,
}

/// Runs `scep client …`; the exit code follows the table in `--help`.
pub(crate) fn run(args: ClientArgs) -> ExitCode {
    let result = match args.command {
        ClientCommand::Enroll(a) => commands::enroll(&a),
        ClientCommand::Renew(a) => commands::renew(&a),
        ClientCommand::Run(a) => commands::run(&a),
        ClientCommand::Status(a) => status::show(&a.dir.dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("scep client: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// DIR/trustpoint.bin.
pub(crate) fn record_path(dir: &Path) -> PathBuf {
    dir.join(client_core::TRUSTPOINT_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SCEP URL behind a proxy that wants basic authentication carries a password in its
    /// user information: a debug-formatted command line must not show it (S-1: the URL is
    /// otherwise only a path and a query).
    #[test]
    fn s1_connection_debug_hides_a_url_password() {
        let c = Connection {
            url: Some("https://router:Pr0xyPw@ca.example/cgi-bin/pkiclient.exe".to_owned()),
            tls_ca_file: None,
            timeout: "1h".parse().unwrap(),
            post_renew_command: None,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("Pr0xyPw"), "{shown}");
        assert!(
            shown.contains("ca.example/cgi-bin/pkiclient.exe"),
            "{shown}"
        );
    }
}
