//! Test code: CA instances sharing one store, from the attacker's and the operator's side
//! (issue 16): two instances creating the CA at the same moment make one CA (C-1, C-3, C-19,
//! C-21), and a key holder or a flood split across instances meets the limits of one CA
//! (C-14: the per-key quota of unissued requests, `max_requests`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::convert::Infallible;
use std::sync::{Arc, Barrier};

use ca_core::archive::open_pkcs12_archive;
use ca_core::issue::certificate_serial;
use ca_core::storage::{RecordFamily, RecordKey};
use ca_core::{Ca, CaConfig, GrantMode, MemoryStore, Store};
use ca_support::*;
use der::Encode as _;
use rand::rngs::StdRng;
use rand::{Rng as _, TryCryptoRng, TryRng};
use scep_proto::FailInfo;

/// An RNG that waits at a barrier before its first output. `Ca::open` draws nothing before
/// it has read the store, so two openings gated by one barrier both find the store empty
/// before either starts creating the CA.
struct Gated {
    gate: Arc<Barrier>,
    waited: bool,
    inner: StdRng,
}

impl Gated {
    fn new(gate: &Arc<Barrier>, seed: u64) -> Self {
        Self {
            gate: Arc::clone(gate),
            waited: false,
            inner: rng(seed),
        }
    }

    fn wait(&mut self) {
        if !self.waited {
            self.waited = true;
            self.gate.wait();
        }
    }
}

impl TryRng for Gated {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.wait();
        Ok(self.inner.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.wait();
        Ok(self.inner.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.wait();
        self.inner.fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for Gated {}

type Shared = Ca<Arc<MemoryStore>>;

/// Two instances opening `store` at the same moment (both see it empty).
fn open_at_once(config: &CaConfig, store: &Arc<MemoryStore>, round: u64) -> (Shared, Shared) {
    let gate = Arc::new(Barrier::new(2));
    std::thread::scope(|s| {
        let open = |seed: u64| {
            let (gate, store) = (&gate, Arc::clone(store));
            s.spawn(move || Ca::open(config.clone(), store, T0, true, &mut Gated::new(gate, seed)))
        };
        let (a, b) = (open(round * 2 + 1), open(round * 2 + 2));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => panic!("an instance failed to open: {:?} / {:?}", a.err(), b.err()),
        }
    })
}

fn serial_of(der: &[u8]) -> u64 {
    certificate_serial(&parse_cert(der)).unwrap()
}

#[test]
fn c01_c19_two_instances_creating_the_ca_on_one_empty_store_at_once_open_one_ca() {
    let mut c = config();
    c.archive_password = Some("archive-pass".to_owned());
    c.ra_subject = Some("CN=ROOTCA-RA".to_owned());
    for round in 0..3 {
        let store = Arc::new(MemoryStore::new());
        let (a, b) = open_at_once(&c, &store, round);
        let ca = a.ca_certificate_der();
        assert_eq!(b.ca_certificate_der(), ca, "round {round}: two CAs");
        assert_eq!(b.ra_certificate_der(), a.ra_certificate_der(), "two RAs");
        assert!(a.ra_certificate_der().is_some());
        assert_eq!(b.crl_der(), a.crl_der(), "two first CRLs");
        // The archive (C-19) holds the CA that won, written once.
        assert_eq!(
            store.list_archives().unwrap(),
            vec!["ROOTCA.p12".to_owned()]
        );
        let archive = store
            .get(&RecordKey::Archive("ROOTCA.p12".to_owned()))
            .unwrap()
            .unwrap();
        let (_, archived) = open_pkcs12_archive(&archive, b"archive-pass").unwrap();
        assert_eq!(archived.to_der().unwrap(), ca, "the archive is the loser's");
        // C-3: each creator took a CA serial and an RA serial; none is handed out twice, and
        // the CA's certificates carry the winner's.
        let stored = store.get(&RecordKey::SerialCounter).unwrap().unwrap();
        assert_eq!(String::from_utf8(stored).unwrap().trim(), "4");
        let (ca_serial, ra_serial) = (serial_of(&ca), serial_of(&a.ra_certificate_der().unwrap()));
        assert!(ca_serial <= 4 && ra_serial <= 4 && ca_serial != ra_serial);
        assert_eq!((a.last_serial(), b.last_serial()), (4, 4));
    }
}

#[test]
fn c01_c03_after_a_creation_race_each_instance_issues_fresh_serials() {
    let store = Arc::new(MemoryStore::new());
    let (a, b) = open_at_once(&config(), &store, 7);
    let ca_der = a.ca_certificate_der();
    assert_eq!(b.ca_certificate_der(), ca_der);
    let mut serials = Vec::new();
    for (i, ca) in [&a, &b].into_iter().enumerate() {
        let client = Client::new(i, &format!("CN=router{i}"));
        let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("RACE-{i}"));
        let rep = client.open_rep(&post(ca, &msg, T0, &mut rng(40 + i as u64)), &ca_der);
        serials.push(serial_of(&client.issued(&rep)));
    }
    // Serials 1 and 2 went to the two creators' CA certificates (one of them discarded).
    assert_eq!(serials, vec![3, 4]);
}

/// Two instances on one store shared the way instances share a database.
fn two_shared(config: &CaConfig) -> (Shared, Shared, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(config.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(config.clone(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    (a, b, store)
}

fn manual(max_requests: usize) -> CaConfig {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.max_requests = max_requests;
    c
}

#[test]
fn c14_one_key_splitting_new_transactions_across_two_instances_gets_bad_request_for_the_fifth() {
    let (a, b, _) = two_shared(&manual(100));
    let ca_der = a.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let send = |ca: &Shared, tid: &str, seed: u64| {
        let msg = client.pkcs_req(&ca_der, &client.csr(), tid);
        client.open_rep(&post(ca, &msg, T0, &mut rng(seed)), &ca_der)
    };
    // Four unissued requests, alternating between the instances: the quota (C-14).
    for i in 0..4u64 {
        let ca = if i % 2 == 0 { &a } else { &b };
        let rep = send(ca, &format!("SPLIT-{i}"), 10 + i);
        assert!(is_pending(&rep), "request {i}: {:?}", rep.status);
    }
    // The fifth, at either instance: FAILURE badRequest.
    for (ca, seed) in [(&a, 20), (&b, 21)] {
        let rep = send(ca, "SPLIT-4", seed);
        assert_eq!(failure(&rep), FailInfo::BadRequest, "{:?}", rep.status);
    }
    // A retransmission is still answered, even at the instance that did not make it.
    assert!(is_pending(&send(&a, "SPLIT-1", 22)));
    assert!(is_pending(&send(&b, "SPLIT-0", 23)));
    // Once the administrator grants one (at either instance), the key has room again.
    let listed = b.list_pending();
    assert_eq!(listed.len(), 4);
    b.grant(ca_core::RequestSelector::Id(listed[0].id), T0, &mut rng(24))
        .unwrap();
    assert!(is_pending(&send(&a, "SPLIT-4", 25)));
}

#[test]
fn c14_a_flood_split_across_two_instances_never_holds_more_than_max_requests() {
    let (a, b, store) = two_shared(&manual(5));
    let ca_der = a.ca_certificate_der();
    let (mut pending, mut full) = (0, 0);
    for round in 0..2usize {
        for i in 0..6usize {
            let client = Client::new(i, &format!("CN=flood{i}"));
            let ca = if (i + round) % 2 == 0 { &a } else { &b };
            let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("FLOOD-{round}-{i}"));
            let resp = post(ca, &msg, T0, &mut rng(100 + (round * 10 + i) as u64));
            if resp.status == 503 {
                full += 1;
                continue;
            }
            let rep = client.open_rep(&resp, &ca_der);
            assert!(is_pending(&rep), "{:?}", rep.status);
            pending += 1;
        }
    }
    assert_eq!((pending, full), (5, 7));
    assert_eq!(store.list(RecordFamily::Request).unwrap().len(), 5);
}

#[test]
fn c14_a_store_one_instance_has_to_itself_counts_nothing_a_shared_one_counts_its_rows() {
    let (a, _b, shared) = two_shared(&manual(100));
    let ca_der = a.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let key = client
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    for i in 0..2u64 {
        let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("COUNT-{i}"));
        assert!(is_pending(
            &client.open_rep(&post(&a, &msg, T0, &mut rng(30 + i)), &ca_der)
        ));
    }
    assert_eq!(shared.count_open_requests(&key).unwrap(), Some(2));
    assert_eq!(shared.count_open_requests(b"another key").unwrap(), Some(0));
    assert_eq!(shared.count_requests().unwrap(), Some(2));
    let alone = MemoryStore::new();
    assert_eq!(alone.count_open_requests(&key).unwrap(), None);
    assert_eq!(alone.count_requests().unwrap(), None);
    // Issued rows stay in the table (until their purge) but are no longer open.
    a.grant(ca_core::RequestSelector::All, T0, &mut rng(33))
        .unwrap();
    assert_eq!(shared.count_open_requests(&key).unwrap(), Some(0));
    assert_eq!(shared.count_requests().unwrap(), Some(2));
}

#[test]
fn c16_t15_the_lease_holder_purges_every_instances_entries_and_the_table_has_room_again() {
    let (a, b, store) = two_shared(&manual(4));
    let ca_der = a.ca_certificate_der();
    let send = |ca: &Shared, i: usize, now: pki_timers::Instant, seed: u64| {
        let client = Client::new(i, &format!("CN=old{i}"));
        let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("PURGE-{i}"));
        post(ca, &msg, now, &mut rng(seed))
    };
    // A holds the timer lease; the table fills through both instances.
    let _ = a.handle_timeout(T0, &mut rng(50)).unwrap();
    for i in 0..4 {
        let ca = if i < 2 { &a } else { &b };
        assert_eq!(send(ca, i, T0, 60 + i as u64).status, 200);
    }
    assert_eq!(send(&b, 4, T0, 70).status, 503, "the table is full");
    // T-15: a week later every entry is due, whichever instance made it.
    let later = pki_timers::Instant::from_unix(T0.unix() + 7 * 86_400 + 1);
    let _ = a.handle_timeout(later, &mut rng(51)).unwrap();
    let _ = b.handle_timeout(later, &mut rng(52)).unwrap();
    assert_eq!(
        store.list(RecordFamily::Request).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!((a.pending_count(), b.pending_count()), (0, 0));
    let client = Client::new(4, "CN=old4");
    let rep = client.open_rep(&send(&b, 4, later, 71), &ca_der);
    assert!(is_pending(&rep), "{:?}", rep.status);
    assert_eq!(store.list(RecordFamily::Request).unwrap().len(), 1);
}

#[test]
fn c19_c22_a_rollover_that_loses_to_another_instances_leaves_the_winners_archive() {
    let mut c = config();
    c.archive_password = Some("archive-pass".to_owned());
    let store = Arc::new(MemoryStore::new());
    let a = Ca::open(c.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(c, Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    a.rollover(T0, &mut rng(3)).unwrap();
    // B has not seen A's rollover yet: its own is refused (the CA record moved on) ...
    assert!(b.rollover(T0, &mut rng(4)).is_err());
    // ... and the archive of the rollover key (C-19) is still the one the CA uses.
    let archive = store
        .get(&RecordKey::Archive("ROOTCA_00001.p12".to_owned()))
        .unwrap()
        .unwrap();
    let (_, archived) = open_pkcs12_archive(&archive, b"archive-pass").unwrap();
    let rollover = a.rollover_certificate_der().unwrap();
    assert!(
        archived.to_der().unwrap() == rollover,
        "the archive holds serial {}, the losing instance's key; the rollover CA is serial {}",
        serial_of(&archived.to_der().unwrap()),
        serial_of(&rollover)
    );
}
