//! Pre-building the PKCSReq pkiMessages, before the timed phase (S-21, S-22, K-5).
//!
//! Every message has its own RSA key. Generating N independent keys would dominate the run
//! (a 1024-bit key costs tens of milliseconds in pure Rust), so the keys are assembled from a
//! pool of primes: P primes give P(P-1)/2 distinct moduli, and ~150 primes cover 10,000
//! requests. The keys share factors, which is fatal for real keys and irrelevant here: the
//! server's cost does not depend on the client key, only that each request is a new one.

use std::str::FromStr as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use der::Encode as _;
use der::asn1::{Any, BitString, OctetString, SetOfVec, Utf8StringRef};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rsa::pkcs8::EncodePrivateKey as _;
use rsa::traits::PrivateKeyParts as _;
use rsa::{BoxedUint, RsaPrivateKey};
use scep_proto::{
    Certificate, ContentCipher, Csr, DigestAlg, Nonce, PrivateKey, RequestBody, RequestBuilder,
    SelfSigned, Signer, TransactionId,
};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

use super::LoadError;

/// The RSA public exponent of every client key.
const PUBLIC_EXPONENT: u64 = 65_537;

/// What to pre-build; see [`build_messages`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BuildParams {
    /// How many messages (each with its own key and transactionID).
    pub count: usize,
    /// Client modulus size in bits (even, at least 1024).
    pub key_bits: usize,
    /// Seed of the key material: the same seed gives the same keys.
    pub seed: u64,
    /// Digest of the CSR, the signer certificate and the pkiMessage signature.
    pub digest: DigestAlg,
    /// Content encryption of the pkcsPKIEnvelope.
    pub cipher: ContentCipher,
    /// challengePassword put into every CSR, if any (S-25).
    pub challenge: Option<String>,
    /// CN prefix; request `i` has subject `CN=<prefix>-<i>,O=scep-load`.
    pub subject_prefix: String,
    /// Validity of the self-signed signer certificates, Unix seconds (K-5: now − 1 h, now + 1 d).
    pub validity: (u64, u64),
    /// Worker threads for key generation and signing.
    pub threads: usize,
}

impl BuildParams {
    /// `count` messages with 1024-bit keys, SHA-256, AES-128, no challenge, one thread per
    /// core; `now` is the current Unix time for the signer certificates.
    #[must_use]
    pub fn new(count: usize, now: u64) -> Self {
        Self {
            count,
            key_bits: 1024,
            seed: 1,
            digest: DigestAlg::Sha256,
            cipher: ContentCipher::Aes128,
            challenge: None,
            subject_prefix: "scep-load".to_owned(),
            validity: (now.saturating_sub(3600), now.saturating_add(86_400)),
            threads: thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// One pre-built request and what its CertRep must echo.
#[derive(Clone)]
pub struct Prepared {
    /// The DER pkiMessage.
    pub der: Vec<u8>,
    /// Its transactionID.
    pub transaction_id: TransactionId,
    /// Its senderNonce (the CertRep's recipientNonce, S-24).
    pub sender_nonce: Nonce,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("transaction_id", &self.transaction_id)
            .field("len", &self.der.len())
            .finish()
    }
}

/// The smallest prime pool (at least 2) whose pairs give `count` distinct moduli.
#[must_use]
pub fn primes_needed(count: usize) -> usize {
    let mut p: usize = 2;
    while p.saturating_mul(p - 1) / 2 < count {
        p += 1;
    }
    p
}

/// Builds `params.count` PKCSReq messages encrypted to `recipient`, in parallel. Key material
/// comes from `params.seed`; transactionIDs, nonces and envelope keys from the OS.
pub fn build_messages(
    params: &BuildParams,
    recipient: &Certificate,
) -> Result<Vec<Prepared>, LoadError> {
    let bits = params.key_bits;
    if bits < 1024 || !bits.is_multiple_of(2) {
        return Err(LoadError::KeyGeneration { bits });
    }
    let primes = prime_pool(params)?;
    let pairs = pairs(primes.len(), params.count);
    let threads = params.threads.clamp(1, params.count.max(1));
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, Prepared)>> = Mutex::new(Vec::with_capacity(params.count));
    let first_error: Mutex<Option<LoadError>> = Mutex::new(None);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut rng = match StdRng::try_from_rng(&mut rand::rngs::SysRng) {
                    Ok(r) => r,
                    Err(_) => {
                        record(&first_error, LoadError::Entropy);
                        return;
                    }
                };
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(a, b)) = pairs.get(i) else { break };
                    if has_error(&first_error) {
                        return;
                    }
                    let (Some(p), Some(q)) = (primes.get(a), primes.get(b)) else {
                        break;
                    };
                    match build_one(params, i, p, q, recipient, &mut rng) {
                        Ok(m) => local.push((i, m)),
                        Err(e) => {
                            record(&first_error, e);
                            return;
                        }
                    }
                }
                if let Ok(mut all) = out.lock() {
                    all.append(&mut local);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().map_err(|_| LoadError::Thread)? {
        return Err(e);
    }
    let mut all = out.into_inner().map_err(|_| LoadError::Thread)?;
    if all.len() != params.count {
        return Err(LoadError::Thread);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, m)| m).collect())
}

fn record(slot: &Mutex<Option<LoadError>>, e: LoadError) {
    if let Ok(mut s) = slot.lock() {
        s.get_or_insert(e);
    }
}

fn has_error(slot: &Mutex<Option<LoadError>>) -> bool {
    slot.lock().map_or(true, |s| s.is_some())
}

/// The first `count` index pairs (a < b) in the order (0,1), (0,2), (1,2), (0,3), …
fn pairs(pool: usize, count: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::with_capacity(count);
    'outer: for b in 1..pool {
        for a in 0..b {
            if v.len() == count {
                break 'outer;
            }
            v.push((a, b));
        }
    }
    v
}

/// `primes_needed(count)` primes of `key_bits / 2` bits with the two top bits set, so any two
/// multiply to exactly `key_bits` bits. Key `j` is generated from a seed derived from
/// `(seed, j)`, and the pool takes qualifying primes in key order, so the pool depends only
/// on the seed and the size, not on thread timing.
fn prime_pool(params: &BuildParams) -> Result<Vec<BoxedUint>, LoadError> {
    let bits = params.key_bits;
    let need = primes_needed(params.count);
    let half = u32::try_from(bits / 2).map_err(|_| LoadError::KeyGeneration { bits })?;
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(0);
    let keys: Mutex<Vec<(usize, Vec<BoxedUint>)>> = Mutex::new(Vec::new());
    let failed = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..params.threads.clamp(1, need) {
            s.spawn(|| {
                while found.load(Ordering::Relaxed) < need && failed.load(Ordering::Relaxed) == 0 {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let seed = params
                        .seed
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .wrapping_add(j as u64);
                    let mut rng = StdRng::seed_from_u64(seed);
                    let Ok(key) = RsaPrivateKey::new(&mut rng, bits) else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    let good: Vec<BoxedUint> = key
                        .primes()
                        .iter()
                        .map(|p| p.as_ref().clone())
                        .filter(|p| {
                            p.bit_width_vartime() == half && p.bit_vartime(half.saturating_sub(2))
                        })
                        .collect();
                    found.fetch_add(good.len(), Ordering::Relaxed);
                    if let Ok(mut k) = keys.lock() {
                        k.push((j, good));
                    }
                }
            });
        }
    });
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(LoadError::KeyGeneration { bits });
    }
    let mut keys = keys.into_inner().map_err(|_| LoadError::Thread)?;
    keys.sort_unstable_by_key(|(j, _)| *j);
    let pool: Vec<BoxedUint> = keys
        .into_iter()
        .flat_map(|(_, primes)| primes)
        .take(need)
        .collect();
    if pool.len() < need {
        return Err(LoadError::KeyGeneration { bits });
    }
    Ok(pool)
}

/// Request `index`: the key p·q, a CSR, a self-signed signer certificate (S-22) and the
/// PKCSReq pkiMessage encrypted to `recipient`.
fn build_one(
    params: &BuildParams,
    index: usize,
    p: &BoxedUint,
    q: &BoxedUint,
    recipient: &Certificate,
    rng: &mut StdRng,
) -> Result<Prepared, LoadError> {
    let bits = params.key_bits;
    let key = RsaPrivateKey::from_p_q(p.clone(), q.clone(), BoxedUint::from(PUBLIC_EXPONENT))
        .ok()
        .and_then(|k| k.to_pkcs8_der().ok())
        .and_then(|der| PrivateKey::from_pkcs8_der(der.as_bytes()).ok())
        .ok_or(LoadError::KeyGeneration { bits })?;
    let subject_text = format!("CN={}-{index},O=scep-load", params.subject_prefix);
    let subject = Name::from_str(&subject_text).map_err(|_| LoadError::Subject {
        subject: subject_text.clone(),
    })?;
    let csr = build_csr(&subject, &key, params, rng)
        .map_err(|()| LoadError::Csr { index })
        .and_then(|der| Csr::from_der(&der).map_err(|source| LoadError::Build { index, source }))?;
    let serial = {
        let n = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        bytes.get(skip..).unwrap_or(&[1]).to_vec()
    };
    let mut signer_params = SelfSigned::new(subject, serial, params.validity.0, params.validity.1);
    signer_params.digest = params.digest;
    let cert = signer_params
        .build(&key, rng)
        .map_err(|source| LoadError::Build { index, source })?;
    let transaction_id = TransactionId::random(rng);
    let sender_nonce = Nonce::random(rng);
    let mut builder = RequestBuilder::new(transaction_id.clone(), sender_nonce);
    builder.digest = params.digest;
    builder.cipher = params.cipher;
    let der = builder
        .build(
            &RequestBody::PkcsReq(csr),
            Signer {
                cert: &cert,
                key: &key,
            },
            recipient,
            rng,
        )
        .map_err(|source| LoadError::Build { index, source })?;
    Ok(Prepared {
        der,
        transaction_id,
        sender_nonce,
    })
}

/// DER of a PKCS #10 request for `subject` over `key` (K-5): the challengePassword if set, an
/// extensionRequest with keyUsage digitalSignature + keyEncipherment, signed with the
/// configured digest.
fn build_csr(
    subject: &Name,
    key: &PrivateKey,
    params: &BuildParams,
    rng: &mut StdRng,
) -> Result<Vec<u8>, ()> {
    let public_key = key.public_key_info().map_err(|_| ())?;
    let mut attributes = SetOfVec::new();
    if let Some(pw) = &params.challenge {
        let value = Any::encode_from(&Utf8StringRef::new(pw).map_err(|_| ())?).map_err(|_| ())?;
        attributes
            .insert(Attribute {
                oid: scep_proto::oids::CHALLENGE_PASSWORD,
                values: SetOfVec::try_from(vec![value]).map_err(|_| ())?,
            })
            .map_err(|_| ())?;
    }
    let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
    let extension = Extension {
        extn_id: <KeyUsage as der::oid::AssociatedOid>::OID,
        critical: true,
        extn_value: OctetString::new(usage.to_der().map_err(|_| ())?).map_err(|_| ())?,
    };
    attributes
        .insert(Attribute::try_from(ExtensionReq(vec![extension])).map_err(|_| ())?)
        .map_err(|_| ())?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.clone(),
        public_key,
        attributes,
    };
    let tbs = info.to_der().map_err(|_| ())?;
    let signature = key.sign(params.digest, &tbs, rng).map_err(|_| ())?;
    CertReq {
        info,
        algorithm: params.digest.rsa_signature_algorithm(),
        signature: BitString::from_bytes(&signature).map_err(|_| ())?,
    }
    .to_der()
    .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{pairs, primes_needed};

    #[test]
    fn prime_pool_size_covers_the_count() {
        assert_eq!(primes_needed(0), 2);
        assert_eq!(primes_needed(1), 2);
        assert_eq!(primes_needed(3), 3);
        assert_eq!(primes_needed(4), 4);
        assert_eq!(primes_needed(10_000), 142);
        for n in [1, 2, 7, 100, 999] {
            let p = primes_needed(n);
            let v = pairs(p, n);
            assert_eq!(v.len(), n);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), n, "pairs repeat");
            assert!(v.iter().all(|&(a, b)| a < b && b < p));
        }
    }
}
