//! Outer pkiMessage layer: parse, then verify (S-17 … S-19). Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scep_proto::{PkiMessage, Profile, SignedMessage};

fuzz_target!(|data: &[u8]| {
    for profile in [Profile::STRICT, Profile::LEGACY] {
        if let Ok(signed) = SignedMessage::from_der(data, &profile) {
            let _ = signed.verify(None);
        }
        if let Ok(msg) = PkiMessage::from_der(data, &profile) {
            // Typed attributes are consistent with the parse.
            let tid = msg.transaction_id().clone();
            assert!(!tid.as_str().is_empty() && tid.as_str().chars().count() <= 128);
            if let Ok(verified) = msg.verify(None) {
                assert_eq!(verified.attributes().transaction_id, tid);
                let _ = verified.envelope();
            }
        }
    }
});
