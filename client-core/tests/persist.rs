//! Persistence: restore at every step of a lifecycle, mid-poll restart, stores, and the driver.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::cell::{Cell, RefCell};

use client_core::{
    Event, FileStore, InProcess, MemoryStore, StateName, Trustpoint, TrustpointStore, run_until,
};
use scep_proto::{ClientRequest, PkiMessage, Profile, ScepRequest};
use support::*;

/// Serialises and restores; the copy must be indistinguishable.
fn rt(tp: Trustpoint) -> Trustpoint {
    let bytes = tp.to_bytes().unwrap();
    let back = Trustpoint::from_bytes(&bytes).unwrap();
    assert_eq!(back.state(), tp.state());
    assert_eq!(back.poll_timeout(), tp.poll_timeout());
    assert_eq!(back.timers(), tp.timers());
    assert_eq!(back.transaction_id(), tp.transaction_id());
    assert_eq!(back.identity_cert(), tp.identity_cert());
    assert_eq!(back.rollover_identity_cert(), tp.rollover_identity_cert());
    assert_eq!(back.ca_cert(), tp.ca_cert());
    assert_eq!(back.rollover_ca_cert(), tp.rollover_ca_cert());
    assert_eq!(back.capabilities(), tp.capabilities());
    assert_eq!(
        back.to_bytes().unwrap(),
        bytes,
        "re-encoding is byte-identical"
    );
    back
}

fn pki_tid(req: &ClientRequest) -> Option<String> {
    let method = match req.method {
        scep_proto::Method::Get => "GET",
        _ => "POST",
    };
    match ScepRequest::parse(method, &req.target, &req.body).unwrap() {
        ScepRequest::PkiOperation { message, .. } => Some(
            PkiMessage::from_der(&message, &Profile::STRICT)
                .unwrap()
                .transaction_id()
                .as_str()
                .to_string(),
        ),
        _ => None,
    }
}

#[test]
fn persist_restore_at_every_step_of_a_full_lifecycle() {
    let mut r = rng(21);
    let mut ca = TestCa::new(T0, 30);
    ca.pending = 2;
    ca.make_rollover(60);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let mut now = at(T0 + 60);
    let mut tp = rt(Trustpoint::new(c).unwrap());
    tp.set_authoritative_time(true, now);
    tp = rt(tp);
    tp.authenticate(now).unwrap();
    let mut seen = Vec::new();
    let mut states = Vec::new();
    for _ in 0..200 {
        // Events are outputs, not state: drain before saving.
        while let Some(e) = tp.poll_event() {
            seen.push(e);
        }
        tp = rt(tp);
        states.push(tp.state());
        if let Some(req) = tp.poll_request(now, &mut r) {
            // Restart while the exchange is on the wire: the same request goes out again.
            let mut again = rt(tp
                .to_bytes()
                .map(|b| Trustpoint::from_bytes(&b).unwrap())
                .unwrap());
            let req2 = again
                .poll_request(now, &mut r)
                .expect("resent after restore");
            assert_eq!(pki_tid(&req), pki_tid(&req2));
            assert_eq!(req.target.split('&').next(), req2.target.split('&').next());
            ca.now = now;
            let reply = ca.handle(&req2);
            again.handle_response(reply, now, &mut r);
            tp = again;
            continue;
        }
        if seen.contains(&Event::RolloverActivated) {
            break;
        }
        let Some(t) = tp.poll_timeout() else { break };
        if t > now {
            now = t;
        }
        if ca.rollover.is_some() && now.unix() >= ca.active.not_after() {
            ca.activate();
        }
        tp.handle_timeout(now);
    }
    for want in [
        Event::Authenticated,
        Event::Pending,
        Event::Enrolled,
        Event::RolloverCaInstalled,
        Event::RolloverIdentityInstalled,
        Event::RolloverActivated,
    ] {
        assert!(seen.contains(&want), "{want:?} missing from {seen:?}");
    }
    for s in [
        StateName::AwaitingCaCert,
        StateName::AwaitingCaCaps,
        StateName::Pending,
        StateName::Enrolled,
    ] {
        assert!(states.contains(&s), "{s:?} never seen");
    }
    assert_eq!(tp.state(), StateName::Enrolled);
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
}

#[test]
fn persist_restart_mid_poll_continues_the_same_transaction() {
    let mut r = rng(22);
    let mut ca = TestCa::new(T0, 730);
    ca.pending = 1;
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, Some(80), now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    let tid = tp.transaction_id().unwrap().clone();
    let store = MemoryStore::new();
    store.save(&tp.to_bytes().unwrap()).unwrap();
    drop(tp);
    let mut tp = Trustpoint::from_bytes(&store.load().unwrap().unwrap()).unwrap();
    assert_eq!(tp.transaction_id(), Some(&tid));
    assert_eq!(tp.poll_timeout(), Some(at(T0 + 120)));
    step(&mut tp, &mut ca, at(T0 + 120), &mut r);
    assert_eq!(tp.state(), StateName::Enrolled);
    assert!(ca.seen.iter().all(|s| s.transaction_id == tid));
}

#[test]
fn persist_rejects_foreign_and_truncated_records() {
    assert!(Trustpoint::from_bytes(b"nope").is_err());
    let tp = Trustpoint::new(config(Some(80))).unwrap();
    let bytes = tp.to_bytes().unwrap();
    for n in 0..bytes.len() {
        assert!(Trustpoint::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
    }
}

#[test]
fn store_file_is_atomic_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("tp.bin"));
    assert_eq!(store.load().unwrap(), None);
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
    assert_eq!(store.load().unwrap().as_deref(), Some(&b"two"[..]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn driver_runs_enrolment_through_pending_on_virtual_time() {
    let mut r = rng(23);
    let ca = RefCell::new(TestCa::new(T0, 730));
    ca.borrow_mut().pending = 3;
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.borrow().fingerprint_sha256());
    let mut tp = Trustpoint::new(c).unwrap();
    let clock = Cell::new(T0 + 60);
    tp.set_authoritative_time(true, at(clock.get()));
    tp.authenticate(at(clock.get())).unwrap();
    let mut transport = InProcess::new(|req: &ClientRequest| {
        let mut ca = ca.borrow_mut();
        ca.now = at(clock.get());
        ca.handle(req)
    });
    let ev = run_until(
        &mut tp,
        &mut transport,
        &mut r,
        || at(clock.get()),
        |d| clock.set(clock.get() + d.as_secs()),
        |e| matches!(e, Event::Enrolled),
    )
    .unwrap();
    assert_eq!(ev, Event::Enrolled);
    // Polls at +60, +120, +240 after the PENDING at T0 + 60.
    assert_eq!(clock.get(), T0 + 60 + 240);
}

#[test]
fn persist_keys_encrypted_under_a_password() {
    use client_core::PersistError;
    let mut r = rng(24);
    let mut ca = TestCa::new(T0, 730);
    ca.pending = 1;
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, Some(80), now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    let plain = tp.to_bytes().unwrap();
    let bytes = tp.to_bytes_encrypted(b"hunter2", 1000, &mut r).unwrap();
    assert_eq!(
        tp.to_bytes_encrypted(b"x", 999, &mut r),
        Err(PersistError::Iterations)
    );
    assert_eq!(
        Trustpoint::from_bytes(&bytes).unwrap_err(),
        PersistError::PasswordRequired
    );
    assert_eq!(
        Trustpoint::from_bytes_encrypted(&bytes, b"wrong").unwrap_err(),
        PersistError::WrongPassword
    );
    let back = Trustpoint::from_bytes_encrypted(&bytes, b"hunter2").unwrap();
    assert_eq!(back.to_bytes().unwrap(), plain);
    let mut back = back;
    step(&mut back, &mut ca, at(T0 + 120), &mut r);
    assert_eq!(back.state(), StateName::Enrolled);
    // A plain record also opens with a password.
    assert!(Trustpoint::from_bytes_encrypted(&plain, b"any").is_ok());
}

/// CA-only trustpoint through a rollover to its activation at `ca.na` (K-9, K-10).
fn activated_ca_only(r: &mut rand::rngs::StdRng) -> (Trustpoint, TestCa, u64) {
    let mut ca = TestCa::new(T0, 30);
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, None, now, r);
    ca.make_rollover(60);
    let shadow = pki_timers::ca_only_shadow_at(tp_ca_validity(&tp)).unix();
    step(&mut tp, &mut ca, at(shadow), r);
    assert!(events(&mut tp).contains(&Event::RolloverCaInstalled));
    let ca_na = ca.active.not_after();
    ca.activate();
    step(&mut tp, &mut ca, at(ca_na), r);
    assert!(events(&mut tp).contains(&Event::RolloverActivated));
    (tp, ca, ca_na)
}

fn tp_ca_validity(tp: &Trustpoint) -> pki_timers::Validity {
    let v = tp.ca_cert().unwrap().tbs_certificate().validity();
    pki_timers::Validity::new(
        at(v.not_before.to_unix_duration().as_secs()),
        at(v.not_after.to_unix_duration().as_secs()),
    )
    .unwrap()
}

#[test]
fn k10a_deferred_caps_refresh_survives_a_restart() {
    let mut r = rng(31);
    let (tp, mut ca, ca_na) = activated_ca_only(&mut r);
    let offset = tp.jitter_offset().as_secs();
    assert!(offset > 0);
    let caps_before = ca.ops.iter().filter(|o| **o == "GetCACaps").count();
    // Saved while the refresh waits: restored with the same deadline.
    let mut tp = rt(tp);
    assert_eq!(tp.poll_timeout().map(|t| t.unix()), Some(ca_na + offset));
    step(&mut tp, &mut ca, at(ca_na + offset), &mut r);
    let caps_after = ca.ops.iter().filter(|o| **o == "GetCACaps").count();
    assert_eq!(caps_after, caps_before + 1);
}

#[test]
fn k10a_version_1_records_still_load_with_the_default_jitter() {
    let mut r = rng(32);
    let mut ca = TestCa::new(T0, 30);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let now = at(T0 + 60);
    let save = |jitter: u64, ca: &mut TestCa, r: &mut rand::rngs::StdRng| {
        let mut c = c.clone();
        c.jitter = client_core::Duration::from_secs(jitter);
        let mut tp = Trustpoint::new(c).unwrap();
        tp.set_authoritative_time(true, now);
        tp.authenticate(now).unwrap();
        pump(&mut tp, ca, now, r);
        tp.to_bytes().unwrap()
    };
    let (a, b) = (save(0x0101, &mut ca, &mut r), save(0x0202, &mut ca, &mut r));
    assert_eq!(a.len(), b.len());
    // The jitter window is the only difference: cut it out, and the refresh flag at the end,
    // and call the record version 1.
    let at_byte = a.iter().zip(&b).position(|(x, y)| x != y).unwrap() - 6;
    assert_eq!(&a[at_byte..at_byte + 8], &0x0101u64.to_be_bytes());
    // Version 3 follows the window with the subjectAltName count (none here), version 4 then
    // with the re-enrolment flag (off).
    assert_eq!(&a[at_byte + 8..at_byte + 13], &[0, 0, 0, 0, 0]);
    let mut v3 = [&a[..at_byte + 12], &a[at_byte + 13..]].concat();
    assert_eq!(v3[6], 4);
    v3[6] = 3;
    let tp = Trustpoint::from_bytes(&v3).unwrap();
    assert!(!tp.config().reenroll_after_expiry);
    let mut v2 = [&a[..at_byte + 8], &a[at_byte + 13..]].concat();
    v2[6] = 2;
    let tp = Trustpoint::from_bytes(&v2).unwrap();
    assert_eq!(tp.config().jitter, client_core::Duration::from_secs(0x0101));
    assert!(tp.config().subject_alt_names.is_empty());
    let mut v1 = [&a[..at_byte], &a[at_byte + 13..a.len() - 1]].concat();
    v1[6] = 1;
    let tp = Trustpoint::from_bytes(&v1).unwrap();
    assert_eq!(tp.config().jitter, client_core::Duration::from_hours(12));
    assert_eq!(tp.state(), StateName::Authenticated);
    // Unknown versions stay refused.
    v1[6] = 5;
    assert!(Trustpoint::from_bytes(&v1).is_err());
}
