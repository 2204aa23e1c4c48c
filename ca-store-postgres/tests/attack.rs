//! PgStore from the attacker's side (issue 16 review), on a real PostgreSQL: a database whose
//! answers are not what this crate wrote (NULLs, other column types — a hostile server, a
//! tampered or hand-edited schema) gives typed errors, never a panic in a CA worker; the
//! password appears in no error and no `Debug`; and with TLS roots given, a server (or a man
//! in the middle) that declines TLS is refused instead of being spoken to in plaintext.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use ca_core::storage::{Counter, RecordFamily, RecordKey, RequestRow};
use ca_core::{Store, StoreError};
use ca_store_postgres::{PgOptions, PgStore};
use test_postgres::TestDb;

/// `f`'s result; a panic fails the test with `what`.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| panic!("{what}: a hostile database answer panicked"))
}

/// A typed store error (not `Ok`).
fn typed_error<T: std::fmt::Debug>(what: &str, r: Result<T, StoreError>) {
    match r {
        Err(StoreError::Corrupt { .. } | StoreError::Io { .. }) => {}
        other => panic!("{what}: expected a typed error, got {other:?}"),
    }
}

fn request(id: u64, tid: &str) -> RequestRow {
    RequestRow {
        id,
        transaction_id: tid.to_owned(),
        requester_key: vec![1, 2, 3],
        open: true,
        created: 1_700_000_000,
        body: b"body".to_vec(),
    }
}

#[test]
fn hostile_database_answers_are_typed_errors_never_panics() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    store.allocate(&[Counter::Serial]).unwrap();
    store.put(&RecordKey::Crl, b"crl").unwrap();
    store.swap_ca_state(None, b"state").unwrap();
    store.put_request(&request(1, "T-1"), None).unwrap();
    store.acquire_lease(0xA, 100, 30).unwrap();
    store.revoke(5, b"revoked").unwrap();
    store
        .put(&RecordKey::Archive("ROOTCA.p12".into()), b"p12")
        .unwrap();
    drop(store);
    // What a hostile server (or a hand-edited schema) answers instead.
    let mut admin = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "ALTER TABLE scep_meta ALTER COLUMN shared_version DROP NOT NULL;
             UPDATE scep_meta SET shared_version = NULL;
             ALTER TABLE scep_counter ALTER COLUMN value TYPE text;
             ALTER TABLE scep_crl ALTER COLUMN value TYPE text USING 'not bytes';
             ALTER TABLE scep_ca_state ALTER COLUMN version DROP NOT NULL;
             UPDATE scep_ca_state SET version = NULL;
             ALTER TABLE scep_request ALTER COLUMN requester_key DROP NOT NULL;
             UPDATE scep_request SET requester_key = NULL;
             ALTER TABLE scep_lease ALTER COLUMN until DROP NOT NULL;
             UPDATE scep_lease SET until = NULL;
             ALTER TABLE scep_revoked ALTER COLUMN serial TYPE text;
             ALTER TABLE scep_archive ALTER COLUMN name TYPE bytea
               USING convert_to(name, 'UTF8');",
        )
        .unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    typed_error(
        "shared_version",
        no_panic("shared_version", || store.shared_version()),
    );
    typed_error(
        "counter",
        no_panic("counter", || store.get(&RecordKey::SerialCounter)),
    );
    typed_error(
        "allocate",
        no_panic("allocate", || store.allocate(&[Counter::Serial])),
    );
    typed_error("crl", no_panic("crl", || store.get(&RecordKey::Crl)));
    typed_error("ca_state", no_panic("ca_state", || store.ca_state()));
    typed_error(
        "find_request",
        no_panic("find_request", || store.find_request("T-1")),
    );
    typed_error(
        "lease",
        no_panic("lease", || store.acquire_lease(0xB, 200, 30)),
    );
    typed_error(
        "revoked",
        no_panic("revoked", || store.list(RecordFamily::Revoked)),
    );
    typed_error("archives", no_panic("archives", || store.list_archives()));
}

const SECRET: &str = "Pw-S3cret-q7Zx";

/// Everything an error or a value shows: its `Display`, `Debug` and sources.
fn shown(e: &dyn std::error::Error) -> String {
    let mut out = format!("{e} {e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    out
}

#[test]
fn the_database_password_is_in_no_error_and_no_debug() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = PgOptions::default();
    options.connect_timeout = Duration::from_secs(2);
    for url in [
        format!("postgres://scep:{SECRET}@127.0.0.1:{port}/db"),
        format!("postgres://scep:{SECRET}@127.0.0.1:notaport/db"),
        format!("host=127.0.0.1 port={port} user=scep password={SECRET} dbname=db"),
        format!("host=127.0.0.1 port={port} user=scep password={SECRET} bogus=1"),
    ] {
        let err = PgStore::open(&url, &options).unwrap_err();
        let text = shown(&err);
        assert!(!text.contains(SECRET), "{url}: {text}");
    }
    options.password = Some(SECRET.to_owned());
    assert!(!format!("{options:?}").contains(SECRET));
    // A store opened with the password in its URL (the test server trusts loopback logins
    // and ignores it) shows neither in its `Debug` nor in its target.
    let db = TestDb::create().unwrap();
    let url = db
        .url()
        .replacen("postgres@", &format!("postgres:{SECRET}@"), 1);
    assert_ne!(url, db.url());
    let store = PgStore::open(&url, &options).unwrap();
    assert!(!format!("{store:?} {}", store.target()).contains(SECRET));
}

/// A self-signed certificate (PEM) from the `openssl` program, as a trust anchor.
#[cfg(feature = "tls")]
fn some_root_pem() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=some root", "-keyout"])
        .arg(dir.path().join("key.pem"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// With TLS roots given, the URL's default `sslmode` (prefer) would speak plaintext to a
/// server that declines TLS — which is what a man in the middle answers, and the password
/// then goes out in clear if it asks for it. Roots given mean TLS is wanted: such a server is
/// refused. `sslmode=disable`, written out, is the operator's explicit choice.
#[cfg(feature = "tls")]
#[test]
fn tls_roots_given_never_fall_back_to_plaintext() {
    if std::env::var_os(test_postgres::DATABASE_URL_VAR).is_some() {
        return; // We do not know whether that server offers TLS.
    }
    // The shared test cluster offers no TLS (ssl=off).
    let db = TestDb::create().unwrap();
    let mut options = PgOptions::default();
    options.tls_roots_pem = Some(some_root_pem());
    for url in [db.url().to_owned(), format!("{}?sslmode=prefer", db.url())] {
        match PgStore::open(&url, &options) {
            Ok(_) => panic!("{url}: spoke plaintext although TLS roots were given"),
            Err(e) => assert!(
                matches!(e, ca_store_postgres::OpenError::Connect(_)),
                "{url}: {e:?}"
            ),
        }
    }
    let disabled = format!("{}?sslmode=disable", db.url());
    PgStore::open(&disabled, &options).unwrap();
    // A unix socket carries no TLS: still reached with the roots given.
    let cluster = test_postgres::Cluster::shared().unwrap().unwrap();
    let socket = format!(
        "host={} port={} user=postgres dbname={}",
        cluster.path().display(),
        cluster.port(),
        db.name()
    );
    PgStore::open(&socket, &options).unwrap();
}

/// A database that neither takes the lease nor shows a holder (here a trigger that drops the
/// row; a hostile server can answer the same) gets a typed error after a few tries — not an
/// endless retry, whose recursion ended in a stack overflow that aborts the whole CA server.
#[test]
fn a_lease_row_that_never_sticks_is_an_error_not_an_endless_retry() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    let mut admin = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql
               AS $$ BEGIN RETURN NULL; END $$;
             CREATE TRIGGER drop_lease BEFORE INSERT ON scep_lease
               FOR EACH ROW EXECUTE FUNCTION drop_row();",
        )
        .unwrap();
    // A small stack: an unbounded retry overflows it at once instead of after minutes.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || store.acquire_lease(0xA, 100, 30))
        .unwrap()
        .join()
        .unwrap();
    assert!(
        matches!(result, Err(StoreError::Unavailable | StoreError::Io { .. })),
        "{result:?}"
    );
}

/// The timer lease with clocks that disagree: an instance whose clock runs an hour fast
/// neither ends a live lease early (two instances would run the timers — shadow generation
/// twice, archives overwritten) nor holds one an hour longer than its term. The lease's end is
/// judged on the earlier of the caller's clock and the database's.
#[test]
fn a_clock_running_ahead_neither_ends_a_live_lease_nor_stretches_its_own() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    store.acquire_lease(0xA, now, 600).unwrap();
    match store.acquire_lease(0xB, now + 3600, 600) {
        Err(StoreError::LeaseHeld(held)) => assert_eq!(held.holder, 0xA),
        other => panic!("a fast clock took a live lease: {other:?}"),
    }
    store.release_lease(0xA).unwrap();
    store.acquire_lease(0xB, now + 3600, 600).unwrap();
    match store.acquire_lease(0xC, now, 600) {
        Err(StoreError::LeaseHeld(held)) => {
            assert_eq!(held.holder, 0xB);
            assert!(
                held.until <= now + 600 + 30,
                "a fast clock's lease lasts until {} (now {now})",
                held.until
            );
        }
        other => panic!("{other:?}"),
    }
}
