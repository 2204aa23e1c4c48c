//! The IOS-like status report (C-28, `show crypto pki server`): the seed's wording, IOS's
//! time format in UTC (`12:14:16 UTC Oct 8 2017`) and the overlap in whole units (`90 days`).
//! The fields keep the instants, so a host can print them as RFC 3339 (`Instant`'s `Display`).

use core::fmt;

use pki_timers::{Instant, Overlap};

use super::error::CaState;
use super::{Ca, DatabaseLevel, GrantMode};
use crate::issue::md5_fingerprint;
use crate::storage::Store;

/// What `status()` reports (C-28). `Display` prints it in the IOS layout.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusReport {
    /// The server name.
    pub name: String,
    /// Lifecycle state (C-4).
    pub state: CaState,
    /// Issuer DN (RFC 4514).
    pub issuer: String,
    /// MD5 of the active CA certificate DER, 4 groups of 8 uppercase hex digits.
    pub fingerprint: String,
    /// Granting mode.
    pub grant: GrantMode,
    /// Last serial handed out.
    pub last_serial: u64,
    /// Active CA notAfter.
    pub ca_expiry: Instant,
    /// CRL nextUpdate.
    pub crl_next_update: Instant,
    /// Database level.
    pub database_level: DatabaseLevel,
    /// Rollover CA fingerprint and notAfter, if a rollover exists.
    pub rollover: Option<(String, Instant)>,
    /// The auto-rollover overlap, if configured.
    pub auto_rollover: Option<Overlap>,
    /// Entries in the request table.
    pub requests: usize,
    /// Where the CA keeps its database (IOS: `Current primary storage dir`), as the host
    /// names it; `None` (the default from [`Ca::status`]): the line is left out.
    pub storage_dir: Option<String>,
}

/// An instant as IOS prints it in `show crypto pki server`, always in UTC:
/// `12:14:16 UTC Oct 8 2017` (the day without a leading zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IosTime(pub(crate) Instant);

impl fmt::Display for IosTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let t = self.0.to_utc();
        let month = usize::from(t.month)
            .checked_sub(1)
            .and_then(|i| MONTHS.get(i))
            .copied()
            .unwrap_or("???");
        write!(
            f,
            "{:02}:{:02}:{:02} UTC {month} {} {}",
            t.hour, t.minute, t.second, t.day, t.year
        )
    }
}

/// An auto-rollover overlap as the status report prints it: whole days as IOS does
/// (`90 days`), then hours and minutes only when not zero (`1 day 12 hours`, `0 days 30
/// minutes`); singular for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OverlapText(pub(crate) Overlap);

impl fmt::Display for OverlapText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        let secs = self.0.duration().as_secs();
        let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
        write!(f, "{d} {}", unit(d, "day", "days"))?;
        if h > 0 {
            write!(f, " {h} {}", unit(h, "hour", "hours"))?;
        }
        if m > 0 {
            write!(f, " {m} {}", unit(m, "minute", "minutes"))?;
        }
        Ok(())
    }
}

impl<S: Store> Ca<S> {
    /// C-28: the status report.
    #[must_use]
    pub fn status(&self, _now: Instant) -> StatusReport {
        let inner = self.lock();
        StatusReport {
            name: self.config.name.clone(),
            state: inner.ca.state,
            issuer: inner.ca.active.ca.subject().to_string(),
            fingerprint: md5_fingerprint(&inner.ca.active.der),
            grant: self.config.grant,
            last_serial: inner.last_serial,
            ca_expiry: inner.ca.active.validity().not_after(),
            crl_next_update: inner.crl.next_update,
            database_level: self.config.database_level,
            rollover: inner
                .ca
                .rollover
                .as_ref()
                .map(|r| (md5_fingerprint(&r.der), r.validity().not_after())),
            auto_rollover: self.config.auto_rollover,
            requests: inner.requests.len(),
            storage_dir: None,
        }
    }
}

impl fmt::Display for StatusReport {
    /// The layout of the seed's `show crypto pki server`, line for line and word for word;
    /// IOS indents by four spaces. `Status`/`State`: `enabled` while the CA serves (with or
    /// without a rollover, which has its own lines), `disabled`/`expired` after its expiry.
    /// Not in the seed, so ours: `Rollover status: none` and `Auto-Rollover not configured`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match self.grant {
            GrantMode::Manual => "manual",
            GrantMode::Auto => "auto",
            GrantMode::None => "none",
            GrantMode::RaAuto => "auto for RA",
        };
        let level = match self.database_level {
            DatabaseLevel::Minimal => "Minimum - no cert data written to storage",
            DatabaseLevel::Names => "Names - subject name data written to storage",
            DatabaseLevel::Complete => "Complete - all issued certs written as <serialnum>.cer",
        };
        let (status, state) = match self.state {
            CaState::Expired => ("disabled", "expired"),
            _ => ("enabled", "enabled"),
        };
        writeln!(f, "Certificate Server {}:", self.name)?;
        writeln!(f, "    Status: {status}")?;
        writeln!(f, "    State: {state}")?;
        if self.state != CaState::Expired {
            writeln!(
                f,
                "    Server's configuration is locked (enter \"shut\" to unlock it)"
            )?;
        }
        writeln!(f, "    Issuer name: {}", self.issuer)?;
        writeln!(f, "    CA cert fingerprint: {}", self.fingerprint)?;
        writeln!(f, "    Granting mode is: {grant}")?;
        writeln!(
            f,
            "    Last certificate issued serial number (hex): {:X}",
            self.last_serial
        )?;
        writeln!(
            f,
            "    CA certificate expiration timer: {}",
            IosTime(self.ca_expiry)
        )?;
        writeln!(
            f,
            "    CRL NextUpdate timer: {}",
            IosTime(self.crl_next_update)
        )?;
        if let Some(dir) = &self.storage_dir {
            writeln!(f, "    Current primary storage dir: {dir}")?;
        }
        writeln!(f, "    Database Level: {level}")?;
        match &self.rollover {
            Some((fp, expiry)) => {
                writeln!(f, "    Rollover status: available for rollover")?;
                writeln!(f, "        Rollover CA certificate fingerprint: {fp}")?;
                writeln!(
                    f,
                    "        Rollover CA certificate expiration time: {}",
                    IosTime(*expiry)
                )?;
            }
            None => writeln!(f, "    Rollover status: none")?,
        }
        match self.auto_rollover {
            Some(o) => writeln!(
                f,
                "    Auto-Rollover configured, overlap period {}",
                OverlapText(o)
            ),
            None => writeln!(f, "    Auto-Rollover not configured"),
        }
    }
}
