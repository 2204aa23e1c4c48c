//! Test code: timers and the rollover lifecycle in virtual time (T-5, T-8, T-9, T-12, T-15,
//! C-11, C-16, C-21 … C-25, S-33), status report (C-28), storage failure (C-20) and
//! concurrency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{
    Ca, CaError, CaEvent, CaState, GrantMode, MemoryStore, RequestSelector,
    issue::certificate_serial,
};
use ca_support::*;
use der::Decode;
use pki_timers::{CaTimer, Duration, Instant, Overlap};
use scep_proto::{FailInfo, NextCaCerts, Profile};

const DAY: u64 = 86_400;

fn rollover_config() -> ca_core::CaConfig {
    let mut c = config();
    c.auto_rollover = Some(Overlap::new(30, 0, 0).unwrap());
    c
}

fn at_days(d: u64) -> Instant {
    Instant::from_unix(T0.unix() + d * DAY)
}

#[test]
fn t12_no_timer_without_authoritative_time() {
    let ca = Ca::open(rollover_config(), MemoryStore::new(), T0, true, &mut rng(1))
        .unwrap()
        .into_store();
    let ca = Ca::open(rollover_config(), ca, T0, false, &mut rng(1)).unwrap();
    assert_eq!(ca.next_ca_timer(), None);
    assert!(
        ca.handle_timeout(at_days(2000), &mut rng(2))
            .unwrap()
            .is_empty()
    );
    ca.set_authoritative_time(true);
    assert_eq!(
        ca.next_ca_timer(),
        Some((
            CaTimer::CrlUpdate,
            T0.saturating_add(Duration::from_hours(6))
        ))
    );
}

#[test]
fn t08_crl_update_timer_and_t16_listing() {
    let ca = open(rollover_config(), 1);
    let listing = ca.timer_listing(T0).to_string();
    for label in [
        "CS CRL UPDATE",
        "CS SHADOW CERT GENERATION",
        "CS CERT EXPIRE",
    ] {
        assert!(listing.contains(label), "{listing}");
    }
    assert!(
        listing.contains("5:59:59.") || listing.contains("6:00:00."),
        "{listing}"
    );
    let crl = ca.crl_der();
    let due = T0.saturating_add(Duration::from_hours(6));
    let early = ca
        .handle_timeout(Instant::from_unix(due.unix() - 1), &mut rng(2))
        .unwrap();
    assert!(early.is_empty());
    let events = ca.handle_timeout(due, &mut rng(2)).unwrap();
    assert_eq!(
        events,
        vec![CaEvent::CrlUpdated {
            number: 2,
            next_update: due.saturating_add(Duration::from_hours(6))
        }]
    );
    assert_ne!(ca.crl_der(), crl);
}

#[test]
fn c22_c25_rollover_lifecycle() {
    let ca = open(rollover_config(), 1);
    let old_der = ca.ca_certificate_der();
    let old_na = at_days(1095);
    let shadow_at = at_days(1095 - 30);
    // Before generation: GetNextCACert 404.
    let r = ca.handle(
        "GET",
        "/?operation=GetNextCACert",
        b"",
        shadow_at,
        &mut rng(3),
    );
    assert_eq!(r.status, 404);
    // A client holding a certificate cut short by the CA end (T-7), issued at shadow_at − 1 day.
    let client = Client::new(0, "CN=router1");
    let t_issue = at_days(1095 - 31);
    let msg = client.pkcs_req(&old_der, &client.csr(), "TID-1");
    let first = client.issued(&client.open_rep(&post(&ca, &msg, t_issue, &mut rng(4)), &old_der));
    assert_eq!(validity(&parse_cert(&first)).not_after(), old_na);

    let events = ca.handle_timeout(shadow_at, &mut rng(5)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, CaEvent::RolloverGenerated { .. })),
        "{events:?}"
    );
    assert_eq!(ca.state(), CaState::ActiveWithRollover);
    let next_der = ca.rollover_certificate_der().unwrap();
    let next = parse_cert(&next_der);
    assert_eq!(certificate_serial(&next).unwrap(), 3);
    let nv = validity(&next);
    assert_eq!(nv.not_before(), old_na);
    assert_eq!(nv.not_after(), at_days(2 * 1095));
    // S-33: 200, signed by the active key, carrying the rollover certificate.
    let r = ca.handle(
        "GET",
        "/?operation=GetNextCACert",
        b"",
        shadow_at,
        &mut rng(3),
    );
    assert_eq!(
        (r.status, r.content_type),
        (200, "application/x-x509-next-ca-cert")
    );
    let active = scep_proto::Certificate::from_der(&old_der).unwrap();
    let answer = NextCaCerts::from_der_verified(&r.body, &active, &Profile::STRICT).unwrap();
    let found = answer.rollover_for(&active).unwrap();
    assert_eq!(der::Encode::to_der(found).unwrap(), next_der);
    // GetCACert still serves the active certificate (S-31).
    let r = ca.handle("GET", "/?operation=GetCACert", b"", shadow_at, &mut rng(3));
    assert_eq!(r.body, old_der);

    // C-6, C-11: a renewal addressed to the rollover CA, signed by the cut-short certificate:
    // Balance gives the rest of the lifetime.
    let renewing = client.with_cert(&first);
    let now = shadow_at.saturating_add(Duration::from_days(1));
    let msg = renewing.pkcs_req(&next_der, &client.csr(), "TID-2");
    let rep = renewing.open_rep(&post(&ca, &msg, now, &mut rng(4)), &next_der);
    let shadow = parse_cert(&renewing.issued(&rep));
    let sv = validity(&shadow);
    assert_eq!(sv.not_before(), old_na);
    let used = old_na.unix() - t_issue.unix();
    assert_eq!(sv.not_after().unix(), old_na.unix() + 365 * DAY - used);
    assert_eq!(
        shadow.tbs_certificate().issuer(),
        next.tbs_certificate().subject()
    );

    // Activation at old.na (C-25).
    let crl_before = ca.crl_der();
    let events = ca.handle_timeout(old_na, &mut rng(6)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, CaEvent::RolloverActivated { serial: 3 })),
        "{events:?}"
    );
    assert_eq!(ca.state(), CaState::Active);
    assert_eq!(ca.ca_certificate_der(), next_der);
    assert_ne!(ca.crl_der(), crl_before);
    let crl: x509_cert::crl::CertificateList =
        x509_cert::crl::CertificateList::from_der(&ca.crl_der()).unwrap();
    assert_eq!(crl.tbs_cert_list.issuer, *next.tbs_certificate().subject());
    assert!(ca.rollover_certificate_der().is_none());
    // Shadow generation re-armed at new.na − O.
    let listing = ca.timer_listing(old_na).to_string();
    assert!(listing.contains("CS SHADOW CERT GENERATION"), "{listing}");
    // Requests still encrypted to the old certificate: FAILURE badRequest.
    let msg = client.pkcs_req(&old_der, &client.csr(), "TID-3");
    let rep = client.open_rep(&post(&ca, &msg, old_na, &mut rng(4)), &next_der);
    assert_eq!(failure(&rep), FailInfo::BadRequest);
}

#[test]
fn c23_c24_manual_rollover_and_cancel() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let now = at_days(10);
    assert!(matches!(
        ca.rollover(now, &mut rng(2)).unwrap(),
        CaEvent::RolloverGenerated { serial: 2, .. }
    ));
    assert!(matches!(
        ca.rollover(now, &mut rng(2)),
        Err(CaError::RolloverExists)
    ));
    let next_der = ca.rollover_certificate_der().unwrap();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&next_der, &client.csr(), "TID-C");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, now, &mut rng(4)), &next_der)
    ));
    let event = ca.rollover_cancel(now).unwrap();
    assert_eq!(
        event,
        CaEvent::RolloverCancelled {
            rejected: 1,
            issued: 0
        }
    );
    assert_eq!(ca.state(), CaState::Active);
    assert!(matches!(ca.rollover_cancel(now), Err(CaError::NoRollover)));
    let r = ca.handle("GET", "/?operation=GetNextCACert", b"", now, &mut rng(3));
    assert_eq!(r.status, 404);
    assert_eq!(
        ca.list_pending()[0].status,
        ca_core::RequestStatus::Rejected
    );
    // Serials are never reused after a cancel (C-3).
    assert!(matches!(
        ca.rollover(now, &mut rng(2)).unwrap(),
        CaEvent::RolloverGenerated { serial: 3, .. }
    ));
}

#[test]
fn c24_q08_no_automatic_generation_after_cancel() {
    let ca = open(rollover_config(), 1);
    let shadow_at = at_days(1095 - 30);
    ca.handle_timeout(shadow_at, &mut rng(2)).unwrap();
    ca.rollover_cancel(shadow_at).unwrap();
    let listing = ca.timer_listing(shadow_at).to_string();
    assert!(!listing.contains("CS SHADOW CERT GENERATION"), "{listing}");
    let events = ca
        .handle_timeout(
            shadow_at.saturating_add(Duration::from_days(1)),
            &mut rng(2),
        )
        .unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CaEvent::RolloverGenerated { .. }))
    );
}

#[test]
fn c25_expiry_without_rollover_answers_503() {
    let ca = open(config(), 1);
    let na = at_days(1095);
    let events = ca.handle_timeout(na, &mut rng(2)).unwrap();
    assert!(events.contains(&CaEvent::Expired), "{events:?}");
    assert_eq!(ca.state(), CaState::Expired);
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca.ca_certificate_der(), &client.csr(), "TID");
    assert_eq!(post(&ca, &msg, na, &mut rng(3)).status, 503);
    assert_eq!(
        ca.handle("GET", "/?operation=GetNextCACert", b"", na, &mut rng(3))
            .status,
        503
    );
    assert_eq!(
        ca.handle("GET", "/?operation=GetCACert", b"", na, &mut rng(3))
            .status,
        200
    );
    assert!(matches!(
        ca.rollover(na, &mut rng(2)),
        Err(CaError::NotOperational { .. })
    ));
}

#[test]
fn c16_t15_pending_entries_purged() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    post(
        &ca,
        &client.pkcs_req(&ca_der, &client.csr(), "TID-P"),
        T0,
        &mut rng(4),
    );
    let purge = T0.saturating_add(Duration::from_hours(168));
    assert!(ca.poll_timeout().unwrap() <= purge);
    let events = ca.handle_timeout(purge, &mut rng(2)).unwrap();
    assert!(
        events.contains(&CaEvent::RequestsPurged { count: 1 }),
        "{events:?}"
    );
    let poll = client.cert_poll(&ca_der, "TID-P");
    let rep = client.open_rep(&post(&ca, &poll, purge, &mut rng(4)), &ca_der);
    assert_eq!(failure(&rep), FailInfo::BadCertId);
}

#[test]
fn c28_status_report_and_fingerprint_format() {
    let ca = open(rollover_config(), 1);
    let report = ca.status(T0);
    let fp = &report.fingerprint;
    let groups: Vec<&str> = fp.split(' ').collect();
    assert_eq!(groups.len(), 4, "{fp}");
    assert!(groups.iter().all(|g| {
        g.len() == 8
            && g.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    }));
    let text = report.to_string();
    for needle in [
        "Status: enabled",
        "Issuer name: CN=ROOTCA",
        &format!("CA cert fingerprint: {fp}"),
        "Granting mode is: auto",
        "Last certificate issued serial number (hex): 1",
        "CA certificate expiration timer:",
        "CRL NextUpdate timer:",
        "Database Level: Minimum",
        "Auto-Rollover configured, overlap period 30 days",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    ca.rollover(T0, &mut rng(2)).unwrap();
    let text = ca.status(T0).to_string();
    assert!(
        text.contains("Rollover CA certificate fingerprint:"),
        "{text}"
    );
    assert!(text.contains("serial number (hex): 2"), "{text}");
}

#[test]
fn c20_store_failure_hands_out_no_certificate() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    ca.store().fail_writes(true);
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-F1");
    let r = post(&ca, &msg, T0, &mut rng(4));
    assert_eq!(r.status, 503);
    // The counter write (request id and serial together) succeeds, the issuance record (one
    // atomic write) fails: still no certificate.
    ca.store().fail_after(1);
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-F1");
    let r = post(&ca, &msg, T0, &mut rng(4));
    assert_eq!(r.status, 503);
    assert!(ca.list_pending().is_empty());
    ca.store().fail_writes(false);
    let used = ca.last_serial();
    assert!(used >= 2, "a serial was made durable before signing");
    let store = ca.into_store();
    let ca = Ca::open(config(), store, T0, true, &mut rng(2)).unwrap();
    assert_eq!(ca.last_serial(), used);
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-OK");
    let cert = client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
    assert_eq!(certificate_serial(&parse_cert(&cert)).unwrap(), used + 1);
}

#[test]
fn c03_concurrent_requests_get_unique_serials() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let clients: Vec<Client> = (0..4)
        .map(|i| Client::new(i, &format!("CN=router{i}")))
        .collect();
    let serials = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (i, client) in clients.iter().enumerate() {
            let (ca, ca_der, serials) = (&ca, &ca_der, &serials);
            s.spawn(move || {
                for j in 0..3 {
                    let msg = client.pkcs_req(ca_der, &client.csr(), &format!("T-{i}-{j}"));
                    let seed = u64::try_from(i * 10 + j).unwrap();
                    let rep = client.open_rep(&post(ca, &msg, T0, &mut rng(seed)), ca_der);
                    let serial = certificate_serial(&parse_cert(&client.issued(&rep))).unwrap();
                    serials.lock().unwrap().push(serial);
                }
            });
        }
    });
    let mut serials = serials.into_inner().unwrap();
    serials.sort_unstable();
    assert_eq!(serials, (2..14).collect::<Vec<u64>>());
}

#[test]
fn c14_grant_all_issues_every_pending_request() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c, 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    for tid in ["A", "B", "C"] {
        post(
            &ca,
            &client.pkcs_req(&ca_der, &client.csr(), tid),
            T0,
            &mut rng(4),
        );
    }
    assert_eq!(
        ca.grant(RequestSelector::All, T0, &mut rng(5)).unwrap(),
        vec![2, 3, 4]
    );
}

#[test]
fn c19_archives_at_creation_and_rollover() {
    let mut c = config();
    c.archive_password = Some("archive-pass".to_owned());
    let ca = open(c, 1);
    ca.rollover(T0, &mut rng(2)).unwrap();
    let mut names = ca_core::Store::list_archives(ca.store()).unwrap();
    names.sort();
    // SPEC §3.1 `database_archive`: PKCS#12 by default.
    assert_eq!(
        names,
        vec!["ROOTCA.p12".to_owned(), "ROOTCA_00001.p12".to_owned()]
    );
}

#[test]
fn c14_pending_table_survives_reopen() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let ca = open(c.clone(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    post(
        &ca,
        &client.pkcs_req(&ca_der, &client.csr(), "TID-S"),
        T0,
        &mut rng(4),
    );
    let otp = ca.generate_otp(None, T0, &mut rng(5)).unwrap();
    let ca = Ca::open(c, ca.into_store(), T0, true, &mut rng(2)).unwrap();
    assert_eq!(ca.list_pending().len(), 1);
    ca.grant(RequestSelector::Id(1), T0, &mut rng(6)).unwrap();
    let poll = client.cert_poll(&ca_der, "TID-S");
    client.issued(&client.open_rep(&post(&ca, &poll, T0, &mut rng(4)), &ca_der));
    // The OTP survived too.
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&otp), "TID-S2");
    client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
}

#[test]
fn ca_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Ca<MemoryStore>>();
    is::<Ca<ca_core::DirStore>>();
}

#[test]
fn c21_revocation_listed_until_the_certificate_expires() {
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-V");
    client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
    let crl_number = |der: &[u8]| -> Vec<u64> {
        let crl: x509_cert::crl::CertificateList =
            x509_cert::crl::CertificateList::from_der(der).unwrap();
        crl.tbs_cert_list
            .revoked_certificates
            .unwrap_or_default()
            .iter()
            .map(|r| {
                r.serial_number
                    .as_bytes()
                    .iter()
                    .fold(0u64, |a, &b| (a << 8) | u64::from(b))
            })
            .collect()
    };
    let t = T0.saturating_add(Duration::from_days(1));
    assert_eq!(ca.revoke(2, t, &mut rng(5)).unwrap(), 2);
    // T-8: the CRL is regenerated at once and its timer restarts.
    assert_eq!(crl_number(&ca.crl_der()), vec![2]);
    assert_eq!(
        ca.next_ca_timer(),
        Some((
            CaTimer::CrlUpdate,
            t.saturating_add(Duration::from_hours(6))
        ))
    );
    ca.handle_timeout(at_days(100), &mut rng(6)).unwrap();
    assert_eq!(crl_number(&ca.crl_der()), vec![2]);
    ca.handle_timeout(at_days(366), &mut rng(6)).unwrap();
    assert!(crl_number(&ca.crl_der()).is_empty());
}

#[test]
fn c27_get_next_ca_cert_advertised_during_rollover_only_when_configured() {
    use scep_proto::{Capabilities, Capability, CapsProfile};
    let mut c = config();
    c.advertise_next_ca_always = false;
    c.caps_profile = CapsProfile::IosLike;
    let ca = open(c, 1);
    let caps = |ca: &Ca<MemoryStore>| {
        Capabilities::parse(
            &ca.handle("GET", "/?operation=GetCACaps", b"", T0, &mut rng(1))
                .body,
        )
    };
    assert!(!caps(&ca).contains(Capability::GetNextCaCert));
    assert!(!caps(&ca).contains(Capability::Aes));
    ca.rollover(T0, &mut rng(2)).unwrap();
    assert!(caps(&ca).contains(Capability::GetNextCaCert));
}
