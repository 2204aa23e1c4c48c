//! About fifty clients, one lane each: the certificates they held, what they did, and the
//! faults they met.

use std::collections::{BTreeMap, BTreeSet};

use super::svg::{Axis, CLOCK_LOSS, GAP, INK, NOT_FOUND, OUTAGE, Svg, ca_colour};
use crate::report::Report;
use crate::scenario::{ClientKind, Scenario};
use crate::trace::{Acquired, Trace, TraceEvent};

/// Height of one lane.
pub(crate) const LANE: f64 = 18.0;

/// The clients drawn as lanes: up to `max`, chosen without randomness — first some that had
/// gaps, rebooted, were re-enrolled or lost their clock, then evenly spread over the fleet.
pub(crate) fn sample(trace: &Trace, report: &Report, max: usize) -> Vec<usize> {
    let n = trace.clients.len();
    let want = max.min(n);
    let mut chosen = BTreeSet::new();
    let quota = (want / 5).max(1);
    let take = |chosen: &mut BTreeSet<usize>, it: &mut dyn Iterator<Item = usize>| {
        let before = chosen.len();
        for i in it {
            if chosen.len() >= want || chosen.len() >= before.saturating_add(quota) {
                break;
            }
            chosen.insert(i);
        }
    };
    take(&mut chosen, &mut report.gaps.iter().map(|g| g.client));
    for kind in ["reboot", "re-enrol"] {
        take(
            &mut chosen,
            &mut trace
                .events
                .iter()
                .filter(|e| e.kind == kind)
                .filter_map(|e| e.client),
        );
    }
    take(
        &mut chosen,
        &mut trace
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.clock_lost.is_empty())
            .map(|(i, _)| i),
    );
    // The rest evenly over the whole fleet (every group gets its share).
    let rest = want.saturating_sub(chosen.len());
    for j in 0..rest {
        let mut i = j.saturating_mul(n) / rest.max(1);
        while chosen.contains(&i) && i + 1 < n {
            i += 1;
        }
        chosen.insert(i);
    }
    let mut i = 0usize;
    while chosen.len() < want && i < n {
        chosen.insert(i);
        i = i.saturating_add(1);
    }
    chosen.into_iter().collect()
}

fn kind_label(kind: ClientKind) -> String {
    match kind {
        ClientKind::AutoEnroll {
            percent,
            regenerate,
        } => format!(
            "p{}{}",
            percent.get(),
            if regenerate { " regen" } else { "" }
        ),
        ClientKind::CaOnly => "CA-only".to_owned(),
    }
}

/// The lanes of `sample`, outages shaded across them. Returns the height.
pub(crate) fn lanes(
    svg: &mut Svg,
    axis: Axis,
    s: &Scenario,
    trace: &Trace,
    report: &Report,
    sample: &[usize],
    top: f64,
) -> f64 {
    let height = LANE * sample.len() as f64;
    svg.text(
        8.0,
        top - 6.0,
        "class=\"panel\"",
        &format!("{} clients (of {})", sample.len(), trace.clients.len()),
    );
    for w in &s.outages {
        let from = s.start.saturating_add(w.start);
        let to = from.saturating_add(w.length);
        svg.rect(
            axis.x(from),
            top,
            (axis.x(to) - axis.x(from)).max(1.5),
            height,
            OUTAGE,
            Some(&format!("CA outage {from} .. {to}")),
        );
    }
    let wanted: BTreeSet<usize> = sample.iter().copied().collect();
    let mut events: BTreeMap<usize, Vec<&TraceEvent>> = BTreeMap::new();
    for e in &trace.events {
        if let Some(i) = e.client.filter(|i| wanted.contains(i)) {
            events.entry(i).or_default().push(e);
        }
    }
    for (k, &i) in sample.iter().enumerate() {
        let y = top + LANE * k as f64;
        let Some(c) = trace.clients.get(i) else {
            continue;
        };
        svg.open_group(&format!("class=\"lane\" data-client=\"{i}\""));
        svg.text(
            8.0,
            y + 12.5,
            "class=\"label\"",
            &format!("client {i:05} {}", kind_label(c.kind)),
        );
        for (from, to) in &c.clock_lost {
            svg.rect(
                axis.x(*from),
                y,
                (axis.x(*to) - axis.x(*from)).max(1.5),
                LANE - 1.0,
                CLOCK_LOSS,
                Some(&format!("clock not authoritative {from} .. {to}")),
            );
        }
        for (j, cert) in c.certificates.iter().enumerate() {
            let row = if j % 2 == 0 { 3.0 } else { 9.0 };
            let colour = cert.ca.map_or(INK, ca_colour);
            let dashed = if cert.acquired == Acquired::Shadow {
                " stroke=\"#1a202c\" stroke-width=\"0.6\" stroke-dasharray=\"2 1\""
            } else {
                ""
            };
            let from_ca = cert.ca.map_or(String::new(), |k| {
                format!(" from CA {}", k.saturating_add(1))
            });
            svg.rect_with(
                axis.x(cert.not_before),
                y + row,
                (axis.x(cert.not_after) - axis.x(cert.not_before)).max(1.0),
                5.0,
                &format!("fill=\"{colour}\" class=\"cert\"{dashed}"),
                Some(&format!(
                    "{} certificate{from_ca}, valid {} .. {}, installed {}",
                    cert.acquired.as_str(),
                    cert.not_before,
                    cert.not_after,
                    cert.installed
                )),
            );
        }
        for g in report.gaps.iter().filter(|g| g.client == i) {
            svg.rect(
                axis.x(g.start),
                y,
                (axis.x(g.end) - axis.x(g.start)).max(2.0),
                LANE - 1.0,
                GAP,
                Some(&format!(
                    "gap {} .. {} ({}): {}",
                    g.start,
                    g.end,
                    g.length(),
                    g.cause
                )),
            );
        }
        for e in events.get(&i).map(Vec::as_slice).unwrap_or_default() {
            marker(svg, axis, e, y + LANE / 2.0);
        }
        svg.close_group();
    }
    height
}

/// One event as a marker on its lane, if it is one the picture shows.
fn marker(svg: &mut Svg, axis: Axis, e: &TraceEvent, y: f64) {
    let (shape, attrs, what) = match e.kind {
        "Enrolled" => ("circle", format!("fill=\"{INK}\""), "enrolled"),
        "Renewed" => (
            "triangle",
            format!("fill=\"#fff\" stroke=\"{INK}\""),
            "RENEW",
        ),
        "RolloverIdentityInstalled" => (
            "diamond",
            format!("fill=\"#fff\" stroke=\"{INK}\""),
            "SHADOW",
        ),
        "Pending" => ("circle", format!("fill=\"{NOT_FOUND}\""), "POLL (pending)"),
        "reboot" => (
            "cross",
            format!("stroke=\"{GAP}\" stroke-width=\"2\" fill=\"none\""),
            "reboot",
        ),
        "re-enrol" => (
            "cross",
            "stroke=\"#6b46c1\" stroke-width=\"2\" fill=\"none\"".to_owned(),
            "re-enrolled",
        ),
        _ => return,
    };
    let detail = if e.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", e.detail)
    };
    svg.marker(
        shape,
        axis.x(e.at),
        y,
        3.5,
        &format!("{attrs} class=\"mark\""),
        &format!("{what} {}{detail}", e.at),
    );
}
