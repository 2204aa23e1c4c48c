//! `scep`: a SCEP certificate server with IOS-style CA rollover, its admin client and CA
//! setup. See the crate README and `scep --help`.
#![forbid(unsafe_code)]

mod admin;
mod ca_files;
mod client;
mod clock;
mod init;
mod observe;
mod secrets;
mod serve;
mod settings;
mod span;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A SCEP (RFC 8894) certificate server with Cisco-IOS-style CA rollover.
#[derive(Debug, Parser)]
#[command(name = "scep", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the CA: SCEP over HTTP(S), /healthz and /metrics on TCP, admin on DIR/admin.sock.
    /// Creates the CA in DIR on first start.
    Server(serve::ServerArgs),
    /// Administer the CA that `scep server` runs on DIR (through DIR/admin.sock; only the
    /// user the server runs as may).
    Admin(admin::client::AdminArgs),
    /// Get and keep a certificate from a SCEP server (this or any other): enroll, renew, run
    /// resident, status.
    Client(client::ClientArgs),
    /// Set up a CA.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create the CA in DIR without serving it: a new key, or an existing key and
    /// certificate (--import-key, --import-cert).
    Init(init::InitArgs),
}

/// Common to every command that opens DIR.
#[derive(Debug, clap::Args)]
pub(crate) struct DirArg {
    /// The CA's directory (created with mode 0700 if missing).
    #[arg(long, env = "SCEP_DIR", value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => serve::run(args),
        Command::Admin(args) => admin::client::run(&args),
        Command::Client(args) => return client::run(args),
        Command::Ca {
            command: CaCommand::Init(args),
        } => init::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("scep: {message}");
            ExitCode::FAILURE
        }
    }
}
