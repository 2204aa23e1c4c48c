//! K-17 (amended), from the attacker's side: a man in the middle signs CertReps with its own
//! certificate and carries it in the CertRep (issue 13 item 4).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mitm;
mod support;

use client_core::{Event, ReplyProblem, StateName, Warning};
use mitm::*;
use pki_timers::ClientTimer;
use support::*;

/// K-17 (amended): a CertRep signed by a certificate other than the expected one (here the
/// man in the middle's own, carried in the CertRep) is a transport failure for SUCCESS,
/// PENDING and FAILURE alike; the identity, the renewal and its outcome are the CA's.
fn impostor_answers_a_renewal(what: Forged) {
    {
        let mut r = rng(1701);
        let mut ca = TestCa::new(T0, 730);
        let now = at(T0 + 60);
        let mut tp = authenticated(&mut ca, Some(50), now, &mut r);
        step(&mut tp, &mut ca, now, &mut r);
        assert!(events(&mut tp).contains(&Event::Enrolled), "{what:?}");
        let old = tp.identity_cert().unwrap().clone();
        let renew = deadline(&tp, ClientTimer::Renew).unwrap();
        tp.handle_timeout(at(renew));
        forge(&mut tp, at(renew), &mut r, what);

        let ev = events(&mut tp);
        assert!(
            !ev.iter().any(|e| matches!(
                e,
                Event::Renewed
                    | Event::Enrolled
                    | Event::Pending
                    | Event::Rejected { .. }
                    | Event::NeedsManualRenewal
            )),
            "{what:?}: the forged CertRep was believed: {ev:?}"
        );
        assert_eq!(tp.state(), StateName::Retrying, "{what:?}: {ev:?}");
        assert!(
            ev.contains(&Event::Warning(Warning::BadCertRep(
                ReplyProblem::UnexpectedSigner
            ))),
            "{what:?}: {ev:?}"
        );
        assert_eq!(tp.identity_cert(), Some(&old), "{what:?}");
        assert!(
            deadline(&tp, ClientTimer::ConnectRetry).is_some(),
            "{what:?}"
        );

        // The genuine CA's answer on CONNECT RETRY renews: automation was never stopped.
        let retry = deadline(&tp, ClientTimer::ConnectRetry).unwrap();
        step(&mut tp, &mut ca, at(retry), &mut r);
        assert!(events(&mut tp).contains(&Event::Renewed), "{what:?}");
        assert_eq!(tp.state(), StateName::Enrolled, "{what:?}");
        assert_ne!(tp.identity_cert(), Some(&old), "{what:?}");
    }
}

#[test]
fn k17_impostor_signed_success_is_rejected() {
    impostor_answers_a_renewal(Forged::Success);
}

#[test]
fn k17_impostor_signed_pending_is_rejected() {
    impostor_answers_a_renewal(Forged::Pending);
}

#[test]
fn k17_impostor_signed_failure_does_not_stop_renewals() {
    impostor_answers_a_renewal(Forged::Failure);
}

/// K-17 (amended) in a CA+RA deployment: the pinned RA and the CA may sign, nobody else.
#[test]
fn k17_impostor_signer_rejected_behind_an_ra_too() {
    for what in [Forged::Failure, Forged::Pending] {
        let mut r = rng(1702);
        let mut ca = TestCa::new(T0, 730);
        ca.make_ra();
        let now = at(T0 + 60);
        let mut tp = authenticated(&mut ca, Some(80), now, &mut r);
        tp.handle_timeout(now);
        forge(&mut tp, now, &mut r, what);
        let ev = events(&mut tp);
        assert_eq!(tp.state(), StateName::Retrying, "{what:?}: {ev:?}");
        assert!(
            !ev.iter()
                .any(|e| matches!(e, Event::Pending | Event::Rejected { .. })),
            "{what:?}: {ev:?}"
        );
        step(&mut tp, &mut ca, at(T0 + 120), &mut r);
        assert!(events(&mut tp).contains(&Event::Enrolled), "{what:?}");
    }
}
