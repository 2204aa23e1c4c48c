//! Lengths of time as operators write them: `365d`, `6h`, `90m`, `30s`, `1d12h`.

use std::fmt;
use std::str::FromStr;

/// A length of time in whole seconds, written as one or more `<number><unit>` parts (units
/// `d`, `h`, `m`, `s`), e.g. `1d12h`. A bare number is refused: the unit is never guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Span(u64);

impl Span {
    /// The length in seconds.
    pub(crate) const fn secs(self) -> u64 {
        self.0
    }

    /// As a std duration (for socket timeouts).
    pub(crate) const fn std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }

    /// `secs` seconds.
    #[cfg(test)]
    pub(crate) const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }
}

/// Why a span does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a length of time (write e.g. 365d, 6h, 90m, 30s or 1d12h)")]
pub(crate) struct SpanError(String);

impl FromStr for Span {
    type Err = SpanError;

    fn from_str(text: &str) -> Result<Self, SpanError> {
        let bad = || SpanError(text.to_owned());
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut parts = 0usize;
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            parts = parts.saturating_add(1);
        }
        if !digits.is_empty() || parts == 0 {
            return Err(bad());
        }
        Ok(Self(total))
    }
}

impl TryFrom<String> for Span {
    type Error = SpanError;
    fn try_from(s: String) -> Result<Self, SpanError> {
        s.parse()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, label) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
            if rest >= unit {
                write!(f, "{}{label}", rest / unit)?;
                rest %= unit;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Span;

    #[test]
    fn parses_units_and_sums_parts() {
        assert_eq!("365d".parse::<Span>().unwrap().secs(), 365 * 86_400);
        assert_eq!("1d12h".parse::<Span>().unwrap().secs(), 36 * 3_600);
        assert_eq!("90m".parse::<Span>().unwrap().secs(), 5_400);
        assert_eq!(" 30s ".parse::<Span>().unwrap().secs(), 30);
        assert_eq!(Span::from_secs(36 * 3_600 + 61).to_string(), "1d12h1m1s");
    }

    #[test]
    fn refuses_bare_numbers_unknown_units_and_overflow() {
        for bad in [
            "",
            "10",
            "5y",
            "d",
            "1h30",
            "-1h",
            "99999999999999999999d",
            "1.5h",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?}");
        }
    }
}
