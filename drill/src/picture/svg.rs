//! A tiny SVG writer: escaped text, fixed-precision numbers (the same run gives the same
//! bytes), and the shared time axis.

use std::fmt::Write as _;

use pki_timers::Instant;

/// Width of the picture, in SVG user units (pixels at 100 %).
pub(crate) const WIDTH: f64 = 1400.0;
/// Left margin, for the row labels.
pub(crate) const LEFT: f64 = 170.0;
/// Pixel columns of the plotting area (between the margins).
pub(crate) const COLUMNS: usize = 1210;

/// Colours of the CA certificates, by trace index (cycled).
const CA_COLOURS: [&str; 6] = [
    "#2b6cb0", "#2f855a", "#b7791f", "#6b46c1", "#2c7a7b", "#c05621",
];
/// A gap.
pub(crate) const GAP: &str = "#e53e3e";
/// Not enrolled yet.
pub(crate) const NOT_YET: &str = "#e2e8f0";
/// A CA outage.
pub(crate) const OUTAGE: &str = "#fbd5d5";
/// A clock loss.
pub(crate) const CLOCK_LOSS: &str = "#cbd5e0";
/// GetNextCACert 404s, and the checker's predictions.
pub(crate) const NOT_FOUND: &str = "#dd6b20";
/// Text and axes.
pub(crate) const INK: &str = "#1a202c";
/// Grid lines.
pub(crate) const GRID: &str = "#edf2f7";

/// The colour of CA certificate `k`.
pub(crate) fn ca_colour(k: usize) -> &'static str {
    CA_COLOURS.get(k % CA_COLOURS.len()).copied().unwrap_or(INK)
}

/// Escapes text for an XML text node or attribute value.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A number with one decimal (enough for pixels; formatting is deterministic).
pub(crate) fn n(x: f64) -> String {
    let x = if x.is_finite() { x } else { 0.0 };
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

/// The shared time axis: virtual time to x.
#[derive(Clone, Copy)]
pub(crate) struct Axis {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
}

impl Axis {
    /// Width of the plotting area.
    pub(crate) fn width(self) -> f64 {
        COLUMNS as f64
    }

    /// x of an instant (clamped to the plotting area).
    pub(crate) fn x(self, t: Instant) -> f64 {
        let span = self.end.saturating_since(self.start).as_secs().max(1) as f64;
        let off = t.saturating_since(self.start).as_secs() as f64;
        LEFT + self.width() * (off / span).clamp(0.0, 1.0)
    }

    /// The instant at the left edge of pixel column `col` (of `cols`).
    pub(crate) fn at_column(self, col: usize, cols: usize) -> Instant {
        let span = self.end.saturating_since(self.start).as_secs();
        let off =
            u64::try_from(u128::from(span) * col as u128 / cols.max(1) as u128).unwrap_or(span);
        Instant::from_unix(self.start.unix().saturating_add(off))
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    pub(crate) out: String,
}

impl Svg {
    pub(crate) fn new() -> Self {
        Self { out: String::new() }
    }

    /// `<rect>` with a fill and an optional hover title.
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, title: Option<&str>) {
        self.rect_with(x, y, w, h, &format!("fill=\"{fill}\""), title);
    }

    /// `<rect>` with raw extra attributes.
    pub(crate) fn rect_with(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        attrs: &str,
        title: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {attrs}",
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
        self.close("rect", title);
    }

    /// `<line>`.
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {attrs}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// `<text>` (escaped).
    pub(crate) fn text(&mut self, x: f64, y: f64, attrs: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" {attrs}>{}</text>",
            n(x),
            n(y),
            esc(text)
        );
    }

    /// `<path>` with an optional title.
    pub(crate) fn path(&mut self, d: &str, attrs: &str, title: Option<&str>) {
        let _ = write!(self.out, "<path d=\"{d}\" {attrs}");
        self.close("path", title);
    }

    /// A small marker shape centred on (x, y): `circle`, `diamond`, `triangle`, `cross`.
    pub(crate) fn marker(&mut self, shape: &str, x: f64, y: f64, r: f64, attrs: &str, title: &str) {
        let d = match shape {
            "diamond" => format!(
                "M{} {}L{} {}L{} {}L{} {}Z",
                n(x),
                n(y - r),
                n(x + r),
                n(y),
                n(x),
                n(y + r),
                n(x - r),
                n(y)
            ),
            "triangle" => format!(
                "M{} {}L{} {}L{} {}Z",
                n(x),
                n(y - r),
                n(x + r),
                n(y + r),
                n(x - r),
                n(y + r)
            ),
            "cross" => format!(
                "M{} {}L{} {}M{} {}L{} {}",
                n(x - r),
                n(y - r),
                n(x + r),
                n(y + r),
                n(x - r),
                n(y + r),
                n(x + r),
                n(y - r)
            ),
            _ => format!(
                "M{} {}a{r} {r} 0 1 0 {} 0a{r} {r} 0 1 0 {} 0Z",
                n(x - r),
                n(y),
                n(2.0 * r),
                n(-2.0 * r),
                r = n(r)
            ),
        };
        self.path(&d, attrs, Some(title));
    }

    /// Opens a group with raw attributes.
    pub(crate) fn open_group(&mut self, attrs: &str) {
        let _ = writeln!(self.out, "<g {attrs}>");
    }

    /// Closes a group.
    pub(crate) fn close_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    fn close(&mut self, element: &str, title: Option<&str>) {
        match title {
            Some(t) => {
                let _ = writeln!(self.out, "><title>{}</title></{element}>", esc(t));
            }
            None => self.out.push_str("/>\n"),
        }
    }
}
