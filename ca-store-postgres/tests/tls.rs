//! TLS to the database (feature `tls`), against a real PostgreSQL that takes loopback logins
//! over TLS only.
#![cfg(feature = "tls")]
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ca_core::{Store as _, storage::RecordKey};
use ca_store_postgres::{OpenError, PgOptions, PgStore};
use test_postgres::{Cluster, DATABASE_URL_VAR, Options};

#[test]
fn tls_only_server_is_reached_with_its_root_and_refused_without_it() {
    if std::env::var_os(DATABASE_URL_VAR).is_some() {
        return; // The server under test is not ours to reconfigure.
    }
    let cluster = Cluster::start(Options {
        tls_only: true,
        ..Options::default()
    })
    .unwrap();
    let url = format!("{}?sslmode=require", cluster.url("postgres"));
    let mut options = PgOptions::default();
    options.tls_roots_pem = Some(cluster.tls_root_pem().unwrap().to_vec());
    let store = PgStore::open(&url, &options).unwrap();
    store.put(&RecordKey::Crl, b"over TLS").unwrap();
    assert_eq!(
        store.get(&RecordKey::Crl).unwrap().as_deref(),
        Some(&b"over TLS"[..])
    );
    // Without TLS the server refuses the login (hostssl only) ...
    let plain = format!("{}?sslmode=disable", cluster.url("postgres"));
    assert!(matches!(
        PgStore::open(&plain, &PgOptions::default()),
        Err(OpenError::Connect(_))
    ));
    // ... and a certificate nobody vouches for is refused by us.
    let err = PgStore::open(&url, &PgOptions::default()).unwrap_err();
    assert!(matches!(err, OpenError::Connect(_)), "{err:?}");
}
