//! `scep admin`: one request to the server's admin socket, its answer printed.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use super::protocol::{Answer, Request, Target};
use super::{render, socket};
use crate::DirArg;

/// `scep admin` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Print the answer as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// A request id or `all`.
fn parse_target(s: &str) -> Result<Target, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(Target::All);
    }
    s.parse()
        .map(Target::Id)
        .map_err(|_| format!("{s:?} is neither a request id nor `all`"))
}

fn parse_hex(s: &str) -> Result<u64, String> {
    let digits = s.trim_start_matches("0x").trim_start_matches("0X");
    u64::from_str_radix(digits, 16).map_err(|_| format!("{s:?} is not a hex serial"))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The CA's status and timers (`show crypto pki server` and `show crypto pki timers`).
    Status,
    /// The request table: pending, issued and rejected requests.
    Pending,
    /// Issue the certificate of a pending request (the client gets it on its next poll).
    Grant {
        /// Request id, or `all`.
        #[arg(value_parser = parse_target)]
        target: Target,
    },
    /// Reject a pending request.
    Reject {
        /// Request id, or `all`.
        #[arg(value_parser = parse_target)]
        target: Target,
    },
    /// Delete entries of the request table (any state).
    Remove {
        /// Request id, or `all`.
        #[arg(value_parser = parse_target)]
        target: Target,
    },
    /// Revoke a certificate and issue a new CRL.
    Revoke {
        /// The certificate's serial, hex.
        #[arg(value_parser = parse_hex)]
        serial: u64,
    },
    /// Generate the rollover CA now.
    Rollover,
    /// Delete the rollover CA (pending requests to it are rejected).
    RolloverCancel,
    /// A one-time enrolment password (the challengePassword of one request).
    Otp {
        /// Minutes it stays valid [default: the server's otp_default_minutes].
        #[arg(long)]
        minutes: Option<u32>,
    },
    /// The CA timers (`show crypto pki timers`).
    Timers,
}

impl Command {
    fn request(&self) -> Request {
        match *self {
            Self::Status => Request::Status,
            Self::Pending => Request::Pending,
            Self::Grant { target } => Request::Grant { target },
            Self::Reject { target } => Request::Reject { target },
            Self::Remove { target } => Request::Remove { target },
            Self::Revoke { serial } => Request::Revoke { serial },
            Self::Rollover => Request::Rollover,
            Self::RolloverCancel => Request::RolloverCancel,
            Self::Otp { minutes } => Request::Otp { minutes },
            Self::Timers => Request::Timers,
        }
    }
}

/// Sends the request and prints the answer; exit status 1 when the server refused it.
pub(crate) fn run(args: &AdminArgs) -> Result<ExitCode, String> {
    let path = socket::path(&args.dir.dir);
    let mut stream = UnixStream::connect(&path).map_err(|e| {
        format!(
            "cannot reach the server at {}: {e} (is `scep server --dir {}` running, as this user?)",
            path.display(),
            args.dir.dir.display()
        )
    })?;
    // Key generation for a rollover can take a while on a slow machine.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let mut line = serde_json::to_vec(&args.command.request()).map_err(|e| e.to_string())?;
    line.push(b'\n');
    // The server may refuse (another uid) and close before reading: its answer still waits.
    let sent = stream.write_all(&line);
    let mut answer = String::new();
    let read = BufReader::new(stream).read_line(&mut answer);
    if answer.is_empty() {
        return Err(match (sent, read) {
            (Err(e), _) => format!("sending the request: {e}"),
            (_, Err(e)) => format!("reading the answer: {e}"),
            _ => "the server closed the connection without an answer".to_owned(),
        });
    }
    let answer: Answer = serde_json::from_str(&answer)
        .map_err(|e| format!("unreadable answer from the server: {e}"))?;
    let mut out = std::io::stdout().lock();
    let (text, code) = match &answer {
        Answer::Ok(reply) if args.json => (json_line(reply)?, ExitCode::SUCCESS),
        Answer::Ok(reply) => (render::human(reply), ExitCode::SUCCESS),
        Answer::Error(e) if args.json => (json_line(&answer)?, fail(e)),
        Answer::Error(e) => (String::new(), fail(e)),
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("scep admin: {message}");
    ExitCode::FAILURE
}

fn json_line<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}
