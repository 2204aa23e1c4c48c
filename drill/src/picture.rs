//! The drill as a picture (`--html`): one self-contained HTML page — inline SVG, inline style,
//! a few lines of inline script, nothing fetched — on one time axis: the CA's certificates,
//! the fleet by the CA it holds, about fifty clients' lanes, the requests per hour, and the
//! hazard checker's predictions next to what the drill observed. Every mark has its details
//! as a hover title. The same run gives the same bytes.

mod lanes;
mod load;
mod panels;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pki_timers::Severity;

use self::svg::{Axis, GAP, NOT_YET, Svg, WIDTH, ca_colour, esc, n};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// Lanes drawn at most.
const LANES: usize = 50;
/// Space between panels (room for a panel's title).
const GAP_BETWEEN: f64 = 34.0;

/// The whole page.
pub(crate) fn page(s: &Scenario, report: &Report, trace: &Trace) -> String {
    let svg = picture(s, report, trace);
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>scep-rs rollover drill</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Rollover drill</h1>\n<pre class=\"setup\">{}</pre>\n\
         <p class=\"verdict {}\">{}</p>\n<p class=\"summary\"><code>{}</code></p>\n",
        esc(&report.setup),
        if report.exit_code() == 0 { "ok" } else { "bad" },
        esc(verdict(report)),
        esc(&report.summary_line()),
    );
    o.push_str(&legend(trace));
    o.push_str("<div id=\"plot\">\n");
    o.push_str(&svg);
    o.push_str("<div id=\"cursor\"></div>\n</div>\n");
    o.push_str(&findings(report));
    let _ = write!(o, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    o
}

/// The SVG alone (the page embeds it as is).
pub(crate) fn picture(s: &Scenario, report: &Report, trace: &Trace) -> String {
    let axis = Axis {
        start: trace.start,
        end: trace.end,
    };
    let sample = lanes::sample(trace, report, LANES);
    let mut body = Svg::new();
    let mut y = 28.0;
    let first = y;
    y += panels::ca_rows(&mut body, axis, trace, y) + GAP_BETWEEN;
    y += panels::fleet(&mut body, axis, trace, report, y) + GAP_BETWEEN;
    y += lanes::lanes(&mut body, axis, s, trace, report, &sample, y) + GAP_BETWEEN;
    y += load::requests(&mut body, axis, s, report, trace, y) + GAP_BETWEEN;
    y += load::predictions(&mut body, axis, report, trace, y) + 10.0;
    let mut grid = Svg::new();
    panels::time_axis(&mut grid, axis, first - 16.0, y);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"drill\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" data-start=\"{start}\" data-end=\"{end}\" data-left=\"{left}\" \
         data-width=\"{pw}\">\n<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\n\
         {grid}{body}</svg>\n",
        w = n(WIDTH),
        h = n(y),
        start = trace.start.unix(),
        end = trace.end.unix(),
        left = n(svg::LEFT),
        pw = n(axis.width()),
        grid = grid.out,
        body = body.out,
    )
}

fn verdict(r: &Report) -> &'static str {
    match (r.checker_calls_safe(), r.gaps.is_empty()) {
        (true, true) => "The checker calls this configuration safe and no client had a gap.",
        (true, false) => "The checker calls this configuration safe, yet clients had gaps.",
        (false, true) => "The checker flags this configuration; no client had a gap.",
        (false, false) => "The checker flags this configuration and clients had gaps.",
    }
}

fn legend(trace: &Trace) -> String {
    let mut o = String::from("<p class=\"legend\">");
    let swatch = |o: &mut String, style: &str, text: &str| {
        let _ = write!(o, "<span><i style=\"{style}\"></i>{}</span> ", esc(text));
    };
    for (k, c) in trace.ca_certificates.iter().enumerate() {
        swatch(
            &mut o,
            &format!("background:{}", ca_colour(k)),
            &format!("CA {} (serial {})", k.saturating_add(1), c.serial),
        );
    }
    swatch(&mut o, &format!("background:{GAP}"), "gap");
    swatch(&mut o, &format!("background:{NOT_YET}"), "not enrolled yet");
    swatch(&mut o, "background:#fbd5d5", "CA outage");
    swatch(&mut o, "background:#cbd5e0", "clock not authoritative");
    o.push_str(
        "<span>lighter: ready for that CA (SHADOW done) · ◆ generated / SHADOW · ▲ activated / \
         RENEW · ● enrolled · <b style=\"color:#dd6b20\">●</b> POLL, GetNextCACert 404 · ✕ reboot, \
         cancel</span></p>\n",
    );
    o
}

fn findings(r: &Report) -> String {
    let mut o = String::from("<h2>Hazard checker (SPEC §5)</h2>\n");
    if r.findings.is_empty() {
        o.push_str("<p>No findings.</p>\n");
    } else {
        // One row per hazard and severity: how many nodes, and one example.
        let mut rows: BTreeMap<(Severity, &'static str), (usize, String)> = BTreeMap::new();
        for f in &r.findings {
            let row = rows
                .entry((f.severity(), f.hazard.id()))
                .or_insert_with(|| (0, f.to_string()));
            row.0 = row.0.saturating_add(1);
        }
        o.push_str(
            "<table><tr><th>severity</th><th>hazard</th><th>nodes</th><th>example</th></tr>\n",
        );
        for ((severity, hazard), (count, example)) in rows.iter().rev() {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{count}</td><td>{}</td></tr>",
                esc(&severity.to_string()),
                esc(hazard),
                esc(example)
            );
        }
        o.push_str("</table>\n");
    }
    let agree = r.predictions.iter().filter(|p| p.agrees()).count();
    let _ = writeln!(
        o,
        "<p>H-1 predictions: {} clients with a predicted failing SHADOW, {agree} observed at the \
         predicted second, {} unpredicted GetNextCACert 404s.</p>",
        r.predictions.len(),
        r.unpredicted_404.len()
    );
    o
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;color:#1a202c;margin:16px;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px}
pre.setup{white-space:pre-wrap;background:#f7fafc;padding:8px;font-size:12px}
.verdict.ok{color:#276749;font-weight:600}.verdict.bad{color:#c53030;font-weight:600}
.legend span{margin-right:10px;white-space:nowrap;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}
#plot{position:relative;width:1400px}
#cursor{position:absolute;top:0;pointer-events:none;font-size:11px;background:#1a202c;color:#fff;
padding:1px 4px;display:none}
svg text{font-family:system-ui,sans-serif;fill:#1a202c}
svg .panel{font-weight:600;font-size:13px}svg .label{font-size:11px}
svg .tick,svg .axis,svg .note{font-size:10px;fill:#4a5568}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #e2e8f0;padding:2px 6px;text-align:left}
";

/// A cursor line with the date under the mouse, across every panel.
const SCRIPT: &str = "
(function(){var s=document.getElementById('drill'),c=document.getElementById('cursor');
if(!s||!c)return;var a=+s.dataset.start,b=+s.dataset.end,l=+s.dataset.left,w=+s.dataset.width;
var ln=document.createElementNS('http://www.w3.org/2000/svg','line');
ln.setAttribute('y1','0');ln.setAttribute('y2',s.getAttribute('height'));
ln.setAttribute('stroke','#718096');ln.setAttribute('stroke-dasharray','3 3');
ln.style.display='none';s.appendChild(ln);
s.addEventListener('mousemove',function(e){var r=s.getBoundingClientRect(),x=e.clientX-r.left;
if(x<l||x>l+w){ln.style.display='none';c.style.display='none';return;}
var t=new Date((a+(b-a)*(x-l)/w)*1000);ln.setAttribute('x1',x);ln.setAttribute('x2',x);
ln.style.display='';c.style.display='block';c.style.left=(x+6)+'px';
c.textContent=t.toISOString().slice(0,16).replace('T',' ')+' UTC';});
s.addEventListener('mouseleave',function(){ln.style.display='none';c.style.display='none';});})();
";
