//! `DirStore` on disk: layout, reopen, crash leftovers, permissions, lock (C-18 … C-20).

// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use ca_core::{
    DirStore, Store, StoreError,
    storage::{RecordFamily, RecordKey},
};

fn all_records() -> Vec<(RecordKey, Vec<u8>)> {
    vec![
        (RecordKey::SerialCounter, b"1A\n".to_vec()),
        (RecordKey::RequestCounter, b"12\n".to_vec()),
        (RecordKey::CaState, b"ca state with keys".to_vec()),
        (RecordKey::Crl, vec![0x30, 0x03, 0x02, 0x01, 0x05]),
        (RecordKey::Request(12), b"request 12".to_vec()),
        (RecordKey::IssuedName(0x1A), b"CN=router".to_vec()),
        (RecordKey::IssuedCert(0x1A), vec![0x30, 0x00]),
        (RecordKey::Revoked(0xFF), b"".to_vec()),
        (RecordKey::OneTimePassword(3), b"otp".to_vec()),
        (
            RecordKey::Archive("ROOTCA_00001.pem".to_owned()),
            b"archive".to_vec(),
        ),
    ]
}

#[test]
fn c18_layout_is_the_documented_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path()).unwrap();
    assert_eq!(store.path(), tmp.path());
    for (key, value) in all_records() {
        store.put(&key, &value).unwrap();
    }
    // Writes go to the journal first; a compaction (automatic, or at close) lays them out.
    store.compact().unwrap();
    let root = tmp.path();
    for (path, value) in [
        ("serial", &b"1A\n"[..]),
        ("request-id", b"12\n"),
        ("ca/state", b"ca state with keys"),
        ("crl.der", &[0x30, 0x03, 0x02, 0x01, 0x05]),
        ("requests/12", b"request 12"),
        ("names/1A", b"CN=router"),
        ("certs/1A.der", &[0x30, 0x00]),
        ("revoked/FF", b""),
        ("otp/3", b"otp"),
        ("archive/ROOTCA_00001.pem", b"archive"),
    ] {
        assert_eq!(fs::read(root.join(path)).unwrap(), value, "{path}");
    }
}

#[test]
fn c20_everything_survives_drop_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = DirStore::open(tmp.path()).unwrap();
        for (key, value) in all_records() {
            store.put(&key, &value).unwrap();
        }
        store.put(&RecordKey::Request(13), b"gone").unwrap();
        store.remove(&RecordKey::Request(13)).unwrap();
    }
    let store = DirStore::open(tmp.path()).unwrap();
    for (key, value) in all_records() {
        assert_eq!(store.get(&key).unwrap().unwrap(), value, "{key:?}");
    }
    assert_eq!(store.get(&RecordKey::Request(13)).unwrap(), None);
    assert_eq!(store.list(RecordFamily::Request).unwrap(), [12]);
    assert_eq!(store.list(RecordFamily::IssuedCert).unwrap(), [0x1A]);
    assert_eq!(store.list_archives().unwrap(), ["ROOTCA_00001.pem"]);
}

#[test]
fn c20_temp_leftovers_and_foreign_files_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    {
        let store = DirStore::open(root).unwrap();
        store.put(&RecordKey::SerialCounter, b"05").unwrap();
        store.put(&RecordKey::Request(1), b"one").unwrap();
    }
    // What a crash between write and rename leaves, plus an operator's files.
    let leftovers = [
        ".tmp-0-serial",
        "requests/.tmp-3-2",
        "archive/.tmp-9-ROOTCA.pem",
        "ca/.tmp-1-state",
    ];
    for path in leftovers {
        fs::write(root.join(path), b"torn").unwrap();
    }
    for path in [
        "requests/notes.txt",
        "requests/01",
        "names/1a",
        "archive/.swp",
    ] {
        fs::write(root.join(path), b"operator").unwrap();
    }
    fs::create_dir(root.join("requests/7")).unwrap();

    let store = DirStore::open(root).unwrap();
    for path in leftovers {
        assert!(!root.join(path).exists(), "{path} was not cleaned");
    }
    assert!(
        root.join("requests/notes.txt").exists(),
        "foreign files are kept"
    );
    assert_eq!(
        store.get(&RecordKey::SerialCounter).unwrap().unwrap(),
        b"05"
    );
    assert_eq!(store.list(RecordFamily::Request).unwrap(), [1]);
    assert!(store.list(RecordFamily::IssuedName).unwrap().is_empty());
    assert!(store.list_archives().unwrap().is_empty());

    // Leftovers appearing while open (another crash path) are not listed either.
    fs::write(root.join("requests/.tmp-4-5"), b"torn").unwrap();
    assert_eq!(store.list(RecordFamily::Request).unwrap(), [1]);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn c19_files_are_private_and_folders_0700() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ca-db");
    let store = DirStore::open(&root).unwrap();
    for (key, value) in all_records() {
        store.put(&key, &value).unwrap();
    }
    store.compact().unwrap();
    assert_eq!(mode(&root), 0o700);
    for folder in [
        "ca", "requests", "names", "certs", "revoked", "otp", "archive",
    ] {
        assert_eq!(mode(&root.join(folder)), 0o700, "{folder}");
    }
    for file in [
        ".lock",
        "journal",
        "serial",
        "request-id",
        "ca/state",
        "crl.der",
        "requests/12",
        "names/1A",
        "certs/1A.der",
        "revoked/FF",
        "otp/3",
        "archive/ROOTCA_00001.pem",
    ] {
        assert_eq!(mode(&root.join(file)), 0o600, "{file}");
    }
}

#[test]
fn c20_second_open_is_refused_until_the_first_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let first = DirStore::open(tmp.path()).unwrap();
    first.put(&RecordKey::SerialCounter, b"1").unwrap();
    match DirStore::open(tmp.path()) {
        Err(StoreError::Locked { path }) => assert_eq!(path, tmp.path()),
        other => panic!("second open: {other:?}"),
    }
    // The refused open changed nothing.
    assert_eq!(first.get(&RecordKey::SerialCounter).unwrap().unwrap(), b"1");
    drop(first);
    let second = DirStore::open(tmp.path()).unwrap();
    assert_eq!(
        second.get(&RecordKey::SerialCounter).unwrap().unwrap(),
        b"1"
    );
}

#[test]
fn c20_open_on_a_file_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(
        DirStore::open(&file),
        Err(StoreError::Io { key: None, .. })
    ));
}

#[test]
fn c20_store_is_shared_between_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let store = &store;
            s.spawn(move || {
                for i in 0..10u64 {
                    let n = t * 100 + i;
                    store
                        .put(&RecordKey::IssuedCert(n), &n.to_be_bytes())
                        .unwrap();
                    // Every thread also rewrites one shared record.
                    store.put(&RecordKey::Crl, &n.to_be_bytes()).unwrap();
                }
            });
        }
    });
    assert_eq!(store.list(RecordFamily::IssuedCert).unwrap().len(), 40);
    assert_eq!(store.get(&RecordKey::Crl).unwrap().unwrap().len(), 8);
    for n in store.list(RecordFamily::IssuedCert).unwrap() {
        assert_eq!(
            store.get(&RecordKey::IssuedCert(n)).unwrap().unwrap(),
            n.to_be_bytes()
        );
    }
}

#[test]
fn c20_io_failure_is_a_typed_error_and_leaves_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path()).unwrap();
    // A file where the folder should be: every call on that family fails, none panics.
    fs::remove_dir(tmp.path().join("requests")).unwrap();
    fs::write(tmp.path().join("requests"), b"not a folder").unwrap();
    let key = RecordKey::Request(1);
    let is_io = |e: StoreError| matches!(e, StoreError::Io { key: Some(ref k), .. } if *k == key);
    // Reads of the family's files fail, typed.
    assert!(is_io(store.get(&key).unwrap_err()));
    assert!(matches!(
        store.list(RecordFamily::Request),
        Err(StoreError::Io { key: None, .. })
    ));
    // A write is durable in the journal; laying it out in the folder fails, typed, and the
    // record stays readable from the journal (and is replayed at the next open).
    store.put(&key, b"x").unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap(), b"x");
    let compacted = store.compact().unwrap_err();
    assert!(matches!(compacted, StoreError::Io { .. }), "{compacted:?}");
    assert_eq!(store.get(&key).unwrap().unwrap(), b"x");
    // Other records still work, and no temp file was left behind.
    store.put(&RecordKey::Crl, b"crl").unwrap();
    // Once the folder is back, the compaction lays the record out.
    fs::remove_file(tmp.path().join("requests")).unwrap();
    fs::create_dir(tmp.path().join("requests")).unwrap();
    store.compact().unwrap();
    assert_eq!(fs::read(tmp.path().join("requests/1")).unwrap(), b"x");
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
