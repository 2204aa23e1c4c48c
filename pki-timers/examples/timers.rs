//! Prints what `pki-timers` computes for one deployment: the CA's IOS-style timer listing
//! (T-16, T-17), a compact text timeline with one line per CA generation, each client's
//! certificate chain up to its SHADOW (T-18), and the hazard checker's findings (SPEC §5).
//!
//! With no arguments it shows the seed deployment of Cisco's rollover guide for p = 80 (safe)
//! and p = 50 (hazard H-1). Run with `--help` for the flags.

// Printing is this program's purpose.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use pki_timers::{
    CaTimerConfig, CaTimerInputs, ChainParams, CheckOptions, ClientTimerConfig, Duration, Instant,
    Overlap, Percent, RenewalChain, RenewalKind, RolloverIdentityPolicy, TimerListing, Validity,
    ca_timers, check, crl_window, rollover_ca_validity, shadow_generation_at,
};

const HELP: &str = "\
Usage: timers [OPTIONS]

Computes the CA timers, the client renewal chains and the hazard checker's findings for one
deployment. Every option defaults to the seed deployment of Cisco's rollover guide.

Options:
  --ca-lifetime <DAYS>     CA certificate lifetime L_ca            [default: 730]
  --overlap <D[:H[:M]]>    auto-rollover overlap O, or `off`       [default: 90]
  --cert-lifetime <DAYS>   issued certificate lifetime L_cert      [default: 365]
  --crl-lifetime <HOURS>   CRL lifetime L_crl                      [default: 6]
  --percent <P>            client auto-enroll percentage; repeat for several clients
                           [default: 80 and 50]
  --ca-start <RFC3339>     CA certificate notBefore                [default: 2015-10-09T12:14:16Z]
  --enrol <RFC3339>        client enrolment instant                [default: 2015-10-09T12:20:00Z]
  --now <RFC3339>          instant of the timer listing            [default: 2015-10-09T12:19:58Z]
  --manual-grant           the CA waits for an administrator (default: grant auto)
  --generations <G>        CA generations on the timeline          [default: 3]
  -h, --help               print this help
";

struct Args {
    ca_lifetime: Duration,
    overlap: Option<Overlap>,
    cert_lifetime: Duration,
    crl_lifetime: Duration,
    percents: Vec<Percent>,
    ca_start: Instant,
    enrol: Instant,
    now: Instant,
    manual_grant: bool,
    generations: u32,
}

fn parse_args() -> Result<Option<Args>, String> {
    use lexopt::prelude::*;
    let instant = |s: String| {
        Instant::from_rfc3339(&s).ok_or(format!("not an instant YYYY-MM-DDTHH:MM:SSZ: {s}"))
    };
    let number = |s: String| s.parse::<u64>().map_err(|_| format!("not a number: {s}"));
    let mut args = Args {
        ca_lifetime: Duration::from_days(730),
        overlap: Some(Overlap::new(90, 0, 0).map_err(|e| e.to_string())?),
        cert_lifetime: Duration::from_days(365),
        crl_lifetime: Duration::from_hours(6),
        percents: Vec::new(),
        ca_start: Instant::from_unix(1_444_392_856),
        enrol: Instant::from_unix(1_444_393_200),
        now: Instant::from_unix(1_444_393_198),
        manual_grant: false,
        generations: 3,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("ca-lifetime") => {
                args.ca_lifetime = Duration::from_days(number(value(&mut parser)?)?)
            }
            Long("cert-lifetime") => {
                args.cert_lifetime = Duration::from_days(number(value(&mut parser)?)?)
            }
            Long("crl-lifetime") => {
                args.crl_lifetime = Duration::from_hours(number(value(&mut parser)?)?)
            }
            Long("overlap") => args.overlap = parse_overlap(&value(&mut parser)?)?,
            Long("percent") => {
                let p = value(&mut parser)?
                    .parse::<u32>()
                    .map_err(|e| e.to_string())?;
                args.percents
                    .push(Percent::new(p).map_err(|e| e.to_string())?);
            }
            Long("ca-start") => args.ca_start = instant(value(&mut parser)?)?,
            Long("enrol") => args.enrol = instant(value(&mut parser)?)?,
            Long("now") => args.now = instant(value(&mut parser)?)?,
            Long("manual-grant") => args.manual_grant = true,
            Long("generations") => {
                args.generations = value(&mut parser)?
                    .parse()
                    .map_err(|_| "--generations: not a number".to_owned())?;
            }
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    if args.percents.is_empty() {
        args.percents = vec![
            Percent::new(80).map_err(|e| e.to_string())?,
            Percent::new(50).map_err(|e| e.to_string())?,
        ];
    }
    Ok(Some(args))
}

fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
    parser
        .value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "argument is not UTF-8".to_owned())
}

fn parse_overlap(text: &str) -> Result<Option<Overlap>, String> {
    if text == "off" {
        return Ok(None);
    }
    let mut parts = text
        .split(':')
        .map(|p| p.parse::<u64>().map_err(|_| format!("bad overlap {text}")));
    let d = parts.next().unwrap_or(Ok(0))?;
    let h = parts.next().unwrap_or(Ok(0))?;
    let m = parts.next().unwrap_or(Ok(0))?;
    Overlap::new(d, h, m).map(Some).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}

fn run(a: &Args) -> Result<(), pki_timers::TimerError> {
    let ca = Validity::starting_at(a.ca_start, a.ca_lifetime)?;
    let rollover = rollover_ca_validity(ca, a.ca_lifetime)?;

    println!("== CA timers (show crypto pki timers at {})", a.now);
    println!(
        "CA certificate [{}, {}], overlap {}",
        ca.not_before(),
        ca.not_after(),
        show_overlap(a.overlap)
    );
    let inputs = CaTimerInputs {
        active_ca: ca,
        crl_next_update: crl_window(ca.not_before(), a.crl_lifetime).next_update,
        auto_rollover: a.overlap,
        rollover_exists: false,
    };
    let mut listing = TimerListing::new("CS Timers");
    for (timer, at) in ca_timers(&inputs) {
        listing.push_instant(timer.label(), at, a.now);
    }
    print!("{listing}");
    if let Some(o) = a.overlap {
        println!(
            "rollover CA certificate generated at {}: [{}, {}]",
            shadow_generation_at(ca, o),
            rollover.not_before(),
            rollover.not_after()
        );
    }

    println!();
    print!("{}", timeline(a, ca)?);

    for &p in &a.percents {
        println!();
        println!(
            "== Client chain: auto-enroll {p}, certificates {}, enrolled {}",
            a.cert_lifetime, a.enrol
        );
        println!(" #  notBefore             notAfter              kind    fires");
        let params = ChainParams {
            ca,
            cert_lifetime: a.cert_lifetime,
            percent: p,
            enrolled_at: a.enrol,
        };
        let mut shadow = None;
        for link in RenewalChain::new(params)? {
            let clamped = if link.clamped { " (clamped)" } else { "" };
            println!(
                "{:>2}  {}  {}  {:<6}  {}{clamped}",
                link.number,
                link.validity.not_before(),
                link.validity.not_after(),
                link.kind.as_str(),
                link.fires
            );
            shadow = Some(link);
        }
        if let (Some(link), Some(o)) = (shadow, a.overlap) {
            let generated = shadow_generation_at(ca, o);
            if link.fires < generated {
                println!(
                    "SHADOW at {} comes BEFORE the rollover is generated at {generated}: GetNextCACert gets 404",
                    link.fires
                );
            } else {
                println!(
                    "SHADOW at {} comes after the rollover is generated at {generated}: ok",
                    link.fires
                );
                for policy in [
                    RolloverIdentityPolicy::Balance,
                    RolloverIdentityPolicy::FullLifetime,
                ] {
                    let v = link.rollover_identity(rollover, a.cert_lifetime, policy)?;
                    println!(
                        "rollover identity certificate ({policy:?}): [{}, {}]",
                        v.not_before(),
                        v.not_after()
                    );
                }
            }
        }

        let mut ca_cfg = CaTimerConfig::default();
        ca_cfg.ca_lifetime = a.ca_lifetime;
        ca_cfg.cert_lifetime = a.cert_lifetime;
        ca_cfg.crl_lifetime = a.crl_lifetime;
        ca_cfg.auto_rollover = a.overlap;
        ca_cfg.manual_grant = a.manual_grant;
        ca_cfg.created_at = Some(a.ca_start);
        let mut client = ClientTimerConfig::default();
        client.auto_enroll = Some(p);
        client.enrolled_at = Some(a.enrol);
        let findings = check(&ca_cfg, &[client], &CheckOptions::default());
        println!("-- checker, auto-enroll {p}: {} finding(s)", findings.len());
        for f in findings {
            println!("{f}");
        }
    }
    Ok(())
}

fn show_overlap(o: Option<Overlap>) -> String {
    o.map_or_else(|| "off".to_owned(), |o| o.to_string())
}

/// Columns of the timeline bar.
const COLUMNS: u64 = 64;

/// A compact text timeline, one line per CA generation: `.` from the rollover certificate's
/// generation (`G`) to its activation (`A`), `=` while it is the active CA, `E` where the last
/// one expires; then one line per client percentage with its RENEWs (`r`) and its SHADOW (`s`)
/// under the first CA. A SHADOW left of the next generation's `G` gets GetNextCACert 404 (H-1);
/// without auto-rollover there is no next generation at all (H-3).
fn timeline(a: &Args, first: Validity) -> Result<String, pki_timers::TimerError> {
    let mut gens = vec![first];
    // Without auto-rollover the CA expires: one generation.
    let wanted = if a.overlap.is_some() {
        a.generations.max(1)
    } else {
        1
    };
    while gens.len() < wanted as usize {
        let last = gens.last().copied().unwrap_or(first);
        gens.push(rollover_ca_validity(last, a.ca_lifetime)?);
    }
    let start = first.not_before();
    let end = gens.last().map_or(first.not_after(), |g| g.not_after());
    let span = end.saturating_since(start).as_secs().max(1);
    let col = |t: Instant| -> usize {
        let c = t.saturating_since(start).as_secs().saturating_mul(COLUMNS) / span;
        usize::try_from(c.min(COLUMNS - 1)).unwrap_or(0)
    };
    let width = usize::try_from(COLUMNS).unwrap_or(64);
    let mut out = format!(
        "== Timeline: {} CA generations, one column = {} days (G generated, . waiting, A activated, = active, E expires)\n",
        gens.len(),
        span / COLUMNS / 86_400
    );
    let mut years = vec![b' '; width];
    let first_year: i32 = start
        .to_string()
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(1970);
    let mut next_free = 0usize;
    for year in first_year + 1.. {
        let Some(t) = Instant::from_rfc3339(&format!("{year:04}-01-01T00:00:00Z")) else {
            break;
        };
        if t >= end {
            break;
        }
        let c = col(t);
        if c >= next_free && c + 4 <= width {
            years[c..c + 4].copy_from_slice(year.to_string().as_bytes());
            next_free = c + 5;
        }
    }
    out.push_str(&format!("{:<13}{}\n", "", String::from_utf8_lossy(&years)));
    for (k, g) in gens.iter().enumerate() {
        let mut bar = vec![b' '; width];
        let generated = match (k, a.overlap) {
            (0, _) => None,
            (_, Some(o)) => gens.get(k - 1).map(|prev| shadow_generation_at(*prev, o)),
            (_, None) => None,
        };
        if let Some(gen_at) = generated {
            bar[col(gen_at)..col(g.not_before())].fill(b'.');
        }
        bar[col(g.not_before())..=col(g.not_after())].fill(b'=');
        if let Some(gen_at) = generated {
            bar[col(gen_at)] = b'G';
        }
        if k > 0 {
            bar[col(g.not_before())] = b'A';
        }
        if k + 1 == gens.len() {
            bar[col(g.not_after())] = b'E';
        }
        let day = |t: Instant| t.to_string().get(..10).unwrap_or_default().to_owned();
        out.push_str(&format!(
            "{:<12}|{}| {} .. {}\n",
            format!("CA {}", k + 1),
            String::from_utf8_lossy(&bar),
            day(g.not_before()),
            day(g.not_after())
        ));
    }
    for &p in &a.percents {
        let mut bar = vec![b' '; width];
        let params = ChainParams {
            ca: first,
            cert_lifetime: a.cert_lifetime,
            percent: p,
            enrolled_at: a.enrol,
        };
        for link in RenewalChain::new(params)? {
            bar[col(link.fires)] = match link.kind {
                RenewalKind::Shadow => b's',
                _ => b'r',
            };
        }
        bar[col(a.enrol)] = b'e';
        out.push_str(&format!(
            "{:<12}|{}| e enrolled, r RENEW, s SHADOW\n",
            format!("client {p}"),
            String::from_utf8_lossy(&bar)
        ));
    }
    Ok(out)
}
