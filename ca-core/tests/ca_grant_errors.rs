//! Test code: C-15 admin grant errors are typed (issue 12): a store that fails while the
//! issuance is recorded (C-20) is reported with its own error, and the request stays pending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::atomic::{AtomicBool, Ordering};

use ca_core::storage::{Counter, Issuance, RecordFamily, RecordKey, RequestRow, Versioned};
use ca_core::{Ca, CaError, GrantMode, MemoryStore, RequestSelector, RequestStatus, Store};
use ca_core::{StoreError, issue::certificate_serial};
use ca_support::*;

/// A [`MemoryStore`] whose `record_issuance` fails with a corrupt-record error while `fail`
/// is set; every other call goes through.
#[derive(Debug)]
struct FailingIssuance {
    inner: MemoryStore,
    fail: AtomicBool,
}

impl Store for FailingIssuance {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, value)
    }
    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.inner.remove(key)
    }
    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        self.inner.list(family)
    }
    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        self.inner.list_archives()
    }
    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        self.inner.allocate(counters)
    }
    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        self.inner.put_request(row, replaces)
    }
    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        self.inner.find_request(transaction_id)
    }
    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Corrupt {
                key: RecordKey::SerialCounter,
            });
        }
        self.inner.record_issuance(issuance)
    }
    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        self.inner.consume_otp(id)
    }
    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        self.inner.revoke(serial, record)
    }
    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        self.inner.ca_state()
    }
    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        self.inner.swap_ca_state(expected, bytes)
    }
    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.swap_crl(expected, number, bytes)
    }
    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        self.inner.acquire_lease(holder, now, ttl_secs)
    }
    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.inner.release_lease(holder)
    }
    fn shared_version(&self) -> Result<u64, StoreError> {
        self.inner.shared_version()
    }
}

#[test]
fn c15_c20_grant_reports_the_stores_own_error_and_leaves_the_request_pending() {
    let mut config = config();
    config.grant = GrantMode::Manual;
    let store = FailingIssuance {
        inner: MemoryStore::new(),
        fail: AtomicBool::new(false),
    };
    let ca = Ca::open(config, store, T0, true, &mut rng(1)).unwrap();
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=PENDING");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "GRANT-ERRORS-1");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(2)), &ca_der)
    ));
    let id = ca.list_pending()[0].id;

    ca.store().fail.store(true, Ordering::SeqCst);
    let err = ca
        .grant(RequestSelector::Id(id), T0, &mut rng(3))
        .unwrap_err();
    assert!(
        matches!(
            err,
            CaError::Storage(StoreError::Corrupt {
                key: RecordKey::SerialCounter
            })
        ),
        "the store's own error, not a stand-in: {err:?}"
    );
    assert_eq!(ca.list_pending()[0].status, RequestStatus::Pending);

    // The store works again: the same request is granted and handed out on CertPoll.
    ca.store().fail.store(false, Ordering::SeqCst);
    let serials = ca.grant(RequestSelector::Id(id), T0, &mut rng(4)).unwrap();
    assert_eq!(serials.len(), 1);
    assert_eq!(
        ca.list_pending()[0].status,
        RequestStatus::Issued(serials[0])
    );
    let poll = client.cert_poll(&ca_der, "GRANT-ERRORS-1");
    let rep = client.open_rep(&post(&ca, &poll, T0, &mut rng(5)), &ca_der);
    let issued = parse_cert(&client.issued(&rep));
    assert_eq!(certificate_serial(&issued).unwrap(), serials[0]);
}
