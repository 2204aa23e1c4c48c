//! Test code: C-8 and C-15 — an administrator grants a pending renewal (C-9 step 7) whose
//! signer, a renewal credential when the request arrived, has been revoked since. The
//! attacker: whoever holds the key of a certificate the operator revoked (say, a stolen
//! device), with a renewal request queued before the revocation. The grant must not issue
//! a certificate as a "renewal" of a revoked certificate: it fails with a typed error and the
//! request stays pending (the operator rejects or removes it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::{Arc, Mutex};

use ca_core::host::{CaHost, RequestView, Review, ReviewStage};
use ca_core::issue::certificate_serial;
use ca_core::{Ca, CaError, GrantMode, MemoryStore, RequestSelector, RequestStatus, Store};
use ca_support::*;
use pki_timers::Duration;

/// A pending renewal on `ca` signed by a certificate `ca` issued (granted by the admin);
/// the signer's serial and the renewal's request id.
fn pending_renewal<S: Store>(ca: &Ca<S>, tid: &str) -> (u64, u64) {
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), &format!("{tid}-E"));
    assert!(is_pending(
        &client.open_rep(&post(ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    ca.grant(RequestSelector::All, T0, &mut rng(5)).unwrap();
    let poll = client.cert_poll(&ca_der, &format!("{tid}-E"));
    let cert = client.issued(&client.open_rep(&post(ca, &poll, T0, &mut rng(6)), &ca_der));
    let serial = certificate_serial(&parse_cert(&cert)).unwrap();
    let renewing = client.with_cert(&cert);
    let later = T0.saturating_add(Duration::from_days(10));
    let msg = renewing.renewal_req(&ca_der, &client.csr(), &format!("{tid}-R"));
    assert!(is_pending(
        &renewing.open_rep(&post(ca, &msg, later, &mut rng(7)), &ca_der)
    ));
    let id = ca
        .list_pending()
        .into_iter()
        .find(|p| p.status == RequestStatus::Pending)
        .expect("the renewal waits")
        .id;
    (serial, id)
}

fn manual() -> ca_core::CaConfig {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c
}

/// The operator revokes the signer, then grants the renewal it had queued: refused with
/// `RenewalCredentialRevoked`, nothing issued, the request still pending.
#[test]
fn c08_c15_granting_a_renewal_whose_signer_was_revoked_since_is_refused() {
    let ca = Ca::open(manual(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    let (serial, id) = pending_renewal(&ca, "TID-REV");
    let later = T0.saturating_add(Duration::from_days(11));
    ca.revoke(serial, later, &mut rng(8)).unwrap();
    let err = ca
        .grant(RequestSelector::Id(id), later, &mut rng(9))
        .expect_err("no certificate as a renewal of a revoked one");
    assert!(
        matches!(err, CaError::RenewalCredentialRevoked { id: i, serial: s } if i == id && s == serial),
        "{err:?}"
    );
    let row = ca.list_pending().into_iter().find(|p| p.id == id).unwrap();
    assert_eq!(row.status, RequestStatus::Pending);
    // `grant all` does not issue it either.
    assert!(ca.grant(RequestSelector::All, later, &mut rng(10)).is_err());
    let row = ca.list_pending().into_iter().find(|p| p.id == id).unwrap();
    assert_eq!(row.status, RequestStatus::Pending);
    // The operator rejects it; nothing else is left to grant.
    assert_eq!(ca.reject(RequestSelector::Id(id)).unwrap(), 1);
    assert_eq!(
        ca.grant(RequestSelector::All, later, &mut rng(11)).unwrap(),
        Vec::<u64>::new()
    );
}

/// Two instances: the revocation is made on B, the grant on A, which has not looked at the
/// store since. A must learn the revocation before it issues.
#[test]
fn c08_c15_a_revocation_on_another_instance_stops_the_grant() {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let (serial, id) = pending_renewal(&a, "TID-REV2");
    let later = T0.saturating_add(Duration::from_days(11));
    b.revoke(serial, later, &mut rng(8)).unwrap();
    let err = a
        .grant(RequestSelector::Id(id), later, &mut rng(9))
        .expect_err("A must see B's revocation");
    assert!(
        matches!(err, CaError::RenewalCredentialRevoked { .. }),
        "{err:?}"
    );
}

/// The control: the same renewal, its signer not revoked, is granted as before.
#[test]
fn c15_a_renewal_whose_signer_stands_is_granted() {
    let ca = Ca::open(manual(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    let (_, id) = pending_renewal(&ca, "TID-OK");
    let later = T0.saturating_add(Duration::from_days(11));
    assert_eq!(
        ca.grant(RequestSelector::Id(id), later, &mut rng(9))
            .unwrap()
            .len(),
        1
    );
}

/// Something another instance does while this one's host reviews a grant (the review runs
/// without the CA's lock, and may take a while: an inventory lookup).
#[derive(Default)]
struct DuringReview {
    action: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl CaHost for DuringReview {
    fn review(&self, request: &RequestView<'_>) -> Review {
        if request.stage == ReviewStage::AdminGrant
            && let Some(action) = self.action.lock().unwrap().take()
        {
            action();
        }
        Review::Accept
    }
}

/// Two instances: the revocation on B lands while A's host reviews the grant, after A's
/// check before the review. A looks again before it signs: nothing is issued.
#[test]
fn c08_c15_a_revocation_during_the_hosts_review_stops_the_grant() {
    let store = Arc::new(MemoryStore::shared());
    let host = Arc::new(DuringReview::default());
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1))
        .unwrap()
        .with_host(Arc::clone(&host) as Arc<dyn CaHost>);
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let (serial, id) = pending_renewal(&a, "TID-REV3");
    let later = T0.saturating_add(Duration::from_days(11));
    *host.action.lock().unwrap() = Some(Box::new(move || {
        b.revoke(serial, later, &mut rng(8)).unwrap();
    }));
    let err = a
        .grant(RequestSelector::Id(id), later, &mut rng(9))
        .expect_err("the revocation made during the review must count");
    assert!(
        matches!(err, CaError::RenewalCredentialRevoked { .. }),
        "{err:?}"
    );
    assert!(host.action.lock().unwrap().is_none(), "the review ran");
    let row = a.list_pending().into_iter().find(|p| p.id == id).unwrap();
    assert_eq!(row.status, RequestStatus::Pending);
}
