//! Attacks on DirStore's counter reservation (C-3: `next = last + 1`, durable before use,
//! never reused), from review2.
// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ca_core::storage::{Counter, RecordKey};
use ca_core::{DirStore, Store};

/// A copy of `from` as a crash would leave it (no lock file).
fn crash_copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".lock" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            crash_copy(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(to, fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// C-3: a request id, then a serial (a pending request granted by the operator), then an OTP
/// id, and again: each counter goes on at `last + 1`; one counter's reservation must not
/// throw away another's (before: every other allocation skipped 63 values and wrote a
/// reservation of its own).
#[test]
fn c3_interleaved_counters_go_on_at_last_plus_one() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = DirStore::open(&live).unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        for counter in [Counter::RequestId, Counter::Serial, Counter::OtpId] {
            got.push((counter, store.allocate(&[counter]).unwrap()[0]));
        }
    }
    for counter in [Counter::RequestId, Counter::Serial, Counter::OtpId] {
        let values: Vec<u64> = got
            .iter()
            .filter(|(c, _)| *c == counter)
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(values, vec![1, 2, 3, 4, 5], "{counter:?}: next = last + 1");
    }
    // Readers see the last value given, for every counter.
    for key in [
        RecordKey::RequestCounter,
        RecordKey::SerialCounter,
        RecordKey::OtpCounter,
    ] {
        assert_eq!(
            store.get(&key).unwrap().unwrap(),
            b"5\n".to_vec(),
            "{key:?}"
        );
    }
    // A clean close writes every counter's exact last value back.
    drop(store);
    let reopened = DirStore::open(&live).unwrap();
    for counter in [Counter::RequestId, Counter::Serial, Counter::OtpId] {
        assert_eq!(
            reopened.allocate(&[counter]).unwrap()[0],
            6,
            "{counter:?} after a clean close"
        );
    }
}

/// C-3, C-20: threads allocate every counter (alone and together) while a crash image is
/// taken; in the image no value returned before the copy started is given again, and the
/// live store never gives a value twice.
#[test]
fn c3_c20_concurrent_mixed_allocations_never_reuse_across_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = Arc::new(DirStore::open(&live).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let given = Arc::new(std::sync::Mutex::new(Vec::<(Counter, u64)>::new()));
    let mut threads = Vec::new();
    for t in 0..4usize {
        let (store, stop, given) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&given));
        threads.push(std::thread::spawn(move || {
            let sets: [&[Counter]; 4] = [
                &[Counter::Serial],
                &[Counter::RequestId, Counter::Serial],
                &[Counter::OtpId],
                &[Counter::RequestId],
            ];
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let set = sets[i % sets.len()];
                let values = store.allocate(set).unwrap();
                let mut g = given.lock().unwrap();
                g.extend(set.iter().copied().zip(values));
                i += 1;
            }
        }));
    }
    let mut images = Vec::new();
    for n in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        let before: Vec<(Counter, u64)> = given.lock().unwrap().clone();
        let image = tmp.path().join(format!("crash{n}"));
        crash_copy(&live, &image);
        images.push((image, before));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let all = given.lock().unwrap().clone();
    for counter in [Counter::RequestId, Counter::Serial, Counter::OtpId] {
        let values: Vec<u64> = all
            .iter()
            .filter(|(c, _)| *c == counter)
            .map(|&(_, v)| v)
            .collect();
        let unique: BTreeSet<u64> = values.iter().copied().collect();
        assert_eq!(unique.len(), values.len(), "{counter:?} given twice");
    }
    for (image, before) in images {
        let reopened = DirStore::open(&image).unwrap();
        for counter in [Counter::RequestId, Counter::Serial, Counter::OtpId] {
            let last = before
                .iter()
                .filter(|(c, _)| *c == counter)
                .map(|&(_, v)| v)
                .max()
                .unwrap_or(0);
            let next = reopened.allocate(&[counter]).unwrap()[0];
            assert!(
                next > last,
                "{counter:?} {next} given before the crash (last {last})"
            );
        }
    }
}
