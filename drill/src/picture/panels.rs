//! The time axis, the CA's certificates, and the fleet by what it holds.

use pki_timers::Instant;

use super::svg::{Axis, COLUMNS, GAP, GRID, INK, LEFT, NOT_YET, Svg, ca_colour, n};
use crate::report::Report;
use crate::trace::{Holding, Trace};

/// Grid lines and year labels over `top..bottom`.
pub(crate) fn time_axis(svg: &mut Svg, axis: Axis, top: f64, bottom: f64) {
    let first = year_of(axis.start);
    let last = year_of(axis.end);
    for year in first..=last {
        for (month, label) in [(1, true), (4, false), (7, false), (10, false)] {
            let Some(t) = Instant::from_rfc3339(&format!("{year:04}-{month:02}-01T00:00:00Z"))
            else {
                continue;
            };
            if t <= axis.start || t >= axis.end {
                continue;
            }
            let x = axis.x(t);
            let stroke = if label { "#cbd5e0" } else { GRID };
            svg.line(
                x,
                top,
                x,
                bottom,
                &format!("stroke=\"{stroke}\" stroke-width=\"1\""),
            );
            if label {
                svg.text(x + 3.0, top + 11.0, "class=\"tick\"", &year.to_string());
            }
        }
    }
}

fn year_of(t: Instant) -> i32 {
    t.to_string()
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(1970)
}

/// One row per CA certificate: its validity (light), the time it was the active CA (solid),
/// and markers for its shadow generation, activation and cancellation. Returns the height.
pub(crate) fn ca_rows(svg: &mut Svg, axis: Axis, trace: &Trace, top: f64) -> f64 {
    const ROW: f64 = 22.0;
    svg.text(8.0, top - 6.0, "class=\"panel\"", "CA certificates");
    let certs = &trace.ca_certificates;
    for (k, c) in certs.iter().enumerate() {
        let y = top + ROW * k as f64;
        let colour = ca_colour(k);
        svg.text(
            8.0,
            y + 14.0,
            "class=\"label\"",
            &format!("CA {} (serial {})", k.saturating_add(1), c.serial),
        );
        let (x0, x1) = (axis.x(c.not_before), axis.x(c.not_after));
        let validity = format!(
            "CA certificate {} (serial {}): valid {} .. {}",
            k.saturating_add(1),
            c.serial,
            c.not_before,
            c.not_after
        );
        svg.rect_with(
            x0,
            y + 4.0,
            x1 - x0,
            12.0,
            &format!("fill=\"{colour}\" fill-opacity=\"0.25\" class=\"ca\""),
            Some(&validity),
        );
        if let Some(from) = c.activated {
            // Active until the next certificate took over, or its own end.
            let until = certs
                .iter()
                .filter_map(|o| o.activated)
                .filter(|t| *t > from)
                .min()
                .unwrap_or(c.not_after)
                .min(c.not_after);
            svg.rect(
                axis.x(from),
                y + 4.0,
                axis.x(until) - axis.x(from),
                12.0,
                colour,
                Some(&format!("active CA from {from} until {until}")),
            );
        }
        let attrs = format!("fill=\"{colour}\" stroke=\"{INK}\" stroke-width=\"0.7\"");
        svg.marker(
            "diamond",
            axis.x(c.generated),
            y + 10.0,
            5.0,
            &attrs,
            &format!("generated {}", c.generated),
        );
        if let Some(a) = c.activated.filter(|a| *a > trace.start) {
            svg.marker(
                "triangle",
                axis.x(a),
                y + 10.0,
                5.0,
                &attrs,
                &format!("activated {a}"),
            );
        }
        if let Some(x) = c.cancelled {
            svg.marker(
                "cross",
                axis.x(x),
                y + 10.0,
                5.0,
                &format!("stroke=\"{GAP}\" stroke-width=\"2.5\" fill=\"none\""),
                &format!("rollover cancelled by the administrator {x}"),
            );
        }
    }
    ROW * certs.len().max(1) as f64
}

/// What a client holds, as a band of the stacked area.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Band {
    /// Trusts CA certificate `k` and has nothing newer.
    Holds(usize),
    /// Ready for CA certificate `k` (its rollover CA, and identity, stored).
    Ready(usize),
    Gap,
    NotYet,
}

impl Band {
    fn of(h: Holding) -> Self {
        match h {
            Holding::NotYet => Self::NotYet,
            Holding::Gap => Self::Gap,
            Holding::Covered { ca, next: None } => Self::Holds(ca),
            Holding::Covered { next: Some(k), .. } => Self::Ready(k),
        }
    }

    /// Bottom to top: clients move up the stack as they shadow, then activate.
    fn stack(cas: usize) -> Vec<Self> {
        let mut order = Vec::new();
        for k in 0..cas {
            if k > 0 {
                order.push(Self::Ready(k));
            }
            order.push(Self::Holds(k));
        }
        order.extend([Self::Gap, Self::NotYet]);
        order
    }

    fn style(self) -> String {
        match self {
            Self::Holds(k) => format!("fill=\"{}\"", ca_colour(k)),
            Self::Ready(k) => format!("fill=\"{}\" fill-opacity=\"0.45\"", ca_colour(k)),
            Self::Gap => format!("fill=\"{GAP}\""),
            Self::NotYet => format!("fill=\"{NOT_YET}\""),
        }
    }

    fn name(self) -> String {
        match self {
            Self::Holds(k) => format!("hold CA {} only", k.saturating_add(1)),
            Self::Ready(k) => format!("ready for CA {} (SHADOW done)", k.saturating_add(1)),
            Self::Gap => "in a gap".to_owned(),
            Self::NotYet => "not enrolled yet".to_owned(),
        }
    }
}

/// The fleet by the CA generation it holds, one column per pixel, with every gap marked in
/// red above the area (gaps are often shorter than a column). Returns the height.
pub(crate) fn fleet(svg: &mut Svg, axis: Axis, trace: &Trace, report: &Report, top: f64) -> f64 {
    const HEIGHT: f64 = 170.0;
    let cols = COLUMNS;
    let total = trace.clients.len().max(1) as f64;
    let stack = Band::stack(trace.ca_certificates.len());
    let slot = |b: Band| stack.iter().position(|s| *s == b).unwrap_or(0);
    // Every change of band, in time order.
    let mut changes: Vec<(Instant, usize, usize)> = Vec::new();
    for c in &trace.clients {
        let mut from = slot(Band::NotYet);
        for (at, h) in &c.holdings {
            let to = slot(Band::of(*h));
            if to != from {
                changes.push((*at, from, to));
                from = to;
            }
        }
    }
    changes.sort_by_key(|c| c.0);
    let mut counts = vec![0usize; stack.len()];
    if let Some(c) = counts.get_mut(slot(Band::NotYet)) {
        *c = trace.clients.len();
    }
    let mut columns: Vec<Vec<usize>> = Vec::with_capacity(cols);
    let mut next = 0usize;
    for col in 0..cols {
        let t = axis.at_column(col, cols);
        while let Some((at, from, to)) = changes.get(next).copied() {
            if at > t {
                break;
            }
            if let Some(c) = counts.get_mut(from) {
                *c = c.saturating_sub(1);
            }
            if let Some(c) = counts.get_mut(to) {
                *c = c.saturating_add(1);
            }
            next = next.saturating_add(1);
        }
        columns.push(counts.clone());
    }
    svg.text(8.0, top - 6.0, "class=\"panel\"", "Fleet by CA held");
    let bottom = top + HEIGHT;
    let y = |clients: usize| bottom - HEIGHT * clients as f64 / total;
    for (b, band) in stack.iter().enumerate() {
        // Runs of columns where the band's bottom and top stay the same, as one path.
        let mut d = String::new();
        let mut run: Option<(usize, usize, usize)> = None; // (first column, below, own)
        let mut peak = 0usize;
        for col in 0..=cols {
            let here = columns.get(col).map(|c| {
                let below: usize = c.iter().take(b).sum();
                (below, c.get(b).copied().unwrap_or(0))
            });
            peak = peak.max(here.map_or(0, |h| h.1));
            let same =
                matches!((run, here), (Some((_, rb, ro)), Some((hb, ho))) if rb == hb && ro == ho);
            if same {
                continue;
            }
            if let Some((first, below, own)) = run.take()
                && own > 0
            {
                let x0 = LEFT + first as f64;
                let x1 = LEFT + col as f64;
                d.push_str(&format!(
                    "M{} {}H{}V{}H{}Z",
                    n(x0),
                    n(y(below)),
                    n(x1),
                    n(y(below.saturating_add(own))),
                    n(x0)
                ));
            }
            run = here.map(|(below, own)| (col, below, own));
        }
        if !d.is_empty() {
            let title = format!("{} (at most {peak} clients)", band.name());
            svg.path(
                &d,
                &format!("{} class=\"band\"", band.style()),
                Some(&title),
            );
        }
    }
    gap_marks(svg, axis, report, cols, top);
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
        &trace.clients.len().to_string(),
    );
    svg.text(
        LEFT - 6.0,
        bottom,
        "class=\"axis\" text-anchor=\"end\"",
        "0",
    );
    HEIGHT
}

/// Red marks above the fleet area where any client was in a gap.
fn gap_marks(svg: &mut Svg, axis: Axis, report: &Report, cols: usize, top: f64) {
    let mut in_gap = vec![0usize; cols];
    for g in &report.gaps {
        let first = column_of(axis, g.start, cols);
        let last = column_of(axis, g.end, cols).max(first);
        for c in in_gap.iter_mut().take(last.saturating_add(1)).skip(first) {
            *c = c.saturating_add(1);
        }
    }
    let mut col = 0usize;
    while col < cols {
        let count = in_gap.get(col).copied().unwrap_or(0);
        let mut end = col.saturating_add(1);
        while end < cols && in_gap.get(end).copied() == Some(count) {
            end = end.saturating_add(1);
        }
        if count > 0 {
            let (from, until) = (axis.at_column(col, cols), axis.at_column(end, cols));
            svg.rect_with(
                LEFT + col as f64,
                top - 4.0,
                (end - col) as f64,
                4.0 + (count as f64).sqrt().min(12.0),
                &format!("fill=\"{GAP}\" class=\"gapmark\""),
                Some(&format!("{count} gaps between {from} and {until}")),
            );
        }
        col = end;
    }
}

/// The pixel column of an instant.
pub(crate) fn column_of(axis: Axis, t: Instant, cols: usize) -> usize {
    let span = axis.end.saturating_since(axis.start).as_secs().max(1);
    let off = t.saturating_since(axis.start).as_secs().min(span);
    let col = usize::try_from(u128::from(off) * cols as u128 / u128::from(span)).unwrap_or(cols);
    col.min(cols.saturating_sub(1))
}
