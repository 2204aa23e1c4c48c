//! CertRep reading: parse, verify, and read the status without a key. Must never panic; a
//! parsed FAILURE/PENDING reply has the attributes S-12 requires.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use scep_proto::{CertRepStatus, PkiMessage, Profile};

fuzz_target!(|data: &[u8]| {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let Ok(msg) = PkiMessage::from_der(data, &Profile::LEGACY) else {
        return;
    };
    let Ok(verified) = msg.verify(None) else {
        return;
    };
    if let Ok(rep) = verified.open_cert_rep(None, &mut rng) {
        match rep.status {
            CertRepStatus::Failure { .. } => {
                assert!(verified.attributes().fail_info.is_some());
            }
            CertRepStatus::Pending => assert!(verified.attributes().fail_info.is_none()),
            CertRepStatus::Success(_) => unreachable!("SUCCESS needs a key"),
            _ => {}
        }
    }
});
