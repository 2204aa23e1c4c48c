//! What a drill found, and how it is printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use der::Decode;
use pki_timers::{Duration, Finding, Instant};
use scep_proto::{CertValidity, Certificate};

use crate::scenario::{ClientKind, Grant, Scenario};

/// A time during which a client did not hold a valid certificate chaining to the CA it trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The client's index (its subject is `CN=client-<index>`).
    pub client: usize,
    /// First instant not covered.
    pub start: Instant,
    /// First instant covered again, or the end of the run.
    pub end: Instant,
    /// Still open when the run ended.
    pub ongoing: bool,
    /// What was wrong, and the last trouble the client had before.
    pub cause: String,
}

impl Gap {
    pub(crate) fn new(client: usize, start: Instant, end: Instant, cause: String) -> Self {
        Self {
            client,
            start,
            end,
            ongoing: false,
            cause,
        }
    }

    /// Its length.
    #[must_use]
    pub fn length(&self) -> Duration {
        self.end.saturating_since(self.start)
    }
}

/// The first and last instant of a kind of client event within one CA generation, and how
/// many there were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wave {
    /// First occurrence.
    pub first: Instant,
    /// Last occurrence.
    pub last: Instant,
    /// Occurrences.
    pub count: u64,
}

impl Wave {
    pub(crate) fn new(at: Instant) -> Self {
        Self {
            first: at,
            last: at,
            count: 0,
        }
    }

    pub(crate) fn add(&mut self, at: Instant) {
        self.first = self.first.min(at);
        self.last = self.last.max(at);
        self.count = self.count.saturating_add(1);
    }

    /// Both waves as one.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.count = self.count.saturating_add(other.count);
    }
}

/// One CA generation: its certificate, what the CA did and what the fleet did meanwhile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    /// The CA certificate's serial (decimal) and validity, as text.
    pub certificate: String,
    /// When it became the active CA.
    pub since: Instant,
    /// CA-side events with their instants (creation or activation first).
    pub events: Vec<(Instant, String)>,
    /// Client-side waves, by label.
    pub waves: Vec<(&'static str, Wave)>,
    /// CRLs issued while it was active.
    pub crls: u64,
}

impl Generation {
    pub(crate) fn from_der(der: &[u8], since: Instant, what: &str) -> Self {
        let certificate = Certificate::from_der(der).map_or_else(
            |e| format!("undecodable CA certificate: {e}"),
            |c| {
                let v = CertValidity::of(&c);
                let (nb, na) = (
                    Instant::from_unix(v.not_before),
                    Instant::from_unix(v.not_after),
                );
                let serial: u64 = c
                    .tbs_certificate()
                    .serial_number()
                    .as_bytes()
                    .iter()
                    .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b));
                format!("CA certificate serial {serial}, valid {nb} .. {na}")
            },
        );
        Self {
            certificate,
            since,
            events: vec![(since, what.to_owned())],
            waves: Vec::new(),
            crls: 0,
        }
    }
}

/// Requests that reached the CA, by hour and by operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Requests per hour since the CA's creation (hour index → count).
    pub per_hour: BTreeMap<u64, u64>,
    /// Requests per SCEP operation.
    pub per_operation: BTreeMap<&'static str, u64>,
    /// GetNextCACert answered 404 (no rollover yet).
    pub next_ca_404: u64,
    /// Requests that failed because the CA was down (never reached it).
    pub refused_in_outage: u64,
    /// Pending requests purged by the CA (T-15).
    pub purged: u64,
}

impl Load {
    pub(crate) fn count(&mut self, operation: &'static str, offset: Duration) {
        *self.per_hour.entry(offset.as_secs() / 3600).or_insert(0) += 1;
        *self.per_operation.entry(operation).or_insert(0) += 1;
    }

    /// Every request that reached the CA.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.per_operation.values().sum()
    }

    /// The busiest hour: its index since the CA's creation and its request count.
    #[must_use]
    pub fn peak(&self) -> Option<(u64, u64)> {
        self.per_hour
            .iter()
            .max_by_key(|(h, n)| (**n, core::cmp::Reverse(**h)))
            .map(|(h, n)| (*h, *n))
    }
}

/// Whether the checker's H-1 prediction for one client came true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// The client.
    pub client: usize,
    /// The instant the checker says the first SHADOW fails (GetNextCACert finds no rollover).
    pub predicted: Instant,
    /// The first GetNextCACert 404 the client actually got.
    pub observed: Option<Instant>,
}

impl Prediction {
    /// Prediction and observation agree to the second.
    #[must_use]
    pub fn agrees(&self) -> bool {
        self.observed == Some(self.predicted)
    }
}

/// Everything a drill found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The scenario, described in one paragraph.
    pub setup: String,
    /// Clients in the fleet.
    pub clients: usize,
    /// CA generations, in order.
    pub generations: Vec<Generation>,
    /// Certificates the fleet received: enrolments, renewals and SHADOWs.
    pub issued: u64,
    /// RENEW successes (K-7).
    pub renewals: u64,
    /// SHADOW successes: rollover identity certificates installed (K-8).
    pub shadows: u64,
    /// Requests the administrator granted (manual grant).
    pub granted: u64,
    /// Clients that rebooted with a request on the wire.
    pub reboots: u64,
    /// Clients re-enrolled from scratch after a rollover cancel.
    pub reenrolled_after_cancel: usize,
    /// Client events by name.
    pub client_events: BTreeMap<&'static str, u64>,
    /// Load on the CA.
    pub load: Load,
    /// Every gap, by start.
    pub gaps: Vec<Gap>,
    /// The IOS-style timer listings asked for.
    pub listings: Vec<String>,
    /// The hazard checker's findings for this CA and fleet (SPEC §5).
    pub findings: Vec<Finding>,
    /// The H-1 predictions with a concrete failing SHADOW, and what happened.
    pub predictions: Vec<Prediction>,
    /// Clients whose GetNextCACert got a 404 although no finding predicted it.
    pub unpredicted_404: Vec<usize>,
    /// The H-12 and H-13 predictions of the instant a client's certificate lapses, and the
    /// start of the client's first gap.
    pub lapse_predictions: Vec<Prediction>,
    /// The CA's status report at the end (C-28).
    pub ca_status: String,
    /// The most requests one client sent in one hour (reaching the CA or lost to an outage):
    /// (client, hour index since the CA's creation, requests); the first such client.
    pub busiest_client_hour: Option<(usize, u64, u64)>,
    /// The most requests one client sent at one instant: (client, instant, requests).
    pub busiest_client_instant: Option<(usize, Instant, u64)>,
    gaps_shown: usize,
}

impl Report {
    pub(crate) fn new(s: &Scenario) -> Self {
        Self {
            setup: describe(s),
            clients: s.clients(),
            generations: Vec::new(),
            issued: 0,
            renewals: 0,
            shadows: 0,
            granted: 0,
            reboots: 0,
            reenrolled_after_cancel: 0,
            client_events: BTreeMap::new(),
            load: Load::default(),
            gaps: Vec::new(),
            listings: Vec::new(),
            findings: Vec::new(),
            predictions: Vec::new(),
            unpredicted_404: Vec::new(),
            lapse_predictions: Vec::new(),
            ca_status: String::new(),
            busiest_client_hour: None,
            busiest_client_instant: None,
            gaps_shown: s.gaps_shown,
        }
    }

    /// Total seconds without coverage, over all gaps.
    #[must_use]
    pub fn gap_seconds(&self) -> u64 {
        self.gaps.iter().map(|g| g.length().as_secs()).sum()
    }

    /// The checker finds no error (SPEC §5 severity `error`) in this configuration.
    #[must_use]
    pub fn checker_calls_safe(&self) -> bool {
        self.findings
            .iter()
            .all(|f| f.severity() < pki_timers::Severity::Error)
    }

    /// Every H-1, H-12 and H-13 prediction came true and no SHADOW failed unpredicted.
    #[must_use]
    pub fn predictions_agree(&self) -> bool {
        self.predictions.iter().all(Prediction::agrees)
            && self.lapse_predictions.iter().all(Prediction::agrees)
            && self.unpredicted_404.is_empty()
    }

    /// The process exit status: 0 only when the checker calls the configuration safe and no
    /// client had a gap.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        i32::from(!(self.checker_calls_safe() && self.gaps.is_empty()))
    }

    /// The closing line, exactly:
    /// `clients=<n> generations=<g> issued=<n> renewals=<n> shadows=<n> gaps=<n>
    /// gap_seconds=<n> peak_requests_per_hour=<n>`.
    #[must_use]
    pub fn summary_line(&self) -> String {
        format!(
            "clients={} generations={} issued={} renewals={} shadows={} gaps={} gap_seconds={} \
             peak_requests_per_hour={}",
            self.clients,
            self.generations.len(),
            self.issued,
            self.renewals,
            self.shadows,
            self.gaps.len(),
            self.gap_seconds(),
            self.load.peak().map_or(0, |(_, n)| n)
        )
    }

    /// The whole report as printed by the `drill` binary; the summary line is the last line.
    #[must_use]
    pub fn render(&self, start: Instant) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "{}", self.setup);
        self.render_checker(&mut o);
        for l in &self.listings {
            let _ = write!(o, "\n{l}");
        }
        self.render_timeline(&mut o);
        self.render_load(&mut o, start);
        self.render_gaps(&mut o);
        let _ = writeln!(
            o,
            "\n== CA status at the end\n{}",
            self.ca_status.trim_end()
        );
        let verdict = match (self.checker_calls_safe(), self.gaps.is_empty()) {
            (true, true) => "the checker calls this configuration safe and no client had a gap",
            (true, false) => {
                "the checker calls this configuration safe, yet clients had gaps (see above)"
            }
            (false, true) => "the checker flags this configuration; no client had a gap",
            (false, false) => "the checker flags this configuration and clients had gaps",
        };
        let _ = writeln!(o, "\nverdict: {verdict}");
        let _ = writeln!(o, "{}", self.summary_line());
        o
    }

    fn render_checker(&self, o: &mut String) {
        let _ = writeln!(o, "\n== Hazard checker (SPEC §5)");
        if self.findings.is_empty() {
            let _ = writeln!(o, "no findings");
        }
        // One line per hazard and severity with the number of nodes and one example.
        let mut seen: BTreeMap<(pki_timers::Severity, &'static str), (usize, String)> =
            BTreeMap::new();
        for f in &self.findings {
            let e = seen
                .entry((f.severity(), f.hazard.id()))
                .or_insert_with(|| (0, f.to_string()));
            e.0 = e.0.saturating_add(1);
        }
        for ((_, _), (count, example)) in seen.iter().rev() {
            let _ = writeln!(o, "{example}");
            if *count > 1 {
                let _ = writeln!(o, "  (and {} more nodes alike)", count.saturating_sub(1));
            }
        }
        if !self.predictions.is_empty() || !self.unpredicted_404.is_empty() {
            let agree = self.predictions.iter().filter(|p| p.agrees()).count();
            let _ = writeln!(
                o,
                "H-1 prediction vs drill: {} clients with a predicted failing SHADOW, {agree} \
                 observed at the predicted second, {} unpredicted GetNextCACert 404s",
                self.predictions.len(),
                self.unpredicted_404.len()
            );
            for p in self.predictions.iter().filter(|p| !p.agrees()).take(5) {
                let seen = p.observed.map_or("never".to_owned(), |t| t.to_string());
                let _ = writeln!(
                    o,
                    "  client {}: predicted {}, observed {seen}",
                    p.client, p.predicted
                );
            }
        }
        if !self.lapse_predictions.is_empty() {
            let agree = self.lapse_predictions.iter().filter(|p| p.agrees()).count();
            let _ = writeln!(
                o,
                "H-12/H-13 prediction vs drill: {} clients with a predicted lapse, {agree} \
                 whose first gap starts at the predicted second",
                self.lapse_predictions.len()
            );
            for p in self
                .lapse_predictions
                .iter()
                .filter(|p| !p.agrees())
                .take(5)
            {
                let seen = p.observed.map_or("no gap".to_owned(), |t| t.to_string());
                let _ = writeln!(
                    o,
                    "  client {}: predicted {}, first gap {seen}",
                    p.client, p.predicted
                );
            }
        }
    }

    fn render_timeline(&self, o: &mut String) {
        let _ = writeln!(o, "\n== Timeline by CA generation");
        for (k, g) in self.generations.iter().enumerate() {
            let _ = writeln!(o, "generation {}: {}", k.saturating_add(1), g.certificate);
            for (at, text) in &g.events {
                let _ = writeln!(o, "  {at}  {text}");
            }
            for (label, w) in &g.waves {
                let _ = writeln!(o, "  {} .. {}  {label}: {}", w.first, w.last, w.count);
            }
            let _ = writeln!(o, "  CRLs issued: {}", g.crls);
        }
    }

    fn render_load(&self, o: &mut String, start: Instant) {
        let l = &self.load;
        let hours = l
            .per_hour
            .keys()
            .next_back()
            .map_or(1, |h| h.saturating_add(1));
        let _ = writeln!(o, "\n== Load on the CA");
        let _ = writeln!(
            o,
            "requests: {} over {} hours, {:.2} per hour on average",
            l.total(),
            hours,
            l.total() as f64 / hours as f64
        );
        if let Some((h, n)) = l.peak() {
            let at = start.saturating_add(Duration::from_hours(h));
            let _ = writeln!(o, "peak hour: {n} requests, starting {at}");
        }
        let ops: Vec<String> = l
            .per_operation
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(o, "by operation: {}", ops.join(", "));
        let _ = writeln!(
            o,
            "GetNextCACert 404s: {}; requests lost to CA outages: {}; pending requests purged: {}",
            l.next_ca_404, l.refused_in_outage, l.purged
        );
        let events: Vec<String> = self
            .client_events
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(o, "client events: {}", events.join(", "));
        let _ = writeln!(
            o,
            "reboots with a request on the wire: {}; granted by the administrator: {}; \
             re-enrolled after a rollover cancel: {}",
            self.reboots, self.granted, self.reenrolled_after_cancel
        );
    }

    fn render_gaps(&self, o: &mut String) {
        let _ = writeln!(o, "\n== Continuity (every client, every instant)");
        if self.gaps.is_empty() {
            let _ = writeln!(
                o,
                "no gaps: every client held a valid certificate chaining to the CA it trusts \
                 from its first enrolment to the end"
            );
            return;
        }
        for g in self.gaps.iter().take(self.gaps_shown) {
            let _ = writeln!(
                o,
                "gap client={} start={} end={}{} length={} cause: {}",
                g.client,
                g.start,
                g.end,
                if g.ongoing { " (end of run)" } else { "" },
                g.length(),
                g.cause
            );
        }
        if self.gaps.len() > self.gaps_shown {
            let _ = writeln!(
                o,
                "... and {} more gaps",
                self.gaps.len().saturating_sub(self.gaps_shown)
            );
        }
    }
}

fn describe(s: &Scenario) -> String {
    let groups: Vec<String> = s
        .groups
        .iter()
        .map(|g| match g.kind {
            ClientKind::AutoEnroll {
                percent,
                regenerate,
            } => format!(
                "{} auto-enroll {percent}{}",
                g.count,
                if regenerate { " regenerate" } else { "" }
            ),
            ClientKind::CaOnly => format!("{} CA-only SHADOW", g.count),
        })
        .collect();
    let overlap = s
        .overlap
        .map_or("off".to_owned(), |o| o.duration().to_string());
    let grant = match s.grant {
        Grant::Auto => "auto".to_owned(),
        Grant::Manual { delay } => format!("manual, administrator delay {delay}"),
    };
    let outages: Vec<String> = s
        .outages
        .iter()
        .map(|w| format!("{} for {}", s.start.saturating_add(w.start), w.length))
        .collect();
    format!(
        "drill: CA created {start}, lifetime {lca}, auto-rollover {overlap}, certificates {lc}, \
         CRL {lcrl}, grant {grant}; {n} clients ({groups}) joining over {join}; \
         {g} CA generations until {end}\n\
         faults: CA outages [{outages}]; {reboot} % of clients reboot once mid-request; \
         {clock} clock-loss windows\n\
         keys: {pool} pre-generated {bits}-bit RSA client keys shared round-robin by the fleet and \
         a {bits}-bit CA key (RSA key generation would otherwise dominate the run); seed {seed}",
        start = s.start,
        lca = s.ca_lifetime,
        lc = s.cert_lifetime,
        lcrl = s.crl_lifetime,
        n = s.clients(),
        groups = groups.join(", "),
        join = s.join_window,
        g = s.generations,
        end = s.end(),
        outages = outages.join(", "),
        reboot = s.reboot_share,
        clock = s.clock_losses.len(),
        pool = crate::keys::pool_size(s),
        bits = s.key_bits,
        seed = s.seed,
    )
}
