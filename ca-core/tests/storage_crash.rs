//! C-20 with real crashes: a child process writes to a `DirStore` in a tight loop and the
//! parent kills it with SIGKILL at seeded random moments, then checks what is on disk.
//!
//! The child is this test binary itself, re-run on the `c20_crash_child` test with
//! `CA_CORE_CRASH_CHILD_DIR` set; without that variable the child test does nothing.
#![cfg(unix)]
// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ca_core::{
    DirStore, Store, StoreError,
    storage::{RecordFamily, RecordKey},
};
use rand::{RngExt, SeedableRng, rngs::StdRng};

const CHILD_ENV: &str = "CA_CORE_CRASH_CHILD_DIR";
const ROUNDS: usize = 20;
const REQUEST_SLOTS: u64 = 8;
const ARCHIVE_SLOTS: u64 = 3;

/// The only value ever written for step `i`: `i`, a body whose length and bytes depend on
/// `i` (up to 6 KiB, so a torn write would show), and an FNV-1a checksum of both.
fn record(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    let len = usize::try_from(1 + (i * 7919) % 6000).unwrap();
    let seed = i.to_le_bytes()[0];
    v.extend((0..len).map(|k| seed ^ k.to_le_bytes()[0]));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &v {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    v.extend(hash.to_le_bytes());
    v
}

/// The step a value was written at, if it is exactly `record(step)`.
fn step_of(value: &[u8]) -> Option<u64> {
    let i = u64::from_le_bytes(value.get(..8)?.try_into().ok()?);
    (value == record(i)).then_some(i)
}

fn archive_key(slot: u64) -> RecordKey {
    RecordKey::Archive(format!("A{slot}.pem"))
}

/// The child: resume from the stored counter, then write forever. After the counter write
/// returns `Ok`, print the step: the parent treats printed steps as acknowledged.
#[test]
fn c20_crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = DirStore::open(&dir).unwrap();
    let mut i = store
        .get(&RecordKey::SerialCounter)
        .unwrap()
        .map_or(0, |v| step_of(&v).unwrap());
    let mut out = std::io::stdout().lock();
    // The harness has printed "test c20_crash_child ... " without a newline.
    writeln!(out, "\nready").unwrap();
    out.flush().unwrap();
    loop {
        i += 1;
        let value = record(i);
        // As the CA does with serials: the counter is durable before the step is used.
        store.put(&RecordKey::SerialCounter, &value).unwrap();
        writeln!(out, "{i}").unwrap();
        out.flush().unwrap();
        store
            .put(&RecordKey::Request(i % REQUEST_SLOTS), &value)
            .unwrap();
        store.put(&archive_key(i % ARCHIVE_SLOTS), &value).unwrap();
        if i.is_multiple_of(5) {
            store
                .remove(&RecordKey::Request((i + 3) % REQUEST_SLOTS))
                .unwrap();
        }
    }
}

fn temp_leftovers(root: &Path) -> usize {
    let mut n = 0;
    for dir in [
        root.to_path_buf(),
        root.join("requests"),
        root.join("archive"),
    ] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn c20_sigkill_never_tears_a_record_nor_loses_an_acknowledged_one() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let exe = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(0x5CE9_C020);
    let mut counter = 0u64;
    let (mut records_checked, mut leftovers_seen, mut kills) = (0usize, 0usize, 0usize);

    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "c20_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Skip the test harness's own lines until the child has the store open.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == "ready" => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: child never became ready: {e}");
                }
            }
        }
        // While the child holds the store, nobody else may open it.
        assert!(
            matches!(DirStore::open(&root), Err(StoreError::Locked { .. })),
            "round {round}: a second process opened a locked store"
        );
        // Wait for the child's first acknowledged step (on a loaded machine the first fsync
        // can take a while), so every round kills a child that is making progress.
        let first_ack = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.max(Duration::from_secs(30))) {
                Ok(line) => {
                    if let Ok(step) = line.parse::<u64>() {
                        break step;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: child never acknowledged a step: {e}");
                }
            }
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(10..=120)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: child ended by itself: {status}"
        );
        kills += 1;
        reader.join().unwrap();
        let acked = rx
            .try_iter()
            .filter_map(|l| l.parse::<u64>().ok())
            .max()
            .or(Some(first_ack));

        leftovers_seen += temp_leftovers(&root);
        let store = DirStore::open(&root).unwrap();
        assert_eq!(
            temp_leftovers(&root),
            0,
            "round {round}: open left temp files"
        );

        let stored = store
            .get(&RecordKey::SerialCounter)
            .unwrap()
            .map(|v| step_of(&v).expect("counter record torn"))
            .unwrap_or(0);
        records_checked += 1;
        // The child may die between a counter write and its acknowledgement: one step more.
        let highest_possible = acked.unwrap_or(counter) + 1;
        assert!(
            stored <= highest_possible,
            "round {round}: {stored} was never written"
        );
        if let Some(acked) = acked {
            assert!(
                stored >= acked,
                "round {round}: acknowledged {acked}, stored {stored}"
            );
        }
        assert!(
            stored >= counter,
            "round {round}: counter went back {counter} -> {stored}"
        );
        assert!(
            stored > counter,
            "round {round}: the child made no progress"
        );
        counter = stored;

        for slot in store.list(RecordFamily::Request).unwrap() {
            let value = store.get(&RecordKey::Request(slot)).unwrap().unwrap();
            let i = step_of(&value).unwrap_or_else(|| panic!("request {slot} torn"));
            assert_eq!(i % REQUEST_SLOTS, slot);
            assert!(
                i <= counter,
                "request {slot} from step {i} > counter {counter}"
            );
            records_checked += 1;
        }
        for name in store.list_archives().unwrap() {
            let value = store
                .get(&RecordKey::Archive(name.clone()))
                .unwrap()
                .unwrap();
            let i = step_of(&value).unwrap_or_else(|| panic!("archive {name} torn"));
            assert_eq!(
                archive_key(i % ARCHIVE_SLOTS),
                RecordKey::Archive(name.clone())
            );
            assert!(
                i <= counter,
                "archive {name} from step {i} > counter {counter}"
            );
            records_checked += 1;
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "c20 crash test: {kills} SIGKILLs, {counter} steps, {records_checked} records checked, \
         {leftovers_seen} temp leftovers cleaned, {:.1} s",
        elapsed.as_secs_f64()
    );
    assert!(counter > 0, "the children never completed a step");
}
