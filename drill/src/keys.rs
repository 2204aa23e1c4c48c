//! The fleet's keys: a pool generated once from the scenario's seed.
//!
//! A thousand clients renewing with `regenerate` would spend the whole run in RSA key
//! generation; the drill is about timers, so clients share a few pre-generated keys through
//! client-core's [`KeySource`] hook. The CA does not care while requests are granted at once:
//! each still carries its own CSR, signature and transaction. Under manual grant it does: C-14
//! lets one self-signed signer key hold only a few unissued requests, so clients sharing a key
//! would look like one requester flooding the table; there every client gets a key of its own
//! ([`pool_size`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use client_core::KeySource;
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::PrivateKey;

use crate::DrillError;
use crate::scenario::{Grant, Scenario};

/// How many keys the run's pool holds: `--key-pool`, and under manual grant at least one per
/// client, so that each client's enrolment key (its first) is its own. Pending requests wait
/// in the CA's table, where C-14 counts the unissued ones per signer key; clients sharing a
/// key would be refused as one requester over the quota, a cost of the pool, not of the
/// deployment.
#[must_use]
pub(crate) fn pool_size(s: &Scenario) -> usize {
    match s.grant {
        Grant::Auto => s.key_pool,
        Grant::Manual { .. } => s.key_pool.max(s.clients()),
    }
}

/// Pre-generated RSA keys, shared by the fleet.
pub(crate) struct KeyPool {
    bits: u32,
    keys: Vec<PrivateKey>,
}

impl KeyPool {
    /// `count` keys of `bits` bits; key `k` comes from a generator seeded with `seed` and `k`,
    /// so the pool is the same whatever the number of threads making it (two, one per core).
    /// (With the `aws-lc` backend, 2048-bit and larger keys come from aws-lc's own generator
    /// and are not reproducible; the default 1024-bit keys always are.)
    pub(crate) fn generate(count: usize, bits: u32, seed: u64) -> Result<Self, DrillError> {
        let make = |k: usize| {
            // A stream of its own per key, apart from the drill's main generator (which makes
            // the CA key from `seed` alone).
            let mut material = [0u8; 32];
            material[..8].copy_from_slice(&seed.to_le_bytes());
            material[8..16].copy_from_slice(&(k as u64).to_le_bytes());
            material[16..24].copy_from_slice(b"key pool");
            let mut rng = StdRng::from_seed(material);
            PrivateKey::generate(bits, &mut rng).map_err(|_| DrillError::KeyGeneration)
        };
        let half = count / 2;
        let (first, second) = std::thread::scope(|scope| {
            let other = scope.spawn(|| (half..count).map(make).collect::<Result<Vec<_>, _>>());
            let mine = (0..half).map(make).collect::<Result<Vec<_>, _>>();
            (mine, other.join())
        });
        let mut keys = first?;
        keys.extend(second.map_err(|_| DrillError::KeyGeneration)??);
        Ok(Self { bits, keys })
    }
}

/// One client's view of the pool: its `n`-th new key is key `client + n` (round-robin from
/// its own index), so which key a client gets never depends on what other clients did.
pub(crate) struct ClientKeys {
    pool: Arc<KeyPool>,
    client: usize,
    taken: AtomicUsize,
}

impl ClientKeys {
    pub(crate) fn new(pool: Arc<KeyPool>, client: usize) -> Self {
        Self {
            pool,
            client,
            taken: AtomicUsize::new(0),
        }
    }
}

impl KeySource for ClientKeys {
    fn next_key(&self, bits: u32) -> Option<PrivateKey> {
        let pool = &self.pool;
        if bits != pool.bits || pool.keys.is_empty() {
            return None;
        }
        let n = self.taken.fetch_add(1, Ordering::Relaxed);
        pool.keys
            .get(self.client.wrapping_add(n) % pool.keys.len())
            .cloned()
    }
}
