//! Test code: C-1 with several instances on one store — `Ca::import` decides "no CA yet" by
//! compare-and-swap, as creation does. An instance that creates (or imports) a CA while
//! another imports one must not have its CA record, key archive (C-19) or first CRL (C-21)
//! overwritten: the importer gets a typed error and the store keeps the first CA. Nor may
//! the import's raise of the serial counter (C-3) lower what the winner allocated or set:
//! the winner's next certificate never reuses a serial.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::{Arc, Mutex};

use ca_core::issue::{CaCertParams, CaKey, certificate_serial, self_signed_ca_certificate};
use ca_core::storage::{Counter, Issuance, RecordFamily, RecordKey, RequestRow, Versioned};
use ca_core::{Ca, CaConfig, CaError, MemoryStore, Store, StoreError};
use ca_support::*;

/// Everything a CA creation leaves in the store that an import must not overwrite.
#[derive(PartialEq, Eq)]
struct Snapshot {
    ca_state: Option<Vec<u8>>,
    crl: Option<Vec<u8>>,
    archives: Vec<(String, Option<Vec<u8>>)>,
}

impl std::fmt::Debug for Snapshot {
    /// Sizes only: the records themselves are kilobytes of key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = |b: &Option<Vec<u8>>| b.as_ref().map(Vec::len);
        f.debug_struct("Snapshot")
            .field("ca_state_len", &len(&self.ca_state))
            .field("crl_len", &len(&self.crl))
            .field(
                "archives",
                &self
                    .archives
                    .iter()
                    .map(|(n, b)| (n, len(b)))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn snapshot(store: &MemoryStore) -> Snapshot {
    let archives = store
        .list_archives()
        .unwrap()
        .into_iter()
        .map(|name| {
            let bytes = store.get(&RecordKey::Archive(name.clone())).unwrap();
            (name, bytes)
        })
        .collect();
    Snapshot {
        ca_state: store.ca_state().unwrap().map(|v| v.bytes),
        crl: store.get(&RecordKey::Crl).unwrap(),
        archives,
    }
}

/// What the other instance does in the importer's window.
#[derive(Debug)]
enum Other {
    /// Creates its CA (C-1) with this configuration.
    Create(CaConfig),
    /// Imports this CA, serials up to the `u64` handed out before (C-3).
    Import(CaConfig, Box<CaKey>, u64),
}

/// The importing instance's view of a shared store in which another instance creates (or
/// imports) its CA right before the importer's first write — after the importer has looked
/// and found no CA, and read the serial counter. Records what the store held right after
/// that creation.
#[derive(Debug)]
struct CreatedMeanwhile {
    store: Arc<MemoryStore>,
    /// What the other instance does, taken when it does it.
    other: Mutex<Option<Other>>,
    /// The other instance's CA certificate and the store right after its creation.
    created: Mutex<Option<(Vec<u8>, Snapshot)>>,
}

impl CreatedMeanwhile {
    fn new(store: &Arc<MemoryStore>, other: CaConfig) -> Self {
        Self::doing(store, Other::Create(other))
    }

    fn doing(store: &Arc<MemoryStore>, other: Other) -> Self {
        Self {
            store: Arc::clone(store),
            other: Mutex::new(Some(other)),
            created: Mutex::new(None),
        }
    }

    /// Before the importer's first write: the other instance creates (imports) its CA.
    fn meanwhile(&self) {
        let Some(other) = self.other.lock().unwrap().take() else {
            return;
        };
        let store = Arc::clone(&self.store);
        let ca = match other {
            Other::Create(config) => Ca::open(config, store, T0, true, &mut rng(50)),
            Other::Import(config, key, last) => {
                Ca::import(config, store, *key, last, T0, &mut rng(51))
            }
        }
        .expect("the other instance creates its CA");
        *self.created.lock().unwrap() = Some((ca.ca_certificate_der(), snapshot(&self.store)));
    }
}

impl Store for CreatedMeanwhile {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key)
    }
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        self.meanwhile();
        self.store.put(key, value)
    }
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.meanwhile();
        self.store.remove(key)
    }
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        self.store.list(family)
    }
    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        self.store.list_archives()
    }
    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        self.meanwhile();
        self.store.allocate(counters)
    }
    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        self.meanwhile();
        self.store.raise_counter(counter, at_least)
    }
    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        self.store.put_request(row, replaces)
    }
    fn find_request(&self, tid: &str) -> Result<Option<RequestRow>, StoreError> {
        self.store.find_request(tid)
    }
    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        self.store.record_issuance(issuance)
    }
    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        self.store.consume_otp(id)
    }
    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        self.store.revoke(serial, record)
    }
    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        self.store.ca_state()
    }
    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        self.meanwhile();
        self.store.swap_ca_state(expected, bytes)
    }
    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.meanwhile();
        self.store.swap_crl(expected, number, bytes)
    }
    fn acquire_lease(&self, holder: u64, now: u64, ttl: u64) -> Result<(), StoreError> {
        self.store.acquire_lease(holder, now, ttl)
    }
    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.store.release_lease(holder)
    }
    fn shared_version(&self) -> Result<u64, StoreError> {
        self.store.shared_version()
    }
}

/// Configuration of both instances: archives on, so the archive is checked too.
fn archiving() -> CaConfig {
    let mut c = config();
    c.archive_password = Some("archive-pw".to_owned());
    c
}

/// An operator's existing CA, with the default `issuer_name`.
fn operator_ca() -> CaKey {
    self_signed_ca_certificate(
        &CaCertParams::new(name("CN=ROOTCA"), T0),
        key(3),
        &mut rng(9),
    )
    .unwrap()
}

/// The race: instance A creates its CA after B looked for one and before B wrote anything.
/// B's import fails with `AlreadyExists`, and A's CA record, archive and first CRL are what
/// A wrote (compared with the store right after A's creation); a third instance opens A's CA.
#[test]
fn c01_c19_c21_an_import_racing_a_creation_writes_nothing_over_it() {
    let store = Arc::new(MemoryStore::shared());
    let b = Arc::new(CreatedMeanwhile::new(&store, archiving()));
    let Err(err) = Ca::import(
        archiving(),
        Arc::clone(&b),
        operator_ca(),
        1,
        T0,
        &mut rng(2),
    ) else {
        panic!("B imported over A's CA");
    };
    assert!(matches!(err, CaError::AlreadyExists), "{err:?}");
    let (created_der, created) = b.created.lock().unwrap().take().expect("A created");
    assert_eq!(snapshot(&store), created, "B overwrote part of A's CA");
    let c = Ca::open(archiving(), Arc::clone(&store), T0, true, &mut rng(4)).unwrap();
    assert_eq!(c.ca_certificate_der(), created_der);
}

/// Without a race: A created the CA before B imports; B's import is refused and A's CA stays.
#[test]
fn c01_an_import_after_a_creation_on_another_instance_is_refused() {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(archiving(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let before = snapshot(&store);
    let Err(err) = Ca::import(
        archiving(),
        Arc::clone(&store),
        operator_ca(),
        1,
        T0,
        &mut rng(2),
    ) else {
        panic!("B imported over A's CA");
    };
    assert!(matches!(err, CaError::AlreadyExists), "{err:?}");
    assert_eq!(snapshot(&store), before);
    let c = Ca::open(archiving(), Arc::clone(&store), T0, true, &mut rng(4)).unwrap();
    assert_eq!(c.ca_certificate_der(), a.ca_certificate_der());
}

/// RA mode (S-7): a creation allocates two serials, the CA's and the RA's.
fn ra_config() -> CaConfig {
    let mut c = config();
    c.ra_subject = Some("CN=ROOTCA-RA".to_owned());
    c
}

fn serial_of(der: &[u8]) -> u64 {
    certificate_serial(&parse_cert(der)).unwrap()
}

/// The serials of the next two certificates `ca` issues (Auto grant, requests to the CA).
fn next_two_serials(ca: &Ca<Arc<MemoryStore>>) -> [u64; 2] {
    let ca_der = ca.ca_certificate_der();
    [0, 1].map(|i| {
        let client = Client::new(i, &format!("CN=router{i}"));
        let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("TID-C3-{i}"));
        let rep = client.open_rep(&post(ca, &msg, T0, &mut rng(7)), &ca_der);
        serial_of(&client.issued(&rep))
    })
}

/// C-3 in the race above: B read the serial counter (0) and wants it at 1 (its CA's serial
/// and last serial); A then creates its CA in RA mode, allocating serial 1 (CA) and 2 (RA).
/// B's raise comes after and must not lower the counter to 1: A's CA wins, and its next
/// certificates get serials above the RA's, never the RA's own.
#[test]
fn c03_c01_an_import_racing_an_ra_creation_never_lowers_the_serial_counter() {
    let store = Arc::new(MemoryStore::shared());
    let b = Arc::new(CreatedMeanwhile::new(&store, ra_config()));
    let Err(err) = Ca::import(config(), Arc::clone(&b), operator_ca(), 1, T0, &mut rng(2)) else {
        panic!("B imported over A's CA");
    };
    assert!(matches!(err, CaError::AlreadyExists), "{err:?}");
    assert!(b.created.lock().unwrap().is_some(), "A did not create");
    let c = Ca::open(ra_config(), Arc::clone(&store), T0, true, &mut rng(4)).unwrap();
    let ca_serial = serial_of(&c.ca_certificate_der());
    let ra_serial = serial_of(&c.ra_certificate_der().expect("A's CA has an RA"));
    let [first, second] = next_two_serials(&c);
    let all: std::collections::BTreeSet<u64> = [ca_serial, ra_serial, first, second].into();
    assert_eq!(
        all.len(),
        4,
        "a serial was reused: CA {ca_serial}, RA {ra_serial}, issued {first}, {second}"
    );
    assert!(
        first > ca_serial.max(ra_serial) && second > first,
        "issued {first}, {second} after CA {ca_serial}, RA {ra_serial}"
    );
}

/// C-3 between two imports: A imports its CA saying serials up to 1000 were handed out; B,
/// which read the counter before A, raises it to 1 after A's import and then loses the CAS.
/// A's floor stands: its next certificates are above 1000.
#[test]
fn c03_c01_an_import_losing_to_another_import_never_lowers_its_serial_floor() {
    let store = Arc::new(MemoryStore::shared());
    let winner = self_signed_ca_certificate(
        &CaCertParams::new(name("CN=ROOTCA"), T0),
        key(2),
        &mut rng(10),
    )
    .unwrap();
    let b = Arc::new(CreatedMeanwhile::doing(
        &store,
        Other::Import(config(), Box::new(winner), 1000),
    ));
    let Err(err) = Ca::import(config(), Arc::clone(&b), operator_ca(), 1, T0, &mut rng(2)) else {
        panic!("B imported over A's CA");
    };
    assert!(matches!(err, CaError::AlreadyExists), "{err:?}");
    let (created_der, _) = b.created.lock().unwrap().take().expect("A imported");
    let c = Ca::open(config(), Arc::clone(&store), T0, true, &mut rng(4)).unwrap();
    assert_eq!(c.ca_certificate_der(), created_der);
    let [first, second] = next_two_serials(&c);
    assert!(
        first > 1000 && second > first,
        "issued {first}, {second} at or below A's last serial 1000"
    );
}

/// C-3 at the end of the counter: an import saying every serial up to `u64::MAX` was
/// handed out (with and without an RA to issue) never wraps to a low serial or panics: the
/// import and the certificates after it either fail with a typed error or get a serial
/// above the floor.
#[test]
fn c03_an_import_at_the_end_of_the_serial_counter_never_wraps() {
    for (i, cfg) in [config(), ra_config()].into_iter().enumerate() {
        for floor in [u64::MAX, u64::MAX - 1] {
            let store = Arc::new(MemoryStore::shared());
            let imported = Ca::import(
                cfg.clone(),
                Arc::clone(&store),
                operator_ca(),
                floor,
                T0,
                &mut rng(20 + i as u64),
            );
            let Ok(c) = imported else {
                continue;
            };
            if let Some(ra) = c.ra_certificate_der() {
                assert!(serial_of(&ra) > floor, "RA serial at or below {floor}");
            }
            let client = Client::new(3, "CN=router3");
            let ca_der = c.ca_certificate_der();
            let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-END");
            let resp = post(&c, &msg, T0, &mut rng(8));
            if resp.status == 200
                && let rep = client.open_rep(&resp, &ca_der)
                && matches!(rep.status, scep_proto::CertRepStatus::Success(_))
            {
                assert!(
                    serial_of(&client.issued(&rep)) > floor,
                    "issued at or below {floor}"
                );
            }
        }
    }
}
