//! The Store v2 contract, one set of checks run against every store: ca-core's MemoryStore
//! and DirStore, and PgStore on a real PostgreSQL (a database per test). Each check takes a
//! `&dyn Store`, so a new store runs the same checks by adding one line per check below.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use ca_core::{
    DirStore, MemoryStore, Store, StoreError,
    storage::{Conflict, Counter, Issuance, LeaseHeld, RecordFamily, RecordKey, RequestRow},
};
use ca_store_postgres::{PgOptions, PgStore};
use test_postgres::TestDb;

/// A request row whose body is in ca-core's request encoding (the fields the stores index),
/// so every store reads the same columns back.
fn row(id: u64, tid: &str) -> RequestRow {
    with_state(id, tid, true)
}

fn with_state(id: u64, tid: &str, open: bool) -> RequestRow {
    let key = vec![1, 2, u8::try_from(id % 256).unwrap()];
    let created = 1_700_000_000 + id;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let state = if open { "pending" } else { "issued" };
    RequestRow {
        id,
        transaction_id: tid.to_owned(),
        requester_key: key,
        open,
        created,
        body: format!(
            "scep-rs-request v1\ncreated={created}\nsigner_key={hex}\nstate={state}\ntransaction_id={tid}\n"
        )
        .into_bytes(),
    }
}

fn conflict(r: Result<impl std::fmt::Debug, StoreError>) -> Conflict {
    match r {
        Err(StoreError::Conflict(c)) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn c18_key_value_records(store: &dyn Store) {
    assert_eq!(store.get(&RecordKey::IssuedCert(7)).unwrap(), None);
    store.put(&RecordKey::IssuedCert(u64::MAX), b"max").unwrap();
    store.put(&RecordKey::IssuedCert(7), b"seven").unwrap();
    store.put(&RecordKey::IssuedName(7), b"name7").unwrap();
    store.put(&RecordKey::Revoked(3), b"r3").unwrap();
    store.put(&RecordKey::OneTimePassword(9), b"otp9").unwrap();
    assert_eq!(
        store.list(RecordFamily::IssuedCert).unwrap(),
        vec![7, u64::MAX]
    );
    assert_eq!(store.list(RecordFamily::IssuedName).unwrap(), vec![7]);
    store.remove(&RecordKey::IssuedName(7)).unwrap();
    assert_eq!(
        store.list(RecordFamily::IssuedName).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(
        store.get(&RecordKey::IssuedCert(7)).unwrap().as_deref(),
        Some(&b"seven"[..])
    );
    store.remove(&RecordKey::IssuedName(7)).unwrap();
    store
        .put(&RecordKey::Archive("b.p12".into()), b"b")
        .unwrap();
    store
        .put(&RecordKey::Archive("A.p12".into()), b"a")
        .unwrap();
    assert_eq!(store.list_archives().unwrap(), vec!["A.p12", "b.p12"]);
    for bad in ["", "../x", ".hidden", "a/b", "a b"] {
        let key = RecordKey::Archive(bad.into());
        assert!(matches!(
            store.put(&key, b"x"),
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.get(&key),
            Err(StoreError::InvalidKey { .. })
        ));
    }
    assert_eq!(
        store
            .get(&RecordKey::OneTimePassword(9))
            .unwrap()
            .as_deref(),
        Some(&b"otp9"[..])
    );
}

fn c3_allocate_counts_from_the_last_value(store: &dyn Store) {
    assert_eq!(store.get(&RecordKey::SerialCounter).unwrap(), None);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![1]);
    assert_eq!(
        store
            .allocate(&[Counter::Serial, Counter::Serial, Counter::OtpId])
            .unwrap(),
        vec![2, 3, 1]
    );
    assert_eq!(
        store.get(&RecordKey::SerialCounter).unwrap().as_deref(),
        Some(&b"3\n"[..])
    );
    // A fresh request-id counter starts after the largest stored request.
    store.put(&RecordKey::Request(41), b"old entry").unwrap();
    assert_eq!(store.allocate(&[Counter::RequestId]).unwrap(), vec![42]);
    // Several existing counters at once, one of them twice: values in the order asked.
    assert_eq!(
        store
            .allocate(&[Counter::RequestId, Counter::Serial, Counter::RequestId])
            .unwrap(),
        vec![43, 4, 44]
    );
    // An imported CA continues after its last serial.
    store
        .put(
            &RecordKey::SerialCounter,
            format!("{}\n", u64::MAX - 1).as_bytes(),
        )
        .unwrap();
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![u64::MAX]);
    assert_eq!(
        conflict(store.allocate(&[Counter::Serial])),
        Conflict::CounterExhausted {
            counter: Counter::Serial
        }
    );
}

fn c3_allocate_never_gives_a_value_twice_under_concurrency(store: &dyn Store) {
    let got: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .map(|i| {
                            if i % 2 == 0 {
                                store.allocate(&[Counter::Serial]).unwrap()[0]
                            } else {
                                let got = store
                                    .allocate(&[Counter::RequestId, Counter::Serial])
                                    .unwrap();
                                got[1]
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let set: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(set.len(), 200, "a serial was handed out twice");
    assert_eq!(
        set.into_iter().collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
}

/// C-3, `Store::raise_counter`: raises, never lowers (in u64 order, values above 2^63
/// included), and every later allocation is above the value returned.
fn c3_raise_counter_never_lowers(store: &dyn Store) {
    // A fresh counter is raised from nothing.
    assert_eq!(store.raise_counter(Counter::Serial, 10).unwrap(), 10);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![11]);
    // At or below the last value given: nothing changes.
    assert_eq!(store.raise_counter(Counter::Serial, 5).unwrap(), 11);
    assert_eq!(store.raise_counter(Counter::Serial, 11).unwrap(), 11);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![12]);
    // Above: the counter goes on after the floor.
    assert_eq!(store.raise_counter(Counter::Serial, 100).unwrap(), 100);
    assert_eq!(
        store.get(&RecordKey::SerialCounter).unwrap().as_deref(),
        Some(&b"100\n"[..])
    );
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![101]);
    // The other counters are not touched.
    assert_eq!(store.allocate(&[Counter::OtpId]).unwrap(), vec![1]);
    // A fresh request-id counter raised below the largest stored request starts after it.
    store.put(&RecordKey::Request(41), b"old entry").unwrap();
    assert_eq!(store.raise_counter(Counter::RequestId, 7).unwrap(), 41);
    assert_eq!(store.allocate(&[Counter::RequestId]).unwrap(), vec![42]);
    // u64 order, not bigint order: 2^63 + 5 is above 200.
    let big = (1u64 << 63) + 5;
    assert_eq!(store.raise_counter(Counter::Serial, big).unwrap(), big);
    assert_eq!(store.raise_counter(Counter::Serial, 200).unwrap(), big);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![big + 1]);
    // Raised to the end: nothing more to give, and a lower floor does not reopen it.
    assert_eq!(
        store.raise_counter(Counter::Serial, u64::MAX).unwrap(),
        u64::MAX
    );
    assert_eq!(store.raise_counter(Counter::Serial, 1).unwrap(), u64::MAX);
    assert_eq!(
        conflict(store.allocate(&[Counter::Serial])),
        Conflict::CounterExhausted {
            counter: Counter::Serial
        }
    );
}

/// C-3, `Store::raise_counter` at the edges of u64-in-bigint order (0, 2^63 - 1, 2^63,
/// u64::MAX): each raise compares as u64, and allocations go on across 2^63, alone and
/// together with another counter, until the counter is exhausted (a typed conflict).
fn c3_raise_counter_at_the_sign_bit_boundaries(store: &dyn Store) {
    const TOP_SIGNED: u64 = (1 << 63) - 1;
    // A fresh counter raised to 0 stays where it starts.
    assert_eq!(store.raise_counter(Counter::Serial, 0).unwrap(), 0);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![1]);
    assert_eq!(store.raise_counter(Counter::Serial, 0).unwrap(), 1);
    // 2^63 - 1, then 2^63 is above it, and 2^63 - 1 is not.
    assert_eq!(
        store.raise_counter(Counter::Serial, TOP_SIGNED).unwrap(),
        TOP_SIGNED
    );
    assert_eq!(
        store
            .raise_counter(Counter::Serial, TOP_SIGNED + 1)
            .unwrap(),
        TOP_SIGNED + 1
    );
    assert_eq!(
        store.raise_counter(Counter::Serial, TOP_SIGNED).unwrap(),
        TOP_SIGNED + 1
    );
    assert_eq!(
        store.raise_counter(Counter::Serial, 0).unwrap(),
        TOP_SIGNED + 1
    );
    assert_eq!(
        store.allocate(&[Counter::Serial]).unwrap(),
        vec![TOP_SIGNED + 2]
    );
    // An allocation from 2^63 - 1 crosses into 2^63 (another counter's).
    assert_eq!(
        store
            .raise_counter(Counter::RequestId, TOP_SIGNED - 1)
            .unwrap(),
        TOP_SIGNED - 1
    );
    assert_eq!(
        store
            .allocate(&[Counter::RequestId, Counter::Serial, Counter::RequestId])
            .unwrap(),
        vec![TOP_SIGNED, TOP_SIGNED + 3, TOP_SIGNED + 1]
    );
    assert_eq!(
        store.raise_counter(Counter::RequestId, 5).unwrap(),
        TOP_SIGNED + 1
    );
    // u64::MAX - 1: one value left, then a typed conflict, never a wrap to 0.
    assert_eq!(
        store.raise_counter(Counter::Serial, u64::MAX - 1).unwrap(),
        u64::MAX - 1
    );
    assert_eq!(
        store
            .raise_counter(Counter::Serial, TOP_SIGNED + 1)
            .unwrap(),
        u64::MAX - 1
    );
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![u64::MAX]);
    assert_eq!(
        conflict(store.allocate(&[Counter::RequestId, Counter::Serial])),
        Conflict::CounterExhausted {
            counter: Counter::Serial
        }
    );
    assert_eq!(
        store.raise_counter(Counter::Serial, u64::MAX).unwrap(),
        u64::MAX
    );
    assert_eq!(
        conflict(store.allocate(&[Counter::Serial])),
        Conflict::CounterExhausted {
            counter: Counter::Serial
        }
    );
    // The failed pair took nothing from the request counter.
    assert_eq!(
        store.allocate(&[Counter::RequestId]).unwrap(),
        vec![TOP_SIGNED + 2]
    );
}

/// C-3: raises racing allocations (another instance creating its CA while one imports)
/// never lower the counter: no value is given twice, and the next one is above every value
/// given and every floor raised.
fn c3_raise_counter_never_lowers_a_concurrent_allocation(store: &dyn Store) {
    let last = |s: &dyn Store| -> u64 {
        s.get(&RecordKey::SerialCounter).unwrap().map_or(0, |b| {
            std::str::from_utf8(&b).unwrap().trim().parse().unwrap()
        })
    };
    let done = AtomicBool::new(false);
    let (got, top_floor) = std::thread::scope(|s| {
        // Each floor just above the counter as read: the allocations pass it while the
        // raise runs, which a read-then-write raise would then lower.
        let raiser = s.spawn(|| {
            let mut top = 0;
            let mut raises = 0;
            while raises < 20 || !done.load(Ordering::Acquire) {
                raises += 1;
                let floor = last(store) + 2;
                let now = store.raise_counter(Counter::Serial, floor).unwrap();
                assert!(now >= floor, "raised to {floor}, counter at {now}");
                top = top.max(floor);
            }
            top
        });
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..100)
                        .map(|_| store.allocate(&[Counter::Serial]).unwrap()[0])
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let got: Vec<u64> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::Release);
        let top = raiser.join().unwrap();
        (got, top)
    });
    let set: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(set.len(), 400, "a serial was handed out twice");
    let next = store.allocate(&[Counter::Serial]).unwrap()[0];
    let top = set.last().copied().unwrap().max(top_floor);
    assert!(
        next > top,
        "next serial {next}, but {top} was given or raised"
    );
}

fn c12_request_rows_and_unique_transaction_ids(store: &dyn Store) {
    assert_eq!(store.find_request("T1").unwrap(), None);
    store.put_request(&row(1, "T1"), None).unwrap();
    store.put_request(&row(2, "T2"), None).unwrap();
    assert_eq!(store.find_request("T1").unwrap(), Some(row(1, "T1")));
    assert_eq!(
        store.get(&RecordKey::Request(1)).unwrap(),
        Some(row(1, "T1").body)
    );
    // Another row may not take T1.
    assert_eq!(
        conflict(store.put_request(&row(3, "T1"), None)),
        Conflict::TransactionId { holder: 1 }
    );
    assert_eq!(store.get(&RecordKey::Request(3)).unwrap(), None);
    // Updating row 1 in place keeps it findable.
    store
        .put_request(&with_state(1, "T1", false), None)
        .unwrap();
    assert!(!store.find_request("T1").unwrap().unwrap().open);
    // C-12: a new transaction under T1 replaces row 1 in one step.
    store.put_request(&row(4, "T1"), Some(1)).unwrap();
    assert_eq!(store.get(&RecordKey::Request(1)).unwrap(), None);
    assert_eq!(store.find_request("T1").unwrap().unwrap().id, 4);
    assert_eq!(store.list(RecordFamily::Request).unwrap(), vec![2, 4]);
}

fn c20_record_issuance_is_one_write_and_a_serial_is_recorded_once(store: &dyn Store) {
    let issued = with_state(10, "T10", false);
    let issuance = Issuance {
        request: issued.clone(),
        replaces: None,
        serial: 5,
        name: Some(b"CN=a".to_vec()),
        cert: Some(b"DER".to_vec()),
    };
    store.record_issuance(&issuance).unwrap();
    assert_eq!(store.find_request("T10").unwrap(), Some(issued));
    assert_eq!(
        store.get(&RecordKey::IssuedCert(5)).unwrap().as_deref(),
        Some(&b"DER"[..])
    );
    assert_eq!(
        store.get(&RecordKey::IssuedName(5)).unwrap().as_deref(),
        Some(&b"CN=a"[..])
    );
    let again = Issuance {
        request: row(11, "T11"),
        serial: 5,
        ..issuance.clone()
    };
    assert_eq!(
        conflict(store.record_issuance(&again)),
        Conflict::Serial { serial: 5 }
    );
    assert_eq!(
        store.find_request("T11").unwrap(),
        None,
        "a lost issuance wrote its row"
    );
    // A transactionID held by another row: nothing written either.
    let squat = Issuance {
        request: row(12, "T10"),
        serial: 6,
        ..issuance.clone()
    };
    assert_eq!(
        conflict(store.record_issuance(&squat)),
        Conflict::TransactionId { holder: 10 }
    );
    assert_eq!(store.get(&RecordKey::IssuedCert(6)).unwrap(), None);
    // Replacing a pending row and issuing in one step.
    store.put_request(&row(20, "T20"), None).unwrap();
    let replace = Issuance {
        request: row(21, "T20"),
        replaces: Some(20),
        serial: 7,
        name: None,
        cert: Some(b"DER7".to_vec()),
    };
    store.record_issuance(&replace).unwrap();
    assert_eq!(store.get(&RecordKey::Request(20)).unwrap(), None);
    assert_eq!(store.find_request("T20").unwrap().unwrap().id, 21);
    assert_eq!(store.list(RecordFamily::IssuedCert).unwrap(), vec![5, 7]);
}

fn c9_one_time_password_is_consumed_once(store: &dyn Store) {
    assert!(!store.consume_otp(1).unwrap());
    let v0 = store.shared_version().unwrap();
    store.put(&RecordKey::OneTimePassword(1), b"hash").unwrap();
    let v1 = store.shared_version().unwrap();
    assert!(v1 > v0);
    assert!(store.consume_otp(1).unwrap());
    assert!(store.shared_version().unwrap() > v1);
    assert!(!store.consume_otp(1).unwrap());
    for round in 0..20u64 {
        let id = 100 + round;
        store.put(&RecordKey::OneTimePassword(id), b"hash").unwrap();
        let wins = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(move || store.consume_otp(id).unwrap()))
                .collect();
            hs.into_iter()
                .filter(|_| true)
                .map(|h| h.join().unwrap())
                .filter(|w| *w)
                .count()
        });
        assert_eq!(wins, 1, "round {round}: {wins} winners");
    }
}

fn c21_revoke_once(store: &dyn Store) {
    let v = store.shared_version().unwrap();
    assert!(store.revoke(9, b"rec").unwrap());
    assert!(!store.revoke(9, b"other").unwrap());
    assert_eq!(
        store.get(&RecordKey::Revoked(9)).unwrap().as_deref(),
        Some(&b"rec"[..])
    );
    assert!(store.shared_version().unwrap() > v);
}

fn c22_ca_state_compare_and_swap(store: &dyn Store) {
    assert!(store.ca_state().unwrap().is_none());
    let v1 = store.swap_ca_state(None, b"one").unwrap();
    assert_eq!(
        conflict(store.swap_ca_state(None, b"x")),
        Conflict::CaState { current: Some(v1) }
    );
    let v2 = store.swap_ca_state(Some(v1), b"two").unwrap();
    assert!(v2 > v1);
    assert_eq!(
        conflict(store.swap_ca_state(Some(v1), b"x")),
        Conflict::CaState { current: Some(v2) }
    );
    let now = store.ca_state().unwrap().unwrap();
    assert_eq!((now.version, now.bytes.as_slice()), (v2, &b"two"[..]));
    // Racing writers from one version: exactly one wins.
    let wins = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6u8)
            .map(|i| s.spawn(move || store.swap_ca_state(Some(v2), &[i]).is_ok()))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count()
    });
    assert_eq!(wins, 1);
    // A state removed and written again still gets a newer version.
    let before = store.ca_state().unwrap().unwrap().version;
    store.remove(&RecordKey::CaState).unwrap();
    let v = store.swap_ca_state(None, b"again").unwrap();
    assert!(v > before, "{v} after {before}");
}

fn c21_crl_compare_and_swap(store: &dyn Store) {
    store.swap_crl(None, 1, b"crl1").unwrap();
    assert_eq!(
        conflict(store.swap_crl(None, 2, b"x")),
        Conflict::CrlNumber { current: Some(1) }
    );
    assert_eq!(
        conflict(store.swap_crl(Some(1), 1, b"x")),
        Conflict::CrlNumber { current: Some(1) }
    );
    store.swap_crl(Some(1), 2, b"crl2").unwrap();
    assert_eq!(
        conflict(store.swap_crl(Some(1), 3, b"x")),
        Conflict::CrlNumber { current: Some(2) }
    );
    assert_eq!(
        store.get(&RecordKey::Crl).unwrap().as_deref(),
        Some(&b"crl2"[..])
    );
}

fn timer_lease(store: &dyn Store) {
    store.acquire_lease(0xA, 100, 30).unwrap();
    match store.acquire_lease(0xB, 110, 30) {
        Err(StoreError::LeaseHeld(LeaseHeld { holder, until })) => {
            assert_eq!((holder, until), (0xA, 130));
        }
        other => panic!("{other:?}"),
    }
    store.acquire_lease(0xA, 120, 30).unwrap();
    assert!(store.acquire_lease(0xB, 149, 30).is_err());
    // Ended: another holder takes it.
    store.acquire_lease(0xB, 150, 30).unwrap();
    store.release_lease(0xA).unwrap();
    assert!(store.acquire_lease(0xA, 151, 30).is_err());
    store.release_lease(0xB).unwrap();
    store.acquire_lease(0xA, 152, 30).unwrap();
    // Holder ids use all 64 bits.
    store.release_lease(0xA).unwrap();
    store.acquire_lease(u64::MAX, 200, u64::MAX).unwrap();
    match store.acquire_lease(1, 300, 1) {
        Err(StoreError::LeaseHeld(LeaseHeld { holder, .. })) => assert_eq!(holder, u64::MAX),
        other => panic!("{other:?}"),
    }
}

/// A named contract check.
type Check = (&'static str, fn(&dyn Store));

/// Every check, each on a fresh store from `fresh`.
fn run_all(fresh: &dyn Fn() -> Box<dyn Store>) {
    let checks: [Check; 13] = [
        ("key_value", c18_key_value_records),
        ("allocate", c3_allocate_counts_from_the_last_value),
        (
            "allocate_concurrent",
            c3_allocate_never_gives_a_value_twice_under_concurrency,
        ),
        ("raise_counter", c3_raise_counter_never_lowers),
        (
            "raise_counter_boundaries",
            c3_raise_counter_at_the_sign_bit_boundaries,
        ),
        (
            "raise_counter_concurrent",
            c3_raise_counter_never_lowers_a_concurrent_allocation,
        ),
        ("requests", c12_request_rows_and_unique_transaction_ids),
        (
            "issuance",
            c20_record_issuance_is_one_write_and_a_serial_is_recorded_once,
        ),
        ("otp", c9_one_time_password_is_consumed_once),
        ("revoke", c21_revoke_once),
        ("ca_state", c22_ca_state_compare_and_swap),
        ("crl", c21_crl_compare_and_swap),
        ("lease", timer_lease),
    ];
    for (name, check) in checks {
        let store = fresh();
        eprintln!("contract check {name} on {store:?}");
        check(store.as_ref());
    }
}

#[test]
fn store_v2_contract_memory_store() {
    run_all(&|| Box::new(MemoryStore::new()));
}

#[test]
fn store_v2_contract_dir_store() {
    let tmp = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicU32::new(0);
    run_all(&|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        Box::new(DirStore::open(tmp.path().join(i.to_string())).unwrap())
    });
}

#[test]
fn store_v2_contract_postgres_store() {
    let dbs = std::sync::Mutex::new(Vec::new());
    run_all(&|| {
        let db = TestDb::create().unwrap();
        let store = PgStore::open(db.url(), &PgOptions::default()).unwrap();
        dbs.lock().unwrap().push(db);
        Box::new(store)
    });
}
