//! The request counts behind ca-core's C-14 limits across instances: PgStore counts a
//! requester key's open rows and the whole table from the database (every instance sees
//! every instance's rows), as the shared MemoryStore does; stores one instance has to itself
//! answer `None`.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ca_core::storage::{Issuance, RecordKey, RequestRow};
use ca_core::{DirStore, MemoryStore, Store};
use ca_store_postgres::{PgOptions, PgStore};
use test_postgres::TestDb;

fn row(id: u64, key: &[u8], open: bool) -> RequestRow {
    let created = 1_700_000_000 + id % 1000;
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
    one.remove(&RecordKey::Request(3)).unwrap();
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

fn count_star(c: &mut postgres::Client) -> u64 {
    let n: i64 = c
        .query_one("SELECT count(*) FROM scep_request", &[])
        .unwrap()
        .get(0);
    u64::try_from(n).unwrap()
}

#[test]
fn c14_postgres_table_count_is_exact_through_every_write_path() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    let k = b"k".as_slice();
    // Ids above 2^63 are stored as negative bigints.
    for id in [1, 2, 3, 17, u64::MAX, u64::MAX - 16] {
        store.put_request(&row(id, k, true), None).unwrap();
    }
    // A row replaced in place, a row replacing another (C-12), an issuance of a new row and
    // of an existing one, a key-value put of a new row and a removal.
    store.put_request(&row(2, k, false), None).unwrap();
    store.put_request(&row(4, k, true), Some(3)).unwrap();
    for (id, serial) in [(5, 50), (1, 51)] {
        store
            .record_issuance(&Issuance {
                request: row(id, k, false),
                replaces: None,
                serial,
                name: Some(b"n".to_vec()),
                cert: None,
            })
            .unwrap();
    }
    store
        .put(&RecordKey::Request(6), &row(6, k, true).body)
        .unwrap();
    store.remove(&RecordKey::Request(17)).unwrap();
    store.remove(&RecordKey::Request(99)).unwrap();
    assert_eq!(count_star(&mut c), 7);
    assert_eq!(store.count_requests().unwrap(), Some(7));
}

#[test]
fn c14_postgres_migration_2_counts_the_rows_a_version_1_database_holds() {
    let db = TestDb::create().unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    for id in 1..=3 {
        store.put_request(&row(id, b"k", true), None).unwrap();
    }
    drop(store);
    // Back to schema version 1, with rows written meanwhile.
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    c.batch_execute(
        "DROP TRIGGER scep_request_count_row ON scep_request;
         DROP FUNCTION scep_request_count_row();
         DROP TABLE scep_request_count;
         DROP INDEX scep_request_open_by_key;
         DROP INDEX scep_request_created;
         DELETE FROM scep_schema_version WHERE version = 2;
         INSERT INTO scep_request (id, transaction_id, body) VALUES (10, 'T-10', '\\x00');",
    )
    .unwrap();
    let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    assert_eq!(store.schema_version_found(), 1);
    assert_eq!(store.count_requests().unwrap(), Some(4));
    store.put_request(&row(11, b"k", true), None).unwrap();
    assert_eq!(store.count_requests().unwrap(), Some(5));
    assert_eq!(count_star(&mut c), 5);
}

/// T-15 across instances: the purge removes every instance's rows up to the cutoff, and
/// only those; the table count follows.
fn t15_purge_removes_every_writers_due_rows(one: &dyn Store, two: &dyn Store) {
    one.put_request(&row(1, b"k", true), None).unwrap();
    two.put_request(&row(2, b"k", false), None).unwrap();
    two.put_request(&row(3, b"k", true), None).unwrap();
    // row(id) was created at 1_700_000_000 + id.
    assert_eq!(one.purge_requests(1_700_000_002).unwrap(), Some(2));
    assert_eq!(two.count_requests().unwrap(), Some(1));
    assert!(two.find_request("T-3").unwrap().is_some());
    assert_eq!(two.purge_requests(1_700_000_002).unwrap(), Some(0));
}

#[test]
fn t15_postgres_purge_removes_every_instances_due_rows() {
    let db = TestDb::create().unwrap();
    let one = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    let two = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    t15_purge_removes_every_writers_due_rows(&one, &two);
}

#[test]
fn t15_shared_memory_store_purges_an_unshared_one_leaves_it_to_the_ca() {
    let shared = std::sync::Arc::new(MemoryStore::shared());
    t15_purge_removes_every_writers_due_rows(&shared, &std::sync::Arc::clone(&shared));
    let alone = MemoryStore::new();
    alone.put_request(&row(1, b"k", true), None).unwrap();
    assert_eq!(alone.purge_requests(u64::MAX).unwrap(), None);
    assert!(alone.find_request("T-1").unwrap().is_some());
}
