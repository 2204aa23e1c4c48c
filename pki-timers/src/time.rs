//! Time as plain integers: instants, durations, validity periods and percentages.
//!
//! SPEC conventions: an [`Instant`] is whole seconds since the Unix epoch (UTC), a day is
//! exactly 86 400 s (no calendar arithmetic, no leap seconds), and nothing here reads a clock.

use core::fmt;

use crate::error::TimerError;

const MINUTE: u64 = 60;
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// A point in time: whole seconds since 1970-01-01T00:00:00Z.
///
/// `Display` prints RFC 3339 (`2015-10-09T12:14:16Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

/// A span of time in whole seconds.
///
/// `Display` prints `730d`, `182d 12:00:00` or `5:54:18`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

impl Instant {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Self = Self(0);

    /// The instant `secs` seconds after the Unix epoch.
    #[must_use]
    pub const fn from_unix(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    #[must_use]
    pub const fn unix(self) -> u64 {
        self.0
    }

    /// The instant of a UTC calendar date and time, or `None` for a date before 1970 or an
    /// impossible field (month 13, day 31 of April, hour 24, …).
    #[must_use]
    // Bounded: a u32 year is at most ~1.6e12 days, times 86 400 stays below 2^64.
    #[allow(clippy::arithmetic_side_effects)]
    pub const fn from_utc(
        year: u32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Option<Self> {
        if year < 1970
            || month < 1
            || month > 12
            || day < 1
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        if day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(Self(
            days * DAY + hour as u64 * HOUR + minute as u64 * MINUTE + second as u64,
        ))
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (the form `Display` prints).
    #[must_use]
    pub fn from_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 20
            || b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || b.get(10) != Some(&b'T')
        {
            return None;
        }
        if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') || b.get(19) != Some(&b'Z') {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            let digits = text.get(from..to)?;
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        };
        let small =
            |from: usize| num(from, from.saturating_add(2)).and_then(|v| u8::try_from(v).ok());
        Self::from_utc(
            num(0, 4)?,
            small(5)?,
            small(8)?,
            small(11)?,
            small(14)?,
            small(17)?,
        )
    }

    /// `self + d`, or `None` past `u64::MAX` seconds.
    #[must_use]
    pub const fn checked_add(self, d: Duration) -> Option<Self> {
        match self.0.checked_add(d.0) {
            Some(s) => Some(Self(s)),
            None => None,
        }
    }

    /// `self + d`, or [`TimerError::Overflow`].
    pub const fn add(self, d: Duration) -> Result<Self, TimerError> {
        match self.checked_add(d) {
            Some(t) => Ok(t),
            None => Err(TimerError::Overflow),
        }
    }

    /// `self + d`, clamped at the last representable instant.
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.0))
    }

    /// `self − d`, clamped at the epoch.
    #[must_use]
    pub const fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.0))
    }

    /// Time from `earlier` to `self`; zero if `earlier` is not before `self` (a countdown that
    /// has run out, or a clock that went backwards).
    #[must_use]
    pub const fn saturating_since(self, earlier: Self) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Self = Self(0);

    /// `secs` seconds.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// `minutes` minutes (saturating).
    #[must_use]
    pub const fn from_minutes(minutes: u64) -> Self {
        Self(minutes.saturating_mul(MINUTE))
    }

    /// `hours` hours (saturating).
    #[must_use]
    pub const fn from_hours(hours: u64) -> Self {
        Self(hours.saturating_mul(HOUR))
    }

    /// `days` days of 86 400 s (saturating).
    #[must_use]
    pub const fn from_days(days: u64) -> Self {
        Self(days.saturating_mul(DAY))
    }

    /// Whole seconds.
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self · n`, or `None` on overflow.
    #[must_use]
    pub const fn checked_mul(self, n: u64) -> Option<Self> {
        match self.0.checked_mul(n) {
            Some(s) => Some(Self(s)),
            None => None,
        }
    }

    /// `self + other`, clamped at `u64::MAX` seconds.
    #[must_use]
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self − other`, clamped at zero.
    #[must_use]
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// `floor(self · p / 100)`, exact (128-bit intermediate). Never more than `self`.
    #[must_use]
    pub const fn percent(self, p: Percent) -> Self {
        Self(mul_div_100(self.0, p.get() as u64))
    }

    /// `floor(self · (100 − p) / 100)`: the part of a lifetime left after the renewal instant.
    #[must_use]
    pub const fn percent_remainder(self, p: Percent) -> Self {
        Self(mul_div_100(self.0, p.remainder() as u64))
    }
}

/// `floor(a · b / 100)` for `b ≤ 100`, exact and without overflow.
// The cast is guarded by the comparison just before it (`try_from` is not const).
#[allow(clippy::cast_possible_truncation)]
pub(crate) const fn mul_div_100(a: u64, b: u64) -> u64 {
    let wide = (a as u128).saturating_mul(b as u128) / 100;
    if wide > u64::MAX as u128 {
        u64::MAX
    } else {
        wide as u64
    }
}

/// An auto-enroll percentage, 1–100 (T-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u8);

impl Percent {
    /// 100 %: what a bare `auto-enroll` means (T-2): renewal at expiry.
    pub const FULL: Self = Self(100);
    /// 90 %: the CA-only SHADOW timer (T-4) and its re-arm (T-13).
    pub const CA_ONLY_SHADOW: Self = Self(90);

    /// Checks `1 ≤ value ≤ 100`.
    // The cast follows the range check (`try_from` is not const).
    #[allow(clippy::cast_possible_truncation)]
    pub const fn new(value: u32) -> Result<Self, TimerError> {
        if value == 0 || value > 100 {
            return Err(TimerError::PercentOutOfRange { value });
        }
        Ok(Self(value as u8))
    }

    /// The percentage an `auto-enroll [p]` line configures: a bare `auto-enroll` (`None`)
    /// means 100 % (T-2).
    pub const fn from_auto_enroll(value: Option<u32>) -> Result<Self, TimerError> {
        match value {
            Some(v) => Self::new(v),
            None => Ok(Self::FULL),
        }
    }

    /// The value, 1–100.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `100 − p`: the share of a lifetime left after the renewal instant.
    #[must_use]
    pub const fn remainder(self) -> u8 {
        100u8.saturating_sub(self.0)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A certificate's validity `[not_before, not_after]`, with `not_before < not_after`.
///
/// A certificate is in force at `t` when `not_before ≤ t < not_after` (C-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Validity {
    not_before: Instant,
    not_after: Instant,
}

impl Validity {
    /// Checks that the period is not empty.
    pub const fn new(not_before: Instant, not_after: Instant) -> Result<Self, TimerError> {
        if not_after.0 <= not_before.0 {
            return Err(TimerError::EmptyValidity {
                not_before,
                not_after,
            });
        }
        Ok(Self {
            not_before,
            not_after,
        })
    }

    /// [`Validity::new`] from Unix seconds, as a certificate's notBefore and notAfter read.
    ///
    /// # Errors
    /// [`TimerError::EmptyValidity`] unless `not_after > not_before`.
    pub const fn from_unix(not_before: u64, not_after: u64) -> Result<Self, TimerError> {
        Self::new(
            Instant::from_unix(not_before),
            Instant::from_unix(not_after),
        )
    }

    /// `[not_before, not_before + span]`.
    pub const fn starting_at(not_before: Instant, span: Duration) -> Result<Self, TimerError> {
        match not_before.add(span) {
            Ok(not_after) => Self::new(not_before, not_after),
            Err(e) => Err(e),
        }
    }

    /// notBefore.
    #[must_use]
    pub const fn not_before(self) -> Instant {
        self.not_before
    }

    /// notAfter.
    #[must_use]
    pub const fn not_after(self) -> Instant {
        self.not_after
    }

    /// `not_after − not_before`, always positive.
    #[must_use]
    pub const fn span(self) -> Duration {
        self.not_after.saturating_since(self.not_before)
    }

    /// `not_before + floor(span · p / 100)` (the T-1 formula): always inside the validity.
    #[must_use]
    pub const fn at_percent(self, p: Percent) -> Instant {
        self.not_before.saturating_add(self.span().percent(p))
    }

    /// Whether the certificate is in force at `t`: `not_before ≤ t < not_after`.
    #[must_use]
    pub const fn contains(self, t: Instant) -> bool {
        self.not_before.0 <= t.0 && t.0 < self.not_after.0
    }
}

/// The fields of a UTC date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    /// Year, 1970 or later.
    pub year: u64,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

impl Instant {
    /// The UTC calendar fields of this instant.
    #[must_use]
    pub const fn to_utc(self) -> UtcDateTime {
        let (year, month, day) = civil_from_days(self.0 / DAY);
        let secs = self.0 % DAY;
        UtcDateTime {
            year,
            month,
            day,
            hour: (secs / HOUR) as u8,
            minute: (secs % HOUR / MINUTE) as u8,
            second: (secs % MINUTE) as u8,
        }
    }
}

const fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

const fn days_in_month(year: u32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Proleptic Gregorian calendar <-> day number, for years from 1970 on. Every intermediate is
// bounded far below u64::MAX (a u32 year, or a day count of at most u64::MAX / 86 400), so
// the plain operators cannot overflow.
#[allow(clippy::arithmetic_side_effects)]
const fn days_from_civil(year: u32, month: u8, day: u8) -> u64 {
    let y = if month <= 2 {
        year as u64 - 1
    } else {
        year as u64
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let m = month as u64;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
const fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_utc();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({} = {self})", self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, rest) = (self.0 / DAY, self.0 % DAY);
        let (h, m, s) = (rest / HOUR, rest % HOUR / MINUTE, rest % MINUTE);
        match (d, rest) {
            (0, _) => write!(f, "{h}:{m:02}:{s:02}"),
            (_, 0) => write!(f, "{d}d"),
            _ => write!(f, "{d}d {h}:{m:02}:{s:02}"),
        }
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({} s = {self})", self.0)
    }
}

/// Whole seconds as a `core::time::Duration` (what `std::thread::sleep` takes).
impl From<Duration> for core::time::Duration {
    fn from(d: Duration) -> Self {
        Self::from_secs(d.0)
    }
}

/// A `core::time::Duration` (as `std::time::Instant::elapsed` gives) in whole seconds, rounded
/// up: a wait converted this way is never shorter than asked.
impl From<core::time::Duration> for Duration {
    fn from(d: core::time::Duration) -> Self {
        Self(d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)))
    }
}

#[cfg(test)]
mod std_conversions {
    use super::Duration;

    #[test]
    fn durations_convert_both_ways_never_shorter() {
        let d: core::time::Duration = Duration::from_minutes(2).into();
        assert_eq!(d, core::time::Duration::from_secs(120));
        assert_eq!(
            Duration::from(core::time::Duration::from_millis(1500)),
            Duration::from_secs(2)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            Duration::from(core::time::Duration::MAX).as_secs(),
            u64::MAX
        );
    }
}
