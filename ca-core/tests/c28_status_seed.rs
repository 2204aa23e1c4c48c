//! Test code: the status report (C-28) word for word as the seed's `show crypto pki server`
//! prints it (issue 19, item 6), with the seed's values fed in; the instants stay available
//! as RFC 3339 for machines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{CaState, DatabaseLevel, GrantMode, StatusReport};
use ca_support::*;
use pki_timers::{Instant, Overlap};

/// The seed's text (`tests/data/seed/NOTES.txt`).
const SEED: &str = include_str!("data/seed/show_crypto_pki_server.txt");

/// The seed device's clock was CET (UTC+1); the report prints UTC (SPEC T-17 uses the same
/// conversion: 13:14:16 CET = 12:14:16Z).
const CET_TO_UTC: [(&str, &str); 3] = [
    ("13:14:16 CET Oct 8 2017", "12:14:16 UTC Oct 8 2017"),
    ("19:11:54 CET Jul 10 2017", "18:11:54 UTC Jul 10 2017"),
    ("13:14:16 CET Oct 8 2019", "12:14:16 UTC Oct 8 2019"),
];

/// A real report, every field then set to the seed's values.
fn seed_report() -> StatusReport {
    let mut r = open(config(), 1).status(T0);
    r.name = "ROOTCA".to_owned();
    r.state = CaState::ActiveWithRollover;
    r.issuer = "CN=RootCA,OU=TAC,O=Cisco".to_owned();
    r.fingerprint = "CC748544 A0AB7832 935D8CD0 214A152E".to_owned();
    r.grant = GrantMode::Manual;
    r.last_serial = 6;
    r.ca_expiry = Instant::from_rfc3339("2017-10-08T12:14:16Z").unwrap();
    r.crl_next_update = Instant::from_rfc3339("2017-07-10T18:11:54Z").unwrap();
    r.storage_dir = Some("unix:/iosca-root/".to_owned());
    r.database_level = DatabaseLevel::Complete;
    r.rollover = Some((
        "031904DC F4FAD1FD 8A866373 C63CE20F".to_owned(),
        Instant::from_rfc3339("2019-10-08T12:14:16Z").unwrap(),
    ));
    r.auto_rollover = Some(Overlap::new(90, 0, 0).unwrap());
    r
}

fn expected() -> String {
    CET_TO_UTC.iter().fold(SEED.to_owned(), |text, (cet, utc)| {
        assert!(text.contains(cet), "{cet} not in the seed");
        text.replace(cet, utc)
    })
}

#[test]
fn c28_status_report_is_the_seed_word_for_word() {
    let text = seed_report().to_string();
    let got: Vec<&str> = text.lines().map(str::trim).collect();
    let want: Vec<String> = expected().lines().map(|l| l.trim().to_owned()).collect();
    assert_eq!(got, want, "\n{text}");
}

#[test]
fn c28_status_report_indents_as_ios() {
    let text = seed_report().to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Certificate Server ROOTCA:"));
    for line in lines {
        let depth = line.len() - line.trim_start().len();
        let want = if line.trim_start().starts_with("Rollover CA certificate") {
            8
        } else {
            4
        };
        assert_eq!(depth, want, "{line:?}");
    }
}

#[test]
fn c28_times_are_ios_format_in_utc() {
    let mut r = seed_report();
    // The day is not zero-padded, the hour is.
    r.ca_expiry = Instant::from_rfc3339("2026-12-03T10:05:03Z").unwrap();
    r.crl_next_update = Instant::from_rfc3339("2026-01-31T00:00:00Z").unwrap();
    let text = r.to_string();
    assert!(
        text.contains("CA certificate expiration timer: 10:05:03 UTC Dec 3 2026\n"),
        "{text}"
    );
    assert!(
        text.contains("CRL NextUpdate timer: 00:00:00 UTC Jan 31 2026\n"),
        "{text}"
    );
    assert!(
        !text.contains("2026-"),
        "no RFC 3339 in the IOS text: {text}"
    );
}

#[test]
fn c28_overlap_whole_days_then_hours_and_minutes_when_not_zero() {
    let mut r = seed_report();
    for ((d, h, m), want) in [
        ((90, 0, 0), "overlap period 90 days\n"),
        ((1, 0, 0), "overlap period 1 day\n"),
        ((30, 12, 0), "overlap period 30 days 12 hours\n"),
        ((0, 1, 30), "overlap period 0 days 1 hour 30 minutes\n"),
        ((2, 0, 1), "overlap period 2 days 1 minute\n"),
    ] {
        r.auto_rollover = Some(Overlap::new(d, h, m).unwrap());
        let text = r.to_string();
        assert!(text.contains(want), "{want:?} not in\n{text}");
        assert!(!text.contains(" 0 hours") && !text.contains(" 0 minutes"));
    }
}

#[test]
fn c28_not_in_the_seed_without_rollover_and_after_expiry() {
    let mut r = seed_report();
    r.rollover = None;
    r.auto_rollover = None;
    r.storage_dir = None;
    r.state = CaState::Expired;
    let text = r.to_string();
    assert!(
        text.contains("    Status: disabled\n    State: expired\n"),
        "{text}"
    );
    assert!(!text.contains("configuration is locked"), "{text}");
    assert!(!text.contains("storage dir"), "{text}");
    assert!(text.contains("    Rollover status: none\n"), "{text}");
    assert!(
        text.contains("    Auto-Rollover not configured\n"),
        "{text}"
    );
}

#[test]
fn c28_machine_format_keeps_rfc3339() {
    let r = seed_report();
    assert_eq!(r.ca_expiry.to_string(), "2017-10-08T12:14:16Z");
    assert_eq!(r.crl_next_update.to_string(), "2017-07-10T18:11:54Z");
    assert_eq!(
        r.rollover.as_ref().map(|(_, at)| at.to_string()).as_deref(),
        Some("2019-10-08T12:14:16Z")
    );
}

/// Milliseconds of a T-16 time text (`639d23:54:17.977`, `5:54:17.977`, `7:49.003`).
fn millis(text: &str) -> u64 {
    let (days, rest) = match text.split_once('d') {
        Some((d, rest)) => (d.trim().parse::<u64>().unwrap(), rest),
        None => (0, text),
    };
    let (clock, ms) = rest.trim().split_once('.').unwrap();
    let secs = clock
        .split(':')
        .fold(0u64, |acc, p| acc * 60 + p.parse::<u64>().unwrap());
    ((days * 86_400 + secs) * 1_000) + ms.parse::<u64>().unwrap()
}

#[test]
fn t16_t17_ca_timer_listing_is_the_seeds_layout() {
    let seed = include_str!("data/seed/show_crypto_pki_timers.txt");
    let mut c = config();
    c.lifetime_ca_certificate = pki_timers::Duration::from_days(730);
    c.lifetime_crl = pki_timers::Duration::from_hours(6);
    c.auto_rollover = Some(Overlap::new(90, 0, 0).unwrap());
    let created = Instant::from_rfc3339("2015-10-09T12:14:16Z").unwrap();
    let ca = ca_core::Ca::open(c, ca_core::MemoryStore::new(), created, true, &mut rng(1)).unwrap();
    let now = Instant::from_rfc3339("2015-10-09T12:19:58Z").unwrap();
    let ours = ca.timer_listing(now).to_string();
    let (ours_lines, seed_lines): (Vec<&str>, Vec<&str>) =
        (ours.lines().collect(), seed.lines().collect());
    assert_eq!(ours_lines.len(), seed_lines.len(), "\n{ours}");
    assert_eq!(ours_lines[0], seed_lines[0]);
    for (o, s) in ours_lines.iter().zip(&seed_lines).skip(1) {
        // The bar, the 16-column time and the label at the same columns; the time within 1 s
        // (the seed's sub-second digits are the device's jitter).
        let bar = s.find('|').unwrap();
        assert_eq!(o.find('|'), Some(bar), "{o:?} vs {s:?}");
        let (o_time, o_label) = o.split_at(bar + 17);
        let (s_time, s_label) = s.split_at(bar + 17);
        assert_eq!(o_label, s_label, "{o:?} vs {s:?}");
        let (o_ms, s_ms) = (millis(&o_time[bar + 1..]), millis(&s_time[bar + 1..]));
        assert!(o_ms.abs_diff(s_ms) < 1_000, "{o:?} vs {s:?}");
    }
}
