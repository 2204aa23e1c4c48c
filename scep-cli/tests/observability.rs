//! Metrics, JSON logs and the health endpoint of `scep server`, with micromdm `scepclient`
//! as the client.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use support::{Server, require, run};

/// Parses the Prometheus/OpenMetrics text format strictly enough to catch a malformed line:
/// comments are `# HELP|TYPE|UNIT name …` or `# EOF`; samples are
/// `name{label="value",…} number`. Returns every sample by its full series text.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut saw_eof = false;
    for line in text.lines() {
        assert!(!saw_eof, "text after # EOF: {line:?}");
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let kind = words.next().unwrap();
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "{line:?}");
            let name = words.next().unwrap();
            assert!(name.starts_with("scep_"), "{line:?}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "metric name in {line:?}"
        );
        if name_end < series.len() {
            let labels = series[name_end..]
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'));
            let labels = labels.unwrap_or_else(|| panic!("labels in {line:?}"));
            for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
                assert!(
                    k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{line:?}"
                );
                assert!(!v.trim_end_matches('"').contains('"'), "{line:?}");
            }
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        samples.insert(series.to_owned(), value);
    }
    assert!(saw_eof, "no # EOF");
    samples
}

fn scepclient(server: &Server, work: &std::path::Path, cn: &str) -> std::process::Output {
    require("scepclient", "scep");
    run(Command::new("scepclient")
        .arg("-server-url")
        .arg(&server.url)
        .arg("-private-key")
        .arg(work.join(format!("{cn}.key")))
        .arg("-certificate")
        .arg(work.join(format!("{cn}.pem")))
        .args(["-cn", cn, "-keySize", "1024"])
        .current_dir(work))
}

#[test]
fn metrics_parse_and_count_the_requests_made_and_json_logs_carry_the_transaction_id() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &[
            "--grant",
            "auto",
            "--legacy-algorithms",
            "--key-bits",
            "1024",
            "--log-format",
            "json",
        ],
    );
    for _ in 0..3 {
        assert_eq!(server.get("/scep?operation=GetCACaps").0, 200);
    }
    for _ in 0..2 {
        assert_eq!(server.get("/scep?operation=GetCACert").0, 200);
    }
    let out = scepclient(&server, tmp.path(), "metered");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (status, body) = server.get("/metrics");
    assert_eq!(status, 200);
    let samples = parse_exposition(&String::from_utf8(body).unwrap());
    let count = |series: &str| samples.get(series).copied().unwrap_or(0.0);
    // scepclient itself asks GetCACaps and GetCACert once each before its PKCSReq.
    assert_eq!(
        count(r#"scep_requests_total{operation="GetCACaps",outcome="OK"}"#),
        4.0
    );
    assert_eq!(
        count(r#"scep_requests_total{operation="GetCACert",outcome="OK"}"#),
        3.0
    );
    assert_eq!(
        count(r#"scep_requests_total{operation="PKCSReq",outcome="SUCCESS"}"#),
        1.0
    );
    assert_eq!(count("scep_certificates_issued_total"), 1.0);
    assert_eq!(
        count(r#"scep_request_duration_seconds_count{operation="GetCACaps"}"#),
        4.0
    );
    assert_eq!(count("scep_pending_requests"), 0.0);
    let not_after = count("scep_ca_not_after_timestamp_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(not_after > now + 1000.0 * 86_400.0, "{not_after}");
    assert!(count("scep_crl_next_update_timestamp_seconds") > now);
    assert_eq!(count("scep_rollover_ca_not_after_timestamp_seconds"), 0.0);

    // The request table names the transaction; the JSON log line of the PKCSReq carries it.
    let table = server.admin_ok(&["--json", "pending"]);
    let table: serde_json::Value = serde_json::from_str(&table).unwrap();
    let tid = table["requests"][0]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!tid.is_empty());
    let log = server.log_text();
    let mut found = false;
    let mut audited = false;
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        // The CA's audit record of the same request: the serial and subject issued.
        if v["transaction_id"] == tid.as_str() && v["message"] == "audit" {
            assert_eq!(v["outcome"], "SUCCESS", "{line}");
            assert_eq!(v["serial"], "2", "{line}");
            assert!(
                v["subject"].as_str().unwrap().starts_with("CN=metered"),
                "{line}"
            );
            audited = true;
        }
        if v["transaction_id"] == tid.as_str() && v["message"] == "scep" {
            assert_eq!(v["message_type"], "PKCSReq", "{line}");
            assert_eq!(v["outcome"], "SUCCESS", "{line}");
            // scepclient signs with a throwaway certificate of its own name, not the CSR's.
            assert_eq!(v["signer"], "CN=SCEP SIGNER,O=scep-client", "{line}");
            assert!(
                v["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
                "{line}"
            );
            assert!(v["latency_ms"].as_f64().unwrap() > 0.0, "{line}");
            found = true;
        }
    }
    assert!(found, "no log line with transaction_id {tid}:\n{log}");
    assert!(audited, "no audit line with transaction_id {tid}:\n{log}");
    server.terminate();
}

#[test]
fn healthz_is_200_and_503_when_the_store_cannot_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let server = Server::start(&dir, &["--key-bits", "1024"]);
    let (status, body) = server.get("/healthz");
    assert_eq!((status, body.as_slice()), (200, b"ok\n".as_slice()));
    // The write probe's folder taken by a file: writing fails, as on a full or read-only disk.
    let _ = std::fs::remove_dir_all(dir.join(".healthz"));
    std::fs::write(dir.join(".healthz"), b"in the way").unwrap();
    let (status, body) = server.get("/healthz");
    // The reason is logged, never shown to the client (no path, no OS error).
    assert_eq!((status, body.as_slice()), (503, b"unhealthy\n".as_slice()));
    assert!(server.log_text().contains("not writable"));
    std::fs::remove_file(dir.join(".healthz")).unwrap();
    assert_eq!(server.get("/healthz").0, 200);
    server.terminate();
}

#[test]
fn overlapping_health_checks_are_all_200() {
    // Review finding: every check wrote and removed one fixed file, so two overlapping checks
    // raced and one answered 503 (a load balancer would take the CA out of service).
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--key-bits", "1024"]);
    let port = server.port;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..20)
                    .map(|_| {
                        support::raw_http(
                            port,
                            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                        )
                        .0
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    server.terminate();
}

#[test]
fn healthz_never_writes_through_a_planted_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let server = Server::start(&dir, &["--key-bits", "1024"]);
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // Both the old fixed probe name and the probe folder point at the victim.
    for name in [".healthz-probe", ".healthz"] {
        std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
    }
    let _ = server.get("/healthz");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    server.terminate();
}

#[test]
fn the_pending_gauge_follows_manual_grants() {
    require("pki", "strongswan-pki");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("ca"),
        &["--grant", "manual", "--key-bits", "1024"],
    );
    let gauge = |server: &Server| {
        let (_, body) = server.get("/metrics");
        parse_exposition(&String::from_utf8(body).unwrap())["scep_pending_requests"]
    };
    assert_eq!(gauge(&server), 0.0);
    let ca = tmp.path().join("ca.pem");
    server.ca_pem(&ca);
    let key = tmp.path().join("key.pem");
    let out = run(Command::new("pki").args([
        "--gen",
        "--type",
        "rsa",
        "--size",
        "2048",
        "--outform",
        "pem",
    ]));
    assert!(out.status.success());
    std::fs::write(&key, &out.stdout).unwrap();
    // The client gives up polling after a second; its request stays pending.
    let out = run(Command::new("pki")
        .args(["--scep", "--url", &server.url, "--dn", "CN=waiting", "--in"])
        .arg(&key)
        .arg("--cacert-enc")
        .arg(&ca)
        .arg("--cacert-sig")
        .arg(&ca)
        .args(["--interval", "1", "--maxpolltime", "1"]));
    assert!(!out.status.success());
    assert_eq!(gauge(&server), 1.0);
    server.admin_ok(&["grant", "all"]);
    assert_eq!(gauge(&server), 0.0);
    let (_, body) = server.get("/metrics");
    let samples = parse_exposition(&String::from_utf8(body).unwrap());
    assert_eq!(samples["scep_certificates_issued_total"], 1.0);
    assert_eq!(
        samples[r#"scep_requests_total{operation="PKCSReq",outcome="PENDING"}"#],
        1.0
    );
    server.terminate();
}
