//! `Ca::handle`, what an attacker on the network reaches (issue 13 item 8): any method, target
//! and body, in both grant modes, with and without a pending rollover, with and without legacy
//! algorithms. Every input gets an HTTP answer with a documented status, never a panic; the same
//! request a second time (duplicates, C-12) and the admin operations on whatever was stored
//! must not panic either.
//!
//! Input layout (also used by make-corpus.sh): byte 0 picks the CA and the mode (bit 0: a
//! rollover is pending, bit 1: manual grant, bit 2: legacy algorithms, bit 3: wrap mode).
//! - Raw mode: byte 1 picks the method, then the request-target up to the first NUL byte
//!   (lossily made UTF-8), then the body. Real-peer requests are seeds: they are addressed to
//!   another CA, so they reach the layers before decryption.
//! - Wrap mode: byte 1 picks the messageType (low 3 bits) and the recipient (bit 3: the
//!   rollover certificate), the rest is the messageData (a CSR, IssuerAndSubject or
//!   IssuerAndSerialNumber). The harness signs and encrypts it to this CA as a client would,
//!   so the input reaches everything after decryption (CSR checks, grant decision, storage);
//!   an enrolment request is followed by the client's CertPoll, before and after a grant.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;

use ca_core::{Ca, CaConfig, GrantMode, MemoryStore, RequestSelector, Store, storage::RecordKey};
use der::Decode;
use libfuzzer_sys::fuzz_target;
use pki_timers::{Duration, Instant};
use rand::SeedableRng;
use scep_proto::{
    Certificate, IssuerAndSubject, MessageType, Nonce, PrivateKey, RequestBody, RequestBuilder,
    SelfSigned, Signer, TransactionId,
};

/// 2026-01-01T00:00:00Z.
const NOW: Instant = Instant::from_unix(1_767_225_600);
const METHODS: [&str; 4] = ["GET", "POST", "HEAD", "PUT"];
const MESSAGE_TYPES: [MessageType; 6] = [
    MessageType::PkcsReq,
    MessageType::RenewalReq,
    MessageType::CertPoll,
    MessageType::GetCert,
    MessageType::GetCrl,
    MessageType::PkcsReq,
];

/// A CA's configuration, the records of its store right after it was set up (each input
/// starts from a fresh copy, so runs do not depend on each other), and its certificates.
struct Setup {
    config: CaConfig,
    records: Vec<(RecordKey, Vec<u8>)>,
    active: Certificate,
    rollover: Option<Certificate>,
}

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn setup(selector: u8) -> Setup {
    let mut config = CaConfig::default();
    config.key_bits = 1024;
    config.grant = if selector & 2 == 0 {
        GrantMode::Auto
    } else {
        GrantMode::Manual
    };
    config.legacy_algorithms = selector & 4 != 0;
    config.database_level = ca_core::DatabaseLevel::Complete;
    let ca = Ca::open(config.clone(), MemoryStore::new(), NOW, true, &mut rng(1)).expect("create");
    if selector & 1 != 0 {
        ca.rollover(NOW, &mut rng(2)).expect("rollover");
    }
    let active = Certificate::from_der(&ca.ca_certificate_der()).expect("own certificate");
    let rollover = ca
        .rollover_certificate_der()
        .map(|d| Certificate::from_der(&d).expect("own certificate"));
    let store = ca.into_store();
    let records = [
        RecordKey::SerialCounter,
        RecordKey::RequestCounter,
        RecordKey::CaState,
        RecordKey::Crl,
    ]
    .into_iter()
    .filter_map(|k| store.get(&k).expect("memory store").map(|v| (k, v)))
    .collect();
    Setup {
        config,
        records,
        active,
        rollover,
    }
}

fn setups() -> &'static [Setup] {
    static SETUPS: OnceLock<Vec<Setup>> = OnceLock::new();
    SETUPS.get_or_init(|| (0..8).map(setup).collect())
}

/// The wrap mode's client: a 1024-bit key with a self-signed certificate.
fn client() -> &'static (PrivateKey, Certificate) {
    static CLIENT: OnceLock<(PrivateKey, Certificate)> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let key = PrivateKey::generate(1024, &mut rng(4)).expect("client key");
        let name = x509_cert::name::Name::from_str("CN=fuzz client").expect("name");
        let cert = SelfSigned::new(name, vec![0x01], NOW.unix() - 3600, NOW.unix() + 86_400)
            .build(&key, &mut rng(5))
            .expect("client certificate");
        (key, cert)
    })
}

/// Signs and encrypts `message_data` to the CA, as a client would; `None` if it does not
/// parse as that messageType's content. Also returns the CertPoll (C-13) that would follow
/// an enrolment request.
fn wrap(setup: &Setup, kind: u8, message_data: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let message_type = MESSAGE_TYPES[usize::from(kind & 7) % MESSAGE_TYPES.len()];
    let body = RequestBody::from_der(message_type, message_data).ok()?;
    let recipient = match (&setup.rollover, kind & 8 != 0) {
        (Some(r), true) => r,
        _ => &setup.active,
    };
    let build = |body: &RequestBody| {
        let (key, cert) = client();
        let tid = TransactionId::new("FUZZ-TRANSACTION").ok()?;
        RequestBuilder::new(tid, Nonce([7; 16]))
            .build(body, Signer { cert, key }, recipient, &mut rng(6))
            .ok()
    };
    let poll = match &body {
        RequestBody::PkcsReq(csr) | RequestBody::RenewalReq(csr) => {
            build(&RequestBody::CertPoll(IssuerAndSubject {
                issuer: recipient.tbs_certificate().subject().clone(),
                subject: csr.cert_req().info.subject.clone(),
            }))
        }
        _ => None,
    };
    Some((build(&body)?, poll))
}

fn answer_is_documented(status: u16) -> bool {
    matches!(status, 200 | 400 | 404 | 405 | 413 | 503)
}

fuzz_target!(|data: &[u8]| {
    let [selector, second, rest @ ..] = data else {
        return;
    };
    let setup = &setups()[usize::from(selector % 8)];
    let mut poll = None;
    let (method, target, body): (&str, String, Vec<u8>) = if selector & 8 == 0 {
        let (target, body) = match rest.iter().position(|&b| b == 0) {
            Some(nul) => (&rest[..nul], &rest[nul + 1..]),
            None => (rest, &[][..]),
        };
        (
            METHODS[usize::from(second % 4)],
            String::from_utf8_lossy(target).into_owned(),
            body.to_vec(),
        )
    } else {
        let Some((message, then_poll)) = wrap(setup, *second, rest) else {
            return;
        };
        poll = then_poll;
        ("POST", "/scep?operation=PKIOperation".to_owned(), message)
    };
    let store = MemoryStore::new();
    for (key, value) in &setup.records {
        store.put(key, value).expect("memory store");
    }
    let mut r = rng(3);
    let ca = Ca::open(setup.config.clone(), store, NOW, true, &mut r).expect("snapshot opens");

    let first = ca.handle(method, &target, &body, NOW, &mut r);
    assert!(answer_is_documented(first.status), "{}", first.status);
    // The same request again: duplicates (C-12), CertPoll after an entry exists.
    let later = NOW.saturating_add(Duration::from_minutes(5));
    let again = ca.handle(method, &target, &body, later, &mut r);
    assert!(answer_is_documented(again.status), "{}", again.status);
    // The administrator's view and actions on whatever was stored, and the client's poll
    // before and after them.
    let _ = ca.list_pending();
    let poll_answer = |ca: &Ca<MemoryStore>, r: &mut rand::rngs::StdRng| {
        if let Some(poll) = &poll {
            let answer = ca.handle("POST", "/scep?operation=PKIOperation", poll, later, r);
            assert!(answer_is_documented(answer.status), "{}", answer.status);
        }
    };
    poll_answer(&ca, &mut r);
    let _ = ca.grant(RequestSelector::All, later, &mut r);
    poll_answer(&ca, &mut r);
    let _ = ca.reject(RequestSelector::All);
    let _ = ca.poll_timeout();
    let _ = ca.handle_timeout(NOW.saturating_add(Duration::from_hours(200)), &mut r);
});
