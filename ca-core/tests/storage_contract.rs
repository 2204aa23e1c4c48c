//! The `Store` contract (C-18 … C-20), one suite run against `MemoryStore` and `DirStore`.

// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ca_core::{
    MemoryStore, Store, StoreError,
    storage::{ARCHIVE_NAME_MAX, RecordFamily, RecordKey},
};

const FAMILIES: [RecordFamily; 5] = [
    RecordFamily::Request,
    RecordFamily::IssuedName,
    RecordFamily::IssuedCert,
    RecordFamily::Revoked,
    RecordFamily::OneTimePassword,
];

/// One key of every kind.
fn sample_keys() -> Vec<RecordKey> {
    vec![
        RecordKey::SerialCounter,
        RecordKey::RequestCounter,
        RecordKey::CaState,
        RecordKey::Crl,
        RecordKey::Request(1),
        RecordKey::IssuedName(0x1A),
        RecordKey::IssuedCert(0x1A),
        RecordKey::Revoked(0x1A),
        RecordKey::OneTimePassword(7),
        RecordKey::Archive("ROOTCA.pem".to_owned()),
    ]
}

fn c18_missing_keys_read_as_none(store: &dyn Store) {
    for key in sample_keys() {
        assert_eq!(store.get(&key).unwrap(), None, "{key:?}");
        store.remove(&key).unwrap();
    }
    for family in FAMILIES {
        assert!(store.list(family).unwrap().is_empty(), "{family:?}");
    }
    assert!(store.list_archives().unwrap().is_empty());
}

fn c18_put_get_replace(store: &dyn Store) {
    for (i, key) in sample_keys().into_iter().enumerate() {
        let long = vec![u8::try_from(i).unwrap(); 5000];
        store.put(&key, &long).unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(&long[..]));
        // A shorter value replaces the whole record, no tail of the old one survives.
        store.put(&key, b"short").unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(&b"short"[..]));
        store.put(&key, b"").unwrap();
        assert_eq!(
            store.get(&key).unwrap().as_deref(),
            Some(&b""[..]),
            "{key:?}"
        );
    }
}

fn c18_keys_are_independent(store: &dyn Store) {
    let keys = sample_keys();
    for (i, key) in keys.iter().enumerate() {
        store.put(key, format!("value {i}").as_bytes()).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            store.get(key).unwrap().unwrap(),
            format!("value {i}").as_bytes()
        );
    }
}

fn c18_remove(store: &dyn Store) {
    for key in sample_keys() {
        store.put(&key, b"x").unwrap();
        store.remove(&key).unwrap();
        assert_eq!(store.get(&key).unwrap(), None, "{key:?}");
        store.remove(&key).unwrap();
    }
    for family in FAMILIES {
        assert!(store.list(family).unwrap().is_empty(), "{family:?}");
    }
    assert!(store.list_archives().unwrap().is_empty());
}

fn c18_list_is_ascending_per_family(store: &dyn Store) {
    let numbers = [u64::MAX, 0x1A, 0, 10, 9, 0x100, 1];
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    for family in FAMILIES {
        for n in numbers {
            let key = match family {
                RecordFamily::Request => RecordKey::Request(n),
                RecordFamily::IssuedName => RecordKey::IssuedName(n),
                RecordFamily::IssuedCert => RecordKey::IssuedCert(n),
                RecordFamily::Revoked => RecordKey::Revoked(n),
                RecordFamily::OneTimePassword => RecordKey::OneTimePassword(n),
                _ => unreachable!("a new family needs a case here"),
            };
            store.put(&key, b"v").unwrap();
        }
    }
    store.put(&RecordKey::SerialCounter, b"1").unwrap();
    for family in FAMILIES {
        assert_eq!(store.list(family).unwrap(), sorted, "{family:?}");
    }
    store.remove(&RecordKey::Revoked(10)).unwrap();
    let without_10: Vec<u64> = sorted.iter().copied().filter(|&n| n != 10).collect();
    assert_eq!(store.list(RecordFamily::Revoked).unwrap(), without_10);
    assert_eq!(store.list(RecordFamily::IssuedName).unwrap(), sorted);
}

fn c19_list_archives_sorted(store: &dyn Store) {
    for name in [
        "ROOTCA_00002.pem",
        "ROOTCA.pem",
        "ROOTCA_00001.pem",
        "A-1_x.p12",
    ] {
        store
            .put(&RecordKey::Archive(name.to_owned()), name.as_bytes())
            .unwrap();
    }
    assert_eq!(
        store.list_archives().unwrap(),
        [
            "A-1_x.p12",
            "ROOTCA.pem",
            "ROOTCA_00001.pem",
            "ROOTCA_00002.pem"
        ]
    );
    store
        .remove(&RecordKey::Archive("ROOTCA.pem".to_owned()))
        .unwrap();
    assert_eq!(
        store.list_archives().unwrap(),
        ["A-1_x.p12", "ROOTCA_00001.pem", "ROOTCA_00002.pem"]
    );
}

fn c19_archive_names_are_validated(store: &dyn Store) {
    let too_long = "a".repeat(ARCHIVE_NAME_MAX + 1);
    let bad = [
        "", ".", "..", "../x", "x/../y", "a/b", "/etc", "a\\b", ".hidden", "a..b", "x\0y", "é",
        " space", "tab\t", &too_long,
    ];
    for name in bad {
        let key = RecordKey::Archive(name.to_owned());
        let is_invalid = |r: Result<(), StoreError>| matches!(r, Err(StoreError::InvalidKey { key: RecordKey::Archive(ref n) }) if n == name);
        assert!(is_invalid(store.put(&key, b"x")), "put {name:?}");
        assert!(is_invalid(store.get(&key).map(|_| ())), "get {name:?}");
        assert!(is_invalid(store.remove(&key)), "remove {name:?}");
    }
    assert!(store.list_archives().unwrap().is_empty());
    let longest = "b".repeat(ARCHIVE_NAME_MAX);
    store
        .put(&RecordKey::Archive(longest.clone()), b"ok")
        .unwrap();
    assert_eq!(store.list_archives().unwrap(), [longest]);
}

/// Runs each check against a fresh store of both kinds.
macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(#[test]
            fn $check() {
                super::$check(&ca_core::MemoryStore::new());
            })*
        }
        mod dir {
            $(#[test]
            fn $check() {
                let tmp = tempfile::tempdir().unwrap();
                let store = ca_core::DirStore::open(tmp.path().join("store")).unwrap();
                super::$check(&store);
                // The same records after a reopen.
                drop(store);
                let _reopened = ca_core::DirStore::open(tmp.path().join("store")).unwrap();
            })*
        }
    };
}

contract!(
    c18_missing_keys_read_as_none,
    c18_put_get_replace,
    c18_keys_are_independent,
    c18_remove,
    c18_list_is_ascending_per_family,
    c19_list_archives_sorted,
    c19_archive_names_are_validated,
);

#[test]
fn c20_memory_fail_writes_refuses_and_changes_nothing() {
    let store = MemoryStore::new();
    store.put(&RecordKey::SerialCounter, b"1").unwrap();
    store.fail_writes(true);
    assert!(matches!(
        store.put(&RecordKey::SerialCounter, b"2"),
        Err(StoreError::Unavailable)
    ));
    assert!(matches!(
        store.remove(&RecordKey::SerialCounter),
        Err(StoreError::Unavailable)
    ));
    assert!(matches!(
        store.put(&RecordKey::IssuedCert(2), b"cert"),
        Err(StoreError::Unavailable)
    ));
    // Reads still work and see the old state.
    assert_eq!(store.get(&RecordKey::SerialCounter).unwrap().unwrap(), b"1");
    assert!(store.list(RecordFamily::IssuedCert).unwrap().is_empty());
    store.fail_writes(false);
    store.put(&RecordKey::SerialCounter, b"2").unwrap();
    assert_eq!(store.get(&RecordKey::SerialCounter).unwrap().unwrap(), b"2");
}

#[test]
fn c20_memory_fail_after_n_writes() {
    let store = MemoryStore::new();
    store.fail_after(2);
    store.put(&RecordKey::Request(1), b"a").unwrap();
    store.remove(&RecordKey::Request(1)).unwrap();
    assert!(matches!(
        store.put(&RecordKey::Request(2), b"b"),
        Err(StoreError::Unavailable)
    ));
    assert!(matches!(
        store.put(&RecordKey::Request(3), b"c"),
        Err(StoreError::Unavailable)
    ));
    assert!(store.is_empty());
    store.fail_writes(false);
    store.put(&RecordKey::Request(3), b"c").unwrap();
    assert_eq!(store.len(), 1);
}

#[test]
fn c18_debug_never_prints_values() {
    let store = MemoryStore::new();
    store.put(&RecordKey::CaState, b"SECRET-KEY-BYTES").unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = ca_core::DirStore::open(tmp.path()).unwrap();
    dir.put(&RecordKey::CaState, b"SECRET-KEY-BYTES").unwrap();
    let shown = format!("{dir:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}
