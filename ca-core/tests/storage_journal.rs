//! DirStore v2's journal from the attacker's and the crash's side (C-20): a torn last record
//! is dropped, damage anywhere else is a typed `CorruptLog` (never a panic, never accepted),
//! an impossible length is refused, and every write that returned `Ok` — from many threads
//! at once, sharing group commits — is there after a reopen. The counters are durable in
//! blocks (C-3): never reused, `next = last + 1` between crashes (review2's attacks included).
// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ca_core::{
    DirStore, Store, StoreError,
    storage::{Counter, Issuance, RecordFamily, RecordKey, RequestRow},
};

/// A copy of the store's folder as a crash would leave it: the journal and files as they
/// are now, no compaction (the lock file is not copied).
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

/// A folder whose journal holds three writes (requests 1, 2 and 3), not compacted; the
/// journal's bytes and where each record starts.
fn journal_with_three(tmp: &Path) -> (std::path::PathBuf, Vec<u8>, Vec<usize>) {
    let live = tmp.join("live");
    let crashed = tmp.join("crashed");
    let store = DirStore::open(&live).unwrap();
    let mut starts = Vec::new();
    for id in 1..=3u64 {
        starts.push(usize::try_from(fs::metadata(live.join("journal")).unwrap().len()).unwrap());
        store
            .put(&RecordKey::Request(id), format!("request {id}").as_bytes())
            .unwrap();
    }
    crash_copy(&live, &crashed);
    drop(store);
    let bytes = fs::read(crashed.join("journal")).unwrap();
    (crashed, bytes, starts)
}

fn requests(store: &DirStore) -> Vec<u64> {
    store.list(RecordFamily::Request).unwrap()
}

#[test]
fn c20_crash_before_compaction_loses_no_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    let (crashed, bytes, _) = journal_with_three(tmp.path());
    assert!(!bytes.is_empty(), "the writes are in the journal");
    assert!(
        !crashed.join("requests/1").exists(),
        "not compacted before the crash"
    );
    let store = DirStore::open(&crashed).unwrap();
    assert_eq!(requests(&store), [1, 2, 3]);
    assert_eq!(
        store.get(&RecordKey::Request(2)).unwrap().unwrap(),
        b"request 2"
    );
    // The replay laid the records out and emptied the journal.
    assert_eq!(fs::read(crashed.join("requests/3")).unwrap(), b"request 3");
    assert_eq!(fs::metadata(crashed.join("journal")).unwrap().len(), 0);
}

#[test]
fn c20_torn_last_record_is_dropped_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (crashed, bytes, starts) = journal_with_three(tmp.path());
    let third = starts[2];
    // Cut anywhere inside the last record: header, payload, the last byte.
    for cut in [third + 1, third + 5, third + 9, bytes.len() - 1] {
        let dir = tmp.path().join(format!("cut-{cut}"));
        crash_copy(&crashed, &dir);
        fs::write(dir.join("journal"), &bytes[..cut]).unwrap();
        let store = DirStore::open(&dir).unwrap();
        assert_eq!(requests(&store), [1, 2], "cut at {cut}");
    }
    // A tail of zeros after the last complete record (a crash after the file grew).
    let dir = tmp.path().join("zeros");
    crash_copy(&crashed, &dir);
    let mut zeroed = bytes[..third].to_vec();
    zeroed.extend([0u8; 100]);
    fs::write(dir.join("journal"), &zeroed).unwrap();
    assert_eq!(requests(&DirStore::open(&dir).unwrap()), [1, 2]);
    // The last record complete but its checksum wrong: a torn write too.
    let dir = tmp.path().join("last-bad-crc");
    crash_copy(&crashed, &dir);
    let mut flipped = bytes.clone();
    *flipped.last_mut().unwrap() ^= 0xff;
    fs::write(dir.join("journal"), &flipped).unwrap();
    assert_eq!(requests(&DirStore::open(&dir).unwrap()), [1, 2]);
}

#[test]
fn c20_bad_checksum_in_the_middle_is_a_typed_corrupt_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (crashed, bytes, starts) = journal_with_three(tmp.path());
    // One payload byte of the second record changed: the third follows it.
    let mut damaged = bytes.clone();
    damaged[starts[1] + 12] ^= 0x01;
    fs::write(crashed.join("journal"), &damaged).unwrap();
    match DirStore::open(&crashed) {
        Err(StoreError::CorruptLog { offset, path }) => {
            assert_eq!(offset, u64::try_from(starts[1]).unwrap());
            assert_eq!(path, crashed.join("journal"));
        }
        other => panic!("expected CorruptLog, got {other:?}"),
    }
    // Nothing was applied past the damage, and the journal is kept for the operator.
    assert!(!crashed.join("requests/3").exists());
    assert_eq!(fs::read(crashed.join("journal")).unwrap(), damaged);
}

#[test]
fn c20_absurd_record_length_is_refused_not_allocated() {
    let tmp = tempfile::tempdir().unwrap();
    let (crashed, bytes, starts) = journal_with_three(tmp.path());
    for len in [u32::MAX, 0x7fff_ffff, 0] {
        let mut damaged = bytes.clone();
        damaged[starts[0]..starts[0] + 4].copy_from_slice(&len.to_le_bytes());
        fs::write(crashed.join("journal"), &damaged).unwrap();
        assert!(
            matches!(
                DirStore::open(&crashed),
                Err(StoreError::CorruptLog { offset: 0, .. })
            ),
            "length {len:#x}"
        );
    }
    // A record that parses under a valid checksum but holds garbage operations.
    let payload = [9u8, 0, 0, 0, 7, 7, 7];
    let mut forged = (u32::try_from(payload.len()).unwrap())
        .to_le_bytes()
        .to_vec();
    forged.extend(crc32fast::hash(&payload).to_le_bytes());
    forged.extend(payload);
    forged.extend(&bytes); // followed by valid records: not a torn tail
    fs::write(crashed.join("journal"), &forged).unwrap();
    assert!(matches!(
        DirStore::open(&crashed),
        Err(StoreError::CorruptLog { offset: 0, .. })
    ));
}

#[test]
fn c20_second_open_is_refused_and_leaves_the_journal_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::open(tmp.path()).unwrap();
    store.put(&RecordKey::Request(1), b"one").unwrap();
    let before = fs::read(tmp.path().join("journal")).unwrap();
    assert!(matches!(
        DirStore::open(tmp.path()),
        Err(StoreError::Locked { .. })
    ));
    assert_eq!(fs::read(tmp.path().join("journal")).unwrap(), before);
    assert_eq!(store.get(&RecordKey::Request(1)).unwrap().unwrap(), b"one");
}

fn entry(id: u64, tid: &str) -> Vec<u8> {
    format!(
        "scep-rs-request v1\ntransaction_id={tid}\ncreated=5\nsigner_id=00\ncsr=00\n\
         to_rollover=0\nstate=issued\nserial={id}\ncert=00\n"
    )
    .into_bytes()
}

#[test]
fn c20_concurrent_issuances_share_commits_and_all_survive_a_crash() {
    const THREADS: u64 = 8;
    const EACH: u64 = 40;
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = DirStore::open(&live).unwrap();
    let acked = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, acked) = (&store, &acked);
            s.spawn(move || {
                for i in 0..EACH {
                    let v = store
                        .allocate(&[Counter::RequestId, Counter::Serial])
                        .unwrap();
                    let (id, serial) = (v[0], v[1]);
                    let tid = format!("T{t}-{i}");
                    store
                        .record_issuance(&Issuance {
                            request: RequestRow {
                                id,
                                transaction_id: tid.clone(),
                                requester_key: vec![1],
                                open: false,
                                created: 5,
                                body: entry(serial, &tid),
                            },
                            replaces: None,
                            serial,
                            name: Some(format!("name {serial}").into_bytes()),
                            cert: Some(serial.to_be_bytes().to_vec()),
                        })
                        .unwrap();
                    acked.lock().unwrap().push((id, serial, tid));
                }
            });
        }
    });
    let crashed = tmp.path().join("crashed");
    crash_copy(&live, &crashed);
    drop(store);
    let acked = acked.into_inner().unwrap();
    let store = DirStore::open(&crashed).unwrap();
    let mut serials: Vec<u64> = acked.iter().map(|a| a.1).collect();
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), acked.len(), "a serial was handed out twice");
    assert_eq!(
        store.list(RecordFamily::IssuedCert).unwrap(),
        serials,
        "every acknowledged certificate is there, and nothing else"
    );
    for (id, serial, tid) in &acked {
        let row = store
            .find_request(tid)
            .unwrap()
            .expect("indexed after replay");
        assert_eq!(row.id, *id);
        assert_eq!(
            store.get(&RecordKey::IssuedCert(*serial)).unwrap().unwrap(),
            serial.to_be_bytes()
        );
    }
    // The counters went on: the next values are fresh (a crash may skip reserved values).
    let next = store.allocate(&[Counter::Serial]).unwrap()[0];
    assert!(next > *serials.last().unwrap(), "serial {next} given again");
}

#[test]
fn c3_counter_values_reserved_in_blocks_are_never_reused_and_a_clean_close_leaves_no_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = DirStore::open(&live).unwrap();
    let first = store.allocate(&[Counter::Serial]).unwrap()[0];
    // Allocations inside the reservation write nothing: an issuance waits for one sync.
    let journal = || fs::metadata(live.join("journal")).unwrap().len();
    let after_first = journal();
    let mut given = vec![first];
    for _ in 0..10 {
        given.push(store.allocate(&[Counter::Serial]).unwrap()[0]);
    }
    assert_eq!(
        journal(),
        after_first,
        "each allocation wrote its own record"
    );
    assert_eq!(
        given,
        (first..first + 11).collect::<Vec<_>>(),
        "next = last + 1"
    );
    // Readers see the last value given, not the reservation.
    assert_eq!(
        store.get(&RecordKey::SerialCounter).unwrap().unwrap(),
        format!("{}\n", first + 10).into_bytes()
    );

    // A crash now: nothing given is given again.
    let crashed = tmp.path().join("crashed");
    crash_copy(&live, &crashed);
    let after_crash = DirStore::open(&crashed).unwrap();
    let next = after_crash.allocate(&[Counter::Serial]).unwrap()[0];
    assert!(
        next > first + 10,
        "serial {next} was given before the crash"
    );
    drop(after_crash);

    // A clean close writes the exact last value back: the reopened store goes on at last + 1.
    drop(store);
    let reopened = DirStore::open(&live).unwrap();
    assert_eq!(
        reopened.allocate(&[Counter::Serial]).unwrap()[0],
        first + 11
    );
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

/// C-3, `Store::raise_counter` on DirStore's block reservations: a raise inside the
/// reservation and one past it, each followed by a crash image and, at the end, a clean
/// close. After a raise to N the next allocation is above N, in the live store, after a
/// crash and after a reopen; a raise below changes nothing.
#[test]
fn c3_a_raise_is_durable_and_the_reservation_never_gives_at_or_below_it() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = DirStore::open(&live).unwrap();
    let crash_then_next = |name: &str| {
        let crashed = tmp.path().join(name);
        crash_copy(&live, &crashed);
        let after = DirStore::open(&crashed).unwrap();
        after.allocate(&[Counter::Serial]).unwrap()[0]
    };
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![1]);
    // Inside the reservation the allocation made (1 ..= 64).
    assert_eq!(store.raise_counter(Counter::Serial, 30).unwrap(), 30);
    assert_eq!(
        store.get(&RecordKey::SerialCounter).unwrap().unwrap(),
        b"30\n".to_vec()
    );
    let next = crash_then_next("crash-inside");
    assert!(next > 30, "serial {next} after a raise to 30 and a crash");
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![31]);
    // Past the reservation.
    assert_eq!(store.raise_counter(Counter::Serial, 1000).unwrap(), 1000);
    let next = crash_then_next("crash-past");
    assert!(
        next > 1000,
        "serial {next} after a raise to 1000 and a crash"
    );
    // Below: nothing changes.
    assert_eq!(store.raise_counter(Counter::Serial, 5).unwrap(), 1000);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![1001]);
    // A clean close goes on at last + 1.
    drop(store);
    let reopened = DirStore::open(&live).unwrap();
    // A raise before any allocation since the open (the counter read from its record).
    assert_eq!(reopened.raise_counter(Counter::Serial, 500).unwrap(), 1001);
    assert_eq!(reopened.raise_counter(Counter::Serial, 2000).unwrap(), 2000);
    let next = crash_then_next("crash-reopened");
    assert!(
        next > 2000,
        "serial {next} after a raise to 2000 and a crash"
    );
    drop(reopened);
    let reopened = DirStore::open(&live).unwrap();
    assert_eq!(reopened.allocate(&[Counter::Serial]).unwrap(), vec![2001]);
    // The other counters kept their values.
    assert_eq!(reopened.allocate(&[Counter::RequestId]).unwrap(), vec![1]);
}

/// C-3, `Store::raise_counter` on DirStore at the end of the counter, for a request-id
/// counter behind its family's largest id, and racing allocations: after a crash image and
/// after a clean close, no value at or below a raise (or already given) is given again, and
/// an exhausted counter is a typed conflict, never a wrap.
#[test]
fn c3_dir_raise_at_the_end_behind_the_family_and_racing_allocations_survives_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = DirStore::open(&live).unwrap();
    let crashed = |name: &str| {
        let to = tmp.path().join(name);
        crash_copy(&live, &to);
        DirStore::open(&to).unwrap()
    };
    let exhausted = |s: &DirStore, c: Counter| {
        assert!(matches!(
            s.allocate(&[c]),
            Err(StoreError::Conflict(ca_core::storage::Conflict::CounterExhausted { counter }))
                if counter == c
        ));
    };
    // The request table holds id 41 with no counter record.
    store
        .put_request(
            &RequestRow {
                id: 41,
                transaction_id: "T41".into(),
                requester_key: vec![1],
                open: false,
                created: 5,
                body: entry(41, "T41"),
            },
            None,
        )
        .unwrap();
    assert_eq!(store.raise_counter(Counter::RequestId, 7).unwrap(), 41);
    assert_eq!(
        crashed("req").allocate(&[Counter::RequestId]).unwrap(),
        vec![42]
    );
    // Racing allocations on other threads, each raise just above what was read.
    let done = AtomicBool::new(false);
    let (given, top) = std::thread::scope(|s| {
        let raiser = s.spawn(|| {
            let mut top = 0;
            let mut n = 0;
            while n < 50 || !done.load(Ordering::Acquire) {
                n += 1;
                let seen = store.allocate(&[Counter::Serial]).unwrap()[0];
                let floor = seen + 3;
                assert!(store.raise_counter(Counter::Serial, floor).unwrap() >= floor);
                top = top.max(floor);
            }
            top
        });
        let hs: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    (0..200)
                        .map(|_| store.allocate(&[Counter::Serial]).unwrap()[0])
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let given: Vec<u64> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::Release);
        (given, raiser.join().unwrap())
    });
    let set: BTreeSet<u64> = given.iter().copied().collect();
    assert_eq!(set.len(), given.len(), "a serial was given twice");
    let highest = set.last().copied().unwrap().max(top);
    let after = crashed("race").allocate(&[Counter::Serial]).unwrap()[0];
    assert!(
        after > highest,
        "serial {after} after a crash, {highest} given or raised"
    );
    // Near the end: the reservation saturates, a crash image is exhausted, never wraps.
    assert_eq!(
        store.raise_counter(Counter::Serial, u64::MAX - 2).unwrap(),
        u64::MAX - 2
    );
    assert_eq!(
        store.allocate(&[Counter::Serial]).unwrap(),
        vec![u64::MAX - 1]
    );
    exhausted(&crashed("end"), Counter::Serial);
    assert_eq!(store.allocate(&[Counter::Serial]).unwrap(), vec![u64::MAX]);
    exhausted(&store, Counter::Serial);
    assert_eq!(store.raise_counter(Counter::Serial, 3).unwrap(), u64::MAX);
    // A clean close keeps the end.
    drop(store);
    let reopened = DirStore::open(&live).unwrap();
    exhausted(&reopened, Counter::Serial);
    assert_eq!(
        reopened.raise_counter(Counter::Serial, u64::MAX).unwrap(),
        u64::MAX
    );
    assert_eq!(reopened.allocate(&[Counter::RequestId]).unwrap(), vec![42]);
}
