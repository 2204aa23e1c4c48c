//! scep-proto's two hot paths, each next to the RSA operations it cannot avoid, so the codec's
//! own cost shows as the ratio `full / rsa_only` (issue "scep-proto", SPEC §1):
//!
//! * `open_pkcsreq`: what a CA does with a PKCSReq body — decode, verify the signature (1 RSA
//!   public operation), decrypt the envelope (1 blinded RSA private operation).
//! * `build_certrep`: a SUCCESS CertRep — envelope to the requester (1 RSA public operation),
//!   sign (1 RSA private operation); and a PENDING CertRep (`pending`, signed layer only)
//!   next to one RSA signature (`sign_only`).
//!
//! Keys are the committed 2048-bit test keys of scep-proto (no key generation here).
//! Groups carry the RSA backend's name (`open_pkcsreq_rustcrypto`, …; see `backend.rs`).
//! Run: `cargo bench -p benches --bench codec`; `benches/ratios.py` prints the ratios.

// Bench setup: a failed expect is a broken fixture, reported at once.
#![allow(clippy::expect_used, clippy::panic)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{
    CertRepBuilder, CertRepContent, CertsOnly, Csr, DigestAlg, KeyTransport, Nonce, PkiMessage,
    Profile, RSA_BACKEND, RequestBody, RequestBuilder, Signer, TransactionId,
};

fn party(name: &str) -> benches::fixtures::Party {
    benches::fixtures::party(name).expect("committed test identity")
}

fn load(name: &str) -> Vec<u8> {
    benches::fixtures::load(name).expect("committed test file")
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let ca = party("ca");
    let client = party("client");
    let csr = Csr::from_der(&load("client.csr.der")).expect("csr");
    let request = RequestBuilder::new(TransactionId::random(&mut rng), Nonce::random(&mut rng))
        .build(
            &RequestBody::PkcsReq(csr),
            Signer {
                cert: &client.cert,
                key: &client.key,
            },
            &ca.cert,
            &mut rng,
        )
        .expect("request");
    let open = |rng: &mut StdRng| {
        PkiMessage::from_der(&request, &Profile::STRICT)
            .and_then(|m| m.verify(None))
            .and_then(|v| v.open_request(&ca.key, rng))
            .expect("open")
    };
    let opened = open(&mut rng);

    // The bare RSA operations, through the same backend seam and paddings the codec uses.
    let attrs = b"signed attributes";
    let client_public = client.key.public_key();
    let ca_public = ca.key.public_key();
    let signature = client
        .key
        .sign(DigestAlg::Sha256, attrs, &mut rng)
        .expect("sign");
    let wrapped_key = ca_public
        .encrypt(KeyTransport::RsaPkcs1v15, &[7u8; 16], &mut rng)
        .expect("encrypt");

    let mut g = c.benchmark_group(format!("open_pkcsreq_{RSA_BACKEND}"));
    g.throughput(Throughput::Bytes(request.len() as u64));
    g.bench_function("full", |b| b.iter(|| open(&mut rng)));
    g.bench_function("rsa_only", |b| {
        b.iter(|| {
            client_public
                .verify(DigestAlg::Sha256, attrs, &signature)
                .expect("verify");
            ca.key
                .decrypt(KeyTransport::RsaPkcs1v15, &wrapped_key, &mut rng)
                .expect("decrypt")
        })
    });
    g.finish();

    let issued = CertsOnly::new(vec![client.cert.clone()]);
    let build = |rng: &mut StdRng| {
        CertRepBuilder::reply_to(&opened, Nonce::random(rng))
            .build(
                &CertRepContent::Success {
                    certs: &issued,
                    recipient: &opened.signer,
                },
                Signer {
                    cert: &ca.cert,
                    key: &ca.key,
                },
                rng,
            )
            .expect("certrep")
    };
    let mut g = c.benchmark_group(format!("build_certrep_{RSA_BACKEND}"));
    g.throughput(Throughput::Bytes(build(&mut rng).len() as u64));
    g.bench_function("full", |b| b.iter(|| build(&mut rng)));
    g.bench_function("rsa_only", |b| {
        b.iter(|| {
            let sig = ca
                .key
                .sign(DigestAlg::Sha256, attrs, &mut rng)
                .expect("sign");
            let ct = client_public
                .encrypt(KeyTransport::RsaPkcs1v15, &[7u8; 16], &mut rng)
                .expect("encrypt");
            (sig, ct)
        })
    });
    // PENDING: the signed layer alone (no envelope), against one RSA private operation.
    g.bench_function("pending", |b| {
        b.iter(|| {
            CertRepBuilder::reply_to(&opened, Nonce::random(&mut rng))
                .build(
                    &CertRepContent::Pending,
                    Signer {
                        cert: &ca.cert,
                        key: &ca.key,
                    },
                    &mut rng,
                )
                .expect("pending")
        })
    });
    g.bench_function("sign_only", |b| {
        b.iter(|| {
            ca.key
                .sign(DigestAlg::Sha256, attrs, &mut rng)
                .expect("sign")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
