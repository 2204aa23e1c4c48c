//! `scep-load`: SCEP enrolment load against a server over HTTP (see the benches README).
//!
//! ```text
//! scep-load --url <URL> --seconds <S> --concurrency <C> [--cipher des|3des|aes128]
//!           [--digest sha1|sha256] [--requests N] [--key-bits B] [--challenge PW] …
//! ```
//!
//! The last line on stdout is `throughput=<req/s> errors=<n> p50_ms=<x> p99_ms=<y>`.
// A command-line tool: its results go to stdout by design.
#![allow(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use benches::load::{
    self, BuildParams, LoadError, RunParams, build_messages, discover, primes_needed,
};
use rand::Rng as _;
use scep_proto::{Capability, ContentCipher, DigestAlg};

/// Pre-built requests per second of `--seconds` by default: about what the fast backend
/// sustains on 2 cores, and about 0.6 ms of pre-building each on 2 cores.
const DEFAULT_REQUESTS_PER_SECOND: u64 = 1_000;
/// Upper bound of the default (about 12 s of pre-building on 2 cores); `--requests` may go
/// beyond.
const DEFAULT_REQUESTS_MAX: u64 = 20_000;

const USAGE: &str = "\
usage: scep-load --url <URL> --seconds <S> --concurrency <C> [options]

Pre-builds N PKCSReq messages with distinct client keys (not timed), then sends them to the
SCEP URL from C connections for S seconds, each message at most once. Every answer that is
not a verified CertRep with pkiStatus SUCCESS counts as an error.

options:
  --url <URL>              http://host[:port]/path of the SCEP server (required)
  --seconds <S>            length of the timed phase (default 10)
  --concurrency <C>        connections, one thread each (default 4)
  --cipher des|3des|aes128 content encryption of the requests (default aes128)
  --digest sha1|sha256     digest of the requests and CSRs (default sha256)
  --requests <N>           messages to pre-build (default 1000 per second of --seconds,
                           at most 20000); the run stops early if they run out
  --key-bits <B>           client key size (default 1024; the server's cost depends on
                           its own key, not this one)
  --challenge <PW>         challengePassword for every CSR
  --seed <U64>             seed of the client key material (default 1)
  --build-threads <T>      threads for pre-building (default: one per core)
  --timeout <S>            longest wait for one request (default 30)
  -h, --help               this text

output: a few lines of detail, then as the last line on stdout:
  throughput=<SUCCESS answers/s, 1 decimal> errors=<n> p50_ms=<x.xx> p99_ms=<y.yy>";

/// Parsed command line.
struct Args {
    url: String,
    seconds: u64,
    concurrency: usize,
    cipher: ContentCipher,
    digest: DigestAlg,
    requests: Option<usize>,
    key_bits: usize,
    challenge: Option<String>,
    seed: u64,
    build_threads: Option<usize>,
    timeout: u64,
}

/// A command-line mistake or a failed run.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Args(#[from] lexopt::Error),
    #[error("--url is required")]
    MissingUrl,
    #[error("{flag}: {value:?} is not one of {allowed}")]
    Choice {
        flag: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("{flag} must be at least 1")]
    Zero { flag: &'static str },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            // Ignore a closed pipe (`--help | head`).
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("scep-load: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("scep-load: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(None)` for `--help`.
fn parse_args() -> Result<Option<Args>, CliError> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut url = None;
    let mut args = Args {
        url: String::new(),
        seconds: 10,
        concurrency: 4,
        cipher: ContentCipher::Aes128,
        digest: DigestAlg::Sha256,
        requests: None,
        key_bits: 1024,
        challenge: None,
        seed: 1,
        build_threads: None,
        timeout: 30,
    };
    while let Some(arg) = p.next()? {
        match arg {
            Long("url") => url = Some(p.value()?.string()?),
            Long("seconds") => args.seconds = p.value()?.parse()?,
            Long("concurrency") => args.concurrency = p.value()?.parse()?,
            Long("cipher") => {
                let v = p.value()?.string()?;
                args.cipher = match v.as_str() {
                    "des" => ContentCipher::Des,
                    "3des" => ContentCipher::Des3,
                    "aes128" => ContentCipher::Aes128,
                    _ => {
                        return Err(CliError::Choice {
                            flag: "--cipher",
                            value: v,
                            allowed: "des, 3des, aes128",
                        });
                    }
                };
            }
            Long("digest") => {
                let v = p.value()?.string()?;
                args.digest = match v.as_str() {
                    "sha1" => DigestAlg::Sha1,
                    "sha256" => DigestAlg::Sha256,
                    _ => {
                        return Err(CliError::Choice {
                            flag: "--digest",
                            value: v,
                            allowed: "sha1, sha256",
                        });
                    }
                };
            }
            Long("requests") => args.requests = Some(p.value()?.parse()?),
            Long("key-bits") => args.key_bits = p.value()?.parse()?,
            Long("challenge") => args.challenge = Some(p.value()?.string()?),
            Long("seed") => args.seed = p.value()?.parse()?,
            Long("build-threads") => args.build_threads = Some(p.value()?.parse()?),
            Long("timeout") => args.timeout = p.value()?.parse()?,
            Long("help") | Short('h') => return Ok(None),
            _ => return Err(arg.unexpected().into()),
        }
    }
    args.url = url.ok_or(CliError::MissingUrl)?;
    for (flag, n) in [
        (
            "--seconds",
            usize::try_from(args.seconds).unwrap_or(usize::MAX),
        ),
        ("--concurrency", args.concurrency),
        ("--requests", args.requests.unwrap_or(1)),
        (
            "--timeout",
            usize::try_from(args.timeout).unwrap_or(usize::MAX),
        ),
        ("--build-threads", args.build_threads.unwrap_or(1)),
    ] {
        if n == 0 {
            return Err(CliError::Zero { flag });
        }
    }
    Ok(Some(args))
}

impl Args {
    /// `--requests`, or the default sized to `--seconds`.
    fn requests(&self) -> usize {
        self.requests.unwrap_or_else(|| {
            let n = self
                .seconds
                .saturating_mul(DEFAULT_REQUESTS_PER_SECOND)
                .min(DEFAULT_REQUESTS_MAX);
            usize::try_from(n).unwrap_or(usize::MAX)
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(args: &Args) -> Result<(), CliError> {
    let mut transport = load::connect(&args.url, Duration::from_secs(args.timeout))?;
    let ca = discover(&mut transport)?;
    let caps_text = if ca.caps.is_empty() {
        "(none)".to_owned()
    } else {
        ca.caps
            .iter()
            .map(Capability::keyword)
            .collect::<Vec<_>>()
            .join(",")
    };
    eprintln!(
        "scep-load: CA {} ({} certificate{} in GetCACert), caps {caps_text}, PKIOperation by {}",
        ca.recipient.tbs_certificate().subject(),
        ca.certificates.len(),
        if ca.is_chain { "s, ca-ra" } else { "" },
        ca.caps.pki_operation_method().as_str(),
    );

    let requests = args.requests();
    let mut params = BuildParams::new(requests, unix_now());
    params.key_bits = args.key_bits;
    params.seed = args.seed;
    params.digest = args.digest;
    params.cipher = args.cipher;
    params.challenge.clone_from(&args.challenge);
    params.subject_prefix = format!("scep-load-{:08x}", rand::rng().next_u32());
    if let Some(t) = args.build_threads {
        params.threads = t;
    }
    eprintln!(
        "scep-load: pre-building {} PKCSReq ({}-bit keys from a pool of {} primes, {}, {}) \
         on {} threads",
        requests,
        args.key_bits,
        primes_needed(requests),
        args.cipher,
        digest_name(args.digest),
        params.threads,
    );
    let t0 = Instant::now();
    let messages = build_messages(&params, &ca.recipient)?;
    eprintln!(
        "scep-load: pre-built in {:.1} s; sending for {} s on {} connections",
        t0.elapsed().as_secs_f64(),
        args.seconds,
        args.concurrency
    );

    let mut run_params = RunParams::new(Duration::from_secs(args.seconds), args.concurrency);
    run_params.request_timeout = Duration::from_secs(args.timeout);
    let result = load::run(&args.url, ca.caps, &messages, &ca.certificates, run_params)?;
    if result.exhausted {
        eprintln!(
            "scep-load: all {} pre-built messages were sent after {:.2} s, before the {} s were \
             up; throughput is over the elapsed time (pass a larger --requests)",
            messages.len(),
            result.summary.elapsed.as_secs_f64(),
            args.seconds
        );
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "sent={} success={} errors={} elapsed_s={:.2} concurrency={} cipher={} digest={}",
        result.sent,
        result.summary.successes,
        result.summary.errors,
        result.summary.elapsed.as_secs_f64(),
        args.concurrency,
        args.cipher,
        digest_name(args.digest),
    )?;
    if !result.errors_by_kind.is_empty() {
        let kinds: Vec<String> = result
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        writeln!(out, "errors_by_kind: {}", kinds.join(" "))?;
    }
    writeln!(out, "{}", result.summary.line())?;
    out.flush()?;
    Ok(())
}

fn digest_name(d: DigestAlg) -> &'static str {
    match d {
        DigestAlg::Sha1 => "SHA-1",
        DigestAlg::Sha256 => "SHA-256",
        _ => "other",
    }
}
