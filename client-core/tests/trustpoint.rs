//! K-rule tests of the trustpoint state machine against an in-process test CA.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use client_core::{Event, StateName, Trustpoint, TrustpointConfig, TrustpointError};
use pki_timers::{ClientTimer, PollSchedule, RetryConfig, Step, renew_at};
use scep_proto::MessageType;
use support::*;

const DAY: u64 = 86_400;

fn deadline(tp: &Trustpoint, t: ClientTimer) -> Option<u64> {
    tp.timers()
        .into_iter()
        .find(|(k, _)| *k == t)
        .map(|(_, at)| at.unix())
}

fn validity(c: &scep_proto::Certificate) -> pki_timers::Validity {
    let v = scep_proto::CertValidity::of(c);
    pki_timers::Validity::from_unix(v.not_before, v.not_after).unwrap()
}

fn spki(c: &scep_proto::Certificate) -> Vec<u8> {
    use der::Encode;
    c.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

/// Authenticated + enrolled at T0 + 60 with auto-enroll `p`.
fn enrolled(ca: &mut TestCa, p: u32, r: &mut rand::rngs::StdRng) -> Trustpoint {
    let now = at(T0 + 60);
    let mut tp = authenticated(ca, Some(p), now, r);
    step(&mut tp, ca, now, r);
    assert!(events(&mut tp).contains(&Event::Enrolled));
    assert_eq!(tp.state(), StateName::Enrolled);
    tp
}

#[test]
fn k02_fingerprint_match_and_mismatch() {
    let mut r = rng(1);
    let mut ca = TestCa::new(T0, 730);
    let now = at(T0 + 60);
    let tp = authenticated(&mut ca, None, now, &mut r);
    assert_eq!(tp.state(), StateName::Authenticated);
    assert_eq!(ca.ops, ["GetCACert", "GetCACaps"]);
    assert!(tp.capabilities().supports_post());

    let mut c = config(None);
    c.ca_fingerprint = Some("00".repeat(20));
    let mut tp = Trustpoint::new(c).unwrap();
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    assert!(matches!(
        events(&mut tp).as_slice(),
        [Event::AuthenticationFailed { .. }]
    ));
    assert_eq!(tp.state(), StateName::Unauthenticated);
    assert!(tp.ca_cert().is_none());
}

#[test]
fn k02_host_approval_shows_md5_and_sha1() {
    let mut r = rng(2);
    let mut ca = TestCa::new(T0, 730);
    let now = at(T0 + 60);
    for approve in [false, true] {
        let mut tp = Trustpoint::new(config(None)).unwrap();
        tp.authenticate(now).unwrap();
        pump(&mut tp, &mut ca, now, &mut r);
        assert_eq!(tp.state(), StateName::AwaitingCaApproval);
        let ev = events(&mut tp);
        let Some(Event::CaApprovalNeeded { md5, sha1 }) = ev.first() else {
            panic!("{ev:?}")
        };
        assert_eq!(md5.replace(' ', "").len(), 32);
        assert_eq!(sha1.replace(' ', "").len(), 40);
        tp.approve_ca(approve).unwrap();
        pump(&mut tp, &mut ca, now, &mut r);
        if approve {
            assert_eq!(tp.state(), StateName::Authenticated);
            assert!(events(&mut tp).contains(&Event::Authenticated));
        } else {
            assert_eq!(tp.state(), StateName::Unauthenticated);
        }
    }
    let mut tp = Trustpoint::new(config(None)).unwrap();
    assert_eq!(tp.approve_ca(true), Err(TrustpointError::NoApprovalPending));
}

#[test]
fn k03_k05_initial_enrolment_end_to_end() {
    let mut r = rng(3);
    let mut ca = TestCa::new(T0, 730);
    let tp = enrolled(&mut ca, 80, &mut r);
    let seen = &ca.seen[0];
    assert_eq!(seen.message_type, MessageType::PkcsReq);
    assert!(seen.signer_self_signed);
    let id = tp.identity_cert().unwrap();
    assert_eq!(
        id.tbs_certificate().subject().to_string(),
        "CN=router.example,O=scep-rs"
    );
    // K-3 / T-1: RENEW armed at the certificate's 80 % instant.
    let want = renew_at(validity(id), pki_timers::Percent::new(80).unwrap());
    assert_eq!(deadline(&tp, ClientTimer::Renew), Some(want.unix()));
    assert!(
        tp.timer_listing(at(T0 + 60))
            .to_string()
            .contains("RENEW tp")
    );
}

#[test]
fn k05_csr_verifies_with_openssl() {
    let mut r = rng(4);
    let mut ca = TestCa::new(T0, 730);
    let _tp = enrolled(&mut ca, 80, &mut r);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("req.der");
    std::fs::write(&path, &ca.last_csr).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-inform", "DER", "-verify", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("verify OK") || text.contains("Certificate request self-signature verify OK"),
        "{text}"
    );
    assert!(text.contains("challengePassword"), "{text}");
    assert!(text.contains("Requested Extensions"), "{text}");
    assert!(
        text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
}

#[test]
fn k11_t10_poll_instants_follow_the_schedule() {
    let mut r = rng(5);
    let mut ca = TestCa::new(T0, 730);
    ca.pending = 4;
    let t0 = at(T0 + 60);
    let mut tp = authenticated(&mut ca, Some(80), t0, &mut r);
    step(&mut tp, &mut ca, t0, &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    assert!(events(&mut tp).contains(&Event::Pending));
    let sched = PollSchedule {
        pending_at: t0,
        config: RetryConfig::DEFAULT,
        issuing_not_after: at(ca.active.not_after()),
    };
    for k in 0..4 {
        let Step::At(want) = sched.attempt_at(k) else {
            panic!()
        };
        assert_eq!(tp.poll_timeout(), Some(want), "poll {k}");
        // Early wake-ups change nothing.
        tp.handle_timeout(at(want.unix() - 1));
        assert!(tp.poll_request(at(want.unix() - 1), &mut r).is_none());
        step(&mut tp, &mut ca, want, &mut r);
    }
    assert_eq!(tp.state(), StateName::Enrolled);
    let tid = &ca.seen[0].transaction_id;
    assert!(ca.seen.iter().all(|s| &s.transaction_id == tid));
    assert!(
        ca.seen[1..]
            .iter()
            .all(|s| s.message_type == MessageType::CertPoll)
    );
    assert!(ca.seen.iter().all(|s| s.signer_self_signed));
}

#[test]
fn k12_failure_stops_automation_and_keeps_certs() {
    let mut r = rng(6);
    let mut ca = TestCa::new(T0, 730);
    let mut tp = enrolled(&mut ca, 50, &mut r);
    let old = tp.identity_cert().unwrap().clone();
    let renew = deadline(&tp, ClientTimer::Renew).unwrap();
    ca.mode = Mode::Failure;
    step(&mut tp, &mut ca, at(renew), &mut r);
    assert_eq!(tp.state(), StateName::RejectedNeedsManual);
    let ev = events(&mut tp);
    assert!(matches!(ev.first(), Some(Event::Rejected { .. })), "{ev:?}");
    assert_eq!(tp.identity_cert(), Some(&old));
    assert!(deadline(&tp, ClientTimer::Renew).is_none());
    assert!(deadline(&tp, ClientTimer::Poll).is_none());
    assert!(deadline(&tp, ClientTimer::ConnectRetry).is_none());
    // K-15: manual renewal restarts.
    ca.mode = Mode::Normal;
    tp.enroll(at(renew + 10), None).unwrap();
    pump(&mut tp, &mut ca, at(renew + 10), &mut r);
    assert!(events(&mut tp).contains(&Event::Renewed));
    assert_eq!(tp.state(), StateName::Enrolled);
}

#[test]
fn k14_every_bad_reply_is_a_transport_failure() {
    let mut r = rng(7);
    for mode in [
        Mode::Garbage,
        Mode::Http500,
        Mode::WrongContentType,
        Mode::WrongNonce,
        Mode::WrongTransactionId,
        Mode::WrongKey,
        Mode::BadSignature,
        Mode::ForeignIssuer,
        Mode::Down,
    ] {
        let mut ca = TestCa::new(T0, 730);
        let now = at(T0 + 60);
        let mut tp = authenticated(&mut ca, Some(80), now, &mut r);
        ca.mode = mode;
        ca.mode_count = 1;
        step(&mut tp, &mut ca, now, &mut r);
        assert_eq!(tp.state(), StateName::Retrying, "{mode:?}");
        assert!(tp.identity_cert().is_none());
        assert_eq!(tp.poll_timeout(), Some(at(T0 + 120)), "{mode:?}");
        step(&mut tp, &mut ca, at(T0 + 120), &mut r);
        assert_eq!(tp.state(), StateName::Enrolled, "{mode:?}");
        if mode != Mode::Down && mode != Mode::Http500 {
            assert_eq!(ca.seen.len(), 2, "{mode:?}");
            assert_eq!(ca.seen[0].transaction_id, ca.seen[1].transaction_id);
            assert_ne!(ca.seen[0].nonce, ca.seen[1].nonce, "fresh senderNonce");
        }
    }
}

#[test]
fn k13_k14_retries_exhausted_rearm_t13() {
    let mut r = rng(8);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(50));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.retry_count = 2;
    let mut tp = Trustpoint::new(c).unwrap();
    let now = at(T0 + 60);
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    let renew = deadline(&tp, ClientTimer::Renew).unwrap();
    events(&mut tp);
    ca.mode = Mode::Down;
    let mut t = renew;
    step(&mut tp, &mut ca, at(t), &mut r);
    for _ in 0..2 {
        assert_eq!(tp.state(), StateName::Retrying);
        t += 60;
        assert_eq!(tp.poll_timeout(), Some(at(t)));
        step(&mut tp, &mut ca, at(t), &mut r);
    }
    assert!(events(&mut tp).contains(&Event::RetriesExhausted));
    assert_eq!(tp.state(), StateName::Enrolled);
    let id_na = validity(tp.identity_cert().unwrap()).not_after();
    let pki_timers::Rearm::At(want) = pki_timers::rearm_after_failure(
        at(t),
        id_na,
        pki_timers::Percent::new(50).unwrap(),
        RetryConfig::DEFAULT,
    ) else {
        panic!()
    };
    assert_eq!(deadline(&tp, ClientTimer::Renew), Some(want.unix()));
}

#[test]
fn k06_k07_renew_at_t1_keeps_key_without_regenerate() {
    let mut r = rng(9);
    let mut ca = TestCa::new(T0, 730);
    let mut tp = enrolled(&mut ca, 50, &mut r);
    let old = tp.identity_cert().unwrap().clone();
    let want = renew_at(validity(&old), pki_timers::Percent::new(50).unwrap());
    assert_eq!(
        tp.poll_timeout().unwrap().unix(),
        want.unix().min(tp.poll_timeout().unwrap().unix())
    );
    step(&mut tp, &mut ca, want, &mut r);
    assert!(events(&mut tp).contains(&Event::Renewed));
    let new = tp.identity_cert().unwrap();
    assert_ne!(new, &old);
    assert_eq!(spki(new), spki(&old));
    let s = ca.seen.last().unwrap();
    assert!(
        !s.signer_self_signed,
        "Renewal advertised: signed by the identity"
    );
    assert_eq!(s.message_type, MessageType::PkcsReq);
    assert_ne!(s.transaction_id, ca.seen[0].transaction_id);
}

#[test]
fn k06_k07_renew_with_regenerate_and_renewal_req() {
    let mut r = rng(10);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(50));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.auto_enroll.as_mut().unwrap().regenerate = true;
    c.renewal_message = client_core::RenewalMessage::RenewalReq;
    let now = at(T0 + 60);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    let old = tp.identity_cert().unwrap().clone();
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    let new = tp.identity_cert().unwrap();
    assert_ne!(spki(new), spki(&old), "shadow key replaced the active key");
    assert_eq!(
        ca.seen.last().unwrap().message_type,
        MessageType::RenewalReq
    );
}

/// The SubjectPublicKeyInfo DER inside a CSR.
fn csr_spki(csr: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    x509_cert::request::CertReq::from_der(csr)
        .unwrap()
        .info
        .public_key
        .to_der()
        .unwrap()
}

/// The CSRs of every PKCSReq/RenewalReq the CA saw, in order.
fn csrs(ca: &TestCa) -> Vec<Vec<u8>> {
    ca.seen.iter().filter_map(|s| s.csr.clone()).collect()
}

#[test]
fn k06_same_key_renewals_send_the_enrolment_csr_again() {
    // Same key, subject and attributes: the request is the same bytes every time, whether the
    // trustpoint kept it or rebuilt it after a restart.
    let mut r = rng(31);
    let mut ca = TestCa::new(T0, 730);
    let mut tp = enrolled(&mut ca, 50, &mut r);
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    assert!(events(&mut tp).contains(&Event::Renewed));
    let mut tp = Trustpoint::from_bytes(&tp.to_bytes().unwrap()).unwrap();
    tp.set_authoritative_time(true, at(t));
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    assert!(events(&mut tp).contains(&Event::Renewed));
    let sent = csrs(&ca);
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|c| c == &sent[0]),
        "one request, sent three times"
    );
    assert_eq!(csr_spki(&sent[0]), spki(tp.identity_cert().unwrap()));
}

#[test]
fn k06_regenerate_signs_a_new_csr_for_each_new_key() {
    // A kept request must never outlive its key: each regenerated key gets its own CSR, and
    // the certificate issued for it carries that key.
    let mut r = rng(32);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(50));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.auto_enroll.as_mut().unwrap().regenerate = true;
    let now = at(T0 + 60);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    for _ in 0..2 {
        let t = deadline(&tp, ClientTimer::Renew).unwrap();
        step(&mut tp, &mut ca, at(t), &mut r);
        assert!(events(&mut tp).contains(&Event::Renewed));
        let sent = csrs(&ca);
        let last = sent.last().unwrap();
        assert_eq!(csr_spki(last), spki(tp.identity_cert().unwrap()));
    }
    let keys: Vec<Vec<u8>> = csrs(&ca).iter().map(|c| csr_spki(c)).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
}

#[test]
fn k06_without_renewal_capability_self_signed_pkcsreq() {
    let mut r = rng(11);
    let mut ca = TestCa::new(T0, 730);
    ca.caps = "POSTPKIOperation\nSHA-256\nAES\n".into();
    let mut tp = enrolled(&mut ca, 50, &mut r);
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    assert!(events(&mut tp).contains(&Event::Renewed));
    let s = ca.seen.last().unwrap();
    assert!(s.signer_self_signed);
    assert_eq!(s.message_type, MessageType::PkcsReq);
}

#[test]
fn k08_k10_shadow_then_activation_across_rollover() {
    let mut r = rng(12);
    // CA of 30 days: a 365-day identity is clamped to the CA's expiry ⇒ SHADOW.
    let mut ca = TestCa::new(T0, 30);
    let mut tp = enrolled(&mut ca, 80, &mut r);
    let id = tp.identity_cert().unwrap().clone();
    assert_eq!(validity(&id).not_after().unix(), ca.active.not_after());
    let t = deadline(&tp, ClientTimer::Shadow).expect("SHADOW armed (T-3)");
    assert!(deadline(&tp, ClientTimer::Renew).is_none());
    ca.make_rollover(60);
    step(&mut tp, &mut ca, at(t), &mut r);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::RolloverCaInstalled), "{ev:?}");
    assert!(ev.contains(&Event::RolloverIdentityInstalled), "{ev:?}");
    assert!(
        ca.seen.last().unwrap().to_rollover,
        "encrypted to the rollover CA"
    );
    assert_eq!(
        tp.identity_cert(),
        Some(&id),
        "K-16: old identity in use until activation"
    );
    let ca_na = ca.active.not_after();
    assert_eq!(deadline(&tp, ClientTimer::RolloverActivate), Some(ca_na));
    assert!(
        deadline(&tp, ClientTimer::Renew).is_none() && deadline(&tp, ClientTimer::Shadow).is_none()
    );
    let rollover_id = tp.rollover_identity_cert().unwrap().clone();
    let rollover_ca = tp.rollover_ca_cert().unwrap().clone();
    ca.activate();
    let caps = |ca: &TestCa| ca.ops.iter().filter(|o| **o == "GetCACaps").count();
    let caps_before = caps(&ca);
    step(&mut tp, &mut ca, at(ca_na), &mut r);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::RolloverActivated));
    // The activation itself is at ca.na (K-10): new CA and identity at once.
    assert_eq!(tp.identity_cert(), Some(&rollover_id));
    assert_eq!(tp.ca_cert(), Some(&rollover_ca));
    assert!(tp.rollover_ca_cert().is_none());
    // Timers from the new state at once (T-3).
    assert!(
        deadline(&tp, ClientTimer::Renew).is_some() || deadline(&tp, ClientTimer::Shadow).is_some()
    );
    // K-10a: the refresh waits for this trustpoint's offset in the jitter window.
    let offset = tp.jitter_offset().as_secs();
    assert!(offset > 0 && offset < 12 * 3600, "{offset}");
    assert_eq!(
        caps(&ca),
        caps_before,
        "no refresh at the activation second"
    );
    assert_eq!(tp.poll_timeout().map(|t| t.unix()), Some(ca_na + offset));
    let listing = tp.timer_listing(at(ca_na)).to_string();
    assert!(listing.contains("CAPS REFRESH"), "{listing}");
    step(&mut tp, &mut ca, at(ca_na + offset - 1), &mut r);
    assert_eq!(caps(&ca), caps_before, "not before its offset");
    step(&mut tp, &mut ca, at(ca_na + offset), &mut r);
    let ev = events(&mut tp);
    assert!(
        !ev.contains(&Event::Authenticated),
        "a refresh, not an authentication"
    );
    assert_eq!(
        caps(&ca),
        caps_before + 1,
        "capabilities refreshed from the new CA"
    );
    // Timers from the new state (T-3).
    assert!(
        deadline(&tp, ClientTimer::Renew).is_some() || deadline(&tp, ClientTimer::Shadow).is_some()
    );
}

#[test]
fn k10a_zero_jitter_refreshes_at_the_activation_second() {
    let mut r = rng(15);
    let mut ca = TestCa::new(T0, 30);
    let now = at(T0 + 60);
    let mut c = config(None);
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.jitter = client_core::Duration::from_secs(0);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.jitter_offset().as_secs(), 0);
    ca.make_rollover(60);
    let t = deadline(&tp, ClientTimer::Shadow).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    let ca_na = ca.active.not_after();
    ca.activate();
    let caps_before = ca.ops.iter().filter(|o| **o == "GetCACaps").count();
    step(&mut tp, &mut ca, at(ca_na), &mut r);
    assert!(events(&mut tp).contains(&Event::RolloverActivated));
    let caps_after = ca.ops.iter().filter(|o| **o == "GetCACaps").count();
    assert_eq!(caps_after, caps_before + 1, "refreshed at ca.na");
}

#[test]
fn k09_ca_only_shadow_retries_until_rollover_exists() {
    let mut r = rng(13);
    let mut ca = TestCa::new(T0, 30);
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, None, now, &mut r);
    let ca_v = validity(tp.ca_cert().unwrap());
    let t = pki_timers::ca_only_shadow_at(ca_v).unix();
    assert_eq!(deadline(&tp, ClientTimer::Shadow), Some(t));
    step(&mut tp, &mut ca, at(t), &mut r);
    assert_eq!(ca.ops.last(), Some(&"GetNextCACert"));
    assert_eq!(tp.state(), StateName::AwaitingNextCaCert);
    assert_eq!(deadline(&tp, ClientTimer::ConnectRetry), Some(t + 60));
    ca.make_rollover(60);
    step(&mut tp, &mut ca, at(t + 60), &mut r);
    assert!(events(&mut tp).contains(&Event::RolloverCaInstalled));
    assert!(tp.rollover_ca_cert().is_some());
    assert_eq!(
        deadline(&tp, ClientTimer::RolloverActivate),
        Some(ca.active.not_after())
    );
    assert!(ca.seen.is_empty(), "no enrolment without auto-enroll");
}

#[test]
fn k10_activation_without_rollover_needs_reauthentication() {
    let mut r = rng(14);
    let mut ca = TestCa::new(T0, 30);
    ca.caps = "POSTPKIOperation\nSHA-256\nAES\n".into();
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, None, now, &mut r);
    let na = ca.active.not_after();
    step(&mut tp, &mut ca, at(na), &mut r);
    assert!(events(&mut tp).contains(&Event::NeedsReauthentication));
    assert_eq!(tp.state(), StateName::Unauthenticated);
}

#[test]
fn t12_nothing_fires_without_authoritative_time() {
    let mut r = rng(15);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let mut tp = Trustpoint::new(c).unwrap();
    let now = at(T0 + 60);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.state(), StateName::Authenticated);
    assert_eq!(tp.poll_timeout(), None);
    tp.handle_timeout(at(T0 + 400 * DAY));
    assert!(tp.poll_request(now, &mut r).is_none());
    assert!(ca.seen.is_empty());
    // K-15: manual enrolment works without authoritative time.
    tp.enroll(now, None).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.state(), StateName::Enrolled);
    assert_eq!(tp.poll_timeout(), None);
    tp.set_authoritative_time(true, now);
    assert!(tp.poll_timeout().is_some());
}

#[test]
fn k04_renew_before_authentication_rearms_after_p() {
    let mut r = rng(16);
    let mut tp = Trustpoint::new(config(Some(80))).unwrap();
    let now = at(T0);
    tp.set_authoritative_time(true, now);
    assert_eq!(tp.poll_timeout(), Some(now));
    tp.handle_timeout(now);
    assert!(tp.poll_request(now, &mut r).is_none());
    assert_eq!(tp.poll_timeout(), Some(at(T0 + 60)));
}

#[test]
fn k15_manual_enroll_without_identity_is_initial() {
    let mut r = rng(17);
    let mut ca = TestCa::new(T0, 730);
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, None, now, &mut r);
    tp.enroll(now, Some(false)).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    assert!(events(&mut tp).contains(&Event::Enrolled));
    let mut un = Trustpoint::new(config(None)).unwrap();
    assert_eq!(un.enroll(now, None), Err(TrustpointError::NotAuthenticated));
}

#[test]
fn k16_old_key_and_cert_stay_until_the_replacement_is_installed() {
    let mut r = rng(30);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(50));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.auto_enroll.as_mut().unwrap().regenerate = true;
    let now = at(T0 + 60);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    let old = tp.identity_cert().unwrap().clone();
    let old_key = format!("{:?}", tp.identity_key().unwrap().public_key());
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    // The garbled answer uses up one PENDING at the CA: one PENDING remains, then a grant.
    ca.pending = 2;
    ca.mode = Mode::Garbage;
    ca.mode_count = 1;
    step(&mut tp, &mut ca, at(t), &mut r);
    assert_eq!(tp.state(), StateName::Retrying);
    assert_eq!(tp.identity_cert(), Some(&old));
    step(&mut tp, &mut ca, at(t + 60), &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    assert_eq!(tp.identity_cert(), Some(&old));
    assert_eq!(
        format!("{:?}", tp.identity_key().unwrap().public_key()),
        old_key
    );
    step(&mut tp, &mut ca, at(t + 120), &mut r);
    assert_eq!(tp.state(), StateName::Enrolled);
    assert_ne!(tp.identity_cert(), Some(&old));
    assert_ne!(
        format!("{:?}", tp.identity_key().unwrap().public_key()),
        old_key
    );
}

#[test]
fn k19_shadow_without_getnextcacert_renews_with_a_warning() {
    let mut r = rng(31);
    let mut ca = TestCa::new(T0, 30);
    ca.caps = "POSTPKIOperation\nRenewal\nSHA-256\nAES\n".into();
    let mut tp = enrolled(&mut ca, 80, &mut r);
    let t = deadline(&tp, ClientTimer::Shadow).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    let ev = events(&mut tp);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Warning(client_core::Warning::NoGetNextCaCert))),
        "{ev:?}"
    );
    assert!(ev.contains(&Event::Renewed), "{ev:?}");
    assert!(!ca.ops.contains(&"GetNextCACert"));
    assert!(!ca.seen.last().unwrap().to_rollover);
}

#[test]
fn k11_shadow_request_polls_past_activation_and_installs_as_active() {
    let mut r = rng(32);
    let mut ca = TestCa::new(T0, 30);
    let mut tp = enrolled(&mut ca, 80, &mut r);
    let t = deadline(&tp, ClientTimer::Shadow).unwrap();
    ca.make_rollover(60);
    // The CA holds the shadow request until its own rollover.
    ca.hold = true;
    step(&mut tp, &mut ca, at(t), &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    let ca_na = ca.active.not_after();
    let mut activated = false;
    while tp.state() != StateName::Enrolled {
        let now = tp.poll_timeout().unwrap().unix();
        if now >= ca_na && !activated {
            ca.activate();
            ca.hold = false;
            activated = true;
        }
        step(&mut tp, &mut ca, at(now), &mut r);
    }
    assert!(activated);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::RolloverActivated), "{ev:?}");
    assert!(ev.contains(&Event::Renewed), "{ev:?}");
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
    assert_eq!(
        tp.identity_cert().unwrap().tbs_certificate().issuer(),
        ca.active.cert.tbs_certificate().subject()
    );
    assert!(tp.rollover_identity_cert().is_none());
}

#[test]
fn k10_rollover_ca_without_identity_starts_initial_enrolment() {
    let mut r = rng(33);
    let mut ca = TestCa::new(T0, 30);
    ca.caps = "GetNextCACert\nPOSTPKIOperation\nSHA-256\nAES\n".into();
    let now = at(T0 + 60);
    let mut c = config(None);
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    ca.make_rollover(60);
    let t = deadline(&tp, ClientTimer::Shadow).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    assert!(tp.rollover_ca_cert().is_some());
    let na = ca.active.not_after();
    ca.activate();
    step(&mut tp, &mut ca, at(na), &mut r);
    assert!(events(&mut tp).contains(&Event::RolloverActivated));
    assert_eq!(tp.ca_cert(), Some(&ca.active.cert));
    assert!(ca.seen.is_empty(), "no auto-enroll: no enrolment");
}

#[test]
fn k13_poll_exhausted_is_a_failed_attempt() {
    let mut r = rng(34);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(80));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.retry_count = 2;
    let now = at(T0 + 60);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    ca.pending = 100;
    step(&mut tp, &mut ca, now, &mut r);
    for _ in 0..3 {
        let t = tp.poll_timeout().unwrap();
        step(&mut tp, &mut ca, t, &mut r);
    }
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::PollExhausted), "{ev:?}");
    assert_eq!(tp.state(), StateName::Authenticated);
    assert!(deadline(&tp, ClientTimer::Renew).is_some(), "T-13 re-arm");
    assert_eq!(ca.seen.len(), 4, "request + polls 0, 1, 2");
}

#[test]
fn k15_manual_shadow_falls_back_to_renew_when_getnextcacert_fails() {
    let mut r = rng(35);
    let mut ca = TestCa::new(T0, 30);
    let mut tp = enrolled(&mut ca, 80, &mut r);
    // id.na == ca.na: SHADOW, but the CA has no rollover yet (404).
    tp.enroll(at(T0 + 120), None).unwrap();
    pump(&mut tp, &mut ca, at(T0 + 120), &mut r);
    assert!(ca.ops.contains(&"GetNextCACert"));
    assert!(events(&mut tp).contains(&Event::Renewed));
    assert!(!ca.seen.last().unwrap().to_rollover);
}

#[test]
fn k02_ca_ra_chain_requests_go_to_the_ra() {
    let mut r = rng(36);
    let mut ca = TestCa::new(T0, 730);
    ca.make_ra();
    ca.pending = 1;
    let now = at(T0 + 60);
    let mut tp = authenticated(&mut ca, Some(80), now, &mut r);
    assert_eq!(
        tp.ca_cert(),
        Some(&ca.active.cert),
        "the self-signed one is the CA"
    );
    step(&mut tp, &mut ca, now, &mut r);
    assert_eq!(tp.state(), StateName::Pending);
    step(&mut tp, &mut ca, at(T0 + 120), &mut r);
    assert!(events(&mut tp).contains(&Event::Enrolled));
    assert_eq!(
        ca.to_ra,
        [true, true],
        "request and poll encrypted to the RA"
    );
    assert_eq!(
        tp.identity_cert().unwrap().tbs_certificate().issuer(),
        ca.active.cert.tbs_certificate().subject()
    );
}

#[test]
fn config_validation_has_typed_errors() {
    use client_core::ConfigError;
    let ok = config(Some(80));
    assert_eq!(ok.validate(), Ok(()));
    let mut c = ok.clone();
    c.retry_period = pki_timers::Duration::from_secs(30);
    assert_eq!(c.validate(), Err(ConfigError::RetryPeriod));
    let mut c = ok.clone();
    c.retry_period = pki_timers::Duration::from_minutes(61);
    assert_eq!(c.validate(), Err(ConfigError::RetryPeriod));
    let mut c = ok.clone();
    c.subject = String::new();
    assert!(matches!(c.validate(), Err(ConfigError::Subject(_))));
    let mut c = ok.clone();
    c.jitter = pki_timers::Duration::from_days(31);
    assert_eq!(c.validate(), Err(ConfigError::Jitter));
    c.jitter = pki_timers::Duration::from_days(30);
    assert_eq!(c.validate(), Ok(()));
    let mut c = ok.clone();
    c.key_bits = 512;
    assert_eq!(c.validate(), Err(ConfigError::KeyBits));
    for (fp, good) in [
        ("ab:CD ef".to_string(), false),
        ("Ab:".repeat(16), true),
        ("0a ".repeat(20), true),
        ("ff".repeat(32), true),
        ("zz".repeat(16), false),
    ] {
        let mut c = ok.clone();
        c.ca_fingerprint = Some(fp.clone());
        assert_eq!(c.validate().is_ok(), good, "{fp}");
    }
    assert!(matches!(
        Trustpoint::new(TrustpointConfig::default()),
        Err(TrustpointError::Config(ConfigError::Subject(_)))
    ));
}

#[test]
fn debug_output_never_shows_keys_or_the_challenge() {
    let mut r = rng(37);
    let mut ca = TestCa::new(T0, 730);
    let tp = enrolled(&mut ca, 80, &mut r);
    let text = format!("{tp:?} {:?}", tp.config());
    assert!(!text.contains("secret"), "{text}");
    assert!(!text.to_lowercase().contains("private"), "{text}");
    assert!(text.contains("Enrolled"), "{text}");
}

#[test]
fn t16_timer_listing_uses_client_labels() {
    let mut r = rng(38);
    let mut ca = TestCa::new(T0, 30);
    let tp = enrolled(&mut ca, 80, &mut r);
    let text = tp.timer_listing(at(T0 + 60)).to_string();
    assert!(text.starts_with("Trustpoint tp\n"), "{text}");
    assert!(text.contains("  SHADOW tp\n"), "{text}");
    assert!(text.contains("  ROLLOVER ACTIVATE tp\n"), "{text}");
}

/// A [`client_core::KeySource`] handing out fixed keys in order, counting the calls.
struct Pool {
    keys: Vec<scep_proto::PrivateKey>,
    next: std::sync::Mutex<usize>,
}

impl client_core::KeySource for Pool {
    fn next_key(&self, _bits: u32) -> Option<scep_proto::PrivateKey> {
        let mut n = self.next.lock().unwrap();
        let key = self.keys.get(*n).cloned();
        *n += 1;
        key
    }
}

#[test]
fn k05_k06_new_keys_come_from_the_key_source() {
    let mut r = rng(12);
    let mut ca = TestCa::new(T0, 730);
    let mut c = config(Some(50));
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    c.auto_enroll.as_mut().unwrap().regenerate = true;
    let pool = std::sync::Arc::new(Pool {
        keys: keys()[..2].to_vec(),
        next: std::sync::Mutex::new(0),
    });
    let now = at(T0 + 60);
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_key_source(pool.clone());
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, &mut ca, now, &mut r);
    step(&mut tp, &mut ca, now, &mut r);
    let pem =
        |k: &scep_proto::PrivateKey| der::Encode::to_der(&k.public_key_info().unwrap()).unwrap();
    // K-5: the initial key is the pool's first; K-6 with regenerate: the renewal takes the second.
    assert_eq!(
        spki(tp.identity_cert().unwrap()),
        pem(&keys()[0]).as_slice()
    );
    let t = deadline(&tp, ClientTimer::Renew).unwrap();
    step(&mut tp, &mut ca, at(t), &mut r);
    assert_eq!(
        spki(tp.identity_cert().unwrap()),
        pem(&keys()[1]).as_slice()
    );
    assert_eq!(*pool.next.lock().unwrap(), 2);
}
