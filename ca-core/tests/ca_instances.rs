//! Test code: several CA instances on one store (Store v2, issue 16): serials never shared
//! (C-3), a one-time password spent once (C-9 step 3, Q-7), a transactionID known across
//! instances (C-12, C-13), and timers run by one instance only while the other picks up their
//! results (C-22, C-25).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::Arc;

use ca_core::{Ca, CaEvent, CaState, GrantMode, MemoryStore, issue::certificate_serial};
use ca_support::*;
use pki_timers::{Instant, Overlap};
use scep_proto::CertRepStatus;

const DAY: u64 = 86_400;

fn two(config: &ca_core::CaConfig) -> (Ca<Arc<MemoryStore>>, Ca<Arc<MemoryStore>>) {
    let store = Arc::new(MemoryStore::new());
    let a = Ca::open(config.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(config.clone(), store, T0, true, &mut rng(2)).unwrap();
    assert_eq!(a.ca_certificate_der(), b.ca_certificate_der(), "one CA");
    (a, b)
}

#[test]
fn c03_two_instances_on_one_store_never_hand_out_one_serial_twice() {
    let (a, b) = two(&config());
    let ca_der = a.ca_certificate_der();
    let clients: Vec<Client> = (0..4)
        .map(|i| Client::new(i, &format!("CN=router{i}")))
        .collect();
    let serials = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (i, client) in clients.iter().enumerate() {
            let (a, b, ca_der, serials) = (&a, &b, &ca_der, &serials);
            s.spawn(move || {
                for j in 0..3 {
                    let ca = if (i + j) % 2 == 0 { a } else { b };
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
fn c12_c13_a_transaction_made_on_one_instance_is_known_to_the_other() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let (a, b) = two(&c);
    let ca_der = a.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr(), "TID-X");
    assert!(is_pending(
        &client.open_rep(&post(&a, &msg, T0, &mut rng(3)), &ca_der)
    ));
    // A retransmission to the other instance: the same transaction, still pending.
    assert!(is_pending(
        &client.open_rep(&post(&b, &msg, T0, &mut rng(4)), &ca_der)
    ));
    // A different key under that transactionID, at the other instance: refused (C-12).
    let other = Client::new(1, "CN=router1");
    let squat = other.pkcs_req(&ca_der, &other.csr(), "TID-X");
    let rep = other.open_rep(&post(&b, &squat, T0, &mut rng(5)), &ca_der);
    assert!(
        matches!(rep.status, CertRepStatus::Failure { .. }),
        "{rep:?}"
    );
    // The administrator of either instance sees it.
    let listed = b.list_pending();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].transaction_id, "TID-X");
    // Granted on A, collected by CertPoll on B.
    a.grant(ca_core::RequestSelector::All, T0, &mut rng(6))
        .unwrap();
    let poll = client.cert_poll(&ca_der, "TID-X");
    let rep = client.open_rep(&post(&b, &poll, T0, &mut rng(7)), &ca_der);
    client.issued(&rep);
}

#[test]
fn q7_one_password_presented_to_both_instances_is_spent_once() {
    let mut c = config();
    c.grant = GrantMode::Manual;
    let (a, b) = two(&c);
    let ca_der = a.ca_certificate_der();
    // A password made on one instance grants at the other (it reads the store's).
    let password = a.generate_otp(Some(60), T0, &mut rng(9)).unwrap();
    let client = Client::new(2, "CN=three");
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&password), "R-B");
    client.issued(&client.open_rep(&post(&b, &msg, T0, &mut rng(9)), &ca_der));
    // ... once: the same password at the first instance no longer grants.
    let again = Client::new(3, "CN=four");
    let msg = again.pkcs_req(&ca_der, &again.csr_with_password(&password), "R-A");
    assert!(is_pending(
        &again.open_rep(&post(&a, &msg, T0, &mut rng(9)), &ca_der)
    ));
    // Four rounds: the loser's request stays pending, and one key holds four at most (C-14).
    for round in 0..4u64 {
        let password = a.generate_otp(Some(60), T0, &mut rng(10 + round)).unwrap();
        let clients = [Client::new(0, "CN=one"), Client::new(1, "CN=two")];
        let outcomes = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for (i, (client, ca)) in clients.iter().zip([&a, &b]).enumerate() {
                let (outcomes, ca_der, password) = (&outcomes, &ca_der, &password);
                s.spawn(move || {
                    let csr = client.csr_with_password(password);
                    let msg = client.pkcs_req(ca_der, &csr, &format!("R{round}-{i}"));
                    let seed = round * 10 + u64::try_from(i).unwrap();
                    let rep = client.open_rep(&post(ca, &msg, T0, &mut rng(seed)), ca_der);
                    let outcome = match rep.status {
                        CertRepStatus::Success { .. } => "success",
                        CertRepStatus::Pending => "pending",
                        _ => "failure",
                    };
                    outcomes.lock().unwrap().push(outcome);
                });
            }
        });
        let outcomes = outcomes.into_inner().unwrap();
        let mut outcomes = outcomes;
        outcomes.sort_unstable();
        assert_eq!(outcomes, ["pending", "success"], "round {round}");
    }
}

#[test]
fn c22_c25_timers_run_in_one_instance_and_the_other_follows() {
    let mut c = config();
    c.auto_rollover = Some(Overlap::new(30, 0, 0).unwrap());
    let (a, b) = two(&c);
    let shadow_at = Instant::from_unix(T0.unix() + (1095 - 30) * DAY);
    let from_a = a.handle_timeout(shadow_at, &mut rng(5)).unwrap();
    let from_b = b.handle_timeout(shadow_at, &mut rng(6)).unwrap();
    let generated = |events: &[CaEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, CaEvent::RolloverGenerated { .. }))
            .count()
    };
    assert_eq!(
        generated(&from_a) + generated(&from_b),
        1,
        "exactly one rollover: {from_a:?} / {from_b:?}"
    );
    // The other instance picked the rollover up: the same GetNextCACert material.
    assert_eq!(a.state(), CaState::ActiveWithRollover);
    assert_eq!(b.state(), CaState::ActiveWithRollover);
    assert_eq!(
        a.rollover_certificate_der().unwrap(),
        b.rollover_certificate_der().unwrap()
    );
    for ca in [&a, &b] {
        let r = ca.handle(
            "GET",
            "/?operation=GetNextCACert",
            b"",
            shadow_at,
            &mut rng(7),
        );
        assert_eq!(r.status, 200);
    }
    // Activation at the old CA's end: run by the lease holder, followed by the other.
    let end = Instant::from_unix(T0.unix() + 1095 * DAY);
    let next = a.rollover_certificate_der().unwrap();
    let from_a = a.handle_timeout(end, &mut rng(8)).unwrap();
    let from_b = b.handle_timeout(end, &mut rng(9)).unwrap();
    let activated = from_a
        .iter()
        .chain(&from_b)
        .filter(|e| matches!(e, CaEvent::RolloverActivated { .. }))
        .count();
    assert_eq!(activated, 1, "{from_a:?} / {from_b:?}");
    assert_eq!(a.ca_certificate_der(), next);
    assert_eq!(b.ca_certificate_der(), next);
    assert_eq!(a.crl_der(), b.crl_der(), "one CRL, signed once");
}
