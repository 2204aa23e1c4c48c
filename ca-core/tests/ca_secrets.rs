//! Test code: secrets at rest, from the attacker's side (issue 13 item 5): what a reader of the
//! store folder finds (C-9 step 3, Q-7 one-time passwords; C-18 CA keys), and what the CA
//! signs with (S-27, S-38).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ca_support;
mod issue_support;

use std::path::{Path, PathBuf};

use ca_core::{
    Ca, CaError, CaEvent, DirStore, GrantMode, MemoryStore, Store, storage::RecordFamily,
};
use ca_support::*;
use pki_timers::Duration;
use scep_proto::{Csr, DigestAlg, Nonce, PrivateKey, RequestBody, RequestBuilder, TransactionId};

/// Every regular file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            out.push((entry.path(), std::fs::read(entry.path()).unwrap()));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts that no file under `dir` holds `secret` raw, as lowercase or uppercase hex.
fn assert_not_on_disk(dir: &Path, secret: &[u8], what: &str) {
    let hex = lower_hex(secret);
    let needles = [
        secret.to_vec(),
        hex.clone().into_bytes(),
        hex.to_ascii_uppercase().into_bytes(),
    ];
    for (path, bytes) in files_under(dir) {
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "{what} found in clear in {}",
                path.display()
            );
        }
    }
}

fn manual() -> ca_core::CaConfig {
    let mut c = config();
    c.grant = GrantMode::Manual;
    c
}

#[test]
fn q7_one_time_password_is_not_in_clear_on_disk_and_still_grants() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::open(
        manual(),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap();
    let otp = ca.generate_otp(None, T0, &mut rng(11)).unwrap();
    assert_not_on_disk(dir.path(), otp.as_bytes(), "the one-time password");
    assert_not_on_disk(
        dir.path(),
        otp.to_ascii_lowercase().as_bytes(),
        "the one-time password",
    );
    // Reopened from disk, the stored form still recognises the password, once.
    let ca = Ca::open(manual(), ca.into_store(), T0, true, &mut rng(2)).unwrap();
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(0, "CN=router1");
    let csr = client.csr_with_password(&otp);
    let msg = client.pkcs_req(&ca_der, &csr, "TID-OTP-DISK");
    let rep = client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der);
    client.issued(&rep);
    let msg = client.pkcs_req(&ca_der, &csr, "TID-OTP-DISK-2");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
    // A wrong password of the same shape does not grant.
    let wrong: String = otp
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&wrong), "TID-OTP-DISK-3");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der)
    ));
}

#[test]
fn q7_expired_one_time_password_is_purged_from_the_store_and_refused() {
    let ca = open(manual(), 1);
    let ca_der = ca.ca_certificate_der();
    let otp = ca.generate_otp(Some(1), T0, &mut rng(12)).unwrap();
    let kept = ca.generate_otp(Some(10), T0, &mut rng(13)).unwrap();
    assert_eq!(
        ca.store()
            .list(RecordFamily::OneTimePassword)
            .unwrap()
            .len(),
        2
    );
    // The host is woken up when the first password expires.
    let expiry = T0.saturating_add(Duration::from_minutes(1));
    assert!(ca.poll_timeout().unwrap() <= expiry);
    let events = ca.handle_timeout(expiry, &mut rng(3)).unwrap();
    assert!(
        events.contains(&CaEvent::OneTimePasswordsPurged { count: 1 }),
        "{events:?}"
    );
    assert_eq!(
        ca.store()
            .list(RecordFamily::OneTimePassword)
            .unwrap()
            .len(),
        1
    );
    // The purged one no longer grants; the one still valid does.
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&otp), "TID-OTP-EXP");
    assert!(is_pending(
        &client.open_rep(&post(&ca, &msg, expiry, &mut rng(4)), &ca_der)
    ));
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&kept), "TID-OTP-OK");
    client.issued(&client.open_rep(&post(&ca, &msg, expiry, &mut rng(4)), &ca_der));
    // Nothing is purged without authoritative time (T-12).
    let ca = open(manual(), 2);
    ca.generate_otp(Some(1), T0, &mut rng(14)).unwrap();
    ca.set_authoritative_time(false);
    ca.handle_timeout(T0.saturating_add(Duration::from_hours(2)), &mut rng(3))
        .unwrap();
    assert_eq!(
        ca.store()
            .list(RecordFamily::OneTimePassword)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn q7_one_time_password_survives_a_reopen_of_a_memory_store() {
    let ca = open(manual(), 1);
    let otp = ca.generate_otp(None, T0, &mut rng(12)).unwrap();
    let store: MemoryStore = ca.into_store();
    let ca = Ca::open(manual(), store, T0, true, &mut rng(5)).unwrap();
    let ca_der = ca.ca_certificate_der();
    let client = Client::new(1, "CN=router2");
    let msg = client.pkcs_req(&ca_der, &client.csr_with_password(&otp), "TID-OTP-RE");
    client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &ca_der));
}

// --- CA keys at rest (C-18, issue 13 item 5) ---

const PASSPHRASE: &str = "correct horse battery staple";

/// The private parts of `key` (d, each prime, the whole PKCS#8 DER), leading zeros trimmed.
fn private_parts(key: &PrivateKey) -> Vec<Vec<u8>> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PrivateKeyParts;
    let der = key.to_pkcs8_der().unwrap();
    let rsa = rsa::RsaPrivateKey::from_pkcs8_der(der.as_bytes()).unwrap();
    let trim = |b: Box<[u8]>| {
        b.iter()
            .copied()
            .skip_while(|&x| x == 0)
            .collect::<Vec<u8>>()
    };
    let mut parts = vec![trim(rsa.d().to_be_bytes())];
    parts.extend(rsa.primes().iter().map(|p| trim(p.as_ref().to_be_bytes())));
    parts.push(der.as_bytes().to_vec());
    parts
}

/// The `name=` field of the CA record in `dir`, hex-decoded.
fn state_field(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(dir.join("ca/state")).unwrap();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))?;
    Some(
        (0..value.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap())
            .collect(),
    )
}

fn with_passphrase(passphrase: Option<&str>) -> ca_core::CaConfig {
    let mut c = config();
    c.key_passphrase = passphrase.map(str::to_owned);
    c
}

/// Opens the encrypted key of the CA record field `name` and checks it is the key of `cert`.
fn stored_key(dir: &Path, name: &str, cert_der: &[u8]) -> PrivateKey {
    let sealed = state_field(dir, name).expect("encrypted key field");
    let key = PrivateKey::from_encrypted_pkcs8_der(&sealed, PASSPHRASE.as_bytes()).unwrap();
    let cert = parse_cert(cert_der);
    assert_eq!(
        key.public_key_info().unwrap(),
        cert.tbs_certificate().subject_public_key_info().clone()
    );
    key
}

#[test]
fn c18_with_a_passphrase_no_ca_key_is_in_clear_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path()).unwrap();
    let ca = Ca::open(
        with_passphrase(Some(PASSPHRASE)),
        store,
        T0,
        true,
        &mut rng(1),
    )
    .unwrap();
    ca.rollover(T0, &mut rng(2)).unwrap();
    let active = stored_key(dir.path(), "active_key_encrypted", &ca.ca_certificate_der());
    let rollover = stored_key(
        dir.path(),
        "rollover_key_encrypted",
        &ca.rollover_certificate_der().unwrap(),
    );
    assert!(state_field(dir.path(), "active_key").is_none());
    for (key, what) in [(&active, "active CA key"), (&rollover, "rollover CA key")] {
        for part in private_parts(key) {
            assert_not_on_disk(dir.path(), &part, what);
        }
    }
    // Reopened with the passphrase, the CA signs with the same keys.
    let cert = ca.ca_certificate_der();
    let ca = Ca::open(
        with_passphrase(Some(PASSPHRASE)),
        ca.into_store(),
        T0,
        true,
        &mut rng(3),
    )
    .unwrap();
    assert_eq!(ca.ca_certificate_der(), cert);
    let client = Client::new(0, "CN=router1");
    let msg = client.pkcs_req(&cert, &client.csr(), "TID-SEALED");
    client.issued(&client.open_rep(&post(&ca, &msg, T0, &mut rng(4)), &cert));
}

#[test]
fn c18_wrong_or_missing_passphrase_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::open(
        with_passphrase(Some(PASSPHRASE)),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap();
    drop(ca);
    let err = Ca::open(
        with_passphrase(Some("correct horse battery stapler")),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap_err();
    assert!(matches!(err, CaError::WrongKeyPassphrase), "{err:?}");
    let err = Ca::open(
        with_passphrase(None),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap_err();
    assert!(matches!(err, CaError::KeyPassphraseRequired), "{err:?}");
    // An empty passphrase is a configuration error, not "no passphrase".
    let err = Ca::open(
        with_passphrase(Some("")),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap_err();
    assert!(matches!(err, CaError::Config(_)), "{err:?}");
}

#[test]
fn c18_plain_keys_are_encrypted_when_a_passphrase_is_first_configured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::open(
        with_passphrase(None),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(1),
    )
    .unwrap();
    let cert = ca.ca_certificate_der();
    drop(ca);
    let plain =
        PrivateKey::from_pkcs8_der(&state_field(dir.path(), "active_key").unwrap()).unwrap();
    let ca = Ca::open(
        with_passphrase(Some(PASSPHRASE)),
        DirStore::open(dir.path()).unwrap(),
        T0,
        true,
        &mut rng(2),
    )
    .unwrap();
    assert_eq!(ca.ca_certificate_der(), cert);
    assert_eq!(stored_key(dir.path(), "active_key_encrypted", &cert), plain);
    for part in private_parts(&plain) {
        assert_not_on_disk(dir.path(), &part, "migrated CA key");
    }
    drop(ca);
    assert!(matches!(
        Ca::open(
            with_passphrase(None),
            DirStore::open(dir.path()).unwrap(),
            T0,
            true,
            &mut rng(3)
        )
        .unwrap_err(),
        CaError::KeyPassphraseRequired
    ));
}

#[test]
fn c18_debug_of_the_config_does_not_print_the_passphrase() {
    let shown = format!("{:?}", with_passphrase(Some(PASSPHRASE)));
    assert!(!shown.contains(PASSPHRASE), "{shown}");
}

// --- SHA-1 only under the legacy switch (S-27, S-38, issue 13 item 5) ---

/// A CertRep answer read under the legacy profile (so a SHA-1 answer is readable too).
fn rep_digest(client: &Client, resp: &scep_proto::HttpResponse, ca_der: &[u8]) -> DigestAlg {
    let ca = parse_cert(ca_der);
    let rep = scep_proto::PkiMessage::from_der(&resp.body, &scep_proto::Profile::LEGACY)
        .unwrap()
        .verify(Some(&ca))
        .unwrap()
        .open_cert_rep(Some(&client.key), &mut rng(5))
        .unwrap();
    client.issued(&rep);
    rep.digest
}

#[test]
fn s38_the_ca_signs_with_sha1_only_under_the_legacy_switch() {
    let mut c = config();
    c.hash = DigestAlg::Sha1;
    let err = Ca::open(c.clone(), MemoryStore::new(), T0, true, &mut rng(1)).unwrap_err();
    assert!(
        matches!(err, CaError::Config(ca_core::ConfigError::LegacyHash)),
        "{err:?}"
    );
    let params = ca_core::issue::CaCertParams::new(issue_support::ca_name(), T0);
    let mut sha1 = params.clone();
    sha1.signature = ca_core::issue::SignatureConfig::new(DigestAlg::Sha1);
    assert!(ca_core::issue::self_signed_ca_certificate(&sha1, key(0), &mut rng(2)).is_err());
    sha1.signature = sha1.signature.with_legacy_algorithms(true);
    assert!(ca_core::issue::self_signed_ca_certificate(&sha1, key(0), &mut rng(2)).is_ok());
    c.legacy_algorithms = true;
    let ca = Ca::open(c, MemoryStore::new(), T0, true, &mut rng(1)).unwrap();
    let cert = parse_cert(&ca.ca_certificate_der());
    assert_eq!(
        cert.signature_algorithm().oid.to_string(),
        "1.2.840.113549.1.1.5"
    );
}

#[test]
fn s27_a_sha1_request_is_answered_with_sha256_unless_legacy() {
    let client = Client::new(0, "CN=router1");
    for (legacy, expected) in [(false, DigestAlg::Sha256), (true, DigestAlg::Sha1)] {
        let mut c = config();
        c.legacy_algorithms = legacy;
        let ca = open(c, 1);
        let ca_der = ca.ca_certificate_der();
        let mut builder =
            RequestBuilder::new(TransactionId::new("TID-SHA1").unwrap(), Nonce([9; 16]));
        builder.digest = DigestAlg::Sha1;
        let body = RequestBody::PkcsReq(Csr::from_der(&client.csr()).unwrap());
        let msg = client.message_with(builder, &ca_der, &body);
        let resp = post(&ca, &msg, T0, &mut rng(4));
        assert_eq!(
            rep_digest(&client, &resp, &ca_der),
            expected,
            "legacy {legacy}"
        );
    }
    // SHA-512 is mirrored either way.
    let ca = open(config(), 1);
    let ca_der = ca.ca_certificate_der();
    let mut builder =
        RequestBuilder::new(TransactionId::new("TID-SHA512").unwrap(), Nonce([9; 16]));
    builder.digest = DigestAlg::Sha512;
    let body = RequestBody::PkcsReq(Csr::from_der(&client.csr()).unwrap());
    let msg = client.message_with(builder, &ca_der, &body);
    let resp = post(&ca, &msg, T0, &mut rng(4));
    assert_eq!(rep_digest(&client, &resp, &ca_der), DigestAlg::Sha512);
}
