//! The IOS-like status report (C-28, `show crypto pki server`).

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
        }
    }
}

impl fmt::Display for StatusReport {
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
        writeln!(f, "Certificate Server {}:", self.name)?;
        writeln!(f, "    Status: {}", self.state.name())?;
        writeln!(f, "    Issuer name: {}", self.issuer)?;
        writeln!(f, "    CA cert fingerprint: {}", self.fingerprint)?;
        writeln!(f, "    Granting mode is: {grant}")?;
        writeln!(
            f,
            "    Last certificate issued serial number (hex): {:X}",
            self.last_serial
        )?;
        writeln!(f, "    CA certificate expiration timer: {}", self.ca_expiry)?;
        writeln!(f, "    CRL NextUpdate timer: {}", self.crl_next_update)?;
        writeln!(f, "    Database Level: {level}")?;
        match &self.rollover {
            Some((fp, expiry)) => {
                writeln!(f, "    Rollover status: available for rollover")?;
                writeln!(f, "        Rollover CA cert fingerprint: {fp}")?;
                writeln!(
                    f,
                    "        Rollover CA certificate expiration timer: {expiry}"
                )?;
            }
            None => writeln!(f, "    Rollover status: none")?,
        }
        match self.auto_rollover {
            Some(o) => {
                let secs = o.duration().as_secs();
                writeln!(
                    f,
                    "    Auto-Rollover configured, overlap period {} days {} hours {} minutes",
                    secs / 86_400,
                    secs % 86_400 / 3_600,
                    secs % 3_600 / 60
                )
            }
            None => writeln!(f, "    Auto-Rollover not configured"),
        }
    }
}
