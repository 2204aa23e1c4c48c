//! The engine's own thread: the CA's timers and the administrator's actions at barriers, and
//! the CA's answers to the clients' calls.

use ca_core::{CaEvent, RequestSelector, RequestStatus};
use client_core::HttpReply;
use der::{Decode, Encode};
use pki_timers::Instant;
use scep_proto::Certificate;

use super::client::{Answer, CaCall, ClientSim, Item, operation_of, subject_of, validity_of};
use super::{Engine, Scripted, describe_ca, serial_of};
use crate::DrillError;
use crate::report::Generation;
use crate::scenario::Grant;
use crate::trace::{CaCertificate, TraceEvent};

impl Engine<'_> {
    /// At barrier `t`: the CA's due timers, then the administrator's actions. When the CA
    /// changed in a way that bears on coverage, every client checks its coverage at `t`.
    pub(super) fn barrier(&mut self, t: Instant) -> Result<(), DrillError> {
        let mut changed = false;
        if self.next_ca_wakeup().is_some_and(|w| w <= t) {
            let events = self
                .ca
                .handle_timeout(t, &mut self.rng)
                .map_err(DrillError::Ca)?;
            for e in events {
                changed |= self.on_ca_event(&e);
            }
        }
        while let Some(std::cmp::Reverse((at, _, action))) = self.scripted.peek().copied() {
            if at > t {
                break;
            }
            self.scripted.pop();
            changed |= self.scripted_action(action);
        }
        if changed {
            for i in 0..self.clients.len() {
                self.give(i, t, Item::Check);
            }
        }
        Ok(())
    }

    fn scripted_action(&mut self, action: Scripted) -> bool {
        let now = self.now;
        match action {
            Scripted::ClockLoss(k, lost) => {
                let mut count = 0usize;
                for i in 0..self.clients.len() {
                    let takes_part = self
                        .clients
                        .get(i)
                        .and_then(Option::as_ref)
                        .is_some_and(|c| c.clock_losses.contains(&k));
                    if takes_part {
                        count = count.saturating_add(1);
                        let item = if lost {
                            Item::ClockLost(k)
                        } else {
                            Item::ClockBack(k)
                        };
                        self.give(i, now, item);
                    }
                }
                let what = if lost { "lost" } else { "regained" };
                self.note(format!("{count} clients {what} authoritative time"));
                false
            }
            Scripted::Cancel => match self.ca.rollover_cancel(now) {
                Ok(event) => {
                    let cancelled = self.rollover_der.clone();
                    self.on_ca_event(&event);
                    if let Some(der) = cancelled {
                        self.recover_after_cancel(&der);
                    }
                    true
                }
                Err(e) => {
                    self.note(format!("administrator: rollover cancel refused: {e}"));
                    false
                }
            },
            Scripted::ManualRollover => match self.ca.rollover(now, &mut self.rng) {
                Ok(event) => self.on_ca_event(&event),
                Err(e) => {
                    self.note(format!("administrator: rollover refused: {e}"));
                    false
                }
            },
            Scripted::Listing => {
                self.listing();
                false
            }
        }
    }

    /// C-24 leaves clients holding the cancelled rollover CA (and maybe a rollover identity
    /// it issued): they would activate a CA that no longer exists. Their operators re-enrol
    /// them from scratch, as the C-24 event asks (the clients do it at this instant).
    fn recover_after_cancel(&mut self, cancelled: &[u8]) {
        let now = self.now;
        let mut count = 0usize;
        for i in 0..self.clients.len() {
            let holds = self
                .clients
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|c| c.tp.as_ref())
                .and_then(|tp| tp.rollover_ca_cert())
                .and_then(|c| c.to_der().ok())
                .is_some_and(|d| d == cancelled);
            if holds {
                count = count.saturating_add(1);
                self.give(i, now, Item::CancelCheck);
            }
        }
        self.report.reenrolled_after_cancel =
            self.report.reenrolled_after_cancel.saturating_add(count);
        self.note(format!(
            "{count} clients held the cancelled rollover CA and were re-enrolled from scratch, \
             each at its own offset within {} (K-10a)",
            self.s.jitter
        ));
    }

    /// Whether the event changed what coverage depends on.
    pub(super) fn on_ca_event(&mut self, event: &CaEvent) -> bool {
        let now = self.now;
        match event {
            CaEvent::CrlUpdated { number, .. } => {
                if let Some(g) = self.report.generations.get_mut(self.generation) {
                    g.crls = g.crls.saturating_add(1);
                }
                self.event("CRL updated", format!("cRLNumber {number}"));
                false
            }
            CaEvent::RolloverGenerated { serial, not_after } => {
                self.rollover_der = self.ca.rollover_certificate_der();
                if let Some(der) = self.rollover_der.clone() {
                    self.add_ca_certificate(der);
                }
                let text = format!(
                    "shadow CA certificate generated: serial {serial}, valid until {not_after}"
                );
                self.event("shadow generated", text.clone());
                self.note(text);
                false
            }
            CaEvent::RolloverActivated { serial } => {
                self.rollover_der = None;
                self.active_der = self.ca.ca_certificate_der();
                self.fingerprint = self.ca.status(now).fingerprint;
                self.generation = self.generation.saturating_add(1);
                let active = self.active_der.clone();
                if let Some(k) = self.ca_ders.iter().position(|d| *d == active)
                    && let Some(c) = self.ca_certificates.get_mut(k)
                {
                    c.activated = Some(now);
                }
                self.report.generations.push(Generation::from_der(
                    &active,
                    now,
                    &format!("rollover CA (serial {serial}) activated"),
                ));
                self.event("rollover activated", describe_ca(&active));
                true
            }
            CaEvent::Expired => {
                let text = "CA certificate expired without a rollover: the CA stops".to_owned();
                self.event("CA expired", text.clone());
                self.note(text);
                true
            }
            CaEvent::RolloverCancelled { rejected, issued } => {
                if let Some(der) = self.rollover_der.take() {
                    if let Some(k) = self.ca_ders.iter().position(|d| *d == der)
                        && let Some(c) = self.ca_certificates.get_mut(k)
                    {
                        c.cancelled = Some(now);
                    }
                    self.cancelled = Some(der);
                }
                let text = format!(
                    "administrator cancelled the rollover: {rejected} pending requests rejected, \
                     {issued} rollover certificates void"
                );
                self.event("rollover cancelled", text.clone());
                self.note(text);
                true
            }
            CaEvent::RequestsPurged { count } => {
                self.load.purged = self.load.purged.saturating_add(*count as u64);
                self.event("requests purged", format!("{count} request table entries"));
                false
            }
            _ => {
                self.note(format!("{event:?}"));
                false
            }
        }
    }

    /// The CA's answer to a client's call, at the client's instant.
    pub(super) fn serve(&mut self, client: &mut ClientSim, call: CaCall) -> Answer {
        let now = client.now;
        match call {
            CaCall::Http(request) => {
                let answer = self.ca.handle(
                    request.method.as_str(),
                    &request.target,
                    &request.body,
                    now,
                    &mut self.rng,
                );
                let operation = operation_of(&request.target);
                let offset = now.saturating_since(self.s.start);
                self.load.count(operation, offset);
                if operation == "GetNextCACert" && answer.status == 404 {
                    self.load.next_ca_404 = self.load.next_ca_404.saturating_add(1);
                    *self
                        .next_ca_404_per_hour
                        .entry(offset.as_secs() / 3600)
                        .or_insert(0) += 1;
                    client.first_next_ca_404.get_or_insert(now);
                    client.trouble = Some("GetNextCACert 404: no rollover CA yet".to_owned());
                }
                Answer::Http(HttpReply {
                    status: answer.status,
                    content_type: Some(answer.content_type.to_owned()),
                    body: answer.body,
                })
            }
            CaCall::Grant => Answer::Granted(self.grant_for(client.index, now)),
        }
    }

    /// The administrator grants client `index`'s requests that have waited the configured
    /// delay (C-15); each client's pending request has its own grant instant.
    fn grant_for(&mut self, index: usize, now: Instant) -> u64 {
        let Grant::Manual { delay } = self.s.grant else {
            return 0;
        };
        let subject = subject_of(index);
        let name = subject.split(',').next().unwrap_or_default().to_owned();
        let due: Vec<u64> = self
            .ca
            .list_pending()
            .into_iter()
            .filter(|p| p.status == RequestStatus::Pending)
            .filter(|p| p.created.saturating_add(delay) <= now)
            .filter(|p| p.subject.split(',').any(|rdn| rdn.trim() == name))
            .map(|p| p.id)
            .collect();
        let mut granted = 0u64;
        for id in due {
            match self.ca.grant(RequestSelector::Id(id), now, &mut self.rng) {
                Ok(serials) => granted = granted.saturating_add(serials.len() as u64),
                Err(e) => {
                    let text = format!("administrator: grant of request {id} refused: {e}");
                    self.event("grant refused", text);
                }
            }
        }
        granted
    }

    fn listing(&mut self) {
        let now = self.now;
        let mut text = format!(
            "== Timers at {now} (CA created + {})\n{}",
            now.saturating_since(self.s.start),
            self.ca.timer_listing(now)
        );
        match self
            .clients
            .first()
            .and_then(Option::as_ref)
            .and_then(|c| c.tp.as_ref())
        {
            Some(tp) => text.push_str(&format!("client 0:\n{}", tp.timer_listing(now))),
            None => text.push_str("client 0: not started yet\n"),
        }
        self.report.listings.push(text);
    }

    /// A line in the current generation's timeline.
    pub(super) fn note(&mut self, text: String) {
        if let Some(g) = self.report.generations.get_mut(self.generation) {
            g.events.push((self.now, text));
        }
    }

    /// A CA or administrator event in the trace.
    pub(super) fn event(&mut self, kind: &'static str, detail: String) {
        if self.traced {
            self.events.push(TraceEvent {
                at: self.now,
                client: None,
                kind,
                detail,
            });
        }
    }

    /// A CA certificate made now, for the trace and the clients' lookups.
    pub(super) fn add_ca_certificate(&mut self, der: Vec<u8>) {
        let (serial, not_before, not_after) =
            Certificate::from_der(&der).map_or((0, self.now, self.now), |c| {
                let (nb, na) = validity_of(&c);
                (serial_of(&c), nb, na)
            });
        self.ca_certificates.push(CaCertificate {
            serial,
            not_before,
            not_after,
            generated: self.now,
            activated: None,
            cancelled: None,
        });
        self.ca_ders.push(der);
    }
}
