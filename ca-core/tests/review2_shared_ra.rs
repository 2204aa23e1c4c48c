//! Test code (review2): C-9 step 6 with instances sharing a store — while an instance cannot
//! read what the others revoked (its last refresh failed), it must not take a revoked RA for
//! the registered RA (fail closed, as for renewal credentials, C-8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::sync::Arc;

use ca_core::issue::certificate_serial;
use ca_core::storage::RecordKey;
use ca_core::{Ca, GrantMode, MemoryStore, Store};
use ca_support::*;

#[test]
fn c09_step6_a_revoked_ra_is_not_the_ra_on_an_instance_whose_refresh_failed() {
    let mut c = config();
    c.grant = GrantMode::RaAuto;
    c.ra_subject = Some("CN=ROOTCA-RA".to_owned());
    let store = Arc::new(MemoryStore::new());
    let a = Ca::open(c.clone(), Arc::clone(&store), T0, true, &mut rng(1)).unwrap();
    let b = Ca::open(c, Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    let (cert, key) = b.ra_credential().unwrap();
    let ra = Client {
        key,
        cert,
        subject: "CN=ROOTCA-RA".to_owned(),
    };
    let ra_der = b.ra_certificate_der().unwrap();
    // The RA is compromised and revoked on A.
    let ra_serial = certificate_serial(&parse_cert(&ra_der)).unwrap();
    a.revoke(ra_serial, T0, &mut rng(3)).unwrap();
    // A revocation record B cannot decode (damaged, or from a newer version): B's refresh
    // fails, and B does not learn of the RA's revocation.
    store
        .put(&RecordKey::Revoked(0xDEAD_BEEF), b"not a revocation record")
        .unwrap();
    let router = Client::new(0, "CN=router1");
    let before = store.get(&RecordKey::SerialCounter).unwrap();
    let resp = post(
        &b,
        &ra.pkcs_req(&ra_der, &router.csr(), "TID-RA-1"),
        T0,
        &mut rng(4),
    );
    let rep = ra.open_rep(&resp, &ra_der);
    assert!(
        is_pending(&rep),
        "the revoked RA's request was not left pending (granted by RaAuto?)"
    );
    assert_eq!(store.get(&RecordKey::SerialCounter).unwrap(), before);
}
