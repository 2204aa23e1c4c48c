//! The request counts behind ca-core's C-14 limits across instances: PgStore counts a
//! requester key's open rows and the whole table from the database (every instance sees
//! every instance's rows), as the shared MemoryStore does; stores one instance has to itself
//! answer `None`.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ca_core::{DirStore, Issuance, MemoryStore, RequestRow, Store};
use ca_store_postgres::{PgOptions, PgStore};
use test_postgres::TestDb;

fn row(id: u64, key: &[u8], open: bool) -> RequestRow {
    let created = 1_700_000_000 + id;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let state = if open { "pending" } else { "issued" };
    let tid = format!("T-{id}");
    RequestRow {
        id,
        transaction_id: tid.clone(),
        requester_key: key.to_vec(),
        open,
        created,
        body: format!(
            "scep-rs-request v1\ncreated={created}\nsigner_key={hex}\nstate={state}\ntransaction_id={tid}\n"
        )
        .into_bytes(),
    }
}

/// Rows of two keys written through two handles on one store; both count all of them.
fn c14_counts_see_every_writer(one: &dyn Store, two: &dyn Store) {
    let (k1, k2) = (b"key one".as_slice(), b"key two".as_slice());
    assert_eq!(one.count_open_requests(k1).unwrap(), Some(0));
    assert_eq!(one.count_requests().unwrap(), Some(0));
    one.put_request(&row(1, k1, true), None).unwrap();
    two.put_request(&row(2, k1, true), None).unwrap();
    two.put_request(&row(3, k2, true), None).unwrap();
    one.put_request(&row(4, k1, false), None).unwrap();
    for store in [one, two] {
        assert_eq!(store.count_open_requests(k1).unwrap(), Some(2));
        assert_eq!(store.count_open_requests(k2).unwrap(), Some(1));
        assert_eq!(store.count_open_requests(b"nobody").unwrap(), Some(0));
        assert_eq!(store.count_requests().unwrap(), Some(4));
    }
    // An issuance closes its row; a removal drops it.
    two.record_issuance(&Issuance {
        request: row(2, k1, false),
        replaces: None,
        serial: 9,
        name: Some(b"n".to_vec()),
        cert: None,
    })
    .unwrap();
    one.remove(&ca_core::RecordKey::Request(3)).unwrap();
    assert_eq!(one.count_open_requests(k1).unwrap(), Some(1));
    assert_eq!(two.count_open_requests(k2).unwrap(), Some(0));
    assert_eq!(two.count_requests().unwrap(), Some(3));
}

#[test]
fn c14_postgres_counts_requests_of_every_instance() {
    let db = TestDb::create().unwrap();
    let one = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    let two = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    c14_counts_see_every_writer(&one, &two);
    // The per-key count is served by the partial index of migration 2.
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    let indexed: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'scep_request_open_by_key'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(indexed, 1);
    assert_eq!(PgStore::schema_version(), 2);
}

#[test]
fn c14_a_shared_memory_store_counts_an_unshared_one_does_not() {
    let shared = std::sync::Arc::new(MemoryStore::shared());
    c14_counts_see_every_writer(&shared, &std::sync::Arc::clone(&shared));
    let alone = MemoryStore::new();
    alone.put_request(&row(1, b"k", true), None).unwrap();
    assert_eq!(alone.count_open_requests(b"k").unwrap(), None);
    assert_eq!(alone.count_requests().unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path()).unwrap();
    store.put_request(&row(1, b"k", true), None).unwrap();
    assert_eq!(store.count_open_requests(b"k").unwrap(), None);
    assert_eq!(store.count_requests().unwrap(), None);
}
