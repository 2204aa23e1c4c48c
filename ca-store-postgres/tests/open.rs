//! Opening the store: migrations, bad URLs, unreachable databases (a real PostgreSQL, see
//! the `test-postgres` crate).

use std::time::Duration;

use ca_core::{
    Store,
    storage::{RecordFamily, RecordKey},
};
use ca_store_postgres::{OpenError, PgOptions, PgStore};
use test_postgres::TestDb;

#[test]
fn open_creates_the_schema_once_and_records_round_trip() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    assert_eq!(store.schema_version_found(), 0);
    store.put(&RecordKey::IssuedCert(u64::MAX), b"big").unwrap();
    store.put(&RecordKey::IssuedCert(2), b"two").unwrap();
    store
        .put(&RecordKey::Archive("ROOTCA.p12".into()), b"p12")
        .unwrap();
    assert_eq!(
        store.list(RecordFamily::IssuedCert).unwrap(),
        vec![2, u64::MAX]
    );
    assert_eq!(store.list_archives().unwrap(), vec!["ROOTCA.p12"]);
    drop(store);
    let again = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    assert_eq!(again.schema_version_found(), PgStore::schema_version());
    assert_eq!(
        again
            .get(&RecordKey::IssuedCert(u64::MAX))
            .unwrap()
            .as_deref(),
        Some(&b"big"[..])
    );
}

#[test]
fn eight_instances_opening_an_empty_database_at_once_migrate_it_once() {
    let db = TestDb::create().unwrap();
    let found: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| PgStore::open(db.url(), &PgOptions::default()).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().schema_version_found())
            .collect()
    });
    assert_eq!(found.iter().filter(|v| **v == 0).count(), 1, "{found:?}");
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    let rows: i64 = c
        .query_one("SELECT count(*) FROM scep_schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, i64::from(PgStore::schema_version()));
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TestDb::create().unwrap();
    drop(PgStore::open(db.url(), &PgOptions::default()).unwrap());
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO scep_schema_version (version) VALUES (9999)",
        &[],
    )
    .unwrap();
    match PgStore::open(db.url(), &PgOptions::default()) {
        Err(OpenError::SchemaTooNew { found: 9999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_bad_url_and_an_unreachable_database_are_typed_errors() {
    assert!(matches!(
        PgStore::open("postgres://h:notaport/db", &PgOptions::default()),
        Err(OpenError::BadUrl(_))
    ));
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = PgOptions::default();
    options.connect_timeout = Duration::from_secs(2);
    let err = PgStore::open(&format!("postgres://u@127.0.0.1:{port}/db"), &options).unwrap_err();
    assert!(matches!(err, OpenError::Connect(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("cannot reach the database"),
        "{err}"
    );
}

#[cfg(not(feature = "tls"))]
#[test]
fn sslmode_require_without_the_tls_feature_is_refused_before_connecting() {
    let err = PgStore::open(
        "postgres://u@127.0.0.1:1/db?sslmode=require",
        &PgOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, OpenError::TlsUnavailable), "{err:?}");
}
