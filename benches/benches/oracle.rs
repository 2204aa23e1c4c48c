//! No padding oracle by timing (issue 7, part 2; SPEC C-6, S-20): opening an envelope whose
//! content key has a bad PKCS#1 v1.5 padding must take as long as opening one whose key
//! unwraps but does not decrypt the content. Both go through `Envelope::decrypt` with the CA's
//! key — the step of the CA's request handling that holds the unwrap — and both end in
//! `ContentDecryptionFailed`.
//!
//! Criterion first reports each case alone; then a Welch t-test over `SAMPLES` timings per
//! case, the two cases interleaved in random order (so drift and noise from other processes hit
//! both alike), prints `|t|` twice: over all samples, and over the samples below the pooled
//! 90th percentile (outliers from preemption removed, as dudect does). |t| < 4.5 means no
//! difference was detected at that sample size.
//!
//! Run: `cargo bench -p benches --bench oracle [--features aws-lc]`.

// Bench setup: a failed expect is a broken fixture, reported at once.
#![allow(clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use cms::content_info::ContentInfo;
use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use criterion::{Criterion, criterion_group};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use scep_proto::{
    Certificate, Csr, Envelope, Error, KeyTransport, Nonce, PkiMessage, PrivateKey, Profile,
    RSA_BACKEND, RequestBody, RequestBuilder, Signer, TransactionId,
};

/// Timings per case (the issue asks for at least 10,000).
const SAMPLES: usize = 10_000;

fn load(name: &str) -> Vec<u8> {
    benches::fixtures::load(name).expect("committed test file")
}

/// The envelope DER of `env_der` with its RecipientInfo's encryptedKey replaced.
fn with_encrypted_key(env_der: &[u8], encrypted_key: Vec<u8>) -> Vec<u8> {
    let ci = ContentInfo::from_der(env_der).expect("ContentInfo");
    let mut env: EnvelopedData = ci.content.decode_as().expect("EnvelopedData");
    let mut infos: Vec<RecipientInfo> = env.recip_infos.0.into_vec();
    let Some(RecipientInfo::Ktri(ktri)) = infos.first_mut() else {
        panic!("expected a KeyTransRecipientInfo");
    };
    ktri.enc_key = OctetString::new(encrypted_key).expect("octets");
    env.recip_infos = RecipientInfos(SetOfVec::try_from(infos).expect("set"));
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&env).expect("encode"),
    }
    .to_der()
    .expect("encode")
}

struct Cases {
    key: PrivateKey,
    bad_padding: Envelope,
    bad_payload: Envelope,
}

fn cases() -> Cases {
    let mut rng = StdRng::seed_from_u64(11);
    let ca_cert = Certificate::from_der(&load("ca.der")).expect("certificate");
    let key = PrivateKey::from_pkcs8_der(&load("ca.key.der")).expect("key");
    let client_cert = Certificate::from_der(&load("client.der")).expect("certificate");
    let client_key = PrivateKey::from_pkcs8_der(&load("client.key.der")).expect("key");
    let csr = Csr::from_der(&load("client.csr.der")).expect("csr");
    let mut builder = RequestBuilder::new(TransactionId::random(&mut rng), Nonce::random(&mut rng));
    builder.key_transport = KeyTransport::RsaPkcs1v15;
    let msg = builder
        .build(
            &RequestBody::PkcsReq(csr),
            Signer {
                cert: &client_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng,
        )
        .expect("request");
    let msg = PkiMessage::from_der(&msg, &Profile::STRICT).expect("pkiMessage");
    let env_der = msg.content().expect("eContent").to_vec();

    let modulus_len = usize::try_from(key.bits().div_ceil(8)).expect("size");
    let mut block = vec![0x5a; modulus_len];
    block[0] = 0;
    let wrong_key = key
        .public_key()
        .encrypt(KeyTransport::RsaPkcs1v15, &[0x42; 16], &mut rng)
        .expect("encrypt");
    let open = |der: &[u8]| Envelope::from_der(der, &Profile::STRICT).expect("envelope");
    Cases {
        bad_padding: open(&with_encrypted_key(&env_der, block)),
        bad_payload: open(&with_encrypted_key(&env_der, wrong_key)),
        key,
    }
}

fn run(env: &Envelope, key: &PrivateKey, rng: &mut StdRng) {
    let r = env.decrypt(key, rng);
    assert_eq!(black_box(r).err(), Some(Error::ContentDecryptionFailed));
}

fn criterion_cases(c: &mut Criterion) {
    let cases = cases();
    let mut rng = StdRng::seed_from_u64(5);
    let mut g = c.benchmark_group(format!("oracle_{RSA_BACKEND}"));
    g.bench_function("bad_padding", |b| {
        b.iter(|| run(&cases.bad_padding, &cases.key, &mut rng))
    });
    g.bench_function("bad_payload", |b| {
        b.iter(|| run(&cases.bad_payload, &cases.key, &mut rng))
    });
    g.finish();
}

/// Welch's t statistic of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let (na, ma, va) = stats(a);
    let (nb, mb, vb) = stats(b);
    (ma - mb) / (va / na + vb / nb).sqrt()
}

fn welch() {
    let cases = cases();
    let mut rng = StdRng::seed_from_u64(5);
    let mut order = StdRng::seed_from_u64(17);
    let (mut a, mut b) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    // Warm-up (lazy key objects, caches).
    for _ in 0..200 {
        run(&cases.bad_padding, &cases.key, &mut rng);
        run(&cases.bad_payload, &cases.key, &mut rng);
    }
    while a.len() < SAMPLES || b.len() < SAMPLES {
        let pick_padding = if a.len() == SAMPLES {
            false
        } else if b.len() == SAMPLES {
            true
        } else {
            order.random::<bool>()
        };
        let (env, out) = if pick_padding {
            (&cases.bad_padding, &mut a)
        } else {
            (&cases.bad_payload, &mut b)
        };
        let start = Instant::now();
        run(env, &cases.key, &mut rng);
        out.push(start.elapsed().as_nanos() as f64);
    }
    let t_all = welch_t(&a, &b);
    let mut pooled: Vec<f64> = a.iter().chain(&b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let p90 = pooled[pooled.len() * 9 / 10];
    let crop = |x: &[f64]| x.iter().copied().filter(|&v| v <= p90).collect::<Vec<_>>();
    let (ca, cb) = (crop(&a), crop(&b));
    let t_crop = welch_t(&ca, &cb);
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64 / 1e3;
    println!(
        "oracle_{RSA_BACKEND} welch: bad_padding n={} mean={:.1}us, bad_payload n={} mean={:.1}us, |t|={:.2} (all), |t|={:.2} (below pooled p90: n={}/{})",
        a.len(),
        mean(&a),
        b.len(),
        mean(&b),
        t_all.abs(),
        t_crop.abs(),
        ca.len(),
        cb.len(),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = criterion_cases
}

fn main() {
    benches();
    welch();
    Criterion::default().configure_from_args().final_summary();
}
