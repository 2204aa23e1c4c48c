//! Store v2 from the attacker's and the crash's side (issue 16 review): a journal write that
//! failed is never read back (C-20), a journal record that names a path outside the store is
//! refused at open, a compaction cut short neither loses nor resurrects records, and with two
//! CA instances on one store a revocation made on either is honoured by both and reaches the
//! CRL (C-8, C-21).
//!
//! The lost-write test runs this binary again as a child (`store_attack_io_child` with
//! `CA_CORE_STORE_ATTACK_IO_DIR` set) under a file-size limit, so that the journal's write
//! fails for real; without that variable the child test does nothing.
#![cfg(unix)]
// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use ca_core::issue::certificate_serial;
use ca_core::storage::{RecordFamily, RecordKey, RequestRow};
use ca_core::{Ca, DirStore, GrantMode, MemoryStore, RequestSelector, Store, StoreError};
use ca_support::*;
use der::Decode as _;
use pki_timers::Duration;
use scep_proto::FailInfo;

const IO_CHILD_ENV: &str = "CA_CORE_STORE_ATTACK_IO_DIR";

/// A request row in ca-core's encoding, its body padded to about `pad` bytes.
fn row(id: u64, tid: &str, pad: usize) -> RequestRow {
    let created = 1_700_000_000 + id;
    RequestRow {
        id,
        transaction_id: tid.to_owned(),
        requester_key: vec![1, 2, 3],
        open: true,
        created,
        body: format!(
            "scep-rs-request v1\ncreated={created}\nsigner_key=010203\nstate=pending\n\
             transaction_id={tid}\npad={}\n",
            "p".repeat(pad)
        )
        .into_bytes(),
    }
}

/// The child: a store whose journal can take a few hundred bytes more (the parent set the
/// file-size limit); a write past the limit fails, and must then never be read back.
#[test]
fn store_attack_io_child() {
    let Ok(dir) = std::env::var(IO_CHILD_ENV) else {
        return;
    };
    let store = DirStore::open(&dir).unwrap();
    store.put_request(&row(1, "T-KEPT", 16), None).unwrap();
    let lost = row(2, "T-LOST", 8192);
    let err = store.put_request(&lost, None).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    // The CA's poll path: a transactionID it forgot is looked up in the store.
    if let Ok(Some(found)) = store.find_request("T-LOST") {
        panic!("a write that failed is read back: {found:?}");
    }
    if let Ok(Some(_)) = store.get(&RecordKey::Request(2)) {
        panic!("a write that failed is read back by get");
    }
    if let Ok(ids) = store.list(RecordFamily::Request) {
        assert!(!ids.contains(&2), "a write that failed is listed: {ids:?}");
    }
    // The harness has printed "test store_attack_io_child ... " without a newline.
    writeln!(std::io::stdout(), "\nchild-ok").unwrap();
}

/// C-20: a journal write that failed (here: the file-size limit, as a full disk would) is
/// never shown to a later reader — a poll must not hand out a certificate whose record is
/// lost.
#[test]
fn c20_a_failed_journal_write_is_never_read_back() {
    if std::env::var_os(IO_CHILD_ENV).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let exe = std::env::current_exe().unwrap();
    // `trap '' XFSZ`: the write fails with EFBIG instead of killing the child; `ulimit -f 2`:
    // files of 1 KiB at most (512-byte blocks).
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 2; exec \"$0\" \"$@\""])
        .arg(&exe)
        .args([
            "store_attack_io_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(IO_CHILD_ENV, &root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("child-ok"),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// One journal record (`len | crc32 | payload`) holding `ops` (already encoded).
fn journal_record(count: u32, ops: &[u8]) -> Vec<u8> {
    let mut payload = count.to_le_bytes().to_vec();
    payload.extend_from_slice(ops);
    let mut out = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn request_key(n: u64) -> Vec<u8> {
    let mut k = vec![5u8];
    k.extend_from_slice(&n.to_le_bytes());
    k
}

fn archive_key_bytes(name: &[u8]) -> Vec<u8> {
    let mut k = vec![10u8];
    k.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    k.extend_from_slice(name);
    k
}

fn put_op(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut op = vec![1u8];
    op.extend_from_slice(key);
    op.extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
    op.extend_from_slice(value);
    op
}

fn remove_op(key: &[u8]) -> Vec<u8> {
    let mut op = vec![2u8];
    op.extend_from_slice(key);
    op
}

/// An empty store folder (made by the store itself, then closed).
fn fresh_folder(root: &Path) {
    drop(DirStore::open(root).unwrap());
}

/// C-20, C-19: a journal record with a correct checksum whose archive name is a path (`..`,
/// `/`) — a crafted or bit-flipped journal — is refused at open as a corrupt log; nothing is
/// written outside the store's folder. So are impossible counts and lengths inside a
/// checksummed payload (no allocation of their size, no panic).
#[test]
fn c20_crafted_journal_records_are_refused_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let absolute = tmp.path().join("escaped-abs");
    let cases: [(&str, Vec<u8>); 5] = [
        (
            "dotdot",
            journal_record(1, &put_op(&archive_key_bytes(b"../../escaped"), b"x")),
        ),
        (
            "slash",
            journal_record(1, &put_op(&archive_key_bytes(b"a/escaped"), b"x")),
        ),
        (
            "absolute",
            journal_record(
                1,
                &put_op(
                    &archive_key_bytes(absolute.to_str().unwrap().as_bytes()),
                    b"x",
                ),
            ),
        ),
        (
            "count",
            journal_record(u32::MAX, &put_op(&request_key(1), b"x")),
        ),
        ("length", {
            let mut op = vec![1u8];
            op.extend_from_slice(&request_key(1));
            op.extend_from_slice(&u32::MAX.to_le_bytes());
            op.extend_from_slice(b"short");
            journal_record(1, &op)
        }),
    ];
    for (name, record) in cases {
        let root = tmp.path().join(name).join("store");
        fresh_folder(&root);
        // Followed by a good record: the damage is not a torn tail.
        let mut journal = record;
        journal.extend(journal_record(1, &put_op(&request_key(9), b"nine")));
        fs::write(root.join("journal"), &journal).unwrap();
        match DirStore::open(&root) {
            Err(StoreError::CorruptLog { offset: 0, .. }) => {}
            Err(other) => panic!("{name}: expected CorruptLog at 0, got {other:?}"),
            Ok(_) => panic!("{name}: a crafted journal was accepted"),
        }
        assert!(!tmp.path().join(name).join("escaped").exists(), "{name}");
        assert!(!root.join("archive").join("escaped").exists(), "{name}");
        assert!(!absolute.exists(), "{name}");
        // And the journal is left for the operator, unchanged.
        assert_eq!(fs::read(root.join("journal")).unwrap(), journal, "{name}");
    }
}

/// C-20: a crash in the middle of a compaction leaves `journal.old` (the older writes, some
/// maybe copied to their files already) and `journal` (the newer ones). Opening replays them
/// in order: no record comes back that a newer write removed, none is lost, the newer value
/// wins.
#[test]
fn c20_compaction_cut_short_neither_loses_nor_resurrects() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    fresh_folder(&root);
    // Files as the interrupted compaction left them: 2 and 3 copied, 1 not yet.
    fs::write(root.join("requests").join("2"), b"two").unwrap();
    fs::write(root.join("requests").join("3"), b"three").unwrap();
    let mut old_ops = put_op(&request_key(1), b"old");
    old_ops.extend(remove_op(&request_key(2)));
    old_ops.extend(put_op(&request_key(3), b"x"));
    let mut old = journal_record(3, &old_ops);
    old.extend(journal_record(1, &put_op(&request_key(4), b"four")));
    fs::write(root.join("journal.old"), old).unwrap();
    let mut new_ops = put_op(&request_key(1), b"new");
    new_ops.extend(remove_op(&request_key(3)));
    fs::write(root.join("journal"), journal_record(2, &new_ops)).unwrap();
    for round in 0..2 {
        let store = DirStore::open(&root).unwrap();
        assert!(!root.join("journal.old").exists(), "round {round}");
        assert_eq!(
            store.get(&RecordKey::Request(1)).unwrap().as_deref(),
            Some(&b"new"[..]),
            "round {round}"
        );
        assert_eq!(store.get(&RecordKey::Request(2)).unwrap(), None);
        assert_eq!(store.get(&RecordKey::Request(3)).unwrap(), None);
        assert_eq!(store.list(RecordFamily::Request).unwrap(), vec![1, 4]);
    }
}

/// Two CA instances on one shared store.
fn two(config: &ca_core::CaConfig) -> (Ca<Arc<MemoryStore>>, Ca<Arc<MemoryStore>>) {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(config.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(config.clone(), store, T0, true, &mut rng(2)).unwrap();
    (a, b)
}

/// A certificate issued by `ca` (Auto grant) to client `index`; its serial.
fn issue_on(ca: &Ca<Arc<MemoryStore>>, index: usize, tid: &str) -> u64 {
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(index, &format!("CN=device{index}"));
    let msg = client.pkcs_req(&ca_der, &client.csr(), tid);
    let rep = client.open_rep(&post(ca, &msg, T0, &mut rng(30)), &ca_der);
    certificate_serial(&parse_cert(&client.issued(&rep))).unwrap()
}

/// The serials a CRL lists.
fn crl_serials(der: &[u8]) -> Vec<u64> {
    let crl: x509_cert::crl::CertificateList =
        x509_cert::crl::CertificateList::from_der(der).unwrap();
    let mut serials: Vec<u64> = crl
        .tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r.serial_number
                .as_bytes()
                .iter()
                .fold(0u64, |n, b| (n << 8) | u64::from(*b))
        })
        .collect();
    serials.sort_unstable();
    serials
}

/// C-21 with two instances: an administrator revokes on whichever instance they reach. A
/// certificate the other instance issued can be revoked (its serial is the store's, not
/// this instance's last), and a revocation on an instance whose CRL is older than the store's
/// still reaches the CRL, which then lists every revoked serial.
#[test]
fn c21_revocation_on_either_instance_reaches_the_crl() {
    let (a, b) = two(&config());
    let on_b = issue_on(&b, 0, "T-B");
    let on_a = issue_on(&a, 1, "T-A");
    assert!(on_a > on_b);
    // A revokes B's certificate: CRL number 2, listing it.
    a.revoke(on_b, T0, &mut rng(40)).unwrap();
    // B, which has seen no request since, revokes A's certificate.
    let number = b
        .revoke(on_a, T0, &mut rng(41))
        .expect("revoking on the other instance");
    assert!(number > 2, "{number}");
    assert_eq!(crl_serials(&b.crl_der()), vec![on_b, on_a]);
}

/// C-8 with two instances: a certificate revoked on one instance is no renewal credential on
/// the other, from the next request on.
#[test]
fn c08_a_credential_revoked_on_one_instance_is_refused_by_the_other() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.grant_auto_trustpoint = true;
    let (a, b) = two(&c);
    let ca_der = a.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-E");
    assert!(is_pending(
        &client.open_rep(&post(&a, &msg, T0, &mut rng(4)), &ca_der)
    ));
    a.grant(RequestSelector::All, T0, &mut rng(8)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-E");
    let cert = client.issued(&client.open_rep(&post(&a, &poll, T0, &mut rng(4)), &ca_der));
    let renewing = client.with_cert(&cert);
    let later = T0.saturating_add(Duration::from_days(10));
    // Before the revocation, B renews on this credential.
    let msg = renewing.renewal_req(&ca_der, &client.csr(), "TID-R1");
    renewing.issued(&renewing.open_rep(&post(&b, &msg, later, &mut rng(4)), &ca_der));
    let serial = certificate_serial(&parse_cert(&cert)).unwrap();
    a.revoke(serial, later, &mut rng(9)).unwrap();
    let msg = renewing.renewal_req(&ca_der, &client.csr(), "TID-R2");
    let rep = renewing.open_rep(&post(&b, &msg, later, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

/// T-15 with two instances: a request made on the instance that does not hold the timer
/// lease is purged all the same once its time is up (else a table an attacker filled on
/// that instance stays full for ever: C-14's cap then refuses every new enrolment there), and
/// the instance without the lease does not stay due — a server's timer task would otherwise
/// call it in a tight loop (CPU, two database round trips a turn) for as long as the other
/// instance holds the lease.
#[test]
fn t15_requests_made_on_the_instance_without_the_lease_are_purged_and_it_does_not_spin() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let (a, b) = two(&c);
    // A takes the timer lease.
    assert!(a.handle_timeout(T0, &mut rng(50)).unwrap().is_empty());
    let ca_der = b.ca_certificate_der();
    let client = Client::new(0, "CN=pending");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "T-P");
    assert!(is_pending(
        &client.open_rep(&post(&b, &msg, T0, &mut rng(51)), &ca_der)
    ));
    let later = T0
        .saturating_add(c.lifetime_enrollment_request)
        .saturating_add(Duration::from_days(1));
    // Both instances run their timers (A renews its lease first).
    a.handle_timeout(later, &mut rng(52)).unwrap();
    b.handle_timeout(later, &mut rng(53)).unwrap();
    a.handle_timeout(later, &mut rng(54)).unwrap();
    let next = b.poll_timeout();
    assert!(
        next.is_none_or(|at| at > later),
        "B is due again at {next:?} (now {later:?}): its timer task would spin"
    );
    let left = a.list_pending();
    assert!(left.is_empty(), "never purged: {left:?}");
}

/// C-20: the journals are read like every record, without following a symlink: a
/// `journal.old` link planted in the folder, pointing at a file elsewhere whose records were
/// crafted, is refused — never replayed into the store.
#[test]
fn c20_a_planted_journal_link_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    fresh_folder(&root);
    let outside = tmp.path().join("outside-journal");
    fs::write(
        &outside,
        journal_record(1, &put_op(&request_key(7), b"injected")),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, root.join("journal.old")).unwrap();
    match DirStore::open(&root) {
        Ok(store) => panic!(
            "opened through a planted journal link; request 7: {:?}",
            store.get(&RecordKey::Request(7))
        ),
        Err(e) => assert!(matches!(e, StoreError::Io { .. }), "{e:?}"),
    }
    assert!(!root.join("requests").join("7").exists());
}

/// T-12 with several instances: an instance that closes cleanly (gives its store back, as
/// `scep server` does at SIGTERM) gives the timer lease up, so the others run the timers (CRL
/// update, rollover) at once instead of waiting out the lease of an instance that no longer
/// exists.
#[test]
fn t12_a_closed_instance_gives_the_timer_lease_up() {
    let store = Arc::new(MemoryStore::new());
    let a = Ca::open(config(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    // A takes the lease at its first timer run.
    a.handle_timeout(T0, &mut rng(70)).unwrap();
    assert!(matches!(
        store.acquire_lease(0xFEED, T0.unix() + 1, 60),
        Err(StoreError::LeaseHeld(_))
    ));
    drop(a.into_store());
    store
        .acquire_lease(0xFEED, T0.unix() + 1, 60)
        .expect("the lease of a closed instance is free");
}

/// C-8 with two instances when the other's records cannot all be read: a CRL record this
/// instance cannot decode (damaged, or written by a newer version) must not keep it from
/// learning a revocation — the revoked certificate is no renewal credential on B.
#[test]
fn c08_an_undecodable_crl_does_not_hide_a_revocation_from_the_other_instance() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.grant_auto_trustpoint = true;
    let store = Arc::new(MemoryStore::new());
    let a = Ca::open(c.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(c, Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let ca_der = a.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-E");
    assert!(is_pending(
        &client.open_rep(&post(&a, &msg, T0, &mut rng(4)), &ca_der)
    ));
    a.grant(RequestSelector::All, T0, &mut rng(8)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-E");
    let cert = client.issued(&client.open_rep(&post(&a, &poll, T0, &mut rng(4)), &ca_der));
    let renewing = client.with_cert(&cert);
    let later = T0.saturating_add(Duration::from_days(10));
    let serial = certificate_serial(&parse_cert(&cert)).unwrap();
    a.revoke(serial, later, &mut rng(9)).unwrap();
    // The CRL record is now one B cannot read.
    store.put(&RecordKey::Crl, b"not a CRL record").unwrap();
    let msg = renewing.renewal_req(&ca_der, &client.csr(), "TID-R2");
    let rep = renewing.open_rep(&post(&b, &msg, later, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

/// C-24 with two instances: an administrator cancels the rollover on whichever instance they
/// reach, even one that has served no request since the other made the rollover.
#[test]
fn c24_a_rollover_made_on_one_instance_is_cancelled_on_the_other() {
    let (a, b) = two(&config());
    a.rollover(T0, &mut rng(80)).unwrap();
    b.rollover_cancel(T0)
        .expect("B cancels the rollover A made");
    assert!(
        a.rollover_certificate_der().is_none() || {
            // A learns it at its next refresh (a request).
            let _ = a.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(81));
            a.rollover_certificate_der().is_none()
        }
    );
}

/// One instance's view of the shared store in which another instance consumes a one-time
/// password between this instance's read of it and any write of it.
#[derive(Debug)]
struct ConsumedMeanwhile(Arc<MemoryStore>);

impl Store for ConsumedMeanwhile {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.0.get(key);
        if let RecordKey::OneTimePassword(id) = key {
            // The other instance spends it right after this one read it.
            let _ = self.0.consume_otp(*id);
        }
        value
    }
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        self.0.put(key, value)
    }
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.0.remove(key)
    }
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        self.0.list(family)
    }
    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        self.0.list_archives()
    }
    fn allocate(&self, counters: &[ca_core::storage::Counter]) -> Result<Vec<u64>, StoreError> {
        self.0.allocate(counters)
    }
    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        self.0.put_request(row, replaces)
    }
    fn find_request(&self, tid: &str) -> Result<Option<RequestRow>, StoreError> {
        self.0.find_request(tid)
    }
    fn record_issuance(&self, issuance: &ca_core::storage::Issuance) -> Result<(), StoreError> {
        self.0.record_issuance(issuance)
    }
    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        self.0.consume_otp(id)
    }
    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        self.0.revoke(serial, record)
    }
    fn ca_state(&self) -> Result<Option<ca_core::storage::Versioned>, StoreError> {
        self.0.ca_state()
    }
    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        self.0.swap_ca_state(expected, bytes)
    }
    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.swap_crl(expected, number, bytes)
    }
    fn acquire_lease(&self, holder: u64, now: u64, ttl: u64) -> Result<(), StoreError> {
        self.0.acquire_lease(holder, now, ttl)
    }
    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.0.release_lease(holder)
    }
    fn shared_version(&self) -> Result<u64, StoreError> {
        self.0.shared_version()
    }
}

/// Q-7 with two instances: a one-time password in an older version's clear form, spent by
/// another instance while this one refreshes, stays spent — the refresh never writes it back.
#[test]
fn q7_a_legacy_password_spent_elsewhere_is_not_written_back_by_a_refresh() {
    let store = Arc::new(MemoryStore::new());
    let b = Ca::open(
        config(),
        ConsumedMeanwhile(Arc::clone(&store)),
        T0,
        true,
        &mut rng(2),
    )
    .unwrap();
    // An older instance's record: the password in clear.
    let clear = b"scep-rs-otp v1\npassword=FEEDFACE01234567\nexpires=1999999999\n";
    store.put(&RecordKey::OneTimePassword(9), clear).unwrap();
    // B refreshes (any request); meanwhile another instance spends the password.
    let _ = b.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(3));
    assert_eq!(
        store.get(&RecordKey::OneTimePassword(9)).unwrap(),
        None,
        "a spent password was written back"
    );
}

/// C-3, `Store::raise_counter`'s default (a store that does not override it, such as this
/// wrapper): it returns the counter as `Store::allocate` counts it, which for the request and
/// one-time password counters includes the family's largest id, and never writes a counter
/// record below that id.
#[test]
fn c3_the_default_raise_counts_the_family_s_largest_id() {
    use ca_core::storage::Counter;
    let inner = Arc::new(MemoryStore::new());
    inner.put(&RecordKey::Request(41), b"old entry").unwrap();
    inner
        .put(&RecordKey::OneTimePassword(9), b"old otp")
        .unwrap();
    let store = ConsumedMeanwhile(Arc::clone(&inner));
    assert_eq!(store.raise_counter(Counter::RequestId, 7).unwrap(), 41);
    assert_eq!(store.raise_counter(Counter::OtpId, 3).unwrap(), 9);
    assert_eq!(store.get(&RecordKey::RequestCounter).unwrap(), None);
    assert_eq!(store.raise_counter(Counter::RequestId, 50).unwrap(), 50);
    assert_eq!(store.allocate(&[Counter::RequestId]).unwrap(), vec![51]);
    assert_eq!(store.allocate(&[Counter::OtpId]).unwrap(), vec![10]);
}
