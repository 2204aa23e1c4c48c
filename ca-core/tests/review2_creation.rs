//! Test code (review2): C-1 creation cut short after the CA record (store-shared's order: CA
//! record by compare-and-swap, then archive and first CRL by the winner) — the CA that the
//! next opening completes must have its key archive (C-19) and a first CRL signed by the
//! stored key (C-21).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::process::Command;
use std::sync::Arc;

use ca_core::archive::open_pkcs12_archive;
use ca_core::storage::RecordKey;
use ca_core::{Ca, MemoryStore, Store};
use ca_support::*;
use der::Encode as _;

/// `openssl crl` verifies `crl_der` against the CA certificate `ca_der`.
fn openssl_verifies(crl_der: &[u8], ca_der: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), crl_der).unwrap();
    std::fs::write(dir.path().join("ca.der"), ca_der).unwrap();
    let pem = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(pem.success());
    Command::new("openssl")
        .args([
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap()
        .status
        .success()
}

/// The creator stops (crash, or the store goes away) after `writes` successful writes; the
/// next opening, with the store back, opens the CA.
fn cut_short_after(writes: u64) -> (Ca<Arc<MemoryStore>>, Arc<MemoryStore>) {
    let mut c = config();
    c.archive_password = Some("archive-pass".to_owned());
    let store = Arc::new(MemoryStore::new());
    store.fail_after(writes);
    assert!(Ca::open(c.clone(), Arc::clone(&store), T0, true, &mut rng(1)).is_err());
    store.fail_writes(false);
    let ca = Ca::open(c, Arc::clone(&store), T0, true, &mut rng(2)).unwrap();
    (ca, store)
}

/// Writes of a creation without RA: the serial, the CA record, the archive, the first CRL.
/// Cut after the CA record: the CA exists, its archive and CRL not yet.
#[test]
fn c01_c19_a_creation_stopped_after_the_ca_record_still_gets_its_key_archive() {
    let (ca, store) = cut_short_after(2);
    assert_eq!(
        store.list_archives().unwrap(),
        vec!["ROOTCA.p12".to_owned()],
        "the CA's key was never archived (C-19)"
    );
    let archive = store
        .get(&RecordKey::Archive("ROOTCA.p12".to_owned()))
        .unwrap()
        .unwrap();
    let (_, archived) = open_pkcs12_archive(&archive, b"archive-pass").unwrap();
    assert_eq!(archived.to_der().unwrap(), ca.ca_certificate_der());
}

/// The same cut: the completing opener's first CRL is number 1, stored, and signed by the
/// stored CA key.
#[test]
fn c01_c21_a_creation_stopped_after_the_ca_record_gets_a_first_crl_signed_by_the_stored_key() {
    let (ca, store) = cut_short_after(2);
    let stored = String::from_utf8(store.get(&RecordKey::Crl).unwrap().unwrap()).unwrap();
    assert!(stored.contains("\nnumber=1\n"), "{stored}");
    let der = ca.crl_der();
    let crl: x509_cert::crl::CertificateList = der::Decode::from_der(&der).unwrap();
    let number = crl
        .tbs_cert_list
        .crl_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.20")
        .map(|e| e.extn_value.as_bytes().to_vec());
    assert_eq!(number, Some(vec![0x02, 0x01, 0x01]), "CRL number 1");
    assert!(openssl_verifies(&der, &ca.ca_certificate_der()));
}

/// Cut after the archive: nothing is archived twice (one file, the CA's), and the CRL
/// completes.
#[test]
fn c01_c19_a_creation_stopped_after_the_archive_completes_with_one_archive() {
    let (ca, store) = cut_short_after(3);
    assert_eq!(
        store.list_archives().unwrap(),
        vec!["ROOTCA.p12".to_owned()]
    );
    let archive = store
        .get(&RecordKey::Archive("ROOTCA.p12".to_owned()))
        .unwrap()
        .unwrap();
    let (_, archived) = open_pkcs12_archive(&archive, b"archive-pass").unwrap();
    assert_eq!(archived.to_der().unwrap(), ca.ca_certificate_der());
    assert!(openssl_verifies(&ca.crl_der(), &ca.ca_certificate_der()));
}
