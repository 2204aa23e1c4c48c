//! Admin data from the CA, and its human-readable form (IOS layouts and tables; never Rust
//! `Debug`).

use std::fmt::Write as _;

use ca_core::{Ca, CaEvent, DatabaseLevel, GrantMode, PendingRequest, RequestStatus, Store};
use pki_timers::{Instant, TimerListing};

use super::protocol::{Reply, Row, Status, Timer};

/// The status report (C-28) and the timers. The text is IOS's (times as `12:14:16 UTC Oct 8
/// 2017`); the data fields keep RFC 3339 for machines (`scep admin --json status`).
pub(crate) fn status<S: Store>(ca: &Ca<S>, dir: &std::path::Path, now: Instant) -> Status {
    let mut report = ca.status(now);
    let dir = dir.display().to_string();
    report.storage_dir = Some(if dir.ends_with('/') { dir } else { dir + "/" });
    let listing = ca.timer_listing(now);
    Status {
        name: report.name.clone(),
        state: report.state.name().to_owned(),
        issuer: report.issuer.clone(),
        fingerprint: report.fingerprint.clone(),
        grant: match report.grant {
            GrantMode::Auto => "auto",
            GrantMode::None => "none",
            GrantMode::RaAuto => "ra-auto",
            _ => "manual",
        }
        .to_owned(),
        last_serial: format!("{:X}", report.last_serial),
        ca_not_after: report.ca_expiry.to_string(),
        crl_next_update: report.crl_next_update.to_string(),
        database_level: match report.database_level {
            DatabaseLevel::Minimal => "minimal",
            DatabaseLevel::Names => "names",
            _ => "complete",
        }
        .to_owned(),
        rollover_fingerprint: report.rollover.as_ref().map(|(fp, _)| fp.clone()),
        rollover_not_after: report.rollover.as_ref().map(|(_, at)| at.to_string()),
        requests: report.requests,
        timers: timers(&listing),
        text: format!("{report}\n{listing}"),
    }
}

/// The rows of a T-16 listing, read back from its fixed layout (` |<remaining>  <label>`).
pub(crate) fn timers(listing: &TimerListing) -> Vec<Timer> {
    listing
        .to_string()
        .lines()
        .filter_map(|line| line.strip_prefix(" |"))
        .filter_map(|rest| {
            let (remaining, label) = rest.trim_start().split_once("  ")?;
            Some(Timer {
                label: label.trim().to_owned(),
                remaining: remaining.trim().to_owned(),
            })
        })
        .collect()
}

/// One request table row.
pub(crate) fn row(r: &PendingRequest) -> Row {
    let (state, serial) = match r.status {
        RequestStatus::Pending => ("pending", None),
        RequestStatus::Issuing => ("issuing", None),
        RequestStatus::Issued(s) => ("issued", Some(format!("{s:X}"))),
        RequestStatus::Rejected => ("rejected", None),
        _ => ("unknown", None),
    };
    Row {
        id: r.id,
        state: state.to_owned(),
        serial,
        fingerprint: r.fingerprint.clone(),
        subject: r.subject.clone(),
        transaction_id: r.transaction_id.clone(),
        created: r.created.to_string(),
        to_rollover: r.to_rollover,
        subject_alt_names: r.subject_alt_names.clone(),
        extended_key_usages: r.extended_key_usages.clone(),
        key_bits: r.key_bits,
        signer: r.signer.map_or_else(|| "-".to_owned(), |k| k.to_string()),
        violations: r.violations.iter().map(ToString::to_string).collect(),
    }
}

/// A CA event in words.
pub(crate) fn event_text(e: &CaEvent) -> String {
    match e {
        CaEvent::CrlUpdated {
            number,
            next_update,
        } => format!("CRL {number} issued, next update {next_update}"),
        CaEvent::RolloverGenerated { serial, not_after } => {
            format!("rollover CA certificate generated: serial {serial:X}, expires {not_after}")
        }
        CaEvent::RolloverActivated { serial } => {
            format!("rollover CA activated: serial {serial:X} is now the CA certificate")
        }
        CaEvent::Expired => "the CA certificate expired without a rollover CA".to_owned(),
        CaEvent::RolloverCancelled { rejected, issued } => format!(
            "rollover cancelled: {rejected} pending request(s) to it rejected, {issued} certificate(s) it issued are void"
        ),
        CaEvent::RequestsPurged { count } => format!("{count} expired request(s) purged"),
        _ => "CA event".to_owned(),
    }
}

/// The items joined by `sep`, or `-` when there are none.
fn list_or_dash(items: &[String], sep: &str) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(sep)
    }
}

/// A table with a header row; every column as wide as its widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(text, "{cell:<w$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// What `scep admin` prints for `reply`.
pub(crate) fn human(reply: &Reply) -> String {
    match reply {
        Reply::Status(s) => s.text.clone(),
        Reply::Timers { text, .. } => text.clone(),
        Reply::Requests { requests } if requests.is_empty() => "no requests\n".to_owned(),
        Reply::Requests { requests } => {
            let rows: Vec<Vec<String>> = requests
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.state.clone(),
                        r.serial.clone().unwrap_or_else(|| "-".to_owned()),
                        r.created.clone(),
                        r.transaction_id.clone(),
                        r.fingerprint.clone(),
                        if r.to_rollover {
                            format!("{} (rollover CA)", r.subject)
                        } else {
                            r.subject.clone()
                        },
                        list_or_dash(&r.subject_alt_names, ","),
                        list_or_dash(&r.extended_key_usages, ","),
                        r.key_bits.to_string(),
                        r.signer.clone(),
                        if r.violations.is_empty() {
                            "ok".to_owned()
                        } else {
                            r.violations.join("; ")
                        },
                    ]
                })
                .collect();
            table(
                &[
                    "ID",
                    "STATE",
                    "SERIAL",
                    "RECEIVED",
                    "TRANSACTION",
                    "FINGERPRINT",
                    "SUBJECT",
                    "SAN",
                    "EKU",
                    "KEY",
                    "SIGNER",
                    "POLICY",
                ],
                &rows,
            )
        }
        Reply::Granted { serials } if serials.is_empty() => "nothing pending to grant\n".to_owned(),
        Reply::Granted { serials } => serials
            .iter()
            .map(|s| format!("granted: certificate serial {s} issued\n"))
            .collect(),
        Reply::Rejected { count } => format!("rejected {count} request(s)\n"),
        Reply::Removed { count } => format!("removed {count} request(s)\n"),
        Reply::Revoked { serial, crl_number } => {
            format!("revoked serial {serial}; CRL {crl_number} issued\n")
        }
        Reply::Event { event } => format!("{event}\n"),
        Reply::Otp { password, expires } => {
            format!("one-time enrolment password: {password}\nvalid until {expires}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_rows_come_back_from_the_ios_listing() {
        let mut l = TimerListing::new("CS Timers");
        l.push("CS CRL UPDATE", pki_timers::Remaining(21_258_000));
        l.push("CS CERT EXPIRE", pki_timers::Remaining(63_071_658_000));
        let rows = timers(&l);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, "CS CRL UPDATE");
        assert_eq!(rows[0].remaining, "5:54:18.000");
        assert_eq!(rows[1].label, "CS CERT EXPIRE");
        assert_eq!(rows[1].remaining, "729d23:54:18.000");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(&["ID", "SUBJECT"], &[vec!["12".into(), "CN=a".into()]]);
        assert_eq!(t, "ID  SUBJECT\n12  CN=a\n");
    }
}
