//! Test code (review2): C-14 limits from the attacker's side — one renewal credential (any
//! certificate the CA issued, not revoked) must not be able to grow the request table
//! without bound under Manual grant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use ca_core::{Ca, GrantMode, MemoryStore, RequestSelector};
use ca_support::*;
use scep_proto::FailInfo;

fn manual(max_requests: usize, seed: u64) -> Ca<MemoryStore> {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c.max_requests = max_requests;
    open(c, seed)
}

/// A client's issued certificate (one granted enrolment); the client signs with it now.
fn credential(ca: &Ca<MemoryStore>, ca_der: &[u8]) -> Client {
    let client = Client::new(0, "CN=router1");
    let req = client.pkcs_req(ca_der, &client.csr(), "ENROL");
    post(ca, &req, T0, &mut rng(1));
    ca.grant(RequestSelector::All, T0, &mut rng(2)).unwrap();
    let poll = client.cert_poll(ca_der, "ENROL");
    let cert = client.issued(&client.open_rep(&post(ca, &poll, T0, &mut rng(3)), ca_der));
    client.with_cert(&cert)
}

/// C-14: one credential sends RenewalReqs under fresh transactionIDs. Before: every one
/// became a pending entry (credentials were exempt from the per-key quota and from
/// `max_requests`), so a single issued certificate filled the table and the store for as
/// long as `L_req`, past `max_requests`.
#[test]
fn c14_one_renewal_credential_cannot_fill_the_request_table() {
    let ca = manual(10, 70);
    let ca_der = ca.ca_certificate_der();
    let holder = credential(&ca, &ca_der);
    let csr = Client::new(0, "CN=router1").csr();
    let mut refused = 0;
    for i in 0..12 {
        let req = holder.renewal_req(&ca_der, &csr, &format!("RENEW-FLOOD-{i}"));
        let resp = post(&ca, &req, T0, &mut rng(10 + i));
        if resp.status != 200 {
            refused += 1;
            continue;
        }
        let rep = holder.open_rep(&resp, &ca_der);
        if !is_pending(&rep) {
            assert_eq!(failure(&rep), FailInfo::BadRequest);
            refused += 1;
        }
    }
    assert!(
        ca.pending_count() <= 4,
        "one credential holds {} pending entries ({refused} refused)",
        ca.pending_count()
    );
    // Its first renewal is still pending and answered on retransmission.
    let req = holder.renewal_req(&ca_der, &csr, "RENEW-FLOOD-0");
    assert!(is_pending(
        &holder.open_rep(&post(&ca, &req, T0, &mut rng(40)), &ca_der)
    ));
}
