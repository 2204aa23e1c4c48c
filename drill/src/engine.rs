//! The drill itself: one CA, a fleet of trustpoints, one virtual clock, every core.
//!
//! The clock jumps from one instant at which anything is due to the next and never sleeps.
//! Time is cut into *epochs* at *barriers*: the instants at which the CA itself changes (its
//! timers: CRL update, shadow generation, expiry or activation) or the administrator acts
//! (rollover cancel, manual rollover, timer listings, the start and end of a clock loss). At a
//! barrier the CA's timers fire first, then the administrator's actions.
//!
//! Between two barriers the CA answers every client alike whatever the others do, so each
//! client runs through the epoch on its own, on any worker thread, and stops only when it needs
//! the CA. The engine's thread serves the CA in a fixed order — round by round, and in a round
//! by client index — so the CA sees the same requests in the same order (the same serial
//! numbers, the same random draws) whatever the number of threads: same seed, same run. Each
//! client has its own random stream and key source, and its coverage is checked at the end of
//! each of its instants and at the very instant it would lapse (see `coverage`), so gaps stay
//! exact to the second.

mod admin;
mod client;
mod coverage;
mod finish;
mod names;
mod pool;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use ca_core::{Ca, CaConfig, CaEvent, GrantMode, MemoryStore};
use der::Decode;
use pki_timers::{CaTimer, Duration, Instant};
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::Certificate;

use self::client::{ClientSim, Item, Step, View};
use self::pool::{Done, Job, Queue, Runner};
use crate::DrillError;
use crate::keys::{ClientKeys, KeyPool};
use crate::report::{Generation, Load, Report, Wave};
use crate::scenario::{Grant, Scenario};
use crate::trace::{CaCertificate, Trace, TraceEvent};

/// How to run a drill besides its scenario (none of it changes the result).
#[derive(Default)]
#[non_exhaustive]
pub struct Options<'a> {
    /// Record a [`Trace`] (memory grows with the fleet and the events).
    pub trace: bool,
    /// Threads running clients; 0: one per core.
    pub threads: usize,
    /// Called after each epoch with how far the run got.
    pub progress: Option<&'a mut dyn FnMut(&Progress)>,
}

/// How far a run got.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// The virtual instant reached.
    pub now: Instant,
    /// Share of the run's virtual time done, 0 to 1.
    pub done: f64,
    /// Clients that hold (or held) an identity certificate.
    pub enrolled: usize,
    /// Gaps closed so far.
    pub gaps: usize,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Run {
    /// The findings.
    pub report: Report,
    /// The record, if [`Options::trace`] asked for it.
    pub trace: Option<Trace>,
}

/// Runs the scenario to its end and reports what happened.
///
/// # Errors
/// [`DrillError`] when the scenario's CA or client configuration is refused, the CA's store
/// fails, or a client livelocks; a gap is not an error but a finding of the report.
pub fn run(s: &Scenario) -> Result<Report, DrillError> {
    run_with(s, Options::default()).map(|r| r.report)
}

/// [`run`] with [`Options`]: a trace, the number of threads, a progress callback.
///
/// # Errors
/// As [`run`].
pub fn run_with(s: &Scenario, mut options: Options<'_>) -> Result<Run, DrillError> {
    s.validate().map_err(DrillError::Scenario)?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let mut engine = Engine::new(s, options.trace)?;
    engine.plan();
    let progress = options.progress.take();
    if threads <= 1 {
        engine.run_to_end(None, progress)?;
    } else {
        let queue = Queue::default();
        let (sender, results) = pool::results();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (queue, sender) = (&queue, sender.clone());
                scope.spawn(move || pool::worker(s, queue, &sender));
            }
            let outcome = engine.run_to_end(Some((&queue, &results)), progress);
            queue.close();
            outcome
        })?;
    }
    Ok(engine.finish())
}

/// An administrator action or scripted fault that is a barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scripted {
    /// Clock loss `k` starts (`true`) or ends.
    ClockLoss(usize, bool),
    /// The administrator cancels the rollover (C-24).
    Cancel,
    /// The administrator generates a rollover (C-23).
    ManualRollover,
    /// The CA's and client 0's timers are listed.
    Listing,
}

struct Engine<'s> {
    s: &'s Scenario,
    traced: bool,
    rng: StdRng,
    ca: Ca<MemoryStore>,
    pool: Arc<KeyPool>,
    /// Every client not running, by index.
    clients: Vec<Option<Box<ClientSim>>>,
    /// Clients by the instant they are due (entries whose instant is no longer the client's
    /// `due` are stale).
    parked: BinaryHeap<Reverse<(Instant, usize)>>,
    due: Vec<Option<Instant>>,
    scripted: BinaryHeap<Reverse<(Instant, u64, Scripted)>>,
    seq: u64,
    now: Instant,
    generation: usize,
    active_der: Vec<u8>,
    fingerprint: String,
    ca_ders: Vec<Vec<u8>>,
    ca_certificates: Vec<CaCertificate>,
    /// The rollover CA certificate, while one exists (to find its holders on a cancel).
    rollover_der: Option<Vec<u8>>,
    cancelled: Option<Vec<u8>>,
    report: Report,
    load: Load,
    waves: BTreeMap<(usize, &'static str), Wave>,
    next_ca_404_per_hour: BTreeMap<u64, u64>,
    events: Vec<TraceEvent>,
    enrolled: usize,
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
    c.max_requests = table_cap(s);
    c
}

/// The CA's request-table cap (`max_requests`, C-14) in the drill.
///
/// The cap counts the entries made since the last purge, which a real CA runs L_req after
/// each request. Under grant auto the drill purges only at barriers (see `Engine::manual`):
/// the CA gets a whole epoch's requests first, round by round, and so holds an epoch's
/// requests instead of L_req's. With the default cap of 10,000 a 10,000-client fleet filled
/// the table with its initial enrolments alone, and every later request not signed by a
/// certificate of the CA was answered 503 and retried each P until the epoch ended (57,000
/// extra PKIOperations), something the deployment would never see. So under grant auto the
/// cap is the highest the CA accepts; under manual grant epochs end before any request
/// reaches its purge instant, the table is the real one, and the CA's default stays.
fn table_cap(s: &Scenario) -> usize {
    /// The largest `max_requests` the CA accepts.
    const LARGEST: usize = 10_000_000;
    match s.grant {
        Grant::Auto => LARGEST,
        Grant::Manual { .. } => CaConfig::default().max_requests,
    }
}

impl<'s> Engine<'s> {
    fn new(s: &'s Scenario, traced: bool) -> Result<Self, DrillError> {
        let mut rng = StdRng::seed_from_u64(s.seed);
        let pool = Arc::new(KeyPool::generate(
            crate::keys::pool_size(s),
            s.key_bits,
            s.seed,
        )?);
        let ca = Ca::open(ca_config(s), MemoryStore::new(), s.start, true, &mut rng)
            .map_err(DrillError::Ca)?;
        let active_der = ca.ca_certificate_der();
        let fingerprint = ca.status(s.start).fingerprint;
        let mut engine = Self {
            s,
            traced,
            rng,
            ca,
            pool,
            clients: Vec::new(),
            parked: BinaryHeap::new(),
            due: Vec::new(),
            scripted: BinaryHeap::new(),
            seq: 0,
            now: s.start,
            generation: 0,
            active_der: active_der.clone(),
            fingerprint,
            ca_ders: Vec::new(),
            ca_certificates: Vec::new(),
            rollover_der: None,
            cancelled: None,
            report: Report::new(s),
            load: Load::default(),
            waves: BTreeMap::new(),
            next_ca_404_per_hour: BTreeMap::new(),
            events: Vec::new(),
            enrolled: 0,
        };
        engine.add_ca_certificate(active_der.clone());
        if let Some(c) = engine.ca_certificates.last_mut() {
            c.activated = Some(s.start);
        }
        engine
            .report
            .generations
            .push(Generation::from_der(&active_der, s.start, "CA created"));
        engine.event("CA created", describe_ca(&active_der));
        Ok(engine)
    }

    fn at_offset(&self, d: Duration) -> Instant {
        self.s.start.saturating_add(d)
    }

    fn script(&mut self, at: Instant, action: Scripted) {
        self.seq = self.seq.saturating_add(1);
        self.scripted.push(Reverse((at, self.seq, action)));
    }

    /// Builds the fleet and the administrator's agenda.
    fn plan(&mut self) {
        let s = self.s;
        let n = s.clients();
        let end = s.end();
        let span = end.saturating_since(s.start).as_secs().max(1);
        // The seed's client enrols at 12:20:00, 344 s after the CA.
        let first_join = self.at_offset(Duration::from_secs(344));
        let step = s.join_window.as_secs() / u64::try_from(n).unwrap_or(u64::MAX).max(1);
        // Which clients reboot or lose their clock: drawn once, in client order.
        for i in 0..n {
            let join = first_join.saturating_add(Duration::from_secs(
                step.saturating_mul(u64::try_from(i).unwrap_or(u64::MAX)),
            ));
            let keys = Arc::new(ClientKeys::new(Arc::clone(&self.pool), i));
            let mut c = ClientSim::new(s, i, join, keys, self.traced);
            if percent_draw(&mut self.rng) < s.reboot_share {
                let offset = rand::Rng::next_u64(&mut self.rng) % span;
                c.set_reboot(s.start.saturating_add(Duration::from_secs(offset)));
            }
            c.clock_losses = (0..s.clock_losses.len())
                .filter(|&k| {
                    percent_draw(&mut self.rng) < s.clock_losses.get(k).map_or(0, |c| c.share)
                })
                .collect();
            self.clients.push(None);
            self.due.push(None);
            self.park(Box::new(c));
        }
        for (k, loss) in s.clock_losses.iter().enumerate() {
            self.script(
                self.at_offset(loss.window.start),
                Scripted::ClockLoss(k, true),
            );
            let back = loss.window.start.saturating_add(loss.window.length);
            self.script(self.at_offset(back), Scripted::ClockLoss(k, false));
        }
        if let Some(at) = s.rollover_cancel {
            self.script(self.at_offset(at), Scripted::Cancel);
        }
        if let Some(at) = s.manual_rollover {
            self.script(self.at_offset(at), Scripted::ManualRollover);
        }
        for at in &s.listings {
            self.script(self.at_offset(*at), Scripted::Listing);
        }
    }

    /// Puts a client back, due at its next instant, and collects what it counted.
    fn park(&mut self, mut c: Box<ClientSim>) {
        let i = c.index;
        let tally = std::mem::take(&mut c.tally);
        let r = &mut self.report;
        r.issued = r.issued.saturating_add(tally.issued);
        r.renewals = r.renewals.saturating_add(tally.renewals);
        r.shadows = r.shadows.saturating_add(tally.shadows);
        r.reboots = r.reboots.saturating_add(tally.reboots);
        r.granted = r.granted.saturating_add(tally.granted);
        for (name, n) in tally.client_events {
            *r.client_events.entry(name).or_insert(0) += n;
        }
        r.gaps.extend(tally.gaps);
        self.load.refused_in_outage = self
            .load
            .refused_in_outage
            .saturating_add(tally.refused_in_outage);
        self.enrolled = self.enrolled.saturating_add(tally.newly_enrolled);
        for (key, wave) in tally.waves {
            self.waves
                .entry(key)
                .and_modify(|w| w.merge(&wave))
                .or_insert(wave);
        }
        let due = c.next_due();
        if let Some(at) = due {
            self.parked.push(Reverse((at, i)));
        }
        if let Some(slot) = self.due.get_mut(i) {
            *slot = due;
        }
        if let Some(slot) = self.clients.get_mut(i) {
            *slot = Some(c);
        }
    }

    /// Gives parked client `i` an item at `at` (no later than its due instant).
    fn give(&mut self, i: usize, at: Instant, item: Item) {
        let Some(c) = self.clients.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        c.schedule(at, item);
        let due = c.next_due();
        if let (Some(slot), Some(d)) = (self.due.get_mut(i), due)
            && *slot != Some(d)
        {
            *slot = Some(d);
            self.parked.push(Reverse((d, i)));
        }
    }

    /// The earliest instant a parked client is due.
    fn next_due(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, i))) = self.parked.peek().copied() {
            if self.due.get(i).copied().flatten() == Some(at) {
                return Some(at);
            }
            self.parked.pop();
        }
        None
    }

    /// With manual grant every pending-request purge (T-15) and every CRL update is a barrier:
    /// a client polling an old request must find it purged or not exactly as the CA would.
    /// With grant auto a request is answered at once and never touched again after its purge
    /// instant, so purges wait for the next CA timer (and the end of the run).
    fn manual(&self) -> bool {
        matches!(self.s.grant, Grant::Manual { .. })
    }

    fn next_ca_wakeup(&self) -> Option<Instant> {
        if self.manual() {
            self.ca.poll_timeout()
        } else {
            self.ca.next_ca_timer().map(|(_, at)| at)
        }
    }

    /// Grant auto: a CRL update bears on no exchange of a client (clients never fetch CRLs)
    /// and its purges only on requests never touched again (see `manual`), so the CRL updates
    /// before the next barrier fire here, each at its own instant, ahead of the clients,
    /// instead of cutting time into six-hour epochs. They stop short of the instants at which
    /// the CA may do anything else (its expiry or activation, its shadow generation) and of
    /// the administrator's next action.
    fn fire_crl_updates(&mut self, end: Instant) -> Result<(), DrillError> {
        if self.manual() {
            return Ok(());
        }
        let scripted = self.scripted.peek().map(|Reverse((at, _, _))| *at);
        let active_na = Certificate::from_der(&self.active_der)
            .ok()
            .map(|c| client::validity_of(&c).1);
        let shadow_at = active_na
            .zip(self.s.overlap)
            .map(|(na, o)| Instant::from_unix(na.unix().saturating_sub(o.duration().as_secs())))
            .filter(|at| *at > self.now);
        let bound = [Some(end), scripted, active_na, shadow_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
        while let Some((CaTimer::CrlUpdate, at)) = self.ca.next_ca_timer() {
            if at >= bound {
                break;
            }
            self.now = at;
            for e in self
                .ca
                .handle_timeout(at, &mut self.rng)
                .map_err(DrillError::Ca)?
            {
                if !matches!(
                    e,
                    CaEvent::CrlUpdated { .. } | CaEvent::RequestsPurged { .. }
                ) {
                    return Err(DrillError::Engine(format!(
                        "the CA did more than a CRL update at {at}: {e:?}"
                    )));
                }
                self.on_ca_event(&e);
            }
        }
        Ok(())
    }

    fn next_barrier(&self) -> Option<Instant> {
        let scripted = self.scripted.peek().map(|Reverse((at, _, _))| *at);
        [self.next_ca_wakeup(), scripted]
            .into_iter()
            .flatten()
            .min()
    }

    fn run_to_end(
        &mut self,
        workers: Option<(&Queue, &Receiver<Done>)>,
        mut progress: Option<&mut dyn FnMut(&Progress)>,
    ) -> Result<(), DrillError> {
        let end = self.s.end();
        // The end of the last epoch: nothing before it is left to do.
        let mut horizon = self.s.start;
        loop {
            self.fire_crl_updates(end)?;
            let barrier = self.next_barrier().map(|b| b.max(horizon));
            let Some(t) = [barrier, self.next_due()].into_iter().flatten().min() else {
                break;
            };
            if t >= end {
                break;
            }
            self.now = t;
            if barrier == Some(t) {
                self.barrier(t)?;
            }
            let mut epoch_end = self.next_barrier().map_or(end, |b| b.min(end));
            if self.manual() {
                // A request made in this epoch must not reach its purge instant in it.
                let bound = t.saturating_add(self.s.request_lifetime.max(Duration::from_secs(1)));
                epoch_end = epoch_end.min(bound);
            }
            let epoch_end = epoch_end.max(t.saturating_add(Duration::from_secs(1)));
            let mut active = Vec::new();
            while let Some(at) = self.next_due() {
                if at >= epoch_end {
                    break;
                }
                if let Some(Reverse((_, i))) = self.parked.pop()
                    && let Some(c) = self.clients.get_mut(i).and_then(Option::take)
                {
                    if let Some(slot) = self.due.get_mut(i) {
                        *slot = None;
                    }
                    active.push(c);
                }
            }
            if !active.is_empty() {
                let view = Arc::new(self.view(epoch_end));
                let runner = match workers {
                    Some((queue, results)) if active.len() > 1 => Runner::workers(queue, results),
                    _ => Runner::inline(),
                };
                self.run_epoch(active, &view, runner, &mut progress)?;
            }
            horizon = epoch_end;
            self.progress(epoch_end.min(end), &mut progress);
        }
        Ok(())
    }

    /// Tells the progress callback, if any, that everything before `now` is done.
    fn progress(&self, now: Instant, progress: &mut Option<&mut dyn FnMut(&Progress)>) {
        if let Some(report) = progress.as_deref_mut() {
            let end = self.s.end();
            let span = end.saturating_since(self.s.start).as_secs().max(1);
            let done = now.min(end).saturating_since(self.s.start).as_secs();
            report(&Progress {
                now,
                done: done as f64 / span as f64,
                enrolled: self.enrolled,
                gaps: self.report.gaps.len(),
            });
        }
    }

    /// What the fleet sees until `end`.
    fn view(&self, end: Instant) -> View {
        View {
            end,
            generation: self.generation,
            active_der: self.active_der.clone(),
            fingerprint: self.fingerprint.clone(),
            ca_ders: self.ca_ders.clone(),
            cancelled: self.cancelled.clone(),
            active_not_after: Certificate::from_der(&self.active_der)
                .map_or(end, |c| client::validity_of(&c).1),
        }
    }

    /// Runs the clients due in this epoch to its end, serving the CA in rounds: round `k`
    /// serves each client's `k`-th call of the epoch, clients in index order. Meanwhile the
    /// workers run the clients that have their answers.
    fn run_epoch(
        &mut self,
        mut active: Vec<Box<ClientSim>>,
        view: &Arc<View>,
        mut runner: Runner<'_>,
        progress: &mut Option<&mut dyn FnMut(&Progress)>,
    ) -> Result<(), DrillError> {
        active.sort_unstable_by_key(|c| c.index);
        let mut round: Vec<usize> = active.iter().map(|c| c.index).collect();
        // For the progress line: each running client's instant when it last called the CA;
        // everything before the earliest of them is done.
        let mut reached: BTreeMap<usize, Instant> =
            active.iter().map(|c| (c.index, c.now)).collect();
        let mut served = 0u32;
        for client in active {
            runner.submit(Job {
                client,
                answer: None,
                view: Arc::clone(view),
            });
        }
        let mut failure = None;
        while !round.is_empty() {
            let mut next = Vec::with_capacity(round.len());
            for &i in &round {
                match runner.take(self.s, i).result {
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                    Ok((mut client, Step::Ca(call))) if failure.is_none() => {
                        let answer = self.serve(&mut client, call);
                        if progress.is_some() {
                            self.enrolled = self
                                .enrolled
                                .saturating_add(std::mem::take(&mut client.tally.newly_enrolled));
                            self.report.gaps.append(&mut client.tally.gaps);
                            reached.insert(i, client.now);
                            served = served.wrapping_add(1);
                            if served.is_multiple_of(256)
                                && let Some(frontier) = reached.values().min()
                            {
                                self.progress(*frontier, progress);
                            }
                        }
                        runner.submit(Job {
                            client,
                            answer: Some(answer),
                            view: Arc::clone(view),
                        });
                        next.push(i);
                    }
                    Ok((client, _)) => {
                        reached.remove(&client.index);
                        self.park(client);
                    }
                }
            }
            round = next;
        }
        failure.map_or(Ok(()), Err)
    }
}

/// The trace's description of a CA certificate: serial and validity.
fn describe_ca(der: &[u8]) -> String {
    Certificate::from_der(der).map_or_else(
        |e| format!("undecodable CA certificate: {e}"),
        |c| {
            let (nb, na) = client::validity_of(&c);
            format!("serial {}, valid {nb} .. {na}", serial_of(&c))
        },
    )
}

fn serial_of(c: &Certificate) -> u64 {
    c.tbs_certificate()
        .serial_number()
        .as_bytes()
        .iter()
        .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b))
}

/// A number in 0..100 from the scenario's generator.
fn percent_draw(rng: &mut StdRng) -> u32 {
    u32::try_from(rand::Rng::next_u64(rng) % 100).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C-14's table cap counts the requests since the last purge. Under grant auto the drill
    /// purges only at barriers, so an epoch's requests must not fill it (a 10,000-client
    /// fleet's initial enrolments filled the default cap); under manual grant the table is the
    /// real one and the deployment's default applies.
    #[test]
    fn c14_table_cap_does_not_count_an_epochs_requests_under_grant_auto() {
        let mut s = Scenario::default();
        let auto = ca_config(&s);
        assert!(auto.max_requests > 100 * CaConfig::default().max_requests);
        let mut rng = StdRng::seed_from_u64(1);
        assert!(Ca::open(auto, MemoryStore::new(), s.start, true, &mut rng).is_ok());
        s.grant = Grant::Manual {
            delay: Duration::from_hours(1),
        };
        assert_eq!(ca_config(&s).max_requests, CaConfig::default().max_requests);
    }
}
