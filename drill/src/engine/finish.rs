//! The end of a run: the last purges, the gaps still open, the checker, the trace.

use std::sync::Arc;

use pki_timers::Instant;

use super::client::{ClientSim, Ctx};
use super::{Engine, Run};
use crate::checker;
use crate::trace::{ClientTrace, Trace};

impl Engine<'_> {
    pub(super) fn finish(mut self) -> Run {
        let s = self.s;
        let end = s.end();
        self.now = end;
        // Grant auto defers purges to the next CA timer (see `manual`): the last ones fall
        // due before the end as they would have.
        let before_end = Instant::from_unix(end.unix().saturating_sub(1));
        if self.ca.poll_timeout().is_some_and(|w| w < end)
            && let Ok(events) = self.ca.handle_timeout(before_end, &mut self.rng)
        {
            for e in events {
                if let ca_core::CaEvent::RequestsPurged { count } = e {
                    self.load.purged = self.load.purged.saturating_add(count as u64);
                }
            }
        }
        let view = Arc::new(self.view(end));
        let ctx = Ctx { s, view: &view };
        let clients: Vec<Box<ClientSim>> = std::mem::take(&mut self.clients)
            .into_iter()
            .flatten()
            .collect();
        let mut enrolled = Vec::with_capacity(clients.len());
        for c in &clients {
            if let Some(gap) = c.open_gap(end, &ctx) {
                self.report.gaps.push(gap);
            }
            enrolled.push((c.first_identity, c.join, c.first_next_ca_404));
            let (at, n) = c.busiest_instant;
            if u64::from(n) > self.report.busiest_client_instant.map_or(0, |b| b.2) {
                self.report.busiest_client_instant = Some((c.index, at, u64::from(n)));
            }
            let (hour, count) = c.busiest_hour;
            if count > self.report.busiest_client_hour.map_or(0, |b| b.2) {
                self.report.busiest_client_hour = Some((c.index, hour, count));
            }
        }
        self.report.gaps.sort_by_key(|g| (g.start, g.client, g.end));
        for ((generation, label), wave) in std::mem::take(&mut self.waves) {
            if let Some(g) = self.report.generations.get_mut(generation) {
                g.waves.push((label, wave));
            }
        }
        self.report.load = std::mem::take(&mut self.load);
        self.report.ca_status = self.ca.status(end).to_string();
        checker::judge(s, &mut self.report, &enrolled);
        let trace = self.traced.then(|| self.trace(clients));
        Run {
            report: self.report,
            trace,
        }
    }

    fn trace(&mut self, clients: Vec<Box<ClientSim>>) -> Trace {
        let s = self.s;
        let mut events = std::mem::take(&mut self.events);
        let mut traces = Vec::with_capacity(clients.len());
        for c in clients {
            let c = *c;
            let clock_lost = c
                .clock_losses
                .iter()
                .filter_map(|k| s.clock_losses.get(*k))
                .map(|l| {
                    let from = s.start.saturating_add(l.window.start);
                    (from, from.saturating_add(l.window.length))
                })
                .collect();
            let log = c.log.unwrap_or_default();
            events.extend(log.events);
            traces.push(ClientTrace {
                kind: c.kind,
                join: c.join,
                holdings: log.holdings,
                certificates: log.certificates,
                clock_lost,
            });
        }
        // By instant; at one instant the CA's first, then the clients' by index (stable: each
        // source's own order is kept).
        events.sort_by_key(|e| (e.at, e.client.map_or(0, |i| i.saturating_add(1))));
        Trace {
            start: s.start,
            end: s.end(),
            ca_certificates: std::mem::take(&mut self.ca_certificates),
            clients: traces,
            events,
            next_ca_404_per_hour: std::mem::take(&mut self.next_ca_404_per_hour)
                .into_iter()
                .collect(),
        }
    }
}
