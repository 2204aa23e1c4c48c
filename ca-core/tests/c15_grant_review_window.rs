//! Test code: C-8, C-15, C-24 across the grant's host review (C-10 amended). `grant` checks a
//! pending request under the lock, lets the host review it without the lock, then issues.
//! The attacker: a device whose renewal credential the operator revokes, or whose request
//! went to a rollover CA the operator cancels, on another instance, while this instance's
//! grant waits for the host (a review that calls out, a slow hook). Whatever another
//! instance made durable before the grant signs must count: the grant fails closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::{Arc, Mutex};

use ca_core::host::{CaHost, RequestView, Review, ReviewStage};
use ca_core::issue::certificate_serial;
use ca_core::{Ca, CaError, GrantMode, MemoryStore, RequestSelector, RequestStatus, Store};
use ca_support::*;
use pki_timers::Duration;

type Shared = Arc<MemoryStore>;

/// A host that, when asked to review a grant, first lets another instance act.
struct MeanwhileHost {
    act: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl MeanwhileHost {
    fn new(act: impl FnOnce() + Send + 'static) -> Arc<Self> {
        Arc::new(Self {
            act: Mutex::new(Some(Box::new(act))),
        })
    }
}

impl CaHost for MeanwhileHost {
    fn review(&self, request: &RequestView<'_>) -> Review {
        if request.stage == ReviewStage::AdminGrant
            && let Some(act) = self.act.lock().unwrap().take()
        {
            act();
        }
        Review::Accept
    }
}

fn manual() -> ca_core::CaConfig {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c
}

fn status<S: Store>(ca: &Ca<S>, id: u64) -> Option<RequestStatus> {
    ca.list_pending()
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.status)
}

/// A pending renewal on `ca` signed by a certificate `ca` issued; the signer's serial and
/// the renewal's request id.
fn pending_renewal<S: Store>(ca: &Ca<S>) -> (u64, u64) {
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-E");
    assert!(is_pending(
        &client.open_rep(&post(ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    ca.grant(RequestSelector::All, T0, &mut rng(5)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-E");
    let cert = client.issued(&client.open_rep(&post(ca, &poll, T0, &mut rng(6)), &ca_der));
    let serial = certificate_serial(&parse_cert(&cert)).unwrap();
    let renewing = client.with_cert(&cert);
    let later = T0.saturating_add(Duration::from_days(10));
    let msg = renewing.renewal_req(&ca_der, &client.csr(), "TID-R");
    assert!(is_pending(
        &renewing.open_rep(&post(ca, &msg, later, &mut rng(7)), &ca_der)
    ));
    let id = ca
        .list_pending()
        .into_iter()
        .find(|p| p.transaction_id == "TID-R")
        .unwrap()
        .id;
    (serial, id)
}

/// B revokes the renewal's signer while A's host reviews the grant: A must not issue.
#[test]
fn c08_c15_a_revocation_during_the_grant_review_stops_the_grant() {
    let store: Shared = Arc::new(MemoryStore::shared());
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let (serial, id) = pending_renewal(&b);
    let later = T0.saturating_add(Duration::from_days(11));
    let host = MeanwhileHost::new(move || {
        b.revoke(serial, later, &mut rng(8)).unwrap();
    });
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1))
        .unwrap()
        .with_host(host);
    let result = a.grant(RequestSelector::Id(id), later, &mut rng(9));
    assert!(
        matches!(result, Err(CaError::RenewalCredentialRevoked { id: i, serial: s }) if i == id && s == serial),
        "{result:?}"
    );
    assert_eq!(status(&a, id), Some(RequestStatus::Pending));
}

/// B cancels the rollover while A's host reviews the grant of a request addressed to it:
/// A must not sign with the cancelled rollover key it still holds (nor with any other).
#[test]
fn c24_c15_a_cancel_during_the_grant_review_stops_the_grant() {
    let store: Shared = Arc::new(MemoryStore::shared());
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    b.rollover(T0, &mut rng(3)).unwrap();
    let next_der = b.rollover_certificate_der().unwrap();
    let client = Client::new(1, "CN=router-shadow");
    let msg = client.pkcs_req(&next_der, &client.csr(), "TID-SHADOW");
    assert!(is_pending(
        &client.open_rep(&post(&b, &msg, T0, &mut rng(4)), &next_der)
    ));
    let id = b.list_pending()[0].id;
    let host = MeanwhileHost::new(move || {
        b.rollover_cancel(T0).unwrap();
    });
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1))
        .unwrap()
        .with_host(host);
    assert!(a.rollover_certificate_der().is_some(), "A saw the rollover");
    // B's cancel rejected the request in the store: A learns it (nothing granted) or
    // rejects it itself (RolloverCancelled); it never signs.
    let result = a.grant(RequestSelector::Id(id), T0, &mut rng(9));
    assert!(
        matches!(&result, Ok(v) if v.is_empty())
            || matches!(result, Err(CaError::RolloverCancelled { id: i }) if i == id),
        "{result:?}"
    );
    assert_eq!(status(&a, id), Some(RequestStatus::Rejected));
}

/// B rejects the request while A's host reviews its grant: A must not issue it over B's
/// rejection (the store keeps B's decision, and no certificate is signed).
#[test]
fn c15_a_rejection_during_the_grant_review_stops_the_grant() {
    let store: Shared = Arc::new(MemoryStore::shared());
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let ca_der = b.ca_certificate_der();
    let client = Client::new(0, "CN=router2");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-NEW");
    assert!(is_pending(
        &client.open_rep(&post(&b, &msg, T0, &mut rng(4)), &ca_der)
    ));
    let id = b.list_pending()[0].id;
    let host = MeanwhileHost::new(move || {
        assert_eq!(b.reject(RequestSelector::Id(id)).unwrap(), 1);
    });
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1))
        .unwrap()
        .with_host(host);
    let issued = a.grant(RequestSelector::Id(id), T0, &mut rng(9)).unwrap();
    assert_eq!(
        issued,
        Vec::<u64>::new(),
        "nothing issued over the rejection"
    );
    assert_eq!(status(&a, id), Some(RequestStatus::Rejected));
}
