//! The RSA backend this build uses (RustCrypto by default, aws-lc-rs with `--features aws-lc`):
//! each RSA operation alone, and the two full SCEP paths next to the sum of their own RSA
//! operations, so `full / rsa_only` is the codec + logic overhead (issue 7, part 4).
//!
//! Groups carry the backend name (`rsa_rustcrypto`, `server_pkcsreq_aws-lc`, …) so the runs of
//! both backends sit side by side in `target/criterion`:
//!
//! * `rsa_<backend>`: `sign` (PKCS#1 v1.5, SHA-256), `verify`, `decrypt_pkcs1v15`,
//!   `decrypt_oaep`, `encrypt` (PKCS#1 v1.5) with the committed 2048-bit keys;
//! * `rsa_1024_<backend>`: `sign` and `decrypt_pkcs1v15` with a 1024-bit key generated from the
//!   bench's seed (the drill's key size; aws-lc-rs refuses it, so RustCrypto serves it either
//!   way);
//! * `keygen_<backend>`: one 2048-bit key pair (20 samples: prime search time varies a lot);
//! * `server_pkcsreq_<backend>`: `ca_core::Ca::handle` of a PKCSReq (in-memory store, grant
//!   auto, a fresh transactionID each time so every request issues a certificate). Its RSA
//!   operations, counted in the code: verify the request's signature, unwrap the content key
//!   (private), verify the CSR's signature, sign the certificate (private), wrap the CertRep's
//!   content key to the requester, sign the CertRep (private): 3 private + 3 public, which
//!   `rsa_only` performs. (A self-signed requester is not checked against the CA key.)
//! * `client_certrep_<backend>`: what a client does with a SUCCESS CertRep in scep-proto
//!   (`PkiMessage::from_der`, `verify`, `open_cert_rep`, the path `Trustpoint::handle_response`
//!   takes): 1 public (the CertRep signature) + 1 private (the content key).
//!
//! Run: `cargo bench -p benches --bench backend [--features aws-lc]`, then
//! `python3 benches/ratios.py`.

// Bench setup: a failed expect is a broken fixture, reported at once.
#![allow(clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use ca_core::{Ca, CaConfig, GrantMode, MemoryStore};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use der::Decode;
use pki_timers::Instant;
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{
    CertRepStatus, Certificate, Csr, DigestAlg, KeyTransport, Nonce, PkiMessage, PrivateKey,
    Profile, RSA_BACKEND, RequestBody, RequestBuilder, Signer, TransactionId,
};

/// 2026-01-01T00:00:00Z, inside the committed certificates' validity.
const NOW: Instant = Instant::from_unix(1_767_225_600);

fn party(name: &str) -> benches::fixtures::Party {
    benches::fixtures::party(name).expect("committed test identity")
}

fn load(name: &str) -> Vec<u8> {
    benches::fixtures::load(name).expect("committed test file")
}

fn rsa_ops(c: &mut Criterion, rng: &mut StdRng) {
    let ca = party("ca");
    let public = ca.key.public_key();
    let msg = b"signed attributes of a pkiMessage";
    let sig = ca.key.sign(DigestAlg::Sha256, msg, rng).expect("sign");
    let wrapped = public
        .encrypt(KeyTransport::RsaPkcs1v15, &[7; 16], rng)
        .expect("encrypt");
    let wrapped_oaep = public
        .encrypt(KeyTransport::RsaOaepSha1, &[7; 16], rng)
        .expect("encrypt");

    let mut g = c.benchmark_group(format!("rsa_{RSA_BACKEND}"));
    g.bench_function("sign", |b| {
        b.iter(|| ca.key.sign(DigestAlg::Sha256, msg, rng).expect("sign"))
    });
    g.bench_function("verify", |b| {
        b.iter(|| public.verify(DigestAlg::Sha256, msg, &sig).expect("verify"))
    });
    g.bench_function("decrypt_pkcs1v15", |b| {
        b.iter(|| {
            ca.key
                .decrypt(KeyTransport::RsaPkcs1v15, &wrapped, rng)
                .expect("decrypt")
        })
    });
    g.bench_function("decrypt_oaep", |b| {
        b.iter(|| {
            ca.key
                .decrypt(KeyTransport::RsaOaepSha1, &wrapped_oaep, rng)
                .expect("decrypt")
        })
    });
    g.bench_function("encrypt", |b| {
        b.iter(|| {
            public
                .encrypt(KeyTransport::RsaPkcs1v15, &[7; 16], rng)
                .expect("encrypt")
        })
    });
    g.finish();

    // The drill's key size (its CA and fleet use 1024-bit keys, which aws-lc-rs refuses, so
    // RustCrypto serves them under either backend): the two private operations it spends
    // most of its time in.
    let small = PrivateKey::generate(1024, rng).expect("keygen 1024");
    let small_wrapped = small
        .public_key()
        .encrypt(KeyTransport::RsaPkcs1v15, &[7; 16], rng)
        .expect("encrypt");
    let mut g = c.benchmark_group(format!("rsa_1024_{RSA_BACKEND}"));
    g.bench_function("sign", |b| {
        b.iter(|| small.sign(DigestAlg::Sha256, msg, rng).expect("sign"))
    });
    g.bench_function("decrypt_pkcs1v15", |b| {
        b.iter(|| {
            small
                .decrypt(KeyTransport::RsaPkcs1v15, &small_wrapped, rng)
                .expect("decrypt")
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("keygen_{RSA_BACKEND}"));
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("2048", |b| {
        b.iter(|| PrivateKey::generate(2048, rng).expect("keygen"))
    });
    g.finish();
}

fn server_and_client(c: &mut Criterion, rng: &mut StdRng) {
    let client = party("client");
    let csr = Csr::from_der(&load("client.csr.der")).expect("csr");
    let mut config = CaConfig::default();
    config.key_bits = 2048;
    config.grant = GrantMode::Auto;
    let ca = Ca::open(config, MemoryStore::new(), NOW, true, rng).expect("CA");
    let ca_cert = Certificate::from_der(&ca.ca_certificate_der()).expect("CA certificate");
    let body = RequestBody::PkcsReq(csr.clone());
    let request = |rng: &mut StdRng| {
        RequestBuilder::new(TransactionId::random(rng), Nonce::random(rng))
            .build(
                &body,
                Signer {
                    cert: &client.cert,
                    key: &client.key,
                },
                &ca_cert,
                rng,
            )
            .expect("request")
    };
    let handle = |msg: &[u8], rng: &mut StdRng| {
        let resp = ca.handle("POST", "/scep?operation=PKIOperation", msg, NOW, rng);
        assert_eq!(resp.status, 200);
        resp.body
    };
    // One answer up front: SUCCESS, and the input of the client bench.
    let certrep = handle(&request(rng), rng);
    let open = |rng: &mut StdRng| {
        PkiMessage::from_der(&certrep, &Profile::STRICT)
            .and_then(|m| m.verify(Some(&ca_cert)))
            .and_then(|v| v.open_cert_rep(Some(&client.key), rng))
            .expect("CertRep")
    };
    assert!(matches!(open(rng).status, CertRepStatus::Success(_)));

    // The server's own RSA operations, with its own key sizes (CA 2048, client 2048).
    let ca_key = PrivateKey::from_pkcs8_der(&load("ca_next.key.der")).expect("key");
    let client_public = client.key.public_key();
    let msg = b"signed attributes of a pkiMessage";
    let tbs = csr.to_der().to_vec();
    let client_sig = client.key.sign(DigestAlg::Sha256, msg, rng).expect("sign");
    let csr_sig = client.key.sign(DigestAlg::Sha256, &tbs, rng).expect("sign");
    let wrapped = ca_key
        .public_key()
        .encrypt(KeyTransport::RsaPkcs1v15, &[7; 16], rng)
        .expect("encrypt");

    let server_rsa = |rng: &mut StdRng| {
        client_public
            .verify(DigestAlg::Sha256, msg, &client_sig)
            .expect("verify request");
        let cek = ca_key
            .decrypt(KeyTransport::RsaPkcs1v15, &wrapped, rng)
            .expect("unwrap");
        client_public
            .verify(DigestAlg::Sha256, &tbs, &csr_sig)
            .expect("verify CSR");
        let cert_sig = ca_key
            .sign(DigestAlg::Sha256, &tbs, rng)
            .expect("sign cert");
        let ct = client_public
            .encrypt(KeyTransport::RsaPkcs1v15, &cek, rng)
            .expect("wrap");
        let rep_sig = ca_key
            .sign(DigestAlg::Sha256, msg, rng)
            .expect("sign CertRep");
        (cert_sig, ct, rep_sig)
    };

    let mut g = c.benchmark_group(format!("server_pkcsreq_{RSA_BACKEND}"));
    // Requests are built before each timed batch (each with its own transactionID, so each is
    // a new enrolment) and handled back to back, as a loaded server does: the setup's client
    // RSA work neither counts nor evicts the CA key from the caches mid-measurement.
    let seed = Cell::new(100u64);
    let mut server_rng = StdRng::seed_from_u64(3);
    g.bench_function("full", |b| {
        b.iter_custom(|iters| {
            let msgs: Vec<Vec<u8>> = (0..iters)
                .map(|_| {
                    seed.set(seed.get().wrapping_add(1));
                    request(&mut StdRng::seed_from_u64(seed.get()))
                })
                .collect();
            let start = std::time::Instant::now();
            for msg in &msgs {
                black_box(handle(msg, &mut server_rng));
            }
            start.elapsed()
        })
    });
    g.bench_function("rsa_only", |b| b.iter(|| server_rsa(rng)));
    g.finish();

    let ca_public = ca_key.public_key();
    let rep_sig = ca_key.sign(DigestAlg::Sha256, msg, rng).expect("sign");
    let to_client = client_public
        .encrypt(KeyTransport::RsaPkcs1v15, &[7; 16], rng)
        .expect("encrypt");
    let mut g = c.benchmark_group(format!("client_certrep_{RSA_BACKEND}"));
    g.bench_function("full", |b| b.iter(|| open(rng)));
    g.bench_function("rsa_only", |b| {
        b.iter(|| {
            ca_public
                .verify(DigestAlg::Sha256, msg, &rep_sig)
                .expect("verify");
            client
                .key
                .decrypt(KeyTransport::RsaPkcs1v15, &to_client, rng)
                .expect("unwrap")
        })
    });
    g.finish();
    // The store really grew: every `full` iteration issued a certificate.
    assert!(ca.last_serial() > 2, "{}", ca.last_serial());

    // The ratio again, drift-proof: full and rsa_only alternate, one of each per pair, so load
    // from other processes on a shared machine hits both alike; ratio of the medians.
    let msgs: Vec<Vec<u8>> = (0..PAIRS)
        .map(|_| {
            seed.set(seed.get().wrapping_add(1));
            request(&mut StdRng::seed_from_u64(seed.get()))
        })
        .collect();
    let mut msgs = msgs.iter();
    interleaved(
        &format!("server_pkcsreq_{RSA_BACKEND}"),
        || {
            let msg = msgs.next().expect("one request per pair");
            black_box(handle(msg, &mut server_rng));
        },
        || {
            black_box(server_rsa(&mut StdRng::seed_from_u64(9)));
        },
    );
    interleaved(
        &format!("client_certrep_{RSA_BACKEND}"),
        || {
            black_box(open(&mut StdRng::seed_from_u64(9)));
        },
        || {
            ca_public
                .verify(DigestAlg::Sha256, msg, &rep_sig)
                .expect("verify");
            black_box(
                client
                    .key
                    .decrypt(
                        KeyTransport::RsaPkcs1v15,
                        &to_client,
                        &mut StdRng::seed_from_u64(9),
                    )
                    .expect("unwrap"),
            );
        },
    );
}

/// Pairs of the interleaved comparison.
const PAIRS: usize = 400;

/// Times `full` and `rsa_only` alternately `PAIRS` times and prints the medians and their ratio.
#[allow(clippy::print_stdout)] // the bench's report
fn interleaved(name: &str, mut full: impl FnMut(), mut rsa_only: impl FnMut()) {
    let (mut f, mut r) = (Vec::with_capacity(PAIRS), Vec::with_capacity(PAIRS));
    for _ in 0..PAIRS {
        let start = std::time::Instant::now();
        full();
        f.push(start.elapsed());
        let start = std::time::Instant::now();
        rsa_only();
        r.push(start.elapsed());
    }
    f.sort();
    r.sort();
    let (mf, mr) = (f[PAIRS / 2], r[PAIRS / 2]);
    println!(
        "interleaved {name}: full {:.3} ms, rsa_only {:.3} ms, ratio {:.3} (median of {PAIRS} pairs)",
        mf.as_secs_f64() * 1e3,
        mr.as_secs_f64() * 1e3,
        mf.as_secs_f64() / mr.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    rsa_ops(c, &mut rng);
    server_and_client(c, &mut rng);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(40);
    targets = bench
}
criterion_main!(benches);
