//! `scep admin status` and `scep admin timers` against a running server (issue 19, item 6):
//! the text in the seed's IOS wording (C-28, T-16), the `--json` form with RFC 3339 instants.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::Server;

/// `HH:MM:SS UTC Mon D YYYY`, as IOS prints a time.
fn is_ios_time(text: &str) -> bool {
    let parts: Vec<&str> = text.split(' ').collect();
    let [clock, zone, month, day, year] = parts[..] else {
        return false;
    };
    let clock_ok = clock.len() == 8
        && clock
            .split(':')
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()));
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    clock_ok
        && zone == "UTC"
        && months.contains(&month)
        && !day.starts_with('0')
        && day.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        && year.len() == 4
        && year.parse::<u32>().is_ok()
}

fn value_of<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("{key:?} not in\n{text}"))
}

#[test]
fn c28_t16_admin_status_in_the_seeds_words_and_json_in_rfc3339() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let server = Server::start(
        &dir,
        &[
            "--key-bits",
            "1024",
            "--name",
            "ROOTCA",
            "--auto-rollover",
            "90d",
        ],
    );
    let text = server.admin_ok(&["status"]);
    // The seed's line order and words (`show crypto pki server`), then the CS timers.
    let heads: Vec<&str> = text
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.trim_start().split(':').next().unwrap())
        .collect();
    assert_eq!(
        heads,
        [
            "Certificate Server ROOTCA",
            "Status",
            "State",
            "Server's configuration is locked (enter \"shut\" to unlock it)",
            "Issuer name",
            "CA cert fingerprint",
            "Granting mode is",
            "Last certificate issued serial number (hex)",
            "CA certificate expiration timer",
            "CRL NextUpdate timer",
            "Current primary storage dir",
            "Database Level",
            "Rollover status",
            "Auto-Rollover configured, overlap period 90 days",
        ],
        "\n{text}"
    );
    assert!(
        text.contains("\n    Status: enabled\n    State: enabled\n"),
        "{text}"
    );
    let expiry = value_of(&text, "    CA certificate expiration timer: ");
    let crl = value_of(&text, "    CRL NextUpdate timer: ");
    assert!(is_ios_time(expiry), "{expiry:?}");
    assert!(is_ios_time(crl), "{crl:?}");
    let storage = value_of(&text, "    Current primary storage dir: ");
    assert_eq!(storage, format!("{}/", dir.display()));
    // `show crypto pki timers`: the group line, the earliest, then one line per timer.
    let timers = server.admin_ok(&["timers"]);
    let lines: Vec<&str> = timers.lines().collect();
    assert_eq!(lines[0], "CS Timers", "{timers}");
    assert!(
        lines[1].starts_with('|') && lines[1].len() == 17,
        "{timers}"
    );
    assert!(lines[2..].iter().all(|l| l.starts_with(" |")), "{timers}");
    assert!(
        lines.iter().any(|l| l.ends_with("  CS CRL UPDATE")),
        "{timers}"
    );
    assert!(
        text.contains(&timers),
        "status shows the same listing:\n{text}"
    );
    // The machine format: the same instants as RFC 3339.
    let json: serde_json::Value =
        serde_json::from_str(&server.admin_ok(&["--json", "status"])).unwrap();
    assert_eq!(json["kind"], "status", "{json}");
    let status = &json;
    let not_after = status["ca_not_after"].as_str().unwrap();
    let next_update = status["crl_next_update"].as_str().unwrap();
    for t in [not_after, next_update] {
        assert!(
            pki_timers::Instant::from_rfc3339(t).is_some(),
            "{t:?} is not RFC 3339"
        );
    }
    // Both forms name the same instants.
    let at = pki_timers::Instant::from_rfc3339(not_after)
        .unwrap()
        .to_utc();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert_eq!(
        expiry,
        format!(
            "{:02}:{:02}:{:02} UTC {} {} {}",
            at.hour,
            at.minute,
            at.second,
            months[usize::from(at.month) - 1],
            at.day,
            at.year
        )
    );
    assert!(status["text"].as_str().unwrap().contains(expiry));
    server.terminate();
}
