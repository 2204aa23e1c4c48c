//! What a drill runs: the CA configuration, the fleet, the faults and what to print.
//!
//! [`Scenario::default`] is the seed deployment of Cisco's rollover guide (SPEC T-17, T-18):
//! CA lifetime 730 d, auto-rollover 90 d, certificates 365 d, auto-enroll 80 %, grant auto,
//! 1,000 clients through 3 CA generations, one 2-day CA outage and 10 % of the clients
//! rebooting with a request on the wire. [`Scenario::from_args`] reads the same knobs from
//! command-line flags (`drill --help`).

use std::ffi::OsString;

use pki_timers::{Duration, Instant, Overlap, Percent};

/// The seed CA's notBefore (SPEC T-17): `2015-10-09T12:14:16Z`.
pub const SEED_CA_START: Instant = Instant::from_unix(1_444_392_856);

/// What kind of trustpoint a group of clients runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// `auto-enroll <percent> [regenerate]` (K-3, K-6, K-8).
    AutoEnroll {
        /// Renewal instant as a share of the certificate lifetime (T-1).
        percent: Percent,
        /// A new key pair for every renewal (K-6).
        regenerate: bool,
    },
    /// No auto-enroll: the client only follows the CA through rollovers (T-4, K-9). Its
    /// continuity is that of its trusted CA certificate; it holds no identity certificate.
    CaOnly,
}

/// `count` clients with the same configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    /// How many clients.
    pub count: usize,
    /// Their configuration.
    pub kind: ClientKind,
}

/// Who grants enrolment requests (C-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// `grant auto`: every request with a valid proof of possession is issued at once.
    Auto,
    /// `grant manual`: an administrator grants each pending request `delay` after it arrived.
    Manual {
        /// The administrator's delay.
        delay: Duration,
    },
}

/// A time window `[start, start + length)`, as offsets from the CA's creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Offset of the first instant inside the window.
    pub start: Duration,
    /// Length of the window.
    pub length: Duration,
}

impl Window {
    /// Whether `offset` (from the CA's creation) lies inside.
    #[must_use]
    pub const fn contains(self, offset: Duration) -> bool {
        offset.as_secs() >= self.start.as_secs()
            && offset.as_secs() < self.start.saturating_add(self.length).as_secs()
    }
}

/// A share of the fleet whose clock is not authoritative during a window (T-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockLoss {
    /// Share of the clients affected, in percent (chosen with the scenario's seed).
    pub share: u32,
    /// When.
    pub window: Window,
}

/// One drill: every input. Same scenario and same seed ⇒ same run, line for line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Seed of every random choice (keys, nonces, which clients reboot).
    pub seed: u64,
    /// The CA's creation instant (its first certificate's notBefore).
    pub start: Instant,
    /// CA generations to run through: the run ends `generations × L_ca` after `start`.
    pub generations: u32,
    /// L_ca.
    pub ca_lifetime: Duration,
    /// L_cert.
    pub cert_lifetime: Duration,
    /// L_crl.
    pub crl_lifetime: Duration,
    /// L_req (the pending-request purge, T-15).
    pub request_lifetime: Duration,
    /// `auto-rollover` overlap O; `None` for no automatic rollover (H-3).
    pub overlap: Option<Overlap>,
    /// Grant mode and administrator delay.
    pub grant: Grant,
    /// The fleet.
    pub groups: Vec<Group>,
    /// Initial enrolments are spread evenly over this window after the first client, which
    /// enrols 5 min 44 s after the CA is created (the seed's 12:20:00).
    pub join_window: Duration,
    /// Client retry period P (POLL and CONNECT RETRY).
    pub retry_period: Duration,
    /// Client retry count N (0 = unlimited).
    pub retry_count: u32,
    /// The clients' K-10a jitter window: the GetCACaps refresh after an activation and the
    /// re-enrolment after a rollover cancel are spread over it.
    pub jitter: Duration,
    /// CA outages: every request in a window fails as a transport error (K-14).
    pub outages: Vec<Window>,
    /// The auto-enroll clients enrol afresh once their certificate has expired (K-5a) instead
    /// of stopping at `IdentityExpiring` (T-13). Off by default.
    pub reenroll_after_expiry: bool,
    /// Share of the clients, in percent, that reboot once with a request on the wire: the CA
    /// handles the request, the answer is lost, the client restarts from its saved state.
    pub reboot_share: u32,
    /// Windows in which some clients' clocks are not authoritative.
    pub clock_losses: Vec<ClockLoss>,
    /// The administrator cancels the CA's rollover at this offset (C-24).
    pub rollover_cancel: Option<Duration>,
    /// The administrator generates a rollover by hand at this offset (C-23).
    pub manual_rollover: Option<Duration>,
    /// Offsets at which to print the IOS-style timer listings of the CA and of client 0.
    pub listings: Vec<Duration>,
    /// RSA modulus of the CA's and the clients' keys.
    pub key_bits: u32,
    /// Distinct client keys, pre-generated and shared round-robin by the fleet (under manual
    /// grant at least one per client: C-14 counts pending requests per signer key).
    pub key_pool: usize,
    /// At most this many gaps are listed one by one (all are counted).
    pub gaps_shown: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        let percent = Percent::new(80).unwrap_or(Percent::CA_ONLY_SHADOW);
        Self {
            seed: 1,
            start: SEED_CA_START,
            generations: 3,
            ca_lifetime: Duration::from_days(730),
            cert_lifetime: Duration::from_days(365),
            crl_lifetime: Duration::from_hours(6),
            request_lifetime: Duration::from_hours(168),
            overlap: Overlap::new(90, 0, 0).ok(),
            grant: Grant::Auto,
            groups: vec![
                Group {
                    count: 900,
                    kind: ClientKind::AutoEnroll {
                        percent,
                        regenerate: false,
                    },
                },
                Group {
                    count: 100,
                    kind: ClientKind::AutoEnroll {
                        percent,
                        regenerate: true,
                    },
                },
            ],
            join_window: Duration::from_days(90),
            retry_period: Duration::from_minutes(1),
            retry_count: 999,
            jitter: Duration::from_hours(12),
            // Over the first renewals (at 80 % of 365 d) of the clients that joined on days 8 to 10.
            outages: vec![Window {
                start: Duration::from_days(300),
                length: Duration::from_days(2),
            }],
            reenroll_after_expiry: false,
            reboot_share: 10,
            clock_losses: Vec::new(),
            rollover_cancel: None,
            manual_rollover: None,
            // The seed's `show crypto pki timers` instant (12:19:58), and the day before the
            // first activation.
            listings: vec![Duration::from_secs(342), Duration::from_days(729)],
            key_bits: 1024,
            key_pool: 64,
            gaps_shown: 20,
        }
    }
}

/// Why the flags do not describe a scenario.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A flag the drill does not know, a missing value, or a value that does not parse.
    #[error("{0}")]
    Flag(String),
    /// The values parse but do not make a runnable drill.
    #[error("{0}")]
    Invalid(String),
}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        Self::Flag(e.to_string())
    }
}

/// The `--help` text.
pub const HELP: &str = "\
Usage: drill [OPTIONS]
       drill fuzz (--seconds <N> | --scenarios <N>) [--seed <S>]   (see drill fuzz --help)

Runs a SCEP CA (ca-core) and a fleet of trustpoints (client-core) through CA generations in
virtual time, in process, and checks that every client always holds a valid certificate
chaining to the CA it trusts. Without options: the seed deployment (1,000 clients, 3 CA
generations, a 2-day CA outage, 10 % of the clients rebooting mid-request).

Durations: a number and a unit, several allowed: 730d, 6h, 90m, 45s, 1d12h.
Offsets (AT) are durations after the CA's creation.

Options:
  --seed <N>                 seed of every random choice                  [default: 1]
  --start <RFC3339>          CA creation instant             [default: 2015-10-09T12:14:16Z]
  --generations <G>          CA generations to run through                [default: 3]
  --ca-lifetime <DUR>        L_ca                                         [default: 730d]
  --cert-lifetime <DUR>      L_cert                                       [default: 365d]
  --crl-lifetime <DUR>       L_crl                                        [default: 6h]
  --request-lifetime <DUR>   L_req, pending-request purge                 [default: 168h]
  --overlap <DUR|off>        auto-rollover overlap O                      [default: 90d]
  --grant <auto|manual>      grant mode                                   [default: auto]
  --grant-delay <DUR>        manual grant: the administrator's delay      [default: 1d]
  --clients <N>              fleet size, auto-enroll --percent, 10 % of them with
                             regenerate                                   [default: 1000]
  --percent <P>              auto-enroll percentage for --clients         [default: 80]
  --group <N:KIND>           a group of clients instead of --clients; KIND is pP (e.g.
                             p80), pP+regenerate, or ca-only. Repeatable.
  --join-window <DUR>        initial enrolments spread over               [default: 90d]
  --retry-period <DUR>       client P                                     [default: 1m]
  --retry-count <N>          client N (0 = unlimited)                     [default: 999]
  --jitter <DUR>             clients spread the requests that need not go out at once
                             (caps refresh after an activation, re-enrolment after a
                             rollover cancel) over this window, K-10a      [default: 12h]
  --outage <AT+DUR|none>     CA outage window; repeatable                 [default: 300d+2d]
  --reenroll-after-expiry    clients whose certificate expired (an outage longer than the
                             renewal lead time) enrol afresh when the CA answers, K-5a
  --reboot-share <PCT>       clients that reboot once mid-request         [default: 10]
  --clock-loss <PCT@AT+DUR>  clients without authoritative time in a window; repeatable
  --rollover-cancel <AT>     the administrator cancels the rollover (C-24)
  --manual-rollover <AT>     the administrator generates a rollover (C-23)
  --listing <AT|none>        print the CA's and client 0's timers; repeatable
                                                             [default: 5m42s and 729d]
  --key-bits <N>             RSA size of every key                        [default: 1024]
  --key-pool <N>             distinct pre-generated client keys           [default: 64]
  --gaps-shown <N>           gaps listed one by one                       [default: 20]

Outputs (besides the report on standard output):
  --html <FILE>              the run as a picture: one self-contained HTML page
  --events <FILE>            every event, one JSON object a line
  --json <FILE>              the report as JSON
  --threads <N>              threads running clients, 0 for one per core  [default: 0]
                             (the result is the same for any number)
  -h, --help                 print this help

While standard error is a terminal, a progress line is kept there.

Exit status: 0 when the hazard checker calls the configuration safe and no client had a gap;
1 otherwise; 2 for bad options.
";

impl Scenario {
    /// The scenario the flags describe, starting from [`Scenario::default`]; `Ok(None)` for
    /// `--help`. `args` excludes the program name.
    ///
    /// # Errors
    /// [`UsageError`] naming the offending flag or value.
    pub fn from_args<I>(args: I) -> Result<Option<Self>, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        Self::parse_with(args, &mut |_, _| Ok(false))
    }

    /// [`Scenario::from_args`], offering every long flag it does not know to `extra` first
    /// (by name without the dashes; `Ok(true)`: taken).
    pub(crate) fn parse_with<I>(
        args: I,
        extra: &mut dyn FnMut(&str, &mut lexopt::Parser) -> Result<bool, UsageError>,
    ) -> Result<Option<Self>, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use lexopt::prelude::*;
        let mut s = Self::default();
        let mut parser = lexopt::Parser::from_args(args);
        let mut clients: Option<usize> = None;
        let mut percent: Option<u32> = None;
        let mut groups: Vec<Group> = Vec::new();
        let mut outages: Option<Vec<Window>> = None;
        let mut listings: Option<Vec<Duration>> = None;
        while let Some(arg) = parser.next()? {
            match arg {
                Short('h') | Long("help") => return Ok(None),
                Long("seed") => s.seed = parser.value()?.parse()?,
                Long("start") => {
                    let text = parser.value()?.string()?;
                    s.start = Instant::from_rfc3339(&text).ok_or_else(|| {
                        UsageError::Flag(format!("--start: not RFC 3339: {text}"))
                    })?;
                }
                Long("generations") => s.generations = parser.value()?.parse()?,
                Long("ca-lifetime") => s.ca_lifetime = duration_flag(&mut parser, "ca-lifetime")?,
                Long("cert-lifetime") => {
                    s.cert_lifetime = duration_flag(&mut parser, "cert-lifetime")?;
                }
                Long("crl-lifetime") => {
                    s.crl_lifetime = duration_flag(&mut parser, "crl-lifetime")?
                }
                Long("request-lifetime") => {
                    s.request_lifetime = duration_flag(&mut parser, "request-lifetime")?;
                }
                Long("overlap") => {
                    let text = parser.value()?.string()?;
                    s.overlap = if text == "off" {
                        None
                    } else {
                        let d = parse_duration(&text).ok_or_else(|| bad_value("overlap", &text))?;
                        Some(
                            Overlap::from_duration(d)
                                .map_err(|e| UsageError::Flag(format!("--overlap {text}: {e}")))?,
                        )
                    };
                }
                Long("grant") => {
                    let text = parser.value()?.string()?;
                    s.grant = match (text.as_str(), s.grant) {
                        ("auto", _) => Grant::Auto,
                        ("manual", Grant::Manual { delay }) => Grant::Manual { delay },
                        ("manual", Grant::Auto) => Grant::Manual {
                            delay: Duration::from_days(1),
                        },
                        _ => return Err(bad_value("grant", &text)),
                    };
                }
                Long("grant-delay") => {
                    let delay = duration_flag(&mut parser, "grant-delay")?;
                    s.grant = Grant::Manual { delay };
                }
                Long("clients") => clients = Some(parser.value()?.parse()?),
                Long("percent") => percent = Some(parser.value()?.parse()?),
                Long("group") => {
                    let text = parser.value()?.string()?;
                    groups.push(parse_group(&text).ok_or_else(|| bad_value("group", &text))?);
                }
                Long("join-window") => s.join_window = duration_flag(&mut parser, "join-window")?,
                Long("retry-period") => {
                    s.retry_period = duration_flag(&mut parser, "retry-period")?
                }
                Long("retry-count") => s.retry_count = parser.value()?.parse()?,
                Long("jitter") => s.jitter = duration_flag(&mut parser, "jitter")?,
                Long("outage") => {
                    let text = parser.value()?.string()?;
                    let list = outages.get_or_insert_with(Vec::new);
                    if text != "none" {
                        list.push(parse_window(&text).ok_or_else(|| bad_value("outage", &text))?);
                    }
                }
                Long("reenroll-after-expiry") => s.reenroll_after_expiry = true,
                Long("reboot-share") => s.reboot_share = parser.value()?.parse()?,
                Long("clock-loss") => {
                    let text = parser.value()?.string()?;
                    let (share, window) = text
                        .split_once('@')
                        .and_then(|(p, w)| Some((p.parse().ok()?, parse_window(w)?)))
                        .ok_or_else(|| bad_value("clock-loss", &text))?;
                    s.clock_losses.push(ClockLoss { share, window });
                }
                Long("rollover-cancel") => {
                    s.rollover_cancel = Some(duration_flag(&mut parser, "rollover-cancel")?);
                }
                Long("manual-rollover") => {
                    s.manual_rollover = Some(duration_flag(&mut parser, "manual-rollover")?);
                }
                Long("listing") => {
                    let text = parser.value()?.string()?;
                    let list = listings.get_or_insert_with(Vec::new);
                    if text != "none" {
                        list.push(
                            parse_duration(&text).ok_or_else(|| bad_value("listing", &text))?,
                        );
                    }
                }
                Long("key-bits") => s.key_bits = parser.value()?.parse()?,
                Long("key-pool") => s.key_pool = parser.value()?.parse()?,
                Long("gaps-shown") => s.gaps_shown = parser.value()?.parse()?,
                Long(name) => {
                    let name = name.to_owned();
                    if !extra(&name, &mut parser)? {
                        return Err(UsageError::Flag(format!("invalid option '--{name}'")));
                    }
                }
                _ => return Err(arg.unexpected().into()),
            }
        }
        if !groups.is_empty() {
            if clients.is_some() || percent.is_some() {
                return Err(UsageError::Invalid(
                    "--group replaces --clients and --percent; use one or the other".into(),
                ));
            }
            s.groups = groups;
        } else if clients.is_some() || percent.is_some() {
            let p = Percent::new(percent.unwrap_or(80))
                .map_err(|e| UsageError::Flag(format!("--percent: {e}")))?;
            s.groups = fleet(clients.unwrap_or(1000), p);
        }
        if let Some(o) = outages {
            s.outages = o;
        }
        if let Some(l) = listings {
            s.listings = l;
        }
        s.validate()?;
        Ok(Some(s))
    }

    /// Checks what the flags cannot: sizes and ranges the run depends on (the CA and client
    /// configurations are checked again by `ca-core` and `client-core`).
    ///
    /// # Errors
    /// [`UsageError::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<(), UsageError> {
        let bad = |m: &str| Err(UsageError::Invalid(m.to_owned()));
        if self.generations == 0 {
            return bad("--generations must be at least 1");
        }
        if self.clients() == 0 {
            return bad("the fleet is empty");
        }
        if self.key_pool == 0 {
            return bad("--key-pool must be at least 1");
        }
        if self.reboot_share > 100 || self.clock_losses.iter().any(|c| c.share > 100) {
            return bad("shares are percentages (0-100)");
        }
        if self
            .ca_lifetime
            .checked_mul(u64::from(self.generations))
            .is_none()
        {
            return bad("--generations × --ca-lifetime overflows");
        }
        Ok(())
    }

    /// Number of clients in the fleet.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// The instant the run stops (exclusive): `start + generations × L_ca`.
    #[must_use]
    pub fn end(&self) -> Instant {
        self.start.saturating_add(Duration::from_secs(
            self.ca_lifetime
                .as_secs()
                .saturating_mul(u64::from(self.generations)),
        ))
    }

    /// The configuration of client `index` (groups in order).
    #[must_use]
    pub fn kind_of(&self, index: usize) -> Option<ClientKind> {
        let mut first = 0usize;
        for g in &self.groups {
            if index < first.saturating_add(g.count) {
                return Some(g.kind);
            }
            first = first.saturating_add(g.count);
        }
        None
    }
}

/// `n` auto-enroll clients at `percent`, every tenth with `regenerate`.
fn fleet(n: usize, percent: Percent) -> Vec<Group> {
    let regen = n / 10;
    vec![
        Group {
            count: n.saturating_sub(regen),
            kind: ClientKind::AutoEnroll {
                percent,
                regenerate: false,
            },
        },
        Group {
            count: regen,
            kind: ClientKind::AutoEnroll {
                percent,
                regenerate: true,
            },
        },
    ]
    .into_iter()
    .filter(|g| g.count > 0)
    .collect()
}

fn bad_value(flag: &str, text: &str) -> UsageError {
    UsageError::Flag(format!("--{flag}: cannot read {text:?} (see --help)"))
}

pub(crate) fn duration_flag(
    parser: &mut lexopt::Parser,
    flag: &str,
) -> Result<Duration, UsageError> {
    use lexopt::ValueExt as _;
    let text = parser.value()?.string()?;
    parse_duration(&text).ok_or_else(|| bad_value(flag, &text))
}

/// `730d`, `6h`, `1d12h`, `5m42s`: numbers each followed by one of d, h, m, s.
#[must_use]
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(digit))?,
            );
        } else {
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return None,
            };
            total = total.checked_add(number.take()?.checked_mul(unit)?)?;
        }
    }
    if number.is_some() || text.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// `300d+2d`: an offset and a length.
fn parse_window(text: &str) -> Option<Window> {
    let (start, length) = text.split_once('+')?;
    Some(Window {
        start: parse_duration(start)?,
        length: parse_duration(length)?,
    })
}

/// `250:p80`, `50:p80+regenerate`, `20:ca-only`.
fn parse_group(text: &str) -> Option<Group> {
    let (count, kind) = text.split_once(':')?;
    let count = count.parse().ok()?;
    let kind = if kind == "ca-only" {
        ClientKind::CaOnly
    } else {
        let (p, regenerate) = match kind.strip_suffix("+regenerate") {
            Some(p) => (p, true),
            None => (kind, false),
        };
        let percent = Percent::new(p.strip_prefix('p')?.parse().ok()?).ok()?;
        ClientKind::AutoEnroll {
            percent,
            regenerate,
        }
    };
    Some(Group { count, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_only() {
        assert_eq!(parse_duration("730d"), Some(Duration::from_days(730)));
        assert_eq!(parse_duration("5m42s"), Some(Duration::from_secs(342)));
        assert_eq!(parse_duration("1d12h"), Some(Duration::from_hours(36)));
        assert_eq!(parse_duration("730"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn flags_build_the_scenario() {
        let s = Scenario::from_args([
            "--group",
            "5:p50",
            "--group",
            "2:ca-only",
            "--outage",
            "none",
            "--grant-delay",
            "2d",
            "--overlap",
            "off",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.clients(), 7);
        assert_eq!(s.kind_of(6), Some(ClientKind::CaOnly));
        assert!(s.outages.is_empty());
        assert_eq!(
            s.grant,
            Grant::Manual {
                delay: Duration::from_days(2)
            }
        );
        assert_eq!(s.overlap, None);
        assert!(Scenario::from_args(["--help"]).unwrap().is_none());
        assert!(Scenario::from_args(["--bogus"]).is_err());
        assert!(Scenario::from_args(["--clients", "3", "--group", "1:p80"]).is_err());
        assert!(Scenario::from_args(["--percent", "0"]).is_err());
    }

    #[test]
    fn the_default_is_the_seed_deployment() {
        let s = Scenario::default();
        assert_eq!(s.clients(), 1000);
        assert_eq!(s.end().unix(), SEED_CA_START.unix() + 3 * 730 * 86_400);
        assert_eq!(s.start.to_string(), "2015-10-09T12:14:16Z");
    }
}
