//! Test code: C-24 when the rejection of the cancelled rollover's pending requests does not
//! reach the store. `rollover_cancel` swaps the CA record first; if writing the rejections
//! then fails, the requests addressed to the cancelled rollover CA are still stored as
//! pending. Invariant: after a cancel, no such request is ever issued — not under the
//! cancelled key (by an instance that still holds it), not by the active CA, not under a
//! rollover generated later. A grant rejects it instead (C-24 completed late). A rollover
//! that is activated (C-25) keeps its pending requests: they are granted by the new CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::{Arc, Mutex};

use ca_core::host::{CaHost, RequestView, Review, ReviewStage};
use ca_core::{
    Ca, CaError, CaState, GrantMode, MemoryStore, RequestSelector, RequestStatus, Store,
};
use ca_support::*;
use pki_timers::{Duration, Instant};
use scep_proto::FailInfo;

fn manual() -> ca_core::CaConfig {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c
}

/// A request to the rollover CA of `ca` at `T0`, left pending; its id and the client.
fn pending_to_rollover<S: Store>(ca: &Ca<S>, tid: &str) -> (u64, Client) {
    pending_to_rollover_at(ca, tid, T0)
}

/// A request to the rollover CA of `ca` at `now`, left pending; its id and the client.
fn pending_to_rollover_at<S: Store>(ca: &Ca<S>, tid: &str, now: Instant) -> (u64, Client) {
    let next_der = ca.rollover_certificate_der().expect("a rollover");
    let client = Client::new(1, "CN=router-shadow");
    let msg = client.pkcs_req(&next_der, &client.csr(), tid);
    assert!(is_pending(
        &client.open_rep(&post(ca, &msg, now, &mut rng(4)), &next_der)
    ));
    let id = ca
        .list_pending()
        .into_iter()
        .find(|p| p.transaction_id == tid)
        .unwrap()
        .id;
    (id, client)
}

fn status<S: Store>(ca: &Ca<S>, id: u64) -> RequestStatus {
    ca.list_pending()
        .into_iter()
        .find(|p| p.id == id)
        .unwrap()
        .status
}

/// The cancel's CA record swap lands, the rejection that follows does not (one write, then
/// the store fails); the rollover is gone but the request is stored as pending.
fn cancel_with_failed_rejection<S: Store>(ca: &Ca<S>, store: &MemoryStore) {
    store.fail_after(1);
    let result = ca.rollover_cancel(T0);
    store.fail_writes(false);
    assert!(result.is_err(), "{result:?}");
    assert!(ca.rollover_certificate_der().is_none(), "the swap landed");
}

/// The administrator grants the leftover on the same instance: nothing is issued, the
/// request is rejected (the client's next poll gets FAILURE).
#[test]
fn c24_c15_a_request_to_a_cancelled_rollover_is_never_granted() {
    let store = Arc::new(MemoryStore::new());
    let ca = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let (id, client) = pending_to_rollover(&ca, "TID-LEFT-1");
    cancel_with_failed_rejection(&ca, &store);
    assert_eq!(status(&ca, id), RequestStatus::Pending);

    let err = ca
        .grant(RequestSelector::Id(id), T0, &mut rng(5))
        .expect_err("a request to a cancelled rollover is not issued");
    assert!(
        matches!(err, CaError::RolloverCancelled { id: i } if i == id),
        "{err:?}"
    );
    assert_eq!(status(&ca, id), RequestStatus::Rejected);
    // C-13: the client's poll learns the rejection.
    let poll = client.cert_poll(&next_der, "TID-LEFT-1");
    let rep = client.open_rep(&post(&ca, &poll, T0, &mut rng(6)), &ca.ca_certificate_der());
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

/// Two instances: B served the request while the rollover existed; A cancels (its
/// rejection fails). B, which has not looked at the store since, grants: it must not sign
/// with the cancelled rollover key it still holds, nor with any other.
#[test]
fn c24_c15_a_stale_instance_does_not_grant_under_the_cancelled_key() {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    a.rollover(T0, &mut rng(3)).unwrap();
    // B learns the rollover at its next request.
    let _ = b.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(4));
    let (id, _) = pending_to_rollover(&b, "TID-LEFT-2");
    cancel_with_failed_rejection(&a, &store);
    assert!(b.rollover_certificate_der().is_some(), "B is stale");

    let err = b
        .grant(RequestSelector::Id(id), T0, &mut rng(5))
        .expect_err("B must not issue under the cancelled rollover");
    assert!(matches!(err, CaError::RolloverCancelled { .. }), "{err:?}");
    assert_eq!(status(&b, id), RequestStatus::Rejected);
    assert_eq!(status(&a, id), RequestStatus::Rejected);
}

/// After the failed cancel the administrator makes a new rollover: the leftover, addressed
/// to the cancelled one, is not issued under the new rollover key either.
#[test]
fn c24_c22_a_new_rollover_does_not_take_over_the_cancelled_ones_requests() {
    let store = Arc::new(MemoryStore::new());
    let ca = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let (id, _) = pending_to_rollover(&ca, "TID-LEFT-3");
    cancel_with_failed_rejection(&ca, &store);
    ca.rollover(T0, &mut rng(7)).unwrap();
    assert_eq!(ca.state(), CaState::ActiveWithRollover);
    let err = ca
        .grant(RequestSelector::All, T0, &mut rng(5))
        .expect_err("not under the new rollover");
    assert!(matches!(err, CaError::RolloverCancelled { .. }), "{err:?}");
    assert_eq!(status(&ca, id), RequestStatus::Rejected);
    // A request to the new rollover is granted as usual.
    let (id2, _) = pending_to_rollover(&ca, "TID-NEW-3");
    assert_eq!(
        ca.grant(RequestSelector::Id(id2), T0, &mut rng(8))
            .unwrap()
            .len(),
        1
    );
}

/// The control (C-25): a rollover that becomes the active CA keeps the requests addressed
/// to it; the new active CA grants them.
#[test]
fn c25_requests_to_an_activated_rollover_are_still_granted() {
    let ca = Ca::open(manual(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let old_na = T0.saturating_add(Duration::from_days(1095));
    // Shortly before activation, so the request is not purged first (C-16).
    let (id, _) = pending_to_rollover_at(
        &ca,
        "TID-ACT",
        old_na.saturating_sub(Duration::from_days(1)),
    );
    ca.handle_timeout(old_na, &mut rng(3)).unwrap();
    assert_eq!(ca.ca_certificate_der(), next_der);
    assert_eq!(
        ca.grant(RequestSelector::Id(id), old_na, &mut rng(4))
            .unwrap()
            .len(),
        1
    );
}

/// Rewrites request `id` in `store` as a version without `rollover_serial` wrote it (an old
/// instance sharing the store, or a record from before the upgrade).
fn as_legacy_record(store: &MemoryStore, id: u64) {
    use ca_core::storage::RecordKey;
    let key = RecordKey::Request(id);
    let body = store.get(&key).unwrap().unwrap();
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("rollover_serial="), "{text}");
    let legacy: String = text
        .lines()
        .filter(|l| !l.starts_with("rollover_serial="))
        .map(|l| format!("{l}\n"))
        .collect();
    store.put(&key, legacy.as_bytes()).unwrap();
}

/// A request to the rollover stored without the rollover's serial (by an older instance),
/// left pending by a cancel whose rejection failed: a new instance must not issue it under
/// the active CA either.
#[test]
fn c24_c15_a_legacy_request_to_a_cancelled_rollover_is_never_granted() {
    let store = Arc::new(MemoryStore::shared());
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    a.rollover(T0, &mut rng(2)).unwrap();
    let (id, _) = pending_to_rollover(&a, "TID-LEGACY");
    as_legacy_record(&store, id);
    cancel_with_failed_rejection(&a, &store);
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(3)).unwrap();
    assert_eq!(status(&b, id), RequestStatus::Pending);
    let result = b.grant(RequestSelector::Id(id), T0, &mut rng(5));
    assert!(
        matches!(result, Err(CaError::RolloverCancelled { id: i }) if i == id),
        "{result:?}"
    );
    assert_eq!(status(&b, id), RequestStatus::Rejected);
}

/// The control: a legacy request to a rollover that was activated (C-25) is still granted,
/// and one to the rollover that still stands too (records from before the upgrade).
#[test]
fn c25_legacy_requests_to_a_standing_or_activated_rollover_are_granted() {
    let store = Arc::new(MemoryStore::shared());
    let ca = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let (standing, _) = pending_to_rollover(&ca, "TID-LEGACY-STANDING");
    as_legacy_record(&store, standing);
    let fresh = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(3)).unwrap();
    assert_eq!(
        fresh
            .grant(RequestSelector::Id(standing), T0, &mut rng(4))
            .unwrap()
            .len(),
        1
    );

    let old_na = T0.saturating_add(Duration::from_days(1095));
    let (id, _) = pending_to_rollover_at(
        &ca,
        "TID-LEGACY-ACT",
        old_na.saturating_sub(Duration::from_days(1)),
    );
    as_legacy_record(&store, id);
    let fresh = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(5)).unwrap();
    fresh.handle_timeout(old_na, &mut rng(6)).unwrap();
    assert_eq!(
        fresh
            .grant(RequestSelector::Id(id), old_na, &mut rng(7))
            .unwrap()
            .len(),
        1
    );
}

/// C-25 then C-22: a request to the rollover that became the active CA, still pending when
/// the next rollover is generated, is issued by the CA it was addressed to (the active
/// one), not by the new rollover (whose certificates only start at the active CA's
/// notAfter, and die with a cancel of it).
#[test]
fn c25_c22_a_request_to_an_activated_rollover_is_not_taken_over_by_the_next_one() {
    use der::Decode;
    let ca = Ca::open(manual(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let next_der = ca.rollover_certificate_der().unwrap();
    let old_na = T0.saturating_add(Duration::from_days(1095));
    let (id, client) = pending_to_rollover_at(
        &ca,
        "TID-ACT-2",
        old_na.saturating_sub(Duration::from_days(1)),
    );
    ca.handle_timeout(old_na, &mut rng(3)).unwrap();
    assert_eq!(ca.ca_certificate_der(), next_der);
    ca.rollover(old_na, &mut rng(4)).unwrap();
    assert_eq!(ca.state(), CaState::ActiveWithRollover);
    assert_eq!(
        ca.grant(RequestSelector::Id(id), old_na, &mut rng(5))
            .unwrap()
            .len(),
        1
    );
    let poll = client.cert_poll(&next_der, "TID-ACT-2");
    let cert = client.issued(&client.open_rep(&post(&ca, &poll, old_na, &mut rng(6)), &next_der));
    let cert = scep_proto::Certificate::from_der(&cert).unwrap();
    let nb = cert
        .tbs_certificate()
        .validity()
        .not_before
        .to_unix_duration()
        .as_secs();
    assert!(
        nb <= old_na.unix(),
        "issued by the next rollover: valid from {nb}, now {}",
        old_na.unix()
    );
}

/// C-24 after C-25: cancelling the next rollover rejects the requests addressed to it, not a
/// request to the rollover that has since become the active CA.
#[test]
fn c24_c25_cancelling_the_next_rollover_keeps_requests_to_the_active_ca() {
    let ca = Ca::open(manual(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let old_na = T0.saturating_add(Duration::from_days(1095));
    let (id, _) = pending_to_rollover_at(
        &ca,
        "TID-ACT-3",
        old_na.saturating_sub(Duration::from_days(1)),
    );
    ca.handle_timeout(old_na, &mut rng(3)).unwrap();
    ca.rollover(old_na, &mut rng(4)).unwrap();
    let (to_next, _) = pending_to_rollover_at(&ca, "TID-NEXT-3", old_na);
    ca.rollover_cancel(old_na).unwrap();
    assert_eq!(status(&ca, to_next), RequestStatus::Rejected);
    assert_eq!(status(&ca, id), RequestStatus::Pending);
    assert_eq!(
        ca.grant(RequestSelector::Id(id), old_na, &mut rng(5))
            .unwrap()
            .len(),
        1
    );
}

/// Something another instance does while this one's host reviews a grant (the review runs
/// without the CA's lock).
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

/// Two instances: A cancels the rollover (successfully) while B's host reviews B's grant of
/// a request to it. B, which checked before the review, must look again before it signs:
/// no certificate under the cancelled key.
#[test]
fn c24_c15_a_cancel_during_the_hosts_review_stops_the_grant() {
    let store = Arc::new(MemoryStore::shared());
    let host = Arc::new(DuringReview::default());
    let a = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(manual(), Arc::clone(&store), T0, true, &mut rng(2))
        .unwrap()
        .with_host(Arc::clone(&host) as Arc<dyn CaHost>);
    a.rollover(T0, &mut rng(3)).unwrap();
    let _ = b.handle("GET", "/scep?operation=GetCACaps", b"", T0, &mut rng(4));
    let (id, _) = pending_to_rollover(&b, "TID-LEFT-4");
    *host.action.lock().unwrap() = Some(Box::new(move || {
        a.rollover_cancel(T0).unwrap();
    }));
    // A's cancel rejected the request in the store: B either reads that rejection (nothing
    // to grant) or rejects it itself (RolloverCancelled); it never signs.
    let result = b.grant(RequestSelector::Id(id), T0, &mut rng(5));
    assert!(
        matches!(&result, Ok(serials) if serials.is_empty())
            || matches!(result, Err(CaError::RolloverCancelled { .. })),
        "{result:?}"
    );
    assert!(host.action.lock().unwrap().is_none(), "the review ran");
    assert_eq!(status(&b, id), RequestStatus::Rejected);
}
