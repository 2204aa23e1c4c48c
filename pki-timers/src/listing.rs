//! The IOS-style `show crypto pki timers` listing (T-16).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::time::{Duration, Instant};

/// A remaining time in milliseconds, printed as IOS does:
/// `639d23:54:17.977`, `3d 7:05:24.003`, `5:54:17.977` or `7:49.003`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Remaining(pub u64);

impl Remaining {
    /// Whole seconds, printed with `.000`.
    #[must_use]
    pub const fn from_duration(d: Duration) -> Self {
        Self(d.as_secs().saturating_mul(1_000))
    }

    /// Time left from `now` until `at` (zero if due).
    #[must_use]
    pub const fn until(at: Instant, now: Instant) -> Self {
        Self::from_duration(at.saturating_since(now))
    }
}

impl fmt::Display for Remaining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1_000;
        let secs = self.0 / 1_000;
        let (d, h, m, s) = (
            secs / 86_400,
            secs % 86_400 / 3_600,
            secs % 3_600 / 60,
            secs % 60,
        );
        // `pad` (not `write!`) so that a caller's width and alignment apply to the whole text.
        let mut buf = Buf::default();
        let res = if d > 0 {
            fmt::write(&mut buf, format_args!("{d}d{h:>2}:{m:02}:{s:02}.{ms:03}"))
        } else if h > 0 {
            fmt::write(&mut buf, format_args!("{h}:{m:02}:{s:02}.{ms:03}"))
        } else {
            fmt::write(&mut buf, format_args!("{m}:{s:02}.{ms:03}"))
        };
        res?;
        f.pad(buf.as_str())
    }
}

/// A fixed buffer big enough for any [`Remaining`] text (`u64::MAX` ms is 27 characters).
#[derive(Default)]
struct Buf {
    bytes: [u8; 32],
    len: usize,
}

impl Buf {
    fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// One group of `show crypto pki timers` (T-16): a group name, then a line with the earliest
/// remaining time, then one line per timer, soonest first.
///
/// ```
/// use pki_timers::{Remaining, TimerListing};
/// let mut l = TimerListing::new("CS Timers");
/// l.push("CS CERT EXPIRE", Remaining(63_071_658_000));
/// l.push("CS CRL UPDATE", Remaining(21_258_000));
/// assert_eq!(
///     l.to_string(),
///     "CS Timers\n\
///      |     5:54:18.000\n \
///      |     5:54:18.000  CS CRL UPDATE\n \
///      |729d23:54:18.000  CS CERT EXPIRE\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerListing {
    group: String,
    timers: Vec<(String, Remaining)>,
}

impl TimerListing {
    /// An empty group.
    #[must_use]
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            timers: Vec::new(),
        }
    }

    /// Adds a timer; order of insertion does not matter (equal times keep it).
    pub fn push(&mut self, label: impl Into<String>, remaining: Remaining) -> &mut Self {
        self.timers.push((label.into(), remaining));
        self
    }

    /// Adds a timer due at `at`, seen from `now`.
    pub fn push_instant(
        &mut self,
        label: impl Into<String>,
        at: Instant,
        now: Instant,
    ) -> &mut Self {
        self.push(label, Remaining::until(at, now))
    }
}

impl fmt::Display for TimerListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.group)?;
        let mut sorted: Vec<&(String, Remaining)> = self.timers.iter().collect();
        sorted.sort_by_key(|(_, r)| *r);
        if let Some((_, first)) = sorted.first() {
            writeln!(f, "|{first:>16}")?;
        }
        for (label, remaining) in sorted {
            writeln!(f, " |{remaining:>16}  {label}")?;
        }
        Ok(())
    }
}

/// The timers of a client trustpoint (T-16 client labels, our choice: Q-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientTimer {
    /// RENEW (T-1, T-3).
    Renew,
    /// SHADOW, with or without auto-enroll (T-3, T-4).
    Shadow,
    /// POLL after PENDING (T-10).
    Poll,
    /// CONNECT RETRY after a transport failure (T-11).
    ConnectRetry,
    /// Activation of the rollover CA and identity (T-14).
    RolloverActivate,
}

impl ClientTimer {
    /// The label for trustpoint `trustpoint`, e.g. `RENEW tp1`.
    #[must_use]
    pub fn label(self, trustpoint: &str) -> String {
        let name = match self {
            Self::Renew => "RENEW",
            Self::Shadow => "SHADOW",
            Self::Poll => "POLL",
            Self::ConnectRetry => "CONNECT RETRY",
            Self::RolloverActivate => "ROLLOVER ACTIVATE",
        };
        let mut s = String::from(name);
        s.push(' ');
        s.push_str(trustpoint);
        s
    }
}
