//! C-14 limits with several `scep server` instances on one PostgreSQL database (issue 16),
//! from the attacker's side: a key holder, or a flood of keys, that splits its requests
//! across the instances meets the limits of one CA, not of each instance.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use benches::load::{self, BuildParams, RunParams};
use support::Server;
use test_postgres::TestDb;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `count` PKCSReq under the keys of `seed` (the same seed gives the same keys), each with a
/// fresh transactionID.
fn requests(ca: &load::CaInfo, seed: u64, count: usize) -> Vec<load::Prepared> {
    let mut params = BuildParams::new(count, unix_now());
    params.seed = seed;
    params.subject_prefix = format!("quota-{seed}");
    params.threads = 1;
    load::build_messages(&params, &ca.recipient).unwrap()
}

/// Sends each message once, from one connection: how many got each answer ("pending",
/// "failure_badRequest", "http_status", …).
fn answers(
    url: &str,
    ca: &load::CaInfo,
    messages: &[load::Prepared],
) -> BTreeMap<&'static str, u64> {
    let mut run = RunParams::new(Duration::from_secs(120), 1);
    run.request_timeout = Duration::from_secs(30);
    let result = load::run(url, ca.caps, messages, &ca.certificates, run).unwrap();
    let mut answers = result.errors_by_kind;
    if result.summary.successes > 0 {
        answers.insert("success", result.summary.successes);
    }
    answers
}

fn manual_servers(db: &TestDb, dir: &std::path::Path, extra: &[&str]) -> (Server, Server) {
    let mut flags = vec![
        "--store",
        db.url(),
        "--grant",
        "manual",
        "--key-bits",
        "1024",
    ];
    flags.extend_from_slice(extra);
    let a = Server::start(&dir.join("a"), &flags);
    let b = Server::start(&dir.join("b"), &flags);
    (a, b)
}

fn request_rows(url: &str) -> i64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one("SELECT count(*) FROM scep_request", &[])
        .unwrap()
        .get(0)
}

#[test]
fn c14_one_key_splitting_five_new_transactions_across_two_instances_gets_bad_request_for_the_fifth()
{
    let db = TestDb::create().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = manual_servers(&db, tmp.path(), &[]);
    let ca = load::discover(&mut load::connect(&a.url, Duration::from_secs(30)).unwrap()).unwrap();
    let mut got = Vec::new();
    for i in 0..5 {
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        got.push(answers(url, &ca, &requests(&ca, 77, 1)));
    }
    let one = |label: &'static str| BTreeMap::from([(label, 1)]);
    assert_eq!(
        got,
        vec![
            one("pending"),
            one("pending"),
            one("pending"),
            one("pending"),
            one("failure_badRequest")
        ],
        "--- a:\n{}\n--- b:\n{}",
        a.log_text(),
        b.log_text()
    );
    assert_eq!(request_rows(db.url()), 4);
    a.terminate();
    b.terminate();
}

#[test]
fn c14_a_flood_split_across_two_instances_cannot_fill_the_table_beyond_max_requests() {
    let db = TestDb::create().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = manual_servers(&db, tmp.path(), &["--max-requests", "10"]);
    let ca = load::discover(&mut load::connect(&a.url, Duration::from_secs(30)).unwrap()).unwrap();
    let flood = requests(&ca, 5, 30);
    let (half_a, half_b) = flood.split_at(15);
    let (got_a, got_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| answers(&a.url, &ca, half_a));
        let tb = s.spawn(|| answers(&b.url, &ca, half_b));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let pending =
        got_a.get("pending").copied().unwrap_or(0) + got_b.get("pending").copied().unwrap_or(0);
    let rows = request_rows(db.url());
    eprintln!("a: {got_a:?}; b: {got_b:?}; rows {rows}");
    assert_eq!(
        i64::try_from(pending).unwrap(),
        rows,
        "every PENDING is a row"
    );
    // Both instances decide at the same moments; the entries kept never exceed the limit.
    assert!(
        (9..=10).contains(&rows),
        "{rows} request rows with max_requests 10 (a: {got_a:?}, b: {got_b:?})"
    );
    a.terminate();
    b.terminate();
}
