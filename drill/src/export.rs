//! The run as data, for people who plot it their own way: the report as one JSON document
//! (`--json`) and every event as one JSON object a line (`--events`). Instants are RFC 3339
//! text; `offset_s` is seconds since the CA's creation.

use std::collections::BTreeMap;
use std::io::Write;

use pki_timers::{Instant, Node};
use serde::Serialize;

use crate::report::Report;
use crate::trace::Trace;

#[derive(Serialize)]
struct Summary {
    clients: usize,
    generations: usize,
    issued: u64,
    renewals: u64,
    shadows: u64,
    gaps: usize,
    gap_seconds: u64,
    peak_requests_per_hour: u64,
}

#[derive(Serialize)]
struct Verdict {
    checker_calls_safe: bool,
    predictions_agree: bool,
    exit_code: i32,
}

#[derive(Serialize)]
struct TimedText<'a> {
    at: String,
    text: &'a str,
}

#[derive(Serialize)]
struct WaveJson<'a> {
    label: &'a str,
    first: String,
    last: String,
    count: u64,
}

#[derive(Serialize)]
struct GenerationJson<'a> {
    certificate: &'a str,
    since: String,
    events: Vec<TimedText<'a>>,
    waves: Vec<WaveJson<'a>>,
    crls: u64,
}

#[derive(Serialize)]
struct PeakJson {
    hour: u64,
    start: String,
    requests: u64,
}

#[derive(Serialize)]
struct LoadJson<'a> {
    total: u64,
    per_operation: &'a BTreeMap<&'static str, u64>,
    /// `[hour since the CA's creation, requests]`, hours with requests only.
    per_hour: Vec<[u64; 2]>,
    peak: Option<PeakJson>,
    next_ca_404: u64,
    refused_in_outage: u64,
    purged: u64,
}

#[derive(Serialize)]
struct GapJson<'a> {
    client: usize,
    start: String,
    end: String,
    ongoing: bool,
    seconds: u64,
    cause: &'a str,
}

#[derive(Serialize)]
struct FindingJson {
    hazard: &'static str,
    severity: String,
    client: Option<usize>,
    text: String,
}

#[derive(Serialize)]
struct PredictionJson {
    client: usize,
    predicted: String,
    observed: Option<String>,
    agrees: bool,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    summary: Summary,
    verdict: Verdict,
    setup: &'a str,
    findings: Vec<FindingJson>,
    predictions: Vec<PredictionJson>,
    unpredicted_404: &'a [usize],
    generations: Vec<GenerationJson<'a>>,
    load: LoadJson<'a>,
    client_events: &'a BTreeMap<&'static str, u64>,
    granted: u64,
    reboots: u64,
    reenrolled_after_cancel: usize,
    gaps: Vec<GapJson<'a>>,
    listings: &'a [String],
    ca_status: &'a str,
}

fn text(at: Instant) -> String {
    at.to_string()
}

impl Report {
    /// The whole report as one JSON document (pretty-printed, ending in a newline).
    #[must_use]
    pub fn to_json(&self, start: Instant) -> String {
        let l = &self.load;
        let doc = ReportJson {
            summary: Summary {
                clients: self.clients,
                generations: self.generations.len(),
                issued: self.issued,
                renewals: self.renewals,
                shadows: self.shadows,
                gaps: self.gaps.len(),
                gap_seconds: self.gap_seconds(),
                peak_requests_per_hour: l.peak().map_or(0, |(_, n)| n),
            },
            verdict: Verdict {
                checker_calls_safe: self.checker_calls_safe(),
                predictions_agree: self.predictions_agree(),
                exit_code: self.exit_code(),
            },
            setup: &self.setup,
            findings: self
                .findings
                .iter()
                .map(|f| FindingJson {
                    hazard: f.hazard.id(),
                    severity: f.severity().to_string(),
                    client: match f.node {
                        Node::Client(i) => Some(i),
                        _ => None,
                    },
                    text: f.to_string(),
                })
                .collect(),
            predictions: self
                .predictions
                .iter()
                .map(|p| PredictionJson {
                    client: p.client,
                    predicted: text(p.predicted),
                    observed: p.observed.map(text),
                    agrees: p.agrees(),
                })
                .collect(),
            unpredicted_404: &self.unpredicted_404,
            generations: self
                .generations
                .iter()
                .map(|g| GenerationJson {
                    certificate: &g.certificate,
                    since: text(g.since),
                    events: g
                        .events
                        .iter()
                        .map(|(at, t)| TimedText {
                            at: text(*at),
                            text: t,
                        })
                        .collect(),
                    waves: g
                        .waves
                        .iter()
                        .map(|(label, w)| WaveJson {
                            label,
                            first: text(w.first),
                            last: text(w.last),
                            count: w.count,
                        })
                        .collect(),
                    crls: g.crls,
                })
                .collect(),
            load: LoadJson {
                total: l.total(),
                per_operation: &l.per_operation,
                per_hour: l.per_hour.iter().map(|(h, n)| [*h, *n]).collect(),
                peak: l.peak().map(|(hour, requests)| PeakJson {
                    hour,
                    start: text(start.saturating_add(pki_timers::Duration::from_hours(hour))),
                    requests,
                }),
                next_ca_404: l.next_ca_404,
                refused_in_outage: l.refused_in_outage,
                purged: l.purged,
            },
            client_events: &self.client_events,
            granted: self.granted,
            reboots: self.reboots,
            reenrolled_after_cancel: self.reenrolled_after_cancel,
            gaps: self
                .gaps
                .iter()
                .map(|g| GapJson {
                    client: g.client,
                    start: text(g.start),
                    end: text(g.end),
                    ongoing: g.ongoing,
                    seconds: g.length().as_secs(),
                    cause: &g.cause,
                })
                .collect(),
            listings: &self.listings,
            ca_status: &self.ca_status,
        };
        let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.push('\n');
        out
    }
}

#[derive(Serialize)]
struct EventJson<'a> {
    time: String,
    offset_s: u64,
    client: Option<usize>,
    kind: &'a str,
    detail: &'a str,
}

impl Trace {
    /// Writes every event as one JSON object a line: `time`, `offset_s`, `client` (`null`
    /// for the CA and its administrator), `kind`, `detail`.
    ///
    /// # Errors
    /// What writing to `out` failed with.
    pub fn write_events(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for e in &self.events {
            let line = EventJson {
                time: text(e.at),
                offset_s: e.at.saturating_since(self.start).as_secs(),
                client: e.client,
                kind: e.kind,
                detail: &e.detail,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}
