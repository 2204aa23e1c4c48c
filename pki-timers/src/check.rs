//! The configuration checker: timer-dependency hazards between one CA and its clients
//! (SPEC §5, H-1 … H-13).

mod display;
mod simulate;

use alloc::vec::Vec;
use core::fmt;

use self::simulate::{Break, first_break, granting, pickup};
use crate::error::LifetimeKind;
use crate::rollover::RolloverIdentityPolicy;
use crate::shadow::Overlap;
use crate::time::{Duration, Instant, Percent};

/// The CA side of a deployment, as far as timers go. Start from `Default` (IOS defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaTimerConfig {
    /// L_ca (default 1095 d).
    pub ca_lifetime: Duration,
    /// L_cert (default 365 d).
    pub cert_lifetime: Duration,
    /// L_crl (default 6 h, Q-2).
    pub crl_lifetime: Duration,
    /// L_req (default 168 h).
    pub request_lifetime: Duration,
    /// `auto-rollover` overlap O, if configured (default: off).
    pub auto_rollover: Option<Overlap>,
    /// Whether requests wait for an administrator (`grant` Manual, the IOS default).
    pub manual_grant: bool,
    /// Whether the CA's clock is authoritative (V-7).
    pub authoritative_time: bool,
    /// When the CA certificate starts, to simulate concrete enrolment chains (H-1).
    pub created_at: Option<Instant>,
    /// How long rollover identity certificates last (C-11), for chains that cross a rollover.
    pub rollover_identity: RolloverIdentityPolicy,
}

impl Default for CaTimerConfig {
    fn default() -> Self {
        Self {
            ca_lifetime: Duration::from_days(1095),
            cert_lifetime: Duration::from_days(365),
            crl_lifetime: Duration::from_hours(6),
            request_lifetime: Duration::from_hours(168),
            auto_rollover: None,
            manual_grant: true,
            authoritative_time: true,
            created_at: None,
            rollover_identity: RolloverIdentityPolicy::Balance,
        }
    }
}

/// One client (trustpoint) of a deployment. Start from `Default` (IOS defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTimerConfig {
    /// `auto-enroll [p]`; `None` = no auto-enroll, so the client arms the CA-only SHADOW
    /// (T-4) when the CA advertises `GetNextCACert` (ours always does, Q-6).
    pub auto_enroll: Option<Percent>,
    /// P (default 1 minute).
    pub retry_period: Duration,
    /// N (default 999; 0 = unlimited).
    pub retry_count: u32,
    /// Whether the client's clock is authoritative (V-7).
    pub authoritative_time: bool,
    /// When the client enrols, to simulate its chain (H-1); needs
    /// [`CaTimerConfig::created_at`].
    pub enrolled_at: Option<Instant>,
}

impl Default for ClientTimerConfig {
    fn default() -> Self {
        Self {
            auto_enroll: None,
            retry_period: Duration::from_minutes(1),
            retry_count: 999,
            authoritative_time: true,
            enrolled_at: None,
        }
    }
}

/// Knobs of the checker itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// How long an administrator is expected to take to grant a request (H-7, H-13; default
    /// 24 h).
    pub expected_grant_delay: Duration,
    /// CA generations over which concrete chains are simulated (H-1, H-12, H-13; default 1):
    /// the first failing instant is looked for from the client's enrolment until the end of
    /// generation `generations` of the CA.
    pub generations: u32,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            expected_grant_delay: Duration::from_hours(24),
            generations: 1,
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing breaks.
    Info,
    /// Works, but with a risk or a cost.
    Warning,
    /// Some client loses its certificate, or timers do not run.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// The hazards of SPEC §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Hazard {
    /// H-1: an auto-enroll client's SHADOW fires before the CA generates its rollover.
    ShadowBeforeRollover,
    /// H-2: a CA-only SHADOW (90 % of L_ca) fires before the CA generates its rollover.
    CaOnlyShadowBeforeRollover,
    /// H-3: no auto-rollover while clients depend on GetNextCACert.
    NoRollover,
    /// H-4: the overlap is as long as the CA lifetime.
    OverlapTooLong,
    /// H-5: a risky auto-enroll percentage or renewal lead time.
    Percentage,
    /// H-6: every renewal is a SHADOW.
    EveryRenewalIsShadow,
    /// H-7: a manual grant may come too late for a renewal.
    ManualGrantPickup,
    /// H-8: polling outlives the pending request.
    PollOutlivesRequest,
    /// H-9: a node without authoritative time runs no timers.
    NoAuthoritativeTime,
    /// H-10: CRL lifetime outside 1–336 h.
    CrlLifetime,
    /// H-11: a lifetime outside its range.
    LifetimeOutOfRange,
    /// H-12: auto-enroll 100 %: the SHADOW fires at the CA's expiry and can never succeed.
    RenewalAtExpiry,
    /// H-13: a manual grant is picked up too late, or never.
    GrantTooLate,
}

impl Hazard {
    /// The SPEC id, `H-1` … `H-11`.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::ShadowBeforeRollover => "H-1",
            Self::CaOnlyShadowBeforeRollover => "H-2",
            Self::NoRollover => "H-3",
            Self::OverlapTooLong => "H-4",
            Self::Percentage => "H-5",
            Self::EveryRenewalIsShadow => "H-6",
            Self::ManualGrantPickup => "H-7",
            Self::PollOutlivesRequest => "H-8",
            Self::NoAuthoritativeTime => "H-9",
            Self::CrlLifetime => "H-10",
            Self::LifetimeOutOfRange => "H-11",
            Self::RenewalAtExpiry => "H-12",
            Self::GrantTooLate => "H-13",
        }
    }

    /// How bad the hazard is (SPEC §5).
    #[must_use]
    pub const fn severity(self) -> Severity {
        match self {
            Self::ShadowBeforeRollover
            | Self::CaOnlyShadowBeforeRollover
            | Self::NoRollover
            | Self::NoAuthoritativeTime
            | Self::LifetimeOutOfRange
            | Self::RenewalAtExpiry
            | Self::GrantTooLate => Severity::Error,
            Self::OverlapTooLong
            | Self::Percentage
            | Self::ManualGrantPickup
            | Self::PollOutlivesRequest
            | Self::CrlLifetime => Severity::Warning,
            Self::EveryRenewalIsShadow => Severity::Info,
        }
    }
}

/// Which node a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// The CA.
    Ca,
    /// The client at this index of the checked slice.
    Client(usize),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ca => f.write_str("CA"),
            Self::Client(i) => write!(f, "client {i}"),
        }
    }
}

/// The concrete SHADOW that a simulated chain (T-18 method) sends too early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailingShadow {
    /// Which certificate of the chain arms it (1 = the enrolment certificate).
    pub link: u32,
    /// When it fires.
    pub at: Instant,
    /// When the CA generates its rollover certificate (T-5); later than `at`.
    pub rollover_generated_at: Instant,
}

/// Why an auto-enroll percentage is risky (H-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PercentIssue {
    /// Below 10 %: renewal almost as soon as the certificate starts (CA load).
    Low,
    /// 100 %: renewal at expiry leaves a gap.
    AtExpiry,
    /// The lead time `(100 − p) · L_cert / 100` is under 180 s.
    ShortLead,
}

/// Why a manual grant comes too late (H-13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantIssue {
    /// The polls are exhausted (retry N) before the grant.
    PollsExhausted,
    /// The request is purged (L_req) before the poll that would pick the grant up.
    Purged,
    /// The poll that picks the grant up comes at or after the expiry of the certificate
    /// being renewed.
    AfterExpiry,
}

/// What triggers a finding, with the instant or amount involved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detail {
    /// H-1: `(100 − p) · D / 100` exceeds the overlap, `D = min(L_cert, L_ca)`.
    ShadowBeforeRollover {
        /// The auto-enroll percentage.
        percent: Percent,
        /// The SHADOW lead time of the longest clamped certificate, `(100 − p) · D / 100`.
        shadow_lead: Duration,
        /// O.
        overlap: Duration,
        /// The first failing SHADOW of the simulated chain, when the CA start and the client's
        /// enrolment instant are known and its chain does fail.
        first_failing: Option<FailingShadow>,
    },
    /// H-2: the CA-only SHADOW lead `L_ca / 10` exceeds the overlap.
    CaOnlyShadowBeforeRollover {
        /// `L_ca / 10` (rounded down).
        shadow_lead: Duration,
        /// O.
        overlap: Duration,
    },
    /// H-3: how many clients depend on a rollover that is never generated.
    NoRollover {
        /// Clients using auto-enroll or the CA-only SHADOW.
        affected_clients: usize,
    },
    /// H-4: O ≥ L_ca.
    OverlapTooLong {
        /// O.
        overlap: Duration,
        /// L_ca.
        ca_lifetime: Duration,
    },
    /// H-5.
    Percentage {
        /// p.
        percent: Percent,
        /// Renewal lead time `(100 − p) · L_cert / 100`.
        lead: Duration,
        /// Which risk.
        issue: PercentIssue,
    },
    /// H-6: L_cert ≥ L_ca.
    EveryRenewalIsShadow {
        /// L_cert.
        cert_lifetime: Duration,
        /// L_ca.
        ca_lifetime: Duration,
    },
    /// H-7: the grant must come within `safe_window`, less than the expected delay.
    ManualGrantPickup {
        /// `(100 − p) · L_cert / 200`.
        safe_window: Duration,
        /// The expected administrator delay.
        expected_grant_delay: Duration,
    },
    /// H-8: polls continue past the request's purge.
    PollOutlivesRequest {
        /// L_req.
        request_lifetime: Duration,
        /// The last poll attempt inside L_req (0 = the first poll, k = retry k).
        last_attempt: u32,
        /// Its offset from the PENDING answer, `P · 2^k`.
        last_offset: Duration,
    },
    /// H-9.
    NoAuthoritativeTime,
    /// H-10.
    CrlLifetime {
        /// L_crl.
        lifetime: Duration,
    },
    /// H-11.
    LifetimeOutOfRange {
        /// Which lifetime.
        kind: LifetimeKind,
        /// Its value.
        value: Duration,
    },
    /// H-12: `p = 100`.
    RenewalAtExpiry {
        /// The simulated chain's first SHADOW: the instant its certificate lapses (the CA's
        /// expiry), when the CA start and the client's enrolment instant are known.
        first_lapse: Option<Instant>,
    },
    /// H-13: the first poll at or after the grant comes too late, or never.
    GrantTooLate {
        /// The expected administrator delay.
        grant_delay: Duration,
        /// The first poll at or after it, from the PENDING answer (T-10); `None`: the polls
        /// are exhausted before.
        pickup: Option<Duration>,
        /// Why it is too late.
        issue: GrantIssue,
        /// The simulated chain's first certificate that lapses before its renewal is picked
        /// up: its notAfter; when no request is ever picked up (polls exhausted, request
        /// purged), the enrolment instant: the client never holds a certificate.
        first_lapse: Option<Instant>,
    },
}

/// One hazard found in a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which rule.
    pub hazard: Hazard,
    /// Which node.
    pub node: Node,
    /// What triggers it.
    pub detail: Detail,
}

impl Finding {
    /// The hazard's severity.
    #[must_use]
    pub const fn severity(&self) -> Severity {
        self.hazard.severity()
    }
}

/// Checks a deployment: one CA and its clients (indexed in findings by their position in
/// `clients`). Findings come in hazard order, CA before clients.
#[must_use]
pub fn check(
    ca: &CaTimerConfig,
    clients: &[ClientTimerConfig],
    options: &CheckOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |hazard, node, detail| {
        out.push(Finding {
            hazard,
            node,
            detail,
        })
    };
    let grant_of = |client: &ClientTimerConfig| granting(ca, client, options.expected_grant_delay);
    let longest_clamped = if ca.cert_lifetime < ca.ca_lifetime {
        ca.cert_lifetime
    } else {
        ca.ca_lifetime
    };

    if let Some(overlap) = ca.auto_rollover {
        for (i, client) in clients.iter().enumerate() {
            if let Some(p) = client.auto_enroll
                && shadow_outruns_rollover(p, longest_clamped, overlap)
            {
                let grant = grant_of(client);
                let detail = Detail::ShadowBeforeRollover {
                    percent: p,
                    shadow_lead: longest_clamped.percent_remainder(p),
                    overlap: overlap.duration(),
                    first_failing: match first_break(ca, client, p, grant, options.generations) {
                        Some(Break::Shadow(s)) => Some(s),
                        _ => None,
                    },
                };
                push(Hazard::ShadowBeforeRollover, Node::Client(i), detail);
            }
        }
        let ca_only_lead = Duration::from_secs(ca.ca_lifetime.as_secs() / 10);
        // Exact: L_ca / 10 > O  <=>  L_ca > 10 · O.
        if (ca.ca_lifetime.as_secs() as u128)
            > (overlap.duration().as_secs() as u128).saturating_mul(10)
        {
            for (i, _) in clients
                .iter()
                .enumerate()
                .filter(|(_, c)| c.auto_enroll.is_none())
            {
                let detail = Detail::CaOnlyShadowBeforeRollover {
                    shadow_lead: ca_only_lead,
                    overlap: overlap.duration(),
                };
                push(Hazard::CaOnlyShadowBeforeRollover, Node::Client(i), detail);
            }
        }
    } else if !clients.is_empty() {
        push(
            Hazard::NoRollover,
            Node::Ca,
            Detail::NoRollover {
                affected_clients: clients.len(),
            },
        );
    }

    if let Some(overlap) = ca.auto_rollover
        && overlap.duration() >= ca.ca_lifetime
    {
        let detail = Detail::OverlapTooLong {
            overlap: overlap.duration(),
            ca_lifetime: ca.ca_lifetime,
        };
        push(Hazard::OverlapTooLong, Node::Ca, detail);
    }

    for (i, client) in clients.iter().enumerate() {
        let Some(p) = client.auto_enroll else {
            continue;
        };
        let lead = ca.cert_lifetime.percent_remainder(p);
        let issue = if p.get() < 10 {
            Some(PercentIssue::Low)
        } else if p == Percent::FULL {
            Some(PercentIssue::AtExpiry)
        } else if lead.as_secs() < 180 {
            Some(PercentIssue::ShortLead)
        } else {
            None
        };
        if let Some(issue) = issue {
            push(
                Hazard::Percentage,
                Node::Client(i),
                Detail::Percentage {
                    percent: p,
                    lead,
                    issue,
                },
            );
        }
    }

    if ca.cert_lifetime >= ca.ca_lifetime {
        let detail = Detail::EveryRenewalIsShadow {
            cert_lifetime: ca.cert_lifetime,
            ca_lifetime: ca.ca_lifetime,
        };
        push(Hazard::EveryRenewalIsShadow, Node::Ca, detail);
    }

    if ca.manual_grant {
        for (i, client) in clients.iter().enumerate() {
            let Some(p) = client.auto_enroll else {
                continue;
            };
            let safe_window =
                Duration::from_secs(ca.cert_lifetime.percent_remainder(p).as_secs() / 2);
            if safe_window < options.expected_grant_delay {
                let detail = Detail::ManualGrantPickup {
                    safe_window,
                    expected_grant_delay: options.expected_grant_delay,
                };
                push(Hazard::ManualGrantPickup, Node::Client(i), detail);
            }
        }
    }

    for (i, client) in clients.iter().enumerate() {
        if let Some(detail) = poll_outlives_request(client, ca.request_lifetime) {
            push(Hazard::PollOutlivesRequest, Node::Client(i), detail);
        }
    }

    if !ca.authoritative_time {
        push(
            Hazard::NoAuthoritativeTime,
            Node::Ca,
            Detail::NoAuthoritativeTime,
        );
    }
    for (i, _) in clients
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.authoritative_time)
    {
        push(
            Hazard::NoAuthoritativeTime,
            Node::Client(i),
            Detail::NoAuthoritativeTime,
        );
    }

    if LifetimeKind::Crl.check(ca.crl_lifetime).is_err() {
        push(
            Hazard::CrlLifetime,
            Node::Ca,
            Detail::CrlLifetime {
                lifetime: ca.crl_lifetime,
            },
        );
    }

    let ca_lifetimes = [
        (LifetimeKind::Certificate, ca.cert_lifetime),
        (LifetimeKind::CaCertificate, ca.ca_lifetime),
        (LifetimeKind::EnrollmentRequest, ca.request_lifetime),
    ];
    for (kind, value) in ca_lifetimes {
        if kind.check(value).is_err() {
            push(
                Hazard::LifetimeOutOfRange,
                Node::Ca,
                Detail::LifetimeOutOfRange { kind, value },
            );
        }
    }
    for (i, client) in clients.iter().enumerate() {
        if LifetimeKind::RetryPeriod
            .check(client.retry_period)
            .is_err()
        {
            let detail = Detail::LifetimeOutOfRange {
                kind: LifetimeKind::RetryPeriod,
                value: client.retry_period,
            };
            push(Hazard::LifetimeOutOfRange, Node::Client(i), detail);
        }
    }

    for (i, client) in clients.iter().enumerate() {
        if client.auto_enroll == Some(Percent::FULL) {
            let grant = grant_of(client);
            let first_lapse =
                match first_break(ca, client, Percent::FULL, grant, options.generations) {
                    Some(Break::AtExpiry(at)) => Some(at),
                    _ => None,
                };
            let detail = Detail::RenewalAtExpiry { first_lapse };
            push(Hazard::RenewalAtExpiry, Node::Client(i), detail);
        }
    }

    if ca.manual_grant {
        for (i, client) in clients.iter().enumerate() {
            let Some(p) = client.auto_enroll else {
                continue;
            };
            if let Some(detail) = grant_too_late(ca, client, p, options) {
                push(Hazard::GrantTooLate, Node::Client(i), detail);
            }
        }
    }
    out
}

/// H-13: with manual grant, the first poll at or after the expected grant delay (T-10) must
/// come before the request is purged (L_req) and before the certificate being renewed
/// expires: for an unclamped certificate that leaves `L_cert − floor(L_cert · p / 100)`, for
/// the concrete chain (when the CA start and the enrolment instant are known) each link's own
/// time to its notAfter.
fn grant_too_late(
    ca: &CaTimerConfig,
    client: &ClientTimerConfig,
    p: Percent,
    options: &CheckOptions,
) -> Option<Detail> {
    let delay = options.expected_grant_delay;
    let pickup = pickup(client, delay);
    let lead = ca.cert_lifetime.saturating_sub(ca.cert_lifetime.percent(p));
    let generic = match pickup {
        None => Some(GrantIssue::PollsExhausted),
        Some(t) if t >= ca.request_lifetime => Some(GrantIssue::Purged),
        Some(t) if t >= lead => Some(GrantIssue::AfterExpiry),
        Some(_) => None,
    };
    let first_lapse = match (generic, pickup) {
        // No request is ever picked up: the client never holds a certificate from the
        // instant it tries to enrol.
        (Some(GrantIssue::PollsExhausted | GrantIssue::Purged), _) => {
            ca.created_at.and(client.enrolled_at)
        }
        _ => match first_break(
            ca,
            client,
            p,
            granting(ca, client, delay),
            options.generations,
        ) {
            Some(Break::LateGrant(at)) => Some(at),
            _ => None,
        },
    };
    let issue = match (generic, first_lapse) {
        (Some(issue), _) => issue,
        (None, Some(_)) => GrantIssue::AfterExpiry,
        (None, None) => return None,
    };
    Some(Detail::GrantTooLate {
        grant_delay: delay,
        pickup,
        issue,
        first_lapse,
    })
}

/// H-1's rule, exact: `(100 − p) · D / 100 > O`  <=>  `(100 − p) · D > 100 · O`.
///
/// Equivalently, a certificate of span `D` ending at the CA's notAfter fires its SHADOW
/// (at `nb + floor(D · p / 100)`) strictly before `ca.na − O`.
#[must_use]
pub fn shadow_outruns_rollover(p: Percent, longest_clamped: Duration, overlap: Overlap) -> bool {
    let lead = (longest_clamped.as_secs() as u128).saturating_mul(u128::from(p.remainder()));
    lead > (overlap.duration().as_secs() as u128).saturating_mul(100)
}

/// H-8: `P · 2^N > L_req` (N = 0 is unlimited); reports the last poll inside L_req.
fn poll_outlives_request(client: &ClientTimerConfig, request_lifetime: Duration) -> Option<Detail> {
    let offset = |k: u32| {
        1u64.checked_shl(k)
            .and_then(|f| client.retry_period.checked_mul(f))
    };
    let outlives =
        client.retry_count == 0 || offset(client.retry_count).is_none_or(|o| o > request_lifetime);
    if !outlives {
        return None;
    }
    let last_attempt = (0..u64::BITS)
        .take_while(|&k| offset(k).is_some_and(|o| o <= request_lifetime))
        .last()?;
    Some(Detail::PollOutlivesRequest {
        request_lifetime,
        last_attempt,
        last_offset: offset(last_attempt).unwrap_or(Duration::ZERO),
    })
}
