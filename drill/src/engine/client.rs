//! One client of the fleet: its trustpoint, its own random stream and key source, its own
//! agenda, and everything it tallies. A client runs on its own through an epoch (module docs of
//! `engine`), stopping only when it needs the CA; nothing it does touches another client.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use client_core::{
    AutoEnroll, Event, HttpReply, KeySource, TransportError, Trustpoint, TrustpointConfig,
};
use der::Encode;
use pki_timers::{Duration, Instant};
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{CertValidity, Certificate, ClientRequest};

use super::coverage::Coverage;
use super::names::{event_name, is_trouble};
use crate::DrillError;
use crate::keys::ClientKeys;
use crate::report::{Gap, Wave};
use crate::scenario::{ClientKind, Grant, Scenario};
use crate::trace::{Acquired, Holding, IdentitySpan, TraceEvent};

/// Exchanges one client may make at one instant before the drill calls it a livelock.
const MAX_EXCHANGES_PER_INSTANT: u32 = 64;

/// A scripted thing a client does at an instant; at one instant they run in this order, then
/// the trustpoint's own due timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Item {
    /// The first start: authenticate, then enrol (K-2, K-5).
    Join,
    /// Clock loss `k` ends: authoritative time again (T-12).
    ClockBack(usize),
    /// Clock loss `k` starts.
    ClockLost(usize),
    /// The CA cancelled its rollover (C-24): if holding it, plan the re-enrolment.
    CancelCheck,
    /// Re-enrol from scratch, still holding the cancelled rollover CA.
    Reenrol,
    /// The administrator grants this client's requests that have waited the delay (C-15).
    Grant,
    /// Nothing to do but check coverage (the CA changed at this instant).
    Check,
}

/// What the whole fleet sees during an epoch: the CA as it is between two barriers.
pub(crate) struct View {
    /// The epoch ends before this instant.
    pub(crate) end: Instant,
    /// Index of the active CA generation in the report.
    pub(crate) generation: usize,
    /// The active CA certificate.
    pub(crate) active_der: Vec<u8>,
    /// Its fingerprint, as new trustpoints are configured with (K-2).
    pub(crate) fingerprint: String,
    /// Every CA certificate made so far, by trace index.
    pub(crate) ca_ders: Vec<Vec<u8>>,
    /// The rollover certificate the administrator cancelled, if any.
    pub(crate) cancelled: Option<Vec<u8>>,
    /// The active CA certificate's notAfter.
    pub(crate) active_not_after: Instant,
}

impl View {
    /// The trace index of a CA certificate.
    pub(crate) fn ca_index(&self, cert: &Certificate) -> Option<usize> {
        let der = cert.to_der().ok()?;
        self.ca_ders.iter().position(|d| *d == der)
    }
}

/// What a client needs from the CA before it can go on.
pub(crate) enum CaCall {
    /// One HTTP exchange.
    Http(ClientRequest),
    /// The administrator's grant of this client's due requests.
    Grant,
}

/// The CA's side of a [`CaCall`].
pub(crate) enum Answer {
    /// The HTTP answer.
    Http(HttpReply),
    /// Certificates the grant issued.
    Granted(u64),
}

/// Where a client stopped.
pub(crate) enum Step {
    /// It waits for the CA.
    Ca(CaCall),
    /// Nothing more before the epoch ends.
    Idle,
}

/// What one client counted since the engine last collected it (sums, so the order in which
/// clients are collected does not matter).
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) issued: u64,
    pub(crate) renewals: u64,
    pub(crate) shadows: u64,
    pub(crate) reboots: u64,
    pub(crate) granted: u64,
    pub(crate) refused_in_outage: u64,
    pub(crate) newly_enrolled: usize,
    pub(crate) client_events: BTreeMap<&'static str, u64>,
    pub(crate) waves: BTreeMap<(usize, &'static str), Wave>,
    pub(crate) gaps: Vec<Gap>,
}

/// A traced client's record.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) events: Vec<TraceEvent>,
    pub(crate) holdings: Vec<(Instant, Holding)>,
    pub(crate) certificates: Vec<IdentitySpan>,
}

/// One client and everything about it.
pub(crate) struct ClientSim {
    pub(crate) index: usize,
    pub(crate) kind: ClientKind,
    pub(crate) tp: Option<Trustpoint>,
    pub(crate) join: Instant,
    rng: StdRng,
    keys: Arc<ClientKeys>,
    /// The first PKIOperation at or after this instant is lost to a reboot.
    reboot_at: Option<Instant>,
    /// Clock losses this client takes part in (indexes into the scenario's list).
    pub(crate) clock_losses: Vec<usize>,
    clock_lost: bool,
    agenda: BinaryHeap<Reverse<(Instant, Item)>>,
    /// The instant being processed, or the last one processed.
    pub(crate) now: Instant,
    /// Items of the current instant not yet run.
    todo: VecDeque<Item>,
    /// A drive is under way at `now` (it resumes after the CA answers).
    driving: bool,
    /// The current instant is under way (coverage not checked yet).
    open: bool,
    exchanges: u32,
    /// The state saved before a request whose answer a reboot loses.
    saved: Option<Vec<u8>>,
    /// The operation on the wire.
    in_flight: &'static str,
    pub(crate) coverage: Coverage,
    /// (identity DER, CA DER) last checked by signature, and the outcome.
    pub(crate) chain_checked: Option<(Vec<u8>, Vec<u8>, bool)>,
    /// The notBefore of the first identity certificate (the checker's enrolment instant).
    pub(crate) first_identity: Option<Instant>,
    /// The first GetNextCACert answered 404 (an H-1 observation).
    pub(crate) first_next_ca_404: Option<Instant>,
    /// The last thing that went wrong, for gap causes.
    pub(crate) trouble: Option<String>,
    pub(crate) tally: Tally,
    pub(crate) log: Option<Log>,
    /// Requests sent (reaching the CA or lost to an outage) in the current hour since the
    /// CA's creation: (hour index, count).
    hour: (u64, u64),
    /// The hour in which it sent the most requests: (hour index, count).
    pub(crate) busiest_hour: (u64, u64),
    /// The instant at which it sent the most requests, and how many.
    pub(crate) busiest_instant: (Instant, u32),
}

/// The read-only things a client step needs.
pub(crate) struct Ctx<'a> {
    pub(crate) s: &'a Scenario,
    pub(crate) view: &'a View,
}

impl ClientSim {
    /// Client `index`, joining at `join`, with its own random stream derived from the seed.
    pub(crate) fn new(
        s: &Scenario,
        index: usize,
        join: Instant,
        keys: Arc<ClientKeys>,
        traced: bool,
    ) -> Self {
        let mut agenda = BinaryHeap::new();
        agenda.push(Reverse((join, Item::Join)));
        Self {
            index,
            kind: s.kind_of(index).unwrap_or(ClientKind::CaOnly),
            tp: None,
            join,
            rng: client_rng(s.seed, index),
            keys,
            reboot_at: None,
            clock_losses: Vec::new(),
            clock_lost: false,
            agenda,
            now: s.start,
            todo: VecDeque::new(),
            driving: false,
            open: false,
            exchanges: 0,
            saved: None,
            in_flight: "",
            coverage: Coverage::NotYet,
            chain_checked: None,
            first_identity: None,
            first_next_ca_404: None,
            trouble: None,
            tally: Tally::default(),
            log: traced.then(Log::default),
            hour: (0, 0),
            busiest_hour: (0, 0),
            busiest_instant: (s.start, 0),
        }
    }

    /// This client reboots with the first PKIOperation on the wire at or after `at`.
    pub(crate) fn set_reboot(&mut self, at: Instant) {
        self.reboot_at = Some(at);
    }

    /// Adds a scripted item.
    pub(crate) fn schedule(&mut self, at: Instant, item: Item) {
        self.agenda.push(Reverse((at, item)));
    }

    /// The next instant at which this client has anything to do: a scripted item, a trustpoint
    /// timer, or the end of its coverage (checked at that very instant).
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let item = self.agenda.peek().map(|Reverse((at, _))| *at);
        let timer = self
            .tp
            .as_ref()
            .and_then(Trustpoint::poll_timeout)
            .map(|t| t.max(self.now));
        let lapse = self.coverage.until().filter(|u| *u > self.now);
        [item, timer, lapse].into_iter().flatten().min()
    }

    /// Runs the client from where it stopped (with the CA's answer, if it waited for one)
    /// until it needs the CA again or has nothing to do before the epoch ends.
    pub(crate) fn step(
        &mut self,
        ctx: &Ctx<'_>,
        answer: Option<Answer>,
    ) -> Result<Step, DrillError> {
        if let Some(a) = answer {
            self.resume(a)?;
        }
        loop {
            if self.driving {
                if let Some(call) = self.drive(ctx)? {
                    return Ok(Step::Ca(call));
                }
                self.driving = false;
                continue;
            }
            if let Some(item) = self.todo.pop_front() {
                if let Some(call) = self.start(item, ctx)? {
                    return Ok(Step::Ca(call));
                }
                continue;
            }
            if self.open {
                let now = self.now;
                if let Some(tp) = self.tp.as_mut()
                    && tp.poll_timeout().is_some_and(|t| t <= now)
                {
                    tp.handle_timeout(now);
                    self.driving = true;
                    continue;
                }
                self.check_coverage(ctx);
                self.open = false;
            }
            match self.next_due() {
                Some(t) if t < ctx.view.end => self.begin(t),
                _ => return Ok(Step::Idle),
            }
        }
    }

    fn begin(&mut self, t: Instant) {
        if t != self.now {
            self.exchanges = 0;
        }
        self.now = t;
        let due = self.take_due(t);
        self.todo.extend(due);
        self.open = true;
    }

    /// The scripted items due at `t`, in order.
    fn take_due(&mut self, t: Instant) -> Vec<Item> {
        let mut due = Vec::new();
        while let Some(Reverse((at, item))) = self.agenda.peek().copied() {
            if at > t {
                break;
            }
            self.agenda.pop();
            due.push(item);
        }
        due
    }

    /// Whether the trustpoint stores the rollover CA certificate the administrator cancelled.
    fn holds_cancelled(&self, ctx: &Ctx<'_>) -> bool {
        self.tp.as_ref().is_some_and(|tp| {
            tp.rollover_ca_cert()
                .and_then(|c| c.to_der().ok())
                .is_some_and(|d| Some(&d) == ctx.view.cancelled.as_ref())
        })
    }

    /// Runs one scripted item; a grant needs the CA at once.
    fn start(&mut self, item: Item, ctx: &Ctx<'_>) -> Result<Option<CaCall>, DrillError> {
        let now = self.now;
        match item {
            Item::Join => {
                self.record("join", String::new());
                self.tp = Some(self.new_trustpoint(ctx)?);
                self.driving = true;
            }
            Item::ClockLost(_) | Item::ClockBack(_) => {
                let lost = matches!(item, Item::ClockLost(_));
                self.clock_lost = lost;
                if lost {
                    self.trouble = Some("clock not authoritative".to_owned());
                }
                self.record(
                    if lost { "clock lost" } else { "clock regained" },
                    String::new(),
                );
                if let Some(tp) = self.tp.as_mut() {
                    tp.set_authoritative_time(!lost, now);
                    self.driving = true;
                }
            }
            Item::CancelCheck if self.holds_cancelled(ctx) => {
                // C-24: the holder's operator re-enrols it from scratch, as the cancel event
                // asks — not all holders in the same second (K-10a): each at its trustpoint's
                // offset in the jitter window, and before the cancelled CA would activate.
                let offset = self
                    .tp
                    .as_ref()
                    .map_or(Duration::from_secs(0), Trustpoint::jitter_offset);
                let latest = Instant::from_unix(ctx.view.active_not_after.unix().saturating_sub(1));
                let at = now.saturating_add(offset).min(latest).max(now);
                self.schedule(at, Item::Reenrol);
                // At once when the offset is nil (or the activation is near).
                let due = self.take_due(now);
                self.todo.extend(due);
            }
            Item::Reenrol if self.holds_cancelled(ctx) => {
                self.record("re-enrol", "held the cancelled rollover CA".to_owned());
                self.tp = Some(self.new_trustpoint(ctx)?);
                self.trouble = Some("re-enrolled after the rollover cancel".to_owned());
                self.driving = true;
            }
            Item::CancelCheck | Item::Reenrol => {}
            Item::Grant => return Ok(Some(CaCall::Grant)),
            Item::Check => {}
        }
        Ok(None)
    }

    fn new_trustpoint(&mut self, ctx: &Ctx<'_>) -> Result<Trustpoint, DrillError> {
        let s = ctx.s;
        let mut config = TrustpointConfig::default();
        config.subject = subject_of(self.index);
        config.auto_enroll = match self.kind {
            ClientKind::AutoEnroll {
                percent,
                regenerate,
            } => {
                let mut a = AutoEnroll::new(percent);
                a.regenerate = regenerate;
                Some(a)
            }
            ClientKind::CaOnly => None,
        };
        config.retry_period = s.retry_period;
        config.retry_count = s.retry_count;
        config.key_bits = s.key_bits;
        config.jitter = s.jitter;
        config.reenroll_after_expiry = s.reenroll_after_expiry;
        config.ca_fingerprint = Some(ctx.view.fingerprint.clone());
        let mut tp = Trustpoint::new(config).map_err(|e| DrillError::Client(e.to_string()))?;
        tp.set_key_source(self.keys.clone() as Arc<dyn KeySource>);
        tp.set_authoritative_time(!self.clock_lost, self.now);
        tp.authenticate(self.now)
            .map_err(|e| DrillError::Client(e.to_string()))?;
        Ok(tp)
    }

    /// Drives the trustpoint at `now` until it has nothing to send (`None`) or sends something
    /// the CA must answer. Requests in a CA outage fail here as transport errors (K-14).
    fn drive(&mut self, ctx: &Ctx<'_>) -> Result<Option<CaCall>, DrillError> {
        let Some(mut tp) = self.tp.take() else {
            return Ok(None);
        };
        let result = self.drive_with(&mut tp, ctx);
        self.tp = Some(tp);
        result
    }

    fn drive_with(
        &mut self,
        tp: &mut Trustpoint,
        ctx: &Ctx<'_>,
    ) -> Result<Option<CaCall>, DrillError> {
        let now = self.now;
        loop {
            self.drain_events(tp, ctx);
            let Some(request) = tp.poll_request(now, &mut self.rng) else {
                if tp.poll_event_pending() {
                    continue;
                }
                return Ok(None);
            };
            self.exchanges = self.exchanges.saturating_add(1);
            if self.exchanges > self.busiest_instant.1 {
                self.busiest_instant = (now, self.exchanges);
            }
            if self.exchanges > MAX_EXCHANGES_PER_INSTANT {
                return Err(DrillError::Livelock {
                    client: self.index,
                    at: now,
                });
            }
            let operation = operation_of(&request.target);
            self.count_request(ctx);
            // The device saves its state with the request on the wire (`to_bytes` keeps it as
            // "to be sent"), the CA handles it, and the answer is lost to the reboot.
            if self.reboot_at.is_some_and(|r| r <= now) && operation == "PKIOperation" {
                self.saved = Some(
                    tp.to_bytes()
                        .map_err(|e| DrillError::Client(e.to_string()))?,
                );
            }
            let offset = now.saturating_since(ctx.s.start);
            if ctx.s.outages.iter().any(|w| w.contains(offset)) {
                self.tally.refused_in_outage = self.tally.refused_in_outage.saturating_add(1);
                self.trouble = Some("CA outage (transport errors)".to_owned());
                self.record("request", format!("{operation}: refused, CA outage"));
                match self.saved.take() {
                    Some(bytes) => *tp = self.restore(&bytes)?,
                    None => {
                        tp.handle_response(Err(TransportError::Unavailable), now, &mut self.rng);
                    }
                }
                continue;
            }
            self.in_flight = operation;
            return Ok(Some(CaCall::Http(request)));
        }
    }

    /// Counts a request sent at `now` in its hour (the retry-storm bound of the fuzzer).
    fn count_request(&mut self, ctx: &Ctx<'_>) {
        let hour = self.now.saturating_since(ctx.s.start).as_secs() / 3600;
        self.hour = if self.hour.0 == hour {
            (hour, self.hour.1.saturating_add(1))
        } else {
            (hour, 1)
        };
        if self.hour.1 > self.busiest_hour.1 {
            self.busiest_hour = self.hour;
        }
    }

    /// Takes the CA's answer to the call the client stopped at.
    fn resume(&mut self, answer: Answer) -> Result<(), DrillError> {
        match answer {
            Answer::Granted(n) => {
                self.tally.granted = self.tally.granted.saturating_add(n);
                if n > 0 {
                    self.record(
                        "granted",
                        format!("{n} certificates issued by the administrator"),
                    );
                }
            }
            Answer::Http(reply) => {
                let Some(mut tp) = self.tp.take() else {
                    return Ok(());
                };
                let lost = if self.saved.is_some() {
                    ", answer lost to a reboot"
                } else {
                    ""
                };
                self.record(
                    "request",
                    format!("{}: HTTP {}{lost}", self.in_flight, reply.status),
                );
                match self.saved.take() {
                    Some(bytes) => tp = self.restore(&bytes)?,
                    None => tp.handle_response(Ok(reply), self.now, &mut self.rng),
                }
                self.tp = Some(tp);
            }
        }
        Ok(())
    }

    /// The client comes back from a reboot: its saved state, its key source and its clock.
    fn restore(&mut self, bytes: &[u8]) -> Result<Trustpoint, DrillError> {
        let mut tp =
            Trustpoint::from_bytes(bytes).map_err(|e| DrillError::Client(e.to_string()))?;
        tp.set_key_source(self.keys.clone() as Arc<dyn KeySource>);
        tp.set_authoritative_time(!self.clock_lost, self.now);
        self.reboot_at = None;
        self.tally.reboots = self.tally.reboots.saturating_add(1);
        self.record("reboot", "restarted from its saved state".to_owned());
        Ok(tp)
    }

    fn drain_events(&mut self, tp: &mut Trustpoint, ctx: &Ctx<'_>) {
        while let Some(event) = tp.poll_event() {
            self.on_event(tp, event, ctx);
        }
    }

    fn on_event(&mut self, tp: &mut Trustpoint, event: Event, ctx: &Ctx<'_>) {
        let now = self.now;
        let wave = match &event {
            Event::Enrolled => {
                self.tally.issued = self.tally.issued.saturating_add(1);
                if self.first_identity.is_none() {
                    self.first_identity =
                        Some(tp.identity_cert().map_or(now, |id| validity_of(id).0));
                    self.tally.newly_enrolled = self.tally.newly_enrolled.saturating_add(1);
                }
                self.log_identity(tp.identity_cert(), tp.ca_cert(), Acquired::Enrolled, ctx);
                Some("initial enrolments")
            }
            Event::Renewed => {
                self.tally.issued = self.tally.issued.saturating_add(1);
                self.tally.renewals = self.tally.renewals.saturating_add(1);
                self.log_identity(tp.identity_cert(), tp.ca_cert(), Acquired::Renewed, ctx);
                Some("RENEW: certificates renewed")
            }
            Event::RolloverCaInstalled => Some("rollover CA certificate fetched"),
            Event::RolloverIdentityInstalled => {
                self.tally.issued = self.tally.issued.saturating_add(1);
                self.tally.shadows = self.tally.shadows.saturating_add(1);
                self.log_identity(
                    tp.rollover_identity_cert(),
                    tp.rollover_ca_cert(),
                    Acquired::Shadow,
                    ctx,
                );
                Some("SHADOW: rollover identity certificates")
            }
            Event::RolloverActivated => Some("rollover activated on the client"),
            Event::Pending => {
                if let Grant::Manual { delay } = ctx.s.grant {
                    self.schedule(now.saturating_add(delay), Item::Grant);
                }
                None
            }
            Event::CaApprovalNeeded { .. } => {
                // The fingerprint is configured, so this means the CA changed under us: the
                // operator approves what the CA serves (K-2 host callback).
                let _ = tp.approve_ca(true);
                None
            }
            _ => None,
        };
        let name = event_name(&event);
        *self.tally.client_events.entry(name).or_insert(0) += 1;
        if let Some(label) = wave {
            self.tally
                .waves
                .entry((ctx.view.generation, label))
                .or_insert_with(|| Wave::new(now))
                .add(now);
        }
        if is_trouble(&event) {
            self.trouble = Some(match &event {
                Event::Rejected { fail_info, .. } => format!("FAILURE {fail_info:?}"),
                _ => name.to_owned(),
            });
        }
        if self.log.is_some() {
            let detail = match &event {
                Event::Warning(warning) => warning.to_string(),
                Event::AuthenticationFailed { reason } => reason.to_string(),
                Event::Rejected { fail_info, text } => {
                    format!(
                        "{fail_info:?}{}",
                        text.as_deref()
                            .map(|t| format!(": {t}"))
                            .unwrap_or_default()
                    )
                }
                _ => String::new(),
            };
            self.record(name, detail);
        }
    }

    /// Records an installed identity certificate in the trace.
    fn log_identity(
        &mut self,
        cert: Option<&Certificate>,
        issuer: Option<&Certificate>,
        acquired: Acquired,
        ctx: &Ctx<'_>,
    ) {
        let (Some(log), Some(cert)) = (self.log.as_mut(), cert) else {
            return;
        };
        let (not_before, not_after) = validity_of(cert);
        log.certificates.push(IdentitySpan {
            not_before,
            not_after,
            ca: issuer.and_then(|c| ctx.view.ca_index(c)),
            installed: self.now,
            acquired,
        });
    }

    /// Adds an event to the trace, if the run is traced.
    pub(crate) fn record(&mut self, kind: &'static str, detail: String) {
        if let Some(log) = self.log.as_mut() {
            log.events.push(TraceEvent {
                at: self.now,
                client: Some(self.index),
                kind,
                detail,
            });
        }
    }
}

/// Client `index`'s own random stream: seeded from the scenario's seed and the index, so a
/// client's nonces and keys do not depend on what other clients did before it.
fn client_rng(seed: u64, index: usize) -> StdRng {
    let mut material = [0u8; 32];
    material[..8].copy_from_slice(&seed.to_le_bytes());
    material[8..16].copy_from_slice(&(index as u64).to_le_bytes());
    material[16..22].copy_from_slice(b"client");
    StdRng::from_seed(material)
}

/// The subject of client `index`.
pub(crate) fn subject_of(index: usize) -> String {
    format!("CN=client-{index:05},O=scep-rs drill")
}

/// The `operation=` value of a request-target.
pub(crate) fn operation_of(target: &str) -> &'static str {
    const KNOWN: [&str; 6] = [
        "GetCACert",
        "GetCACaps",
        "GetNextCACert",
        "PKIOperation",
        "GetCRL",
        "GetCert",
    ];
    let value = target
        .split_once("operation=")
        .map_or("", |(_, rest)| rest.split('&').next().unwrap_or(""));
    KNOWN.into_iter().find(|k| *k == value).unwrap_or("other")
}

/// notBefore and notAfter of a certificate.
pub(crate) fn validity_of(cert: &Certificate) -> (Instant, Instant) {
    let v = CertValidity::of(cert);
    (
        Instant::from_unix(v.not_before),
        Instant::from_unix(v.not_after),
    )
}
