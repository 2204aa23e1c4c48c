//! The drill itself: one CA, a fleet of trustpoints, one virtual clock.
//!
//! The clock jumps from one instant to the next at which anything is due (a CA timer, a
//! client timer, a scripted fault or administrator action) and never sleeps. At each instant
//! the CA's timers fire first, then the scripted actions and client wake-ups in the order they
//! were scheduled; then every client is checked against the continuity invariant. Between two
//! instants nothing changes but the passing of time, so a client's coverage ends exactly at the
//! `notAfter` it held: gaps are exact to the second, not sampled.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use ca_core::{Ca, CaConfig, CaEvent, GrantMode, MemoryStore, RequestSelector, RequestStatus};
use client_core::{
    AutoEnroll, Event, HttpReply, KeySource, TransportError, Trustpoint, TrustpointConfig,
};
use der::Encode;
use pki_timers::{Duration, Instant};
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{CertValidity, Certificate, ClientRequest, Profile, PublicKey};

use crate::keys::KeyPool;
use crate::report::{Gap, Generation, Load, Report, Wave};
use crate::scenario::{ClientKind, Grant, Scenario};
use crate::{DrillError, checker};

/// Exchanges one client may make at one instant before the drill calls it a livelock.
const MAX_EXCHANGES_PER_INSTANT: u32 = 64;

/// Something scheduled at an instant; ties run in scheduling order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// A client's first start: authenticate, then enrol (K-2, K-5).
    Join(usize),
    /// A client's own timer (`poll_timeout`).
    Wake(usize),
    /// The administrator grants every request pending for the configured delay (C-15).
    Grant,
    /// Clock loss `k` starts: the chosen clients lose authoritative time (T-12).
    ClockLost(usize),
    /// Clock loss `k` ends.
    ClockBack(usize),
    /// The administrator cancels the rollover (C-24).
    Cancel,
    /// The administrator generates a rollover (C-23).
    ManualRollover,
    /// Timer listing `k` is printed.
    Listing(usize),
}

/// Whether a client holds a valid certificate chaining to the CA it trusts.
#[derive(Clone, Debug)]
enum Coverage {
    /// Before the first enrolment (or authentication, for a CA-only client).
    NotYet,
    /// Covered until this instant (exclusive) unless something changes.
    Until(Instant),
    /// Not covered since this instant, for this reason.
    Gap { since: Instant, cause: String },
}

struct Client {
    kind: ClientKind,
    tp: Option<Trustpoint>,
    join: Instant,
    /// The first PKIOperation at or after this instant is lost to a reboot.
    reboot_at: Option<Instant>,
    /// Clock losses this client takes part in (indexes into the scenario's list).
    clock_losses: Vec<usize>,
    clock_lost: bool,
    scheduled: Option<Instant>,
    coverage: Coverage,
    /// Changed at the current instant: coverage must be recomputed.
    dirty: bool,
    /// (identity DER, CA DER) last checked by signature, and the outcome.
    chain_checked: Option<(Vec<u8>, Vec<u8>, bool)>,
    /// The notBefore of the first identity certificate (the checker's enrolment instant).
    first_identity: Option<Instant>,
    /// The first GetNextCACert answered 404 (an H-1 observation).
    first_next_ca_404: Option<Instant>,
    /// The last thing that went wrong, for gap causes.
    trouble: Option<String>,
}

struct Drill<'s> {
    s: &'s Scenario,
    rng: StdRng,
    ca: Ca<MemoryStore>,
    pool: Arc<KeyPool>,
    clients: Vec<Client>,
    agenda: BinaryHeap<Reverse<(Instant, u64, Action)>>,
    seq: u64,
    now: Instant,
    generation: usize,
    active_der: Vec<u8>,
    report: Report,
    load: Load,
    waves: BTreeMap<(usize, &'static str), Wave>,
    /// The rollover CA certificate, while one exists (to find its holders on a cancel).
    rollover_der: Option<Vec<u8>>,
}

/// Runs the scenario to its end and reports what happened.
///
/// # Errors
/// [`DrillError`] when the scenario's CA or client configuration is refused, the CA's store
/// fails, or a client livelocks; a gap is not an error but a finding of the report.
pub fn run(s: &Scenario) -> Result<Report, DrillError> {
    s.validate().map_err(DrillError::Scenario)?;
    let mut rng = StdRng::seed_from_u64(s.seed);
    let pool = Arc::new(KeyPool::generate(s.key_pool, s.key_bits, s.seed)?);
    let ca = Ca::open(ca_config(s), MemoryStore::new(), s.start, true, &mut rng)
        .map_err(DrillError::Ca)?;
    let active_der = ca.ca_certificate_der();
    let mut drill = Drill {
        s,
        rng,
        ca,
        pool,
        clients: Vec::new(),
        agenda: BinaryHeap::new(),
        seq: 0,
        now: s.start,
        generation: 0,
        active_der,
        report: Report::new(s),
        load: Load::default(),
        waves: BTreeMap::new(),
        rollover_der: None,
    };
    drill.report.generations.push(Generation::from_der(
        &drill.active_der,
        s.start,
        "CA created",
    ));
    drill.plan();
    drill.run_to_end()?;
    Ok(drill.finish())
}

fn ca_config(s: &Scenario) -> CaConfig {
    let mut c = CaConfig::default();
    c.name = "DRILLCA".to_owned();
    c.issuer_name = "CN=DRILLCA,O=scep-rs drill".to_owned();
    c.lifetime_ca_certificate = s.ca_lifetime;
    c.lifetime_certificate = s.cert_lifetime;
    c.lifetime_crl = s.crl_lifetime;
    c.lifetime_enrollment_request = s.request_lifetime;
    c.auto_rollover = s.overlap;
    c.grant = match s.grant {
        Grant::Auto => GrantMode::Auto,
        Grant::Manual { .. } => GrantMode::Manual,
    };
    c.key_bits = s.key_bits;
    c
}

impl Drill<'_> {
    fn schedule(&mut self, at: Instant, action: Action) {
        self.seq = self.seq.saturating_add(1);
        self.agenda.push(Reverse((at, self.seq, action)));
    }

    fn at_offset(&self, d: Duration) -> Instant {
        self.s.start.saturating_add(d)
    }

    /// Builds the fleet and the agenda of scripted actions.
    fn plan(&mut self) {
        let s = self.s;
        let n = s.clients();
        let end = s.end();
        // Which clients reboot or lose their clock: drawn once, in client order.
        let span = end.saturating_since(s.start).as_secs().max(1);
        // The seed's client enrols at 12:20:00, 344 s after the CA.
        let first_join = self.at_offset(Duration::from_secs(344));
        let step = s.join_window.as_secs() / u64::try_from(n).unwrap_or(u64::MAX).max(1);
        for i in 0..n {
            let kind = s.kind_of(i).unwrap_or(ClientKind::CaOnly);
            let join = first_join.saturating_add(Duration::from_secs(
                step.saturating_mul(u64::try_from(i).unwrap_or(u64::MAX)),
            ));
            let reboot_at = (percent_draw(&mut self.rng) < s.reboot_share).then(|| {
                let offset = rand::Rng::next_u64(&mut self.rng) % span;
                s.start.saturating_add(Duration::from_secs(offset))
            });
            let clock_losses = (0..s.clock_losses.len())
                .filter(|&k| {
                    percent_draw(&mut self.rng) < s.clock_losses.get(k).map_or(0, |c| c.share)
                })
                .collect();
            self.clients.push(Client {
                kind,
                tp: None,
                join,
                reboot_at,
                clock_losses,
                clock_lost: false,
                scheduled: None,
                coverage: Coverage::NotYet,
                dirty: false,
                chain_checked: None,
                first_identity: None,
                first_next_ca_404: None,
                trouble: None,
            });
            self.schedule(join, Action::Join(i));
        }
        for (k, loss) in s.clock_losses.iter().enumerate() {
            self.schedule(self.at_offset(loss.window.start), Action::ClockLost(k));
            let back = loss.window.start.saturating_add(loss.window.length);
            self.schedule(self.at_offset(back), Action::ClockBack(k));
        }
        if let Some(at) = s.rollover_cancel {
            self.schedule(self.at_offset(at), Action::Cancel);
        }
        if let Some(at) = s.manual_rollover {
            self.schedule(self.at_offset(at), Action::ManualRollover);
        }
        for (k, at) in s.listings.iter().enumerate() {
            self.schedule(self.at_offset(*at), Action::Listing(k));
        }
    }

    fn run_to_end(&mut self) -> Result<(), DrillError> {
        let end = self.s.end();
        loop {
            let next_action = self.agenda.peek().map(|Reverse((at, _, _))| *at);
            let next_ca = self.ca.next_wakeup();
            let Some(t) = [next_action, next_ca].into_iter().flatten().min() else {
                break;
            };
            if t >= end {
                break;
            }
            self.now = t;
            if next_ca.is_some_and(|c| c <= t) {
                let events = self.ca.on_timer(t, &mut self.rng).map_err(DrillError::Ca)?;
                for e in events {
                    self.on_ca_event(&e);
                }
            }
            while let Some(Reverse((at, _, action))) = self.agenda.peek().copied() {
                if at > t {
                    break;
                }
                self.agenda.pop();
                self.dispatch(action)?;
            }
            self.check_all();
        }
        Ok(())
    }

    fn dispatch(&mut self, action: Action) -> Result<(), DrillError> {
        let now = self.now;
        match action {
            Action::Join(i) => {
                let tp = self.new_trustpoint(i)?;
                if let Some(c) = self.clients.get_mut(i) {
                    c.tp = Some(tp);
                }
                self.drive(i)?;
            }
            Action::Wake(i) => {
                let Some(c) = self.clients.get_mut(i) else {
                    return Ok(());
                };
                if c.scheduled != Some(now) {
                    return Ok(()); // superseded by a later reschedule
                }
                c.scheduled = None;
                if let Some(tp) = c.tp.as_mut() {
                    tp.handle_timeout(now);
                }
                self.drive(i)?;
            }
            Action::Grant => self.grant_due()?,
            Action::ClockLost(k) | Action::ClockBack(k) => {
                let lost = matches!(action, Action::ClockLost(_));
                for i in 0..self.clients.len() {
                    let Some(c) = self.clients.get_mut(i) else {
                        continue;
                    };
                    if !c.clock_losses.contains(&k) {
                        continue;
                    }
                    c.clock_lost = lost;
                    if lost {
                        c.trouble = Some("clock not authoritative".to_owned());
                    }
                    if let Some(tp) = c.tp.as_mut() {
                        tp.set_authoritative_time(!lost, now);
                        self.drive(i)?;
                    }
                }
                let what = if lost { "lost" } else { "regained" };
                let count = self
                    .clients
                    .iter()
                    .filter(|c| c.clock_losses.contains(&k))
                    .count();
                self.note(format!("{count} clients {what} authoritative time"));
            }
            Action::Cancel => match self.ca.rollover_cancel(now) {
                Ok(event) => {
                    self.on_ca_event(&event);
                    self.recover_after_cancel()?;
                }
                Err(e) => self.note(format!("administrator: rollover cancel refused: {e}")),
            },
            Action::ManualRollover => match self.ca.rollover(now, &mut self.rng) {
                Ok(event) => self.on_ca_event(&event),
                Err(e) => self.note(format!("administrator: rollover refused: {e}")),
            },
            Action::Listing(_) => self.listing(),
        }
        Ok(())
    }

    fn new_trustpoint(&mut self, i: usize) -> Result<Trustpoint, DrillError> {
        let s = self.s;
        let kind = self.clients.get(i).map_or(ClientKind::CaOnly, |c| c.kind);
        let mut config = TrustpointConfig::default();
        config.subject = format!("CN=client-{i:05},O=scep-rs drill");
        config.auto_enroll = match kind {
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
        config.ca_fingerprint = Some(self.ca.status(self.now).fingerprint);
        let mut tp = Trustpoint::new(config).map_err(|e| DrillError::Client(e.to_string()))?;
        tp.set_key_source(self.pool.clone() as Arc<dyn KeySource>);
        let authoritative = self.clients.get(i).is_none_or(|c| !c.clock_lost);
        tp.set_authoritative_time(authoritative, self.now);
        tp.authenticate(self.now)
            .map_err(|e| DrillError::Client(e.to_string()))?;
        Ok(tp)
    }

    /// Runs client `i` until it has nothing to send at this instant, then re-arms its wake-up.
    fn drive(&mut self, i: usize) -> Result<(), DrillError> {
        let now = self.now;
        let Some(mut tp) = self.clients.get_mut(i).and_then(|c| c.tp.take()) else {
            return Ok(());
        };
        let mut exchanges = 0u32;
        let result = loop {
            self.drain_events(i, &mut tp);
            let Some(request) = tp.poll_request(now, &mut self.rng) else {
                if tp.poll_event_pending() {
                    continue;
                }
                break Ok(());
            };
            exchanges = exchanges.saturating_add(1);
            if exchanges > MAX_EXCHANGES_PER_INSTANT {
                break Err(DrillError::Livelock { client: i, at: now });
            }
            let reboot = self.clients.get(i).is_some_and(|c| {
                c.reboot_at.is_some_and(|r| r <= now) && request.target.contains("PKIOperation")
            });
            // The device saves its state with the request on the wire (`to_bytes` keeps it as
            // "to be sent"), the CA handles it, and the answer is lost to the reboot.
            let saved = if reboot {
                Some(
                    tp.to_bytes()
                        .map_err(|e| DrillError::Client(e.to_string()))?,
                )
            } else {
                None
            };
            let reply = self.exchange(i, &request);
            if let Some(bytes) = saved {
                tp = self.restore(i, &bytes)?;
                continue;
            }
            tp.handle_response(reply, now, &mut self.rng);
        };
        self.drain_events(i, &mut tp);
        let next = tp.poll_timeout().map(|t| t.max(now));
        if let Some(c) = self.clients.get_mut(i) {
            c.tp = Some(tp);
            c.dirty = true;
            if next != c.scheduled {
                c.scheduled = next;
                if let Some(at) = next {
                    self.schedule(at, Action::Wake(i));
                }
            }
        }
        result
    }

    /// The client comes back from a reboot: its saved state, its key source and its clock.
    fn restore(&mut self, i: usize, bytes: &[u8]) -> Result<Trustpoint, DrillError> {
        let mut tp =
            Trustpoint::from_bytes(bytes).map_err(|e| DrillError::Client(e.to_string()))?;
        tp.set_key_source(self.pool.clone() as Arc<dyn KeySource>);
        let lost = self.clients.get(i).is_some_and(|c| c.clock_lost);
        tp.set_authoritative_time(!lost, self.now);
        if let Some(c) = self.clients.get_mut(i) {
            c.reboot_at = None;
        }
        self.report.reboots = self.report.reboots.saturating_add(1);
        Ok(tp)
    }

    /// One request to the CA, unless an outage is on (then a transport failure, K-14).
    fn exchange(&mut self, i: usize, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        let now = self.now;
        let offset = now.saturating_since(self.s.start);
        if self.s.outages.iter().any(|w| w.contains(offset)) {
            self.load.refused_in_outage = self.load.refused_in_outage.saturating_add(1);
            if let Some(c) = self.clients.get_mut(i) {
                c.trouble = Some("CA outage (transport errors)".to_owned());
            }
            return Err(TransportError::Unavailable);
        }
        let answer = self.ca.handle(
            request.method.as_str(),
            &request.target,
            &request.body,
            now,
            &mut self.rng,
        );
        let operation = operation_of(&request.target);
        self.load
            .count(operation, now.saturating_since(self.s.start));
        if operation == "GetNextCACert" && answer.status == 404 {
            self.load.next_ca_404 = self.load.next_ca_404.saturating_add(1);
            if let Some(c) = self.clients.get_mut(i) {
                c.first_next_ca_404.get_or_insert(now);
                c.trouble = Some("GetNextCACert 404: no rollover CA yet".to_owned());
            }
        }
        Ok(HttpReply {
            status: answer.status,
            content_type: Some(answer.content_type.to_owned()),
            body: answer.body,
        })
    }

    fn drain_events(&mut self, i: usize, tp: &mut Trustpoint) {
        while let Some(event) = tp.poll_event() {
            self.on_client_event(i, tp, event);
        }
    }

    fn on_client_event(&mut self, i: usize, tp: &mut Trustpoint, event: Event) {
        let now = self.now;
        let wave = match &event {
            Event::Enrolled => {
                let r = &mut self.report;
                r.issued = r.issued.saturating_add(1);
                if let Some(c) = self.clients.get_mut(i) {
                    c.first_identity.get_or_insert_with(|| {
                        tp.identity_cert().map_or(now, |id| validity_of(id).0)
                    });
                }
                Some("initial enrolments")
            }
            Event::Renewed => {
                let r = &mut self.report;
                r.issued = r.issued.saturating_add(1);
                r.renewals = r.renewals.saturating_add(1);
                Some("RENEW: certificates renewed")
            }
            Event::RolloverCaInstalled => Some("rollover CA certificate fetched"),
            Event::RolloverIdentityInstalled => {
                let r = &mut self.report;
                r.issued = r.issued.saturating_add(1);
                r.shadows = r.shadows.saturating_add(1);
                Some("SHADOW: rollover identity certificates")
            }
            Event::RolloverActivated => Some("rollover activated on the client"),
            Event::Pending => {
                if let Grant::Manual { delay } = self.s.grant {
                    self.schedule(now.saturating_add(delay), Action::Grant);
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
        *self.report.client_events.entry(name).or_insert(0) += 1;
        if let Some(label) = wave {
            self.waves
                .entry((self.generation, label))
                .or_insert_with(|| Wave::new(now))
                .add(now);
        }
        if is_trouble(&event)
            && let Some(c) = self.clients.get_mut(i)
        {
            c.trouble = Some(match &event {
                Event::Rejected { fail_info, .. } => format!("FAILURE {fail_info:?}"),
                _ => name.to_owned(),
            });
        }
    }

    fn on_ca_event(&mut self, event: &CaEvent) {
        let now = self.now;
        let text = match event {
            CaEvent::CrlUpdated { .. } => {
                if let Some(g) = self.report.generations.get_mut(self.generation) {
                    g.crls = g.crls.saturating_add(1);
                }
                return;
            }
            CaEvent::RolloverGenerated { serial, not_after } => {
                self.rollover_der = self.ca.rollover_certificate_der();
                format!("shadow CA certificate generated: serial {serial}, valid until {not_after}")
            }
            CaEvent::RolloverActivated { serial } => {
                self.rollover_der = None;
                self.active_der = self.ca.ca_certificate_der();
                self.generation = self.generation.saturating_add(1);
                self.report.generations.push(Generation::from_der(
                    &self.active_der,
                    now,
                    &format!("rollover CA (serial {serial}) activated"),
                ));
                self.dirty_all();
                return;
            }
            CaEvent::Expired => {
                self.dirty_all();
                "CA certificate expired without a rollover: the CA stops".to_owned()
            }
            CaEvent::RolloverCancelled { rejected, issued } => {
                self.dirty_all();
                format!(
                    "administrator cancelled the rollover: {rejected} pending requests rejected, \
                     {issued} rollover certificates void"
                )
            }
            CaEvent::RequestsPurged { count } => {
                self.load.purged = self.load.purged.saturating_add(*count as u64);
                return;
            }
            _ => format!("{event:?}"),
        };
        self.note(text);
    }

    fn note(&mut self, text: String) {
        if let Some(g) = self.report.generations.get_mut(self.generation) {
            g.events.push((self.now, text));
        }
    }

    fn dirty_all(&mut self) {
        for c in &mut self.clients {
            c.dirty = true;
        }
    }

    /// C-24 leaves clients holding the cancelled rollover CA (and maybe a rollover identity
    /// it issued): they would activate a CA that no longer exists. Their operators re-enrol
    /// them from scratch (new trustpoint: authenticate, enrol), as the C-24 event asks.
    fn recover_after_cancel(&mut self) -> Result<(), DrillError> {
        let Some(cancelled) = self.rollover_der.take() else {
            return Ok(());
        };
        let mut count = 0usize;
        for i in 0..self.clients.len() {
            let holds = self
                .clients
                .get(i)
                .and_then(|c| c.tp.as_ref())
                .is_some_and(|tp| {
                    tp.rollover_ca_cert()
                        .and_then(|c| c.to_der().ok())
                        .is_some_and(|d| d == cancelled)
                });
            if !holds {
                continue;
            }
            count = count.saturating_add(1);
            let tp = self.new_trustpoint(i)?;
            if let Some(c) = self.clients.get_mut(i) {
                c.tp = Some(tp);
                c.trouble = Some("re-enrolled after the rollover cancel".to_owned());
            }
            self.drive(i)?;
        }
        self.report.reenrolled_after_cancel =
            self.report.reenrolled_after_cancel.saturating_add(count);
        self.note(format!(
            "{count} clients held the cancelled rollover CA and were re-enrolled from scratch"
        ));
        Ok(())
    }

    /// The administrator grants what has waited `delay` (C-15).
    fn grant_due(&mut self) -> Result<(), DrillError> {
        let Grant::Manual { delay } = self.s.grant else {
            return Ok(());
        };
        let due: Vec<u64> = self
            .ca
            .list_pending()
            .into_iter()
            .filter(|p| p.status == RequestStatus::Pending)
            .filter(|p| p.created.saturating_add(delay) <= self.now)
            .map(|p| p.id)
            .collect();
        for id in due {
            match self
                .ca
                .grant(RequestSelector::Id(id), self.now, &mut self.rng)
            {
                Ok(serials) => {
                    self.report.granted = self.report.granted.saturating_add(serials.len() as u64);
                }
                Err(e) => self.note(format!("administrator: grant of request {id} refused: {e}")),
            }
        }
        Ok(())
    }

    fn listing(&mut self) {
        let now = self.now;
        let mut text = format!(
            "== Timers at {now} (CA created + {})\n{}",
            now.saturating_since(self.s.start),
            self.ca.timer_listing(now)
        );
        match self.clients.first().and_then(|c| c.tp.as_ref()) {
            Some(tp) => text.push_str(&format!("client 0:\n{}", tp.timer_listing(now))),
            None => text.push_str("client 0: not started yet\n"),
        }
        self.report.listings.push(text);
    }

    // ---------------------------------------------------------------- continuity invariant

    /// After every instant: each client's coverage, exact to the second (module docs).
    fn check_all(&mut self) {
        let now = self.now;
        for i in 0..self.clients.len() {
            let Some(c) = self.clients.get(i) else {
                continue;
            };
            let due = match &c.coverage {
                Coverage::Until(until) => *until <= now,
                Coverage::NotYet | Coverage::Gap { .. } => false,
            };
            if !(c.dirty || due) {
                continue;
            }
            let current = self.covered_until(i);
            let Some(c) = self.clients.get_mut(i) else {
                continue;
            };
            c.dirty = false;
            let coverage = c.coverage.clone();
            let next = match (&coverage, current) {
                (Coverage::NotYet, Some(u)) => Coverage::Until(u),
                (Coverage::NotYet, None) => Coverage::NotYet,
                (Coverage::Until(old), Some(u)) if *old >= now => Coverage::Until(u),
                (Coverage::Until(old), Some(u)) => {
                    // Lapsed at `old`, unseen because nothing happened in between, and
                    // covered again now.
                    let gap = Gap::new(i, *old, now, self.cause(i, *old));
                    self.report.gaps.push(gap);
                    Coverage::Until(u)
                }
                (Coverage::Until(old), None) => Coverage::Gap {
                    since: (*old).min(now),
                    cause: self.cause(i, (*old).min(now)),
                },
                (Coverage::Gap { since, cause }, Some(u)) => {
                    self.report
                        .gaps
                        .push(Gap::new(i, *since, now, cause.clone()));
                    Coverage::Until(u)
                }
                (g @ Coverage::Gap { .. }, None) => g.clone(),
            };
            if let Some(c) = self.clients.get_mut(i) {
                c.coverage = next;
            }
        }
    }

    /// Until when client `i` is covered from now on, if it is covered now: its trusted CA
    /// certificate is the CA's active one and valid, and (auto-enroll clients) its identity
    /// certificate is valid and signed by that CA key.
    fn covered_until(&mut self, i: usize) -> Option<Instant> {
        let now = self.now;
        let c = self.clients.get_mut(i)?;
        let tp = c.tp.as_ref()?;
        let ca = tp.ca_cert()?;
        let ca_der = ca.to_der().ok()?;
        if ca_der != self.active_der {
            return None;
        }
        let (ca_nb, ca_na) = validity_of(ca);
        if now < ca_nb || now >= ca_na {
            return None;
        }
        if c.kind == ClientKind::CaOnly {
            return Some(ca_na);
        }
        let id = tp.identity_cert()?;
        let (nb, na) = validity_of(id);
        if now < nb || now >= na {
            return None;
        }
        let id_der = id.to_der().ok()?;
        let chains = match &c.chain_checked {
            Some((d, a, ok)) if *d == id_der && *a == ca_der => *ok,
            _ => {
                // The chain half of the invariant: the rollover CA has the same name as the
                // old one, so only the signature tells them apart.
                let ok = PublicKey::from_certificate(ca)
                    .and_then(|key| key.verify_certificate(id, &Profile::STRICT))
                    .is_ok();
                c.chain_checked = Some((id_der, ca_der, ok));
                ok
            }
        };
        chains.then_some(na.min(ca_na))
    }

    /// Why client `i` is not covered at `at`, with the last thing that went wrong.
    fn cause(&self, i: usize, at: Instant) -> String {
        let Some(c) = self.clients.get(i) else {
            return String::new();
        };
        let what = match c.tp.as_ref() {
            None => "not started".to_owned(),
            Some(tp) => match tp.ca_cert() {
                None => "no trusted CA certificate (needs re-authentication)".to_owned(),
                Some(ca) if ca.to_der().ok().as_deref() != Some(self.active_der.as_slice()) => {
                    "trusts a CA certificate the CA no longer uses".to_owned()
                }
                Some(ca) if validity_of(ca).1 <= at => "trusted CA certificate expired".to_owned(),
                Some(_) if c.kind == ClientKind::CaOnly => "CA certificate not valid".to_owned(),
                Some(_) => match tp.identity_cert() {
                    None => "no identity certificate".to_owned(),
                    Some(id) if validity_of(id).1 <= at => {
                        "identity certificate expired".to_owned()
                    }
                    Some(_) => "identity certificate does not chain to the trusted CA".to_owned(),
                },
            },
        };
        match &c.trouble {
            Some(t) => format!("{what}; last trouble: {t}"),
            None => format!("{what}; no renewal was attempted"),
        }
    }

    fn finish(mut self) -> Report {
        let end = self.s.end();
        for i in 0..self.clients.len() {
            let Some(c) = self.clients.get(i) else {
                continue;
            };
            let gap = match &c.coverage {
                Coverage::Until(u) if *u < end => Some((*u, self.cause(i, *u))),
                Coverage::Gap { since, cause } => Some((*since, cause.clone())),
                Coverage::NotYet if c.join < end => {
                    Some((c.join, format!("never enrolled; {}", self.cause(i, end))))
                }
                _ => None,
            };
            if let Some((since, cause)) = gap {
                let mut g = Gap::new(i, since, end, cause);
                g.ongoing = true;
                self.report.gaps.push(g);
            }
        }
        self.report.gaps.sort_by_key(|g| (g.start, g.client));
        for ((generation, label), wave) in std::mem::take(&mut self.waves) {
            if let Some(g) = self.report.generations.get_mut(generation) {
                g.waves.push((label, wave));
            }
        }
        let enrolled: Vec<(Option<Instant>, Instant, Option<Instant>)> = self
            .clients
            .iter()
            .map(|c| (c.first_identity, c.join, c.first_next_ca_404))
            .collect();
        self.report.load = std::mem::take(&mut self.load);
        self.report.ca_status = self.ca.status(self.now).to_string();
        checker::judge(self.s, &mut self.report, &enrolled);
        self.report
    }
}

/// A number in 0..100 from the scenario's generator.
fn percent_draw(rng: &mut StdRng) -> u32 {
    u32::try_from(rand::Rng::next_u64(rng) % 100).unwrap_or(0)
}

/// The `operation=` value of a request-target.
fn operation_of(target: &str) -> &'static str {
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
fn validity_of(cert: &Certificate) -> (Instant, Instant) {
    let v = CertValidity::of(cert);
    (
        Instant::from_unix(v.not_before),
        Instant::from_unix(v.not_after),
    )
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Authenticated => "Authenticated",
        Event::CaApprovalNeeded { .. } => "CaApprovalNeeded",
        Event::AuthenticationFailed { .. } => "AuthenticationFailed",
        Event::Enrolled => "Enrolled",
        Event::Renewed => "Renewed",
        Event::RolloverCaInstalled => "RolloverCaInstalled",
        Event::RolloverIdentityInstalled => "RolloverIdentityInstalled",
        Event::RolloverActivated => "RolloverActivated",
        Event::Pending => "Pending",
        Event::Rejected { .. } => "Rejected",
        Event::PollExhausted => "PollExhausted",
        Event::RetriesExhausted => "RetriesExhausted",
        Event::IdentityExpiring => "IdentityExpiring",
        Event::NeedsReauthentication => "NeedsReauthentication",
        Event::NeedsManualRenewal => "NeedsManualRenewal",
        Event::LegacyAlgorithmRefused => "LegacyAlgorithmRefused",
        Event::Warning(_) => "Warning",
        _ => "other",
    }
}

fn is_trouble(event: &Event) -> bool {
    matches!(
        event,
        Event::AuthenticationFailed { .. }
            | Event::Rejected { .. }
            | Event::PollExhausted
            | Event::RetriesExhausted
            | Event::IdentityExpiring
            | Event::NeedsReauthentication
            | Event::NeedsManualRenewal
            | Event::LegacyAlgorithmRefused
    )
}
