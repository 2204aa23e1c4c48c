//! Requests per hour on the CA, and the hazard checker's predictions next to what the drill
//! observed.

use std::collections::BTreeMap;

use pki_timers::{Duration, Instant};

use super::panels::column_of;
use super::svg::{Axis, COLUMNS, GAP, INK, LEFT, NOT_FOUND, OUTAGE, Svg};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// The busiest hour in each pixel column, and the GetNextCACert 404s. Returns the height.
pub(crate) fn requests(
    svg: &mut Svg,
    axis: Axis,
    s: &Scenario,
    report: &Report,
    trace: &Trace,
    top: f64,
) -> f64 {
    const HEIGHT: f64 = 120.0;
    let cols = COLUMNS;
    let bottom = top + HEIGHT;
    svg.text(8.0, top - 6.0, "class=\"panel\"", "Requests per hour");
    for w in &s.outages {
        let from = s.start.saturating_add(w.start);
        let to = from.saturating_add(w.length);
        svg.rect(
            axis.x(from),
            top,
            (axis.x(to) - axis.x(from)).max(1.5),
            HEIGHT,
            OUTAGE,
            Some(&format!("CA outage {from} .. {to}: requests fail")),
        );
    }
    let hour = |h: u64| s.start.saturating_add(Duration::from_hours(h));
    let busiest = |per_hour: &mut dyn Iterator<Item = (u64, u64)>| {
        let mut cols_max = vec![0u64; cols];
        for (h, count) in per_hour {
            if let Some(c) = cols_max.get_mut(column_of(axis, hour(h), cols)) {
                *c = (*c).max(count);
            }
        }
        cols_max
    };
    let all = busiest(&mut report.load.per_hour.iter().map(|(h, c)| (*h, *c)));
    let not_found = busiest(&mut trace.next_ca_404_per_hour.iter().copied());
    let peak = report.load.peak().map_or(1, |(_, c)| c).max(1);
    let chart = Bars {
        axis,
        cols,
        bottom,
        scale: |c: u64| HEIGHT * c as f64 / peak as f64,
    };
    chart.draw(svg, &all, INK, "requests");
    chart.draw(svg, &not_found, NOT_FOUND, "GetNextCACert 404s");
    svg.line(
        LEFT,
        bottom,
        LEFT + axis.width(),
        bottom,
        &format!("stroke=\"{INK}\""),
    );
    svg.text(
        LEFT - 6.0,
        top + 10.0,
        "class=\"axis\" text-anchor=\"end\"",
        &format!("{peak}/h"),
    );
    svg.text(
        LEFT - 6.0,
        bottom,
        "class=\"axis\" text-anchor=\"end\"",
        "0",
    );
    if let Some((h, c)) = report.load.peak() {
        let x = axis.x(hour(h));
        svg.text(
            (x + 4.0).min(LEFT + axis.width() - 160.0),
            top + 10.0,
            "class=\"note\"",
            &format!("peak {c} requests in the hour from {}", hour(h)),
        );
    }
    HEIGHT
}

/// A bar chart on the time axis: one bar per run of pixel columns with the same value,
/// standing on the baseline `bottom`, `scale` turning a value into a height. Series drawn on
/// the same chart share its frame and scale.
struct Bars<F> {
    axis: Axis,
    /// Pixel columns of the plot area.
    cols: usize,
    /// The baseline (y of a zero value).
    bottom: f64,
    scale: F,
}

impl<F: Fn(u64) -> f64> Bars<F> {
    /// One series: `values` per pixel column, in `colour`; hover titles say "up to v `what`
    /// per hour" and the dates the bar spans.
    fn draw(&self, svg: &mut Svg, values: &[u64], colour: &str, what: &str) {
        let (axis, cols, bottom) = (self.axis, self.cols, self.bottom);
        let mut col = 0usize;
        while col < values.len() {
            let v = values.get(col).copied().unwrap_or(0);
            let mut end = col.saturating_add(1);
            while values.get(end).copied() == Some(v) {
                end = end.saturating_add(1);
            }
            if v > 0 {
                let h = (self.scale)(v).max(1.0);
                svg.rect(
                    LEFT + col as f64,
                    bottom - h,
                    (end - col) as f64,
                    h,
                    colour,
                    Some(&format!(
                        "up to {v} {what} per hour, {} .. {}",
                        axis.at_column(col, cols),
                        axis.at_column(end, cols)
                    )),
                );
            }
            col = end;
        }
    }
}

/// Two rows: the checker's predicted failing SHADOWs (H-1), and the first GetNextCACert 404
/// each of those clients got; unpredicted 404s in red. Returns the height.
pub(crate) fn predictions(
    svg: &mut Svg,
    axis: Axis,
    report: &Report,
    trace: &Trace,
    top: f64,
) -> f64 {
    const ROW: f64 = 22.0;
    svg.text(8.0, top - 6.0, "class=\"panel\"", "Checker vs drill");
    svg.text(8.0, top + 14.0, "class=\"label\"", "predicted (checker)");
    svg.text(8.0, top + ROW + 14.0, "class=\"label\"", "observed (drill)");
    let predicted =
        format!("fill=\"#fff\" stroke=\"{NOT_FOUND}\" stroke-width=\"1.5\" class=\"predicted\"");
    let observed = format!("fill=\"{NOT_FOUND}\" class=\"observed\"");
    for p in &report.predictions {
        let title = format!(
            "client {}: checker predicts its SHADOW fails at {}; observed {}",
            p.client,
            p.predicted,
            p.observed.map_or("no 404".to_owned(), |t| t.to_string())
        );
        svg.marker(
            "circle",
            axis.x(p.predicted),
            top + 10.0,
            4.0,
            &predicted,
            &title,
        );
        if let Some(t) = p.observed {
            let attrs = if p.agrees() {
                observed.clone()
            } else {
                format!("fill=\"{GAP}\"")
            };
            svg.marker("circle", axis.x(t), top + ROW + 10.0, 4.0, &attrs, &title);
        }
    }
    // Unpredicted 404s: each such client's first one.
    let unpredicted: BTreeMap<usize, Instant> = first_404s(trace, &report.unpredicted_404);
    for (client, at) in unpredicted {
        svg.marker(
            "cross",
            axis.x(at),
            top + ROW + 10.0,
            4.0,
            &format!("stroke=\"{GAP}\" stroke-width=\"2\" fill=\"none\""),
            &format!("client {client}: GetNextCACert 404 at {at}, not predicted by the checker"),
        );
    }
    if report.predictions.is_empty() && report.unpredicted_404.is_empty() {
        svg.text(
            LEFT + 8.0,
            top + 14.0,
            "class=\"note\"",
            "no failing SHADOW predicted, and none observed",
        );
    }
    ROW * 2.0
}

fn first_404s(trace: &Trace, clients: &[usize]) -> BTreeMap<usize, Instant> {
    let mut first = BTreeMap::new();
    if clients.is_empty() {
        return first;
    }
    for e in &trace.events {
        if let Some(i) = e.client
            && e.kind == "request"
            && e.detail.starts_with("GetNextCACert: HTTP 404")
            && clients.contains(&i)
        {
            first.entry(i).or_insert(e.at);
        }
    }
    first
}
