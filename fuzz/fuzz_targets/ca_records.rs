//! ca-core's record decoders against a corrupted store (issue 13 item 8): one record of a
//! working CA's store is replaced by the input, then the CA is opened and used. `Ca::open`
//! must answer `Ok` or a typed error, never panic, and a CA that opens must keep working.
//!
//! Input layout: byte 0 picks the record (see `TARGETS`), the rest replaces its bytes. Seeds
//! are the records of the CA built below, each behind its selector byte (`SCEP_FUZZ_DUMP=DIR`
//! makes the target write them to DIR, see make-corpus.sh).
#![no_main]

use std::sync::OnceLock;

use ca_core::{
    Ca, CaConfig, DatabaseLevel, GrantMode, MemoryStore, RequestSelector, Store,
    storage::{RecordFamily, RecordKey},
};
use std::str::FromStr;

use der::Decode;
use libfuzzer_sys::fuzz_target;
use pki_timers::{Duration, Instant};
use rand::SeedableRng;
use scep_proto::{
    Certificate, Csr, DigestAlg, Nonce, PrivateKey, RequestBody, RequestBuilder, SelfSigned,
    Signer, TransactionId,
};

/// 2026-01-01T00:00:00Z.
const NOW: Instant = Instant::from_unix(1_767_225_600);

/// The records an input may replace, by its first byte.
const TARGETS: [RecordKey; 9] = [
    RecordKey::CaState,
    RecordKey::Crl,
    RecordKey::SerialCounter,
    RecordKey::RequestCounter,
    RecordKey::Request(1),
    RecordKey::Request(2),
    RecordKey::OneTimePassword(1),
    RecordKey::Revoked(2),
    RecordKey::IssuedName(2),
];

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn config() -> CaConfig {
    let mut c = CaConfig::default();
    c.key_bits = 1024;
    c.grant = GrantMode::Manual;
    c.database_level = DatabaseLevel::Names;
    c
}

/// A CA with one record of each kind: a rollover, a pending and an issued request, a
/// one-time password, a revoked serial and an issued-name record.
fn base() -> &'static Vec<(RecordKey, Vec<u8>)> {
    static BASE: OnceLock<Vec<(RecordKey, Vec<u8>)>> = OnceLock::new();
    BASE.get_or_init(|| {
        let ca = Ca::open(config(), MemoryStore::new(), NOW, true, &mut rng(1)).expect("create");
        // Two requests from a client: the first granted (issued, serial 2), the second pending.
        let ca_cert = Certificate::from_der(&ca.ca_certificate_der()).expect("own certificate");
        let key = PrivateKey::generate(1024, &mut rng(7)).expect("client key");
        let cert = SelfSigned::new(
            x509_cert::name::Name::from_str("CN=records").expect("name"),
            vec![0x01],
            NOW.unix() - 3600,
            NOW.unix() + 86_400,
        )
        .build(&key, &mut rng(8))
        .expect("client certificate");
        let csr = Csr::from_der(&cert_request(&key)).expect("csr");
        for tid in ["RECORDS-1", "RECORDS-2"] {
            let message =
                RequestBuilder::new(TransactionId::new(tid).expect("tid"), Nonce([1; 16]))
                    .build(
                        &RequestBody::PkcsReq(csr.clone()),
                        Signer {
                            cert: &cert,
                            key: &key,
                        },
                        &ca_cert,
                        &mut rng(9),
                    )
                    .expect("request");
            ca.handle(
                "POST",
                "/scep?operation=PKIOperation",
                &message,
                NOW,
                &mut rng(10),
            );
            if tid == "RECORDS-1" {
                ca.grant(RequestSelector::All, NOW, &mut rng(11))
                    .expect("grant");
            }
        }
        ca.generate_otp(None, NOW, &mut rng(3)).expect("otp");
        ca.revoke(2, NOW, &mut rng(4)).expect("revoke");
        ca.rollover(NOW, &mut rng(5)).expect("rollover");
        let store = ca.into_store();
        let mut keys = vec![
            RecordKey::CaState,
            RecordKey::Crl,
            RecordKey::SerialCounter,
            RecordKey::RequestCounter,
        ];
        for (family, make) in [
            (
                RecordFamily::Request,
                RecordKey::Request as fn(u64) -> RecordKey,
            ),
            (RecordFamily::OneTimePassword, RecordKey::OneTimePassword),
            (RecordFamily::Revoked, RecordKey::Revoked),
            (RecordFamily::IssuedName, RecordKey::IssuedName),
        ] {
            keys.extend(store.list(family).expect("list").into_iter().map(make));
        }
        let records: Vec<(RecordKey, Vec<u8>)> = keys
            .into_iter()
            .filter_map(|k| store.get(&k).expect("memory store").map(|v| (k, v)))
            .collect();
        if let Some(dir) = std::env::var_os("SCEP_FUZZ_DUMP") {
            for (selector, target) in TARGETS.iter().enumerate() {
                if let Some((_, value)) = records.iter().find(|(k, _)| k == target) {
                    let mut seed = vec![u8::try_from(selector).expect("few targets")];
                    seed.extend_from_slice(value);
                    let path = std::path::Path::new(&dir).join(format!("record-{selector}"));
                    std::fs::write(path, seed).expect("seed written");
                }
            }
        }
        records
    })
}

/// A PKCS #10 request for `key`, subject `CN=records`, signed with SHA-256.
fn cert_request(key: &PrivateKey) -> Vec<u8> {
    use der::Encode;
    use x509_cert::request::{CertReq, CertReqInfo, Version};
    let info = CertReqInfo {
        version: Version::V1,
        subject: x509_cert::name::Name::from_str("CN=records").expect("name"),
        public_key: key.public_key_info().expect("spki"),
        attributes: Default::default(),
    };
    let tbs = info.to_der().expect("encode");
    let signature = key
        .sign(DigestAlg::Sha256, &tbs, &mut rng(12))
        .expect("sign");
    CertReq {
        info,
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
            parameters: Some(der::asn1::Null.into()),
        },
        signature: der::asn1::BitString::from_bytes(&signature).expect("bits"),
    }
    .to_der()
    .expect("encode")
}

fuzz_target!(|data: &[u8]| {
    let [selector, bytes @ ..] = data else {
        return;
    };
    let target = &TARGETS[usize::from(*selector) % TARGETS.len()];
    let store = MemoryStore::new();
    for (key, value) in base() {
        if key != target {
            store.put(key, value).expect("memory store");
        }
    }
    store.put(target, bytes).expect("memory store");
    let mut r = rng(6);
    let Ok(ca) = Ca::open(config(), store, NOW, true, &mut r) else {
        return;
    };
    let _ = ca.list_pending();
    let _ = ca.status(NOW);
    let _ = ca.poll_timeout();
    let _ = ca.grant(RequestSelector::All, NOW, &mut r);
    let _ = ca.revoke(1, NOW, &mut r);
    for op in ["GetCACert", "GetCACaps", "GetNextCACert", "GetCRL"] {
        let answer = ca.handle("GET", &format!("/?operation={op}"), b"", NOW, &mut r);
        assert!(
            matches!(answer.status, 200 | 404 | 503),
            "{op}: {}",
            answer.status
        );
    }
    let _ = ca.handle_timeout(NOW.saturating_add(Duration::from_days(400)), &mut r);
});
