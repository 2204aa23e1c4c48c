//! BER normaliser (SPEC S-40): arbitrary bytes in; every success must be a fixed point
//! (normalising the output again returns it unchanged), and the OCTET STRING flattener must
//! not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scep_proto::{Limits, flatten_constructed_string, normalize_ber};
use std::borrow::Cow;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(once) = normalize_ber(data, &limits) {
        // The output may exceed the input by a byte per huge indefinite element: allow it.
        let mut again = limits;
        again.max_input_len = again.max_input_len.max(once.len());
        match normalize_ber(&once, &again) {
            Ok(Cow::Borrowed(twice)) => assert_eq!(twice, &once[..], "not idempotent"),
            Ok(Cow::Owned(_)) => panic!("normalised output was rewritten again"),
            Err(error) => panic!("normalised output rejected: {error}"),
        }
        if matches!(once, Cow::Borrowed(_)) {
            assert_eq!(&once[..], data, "borrowed output differs from the input");
        }
    }
    if let Ok(flat) = flatten_constructed_string(data, &limits) {
        assert!(flat.len() <= data.len(), "flattened data longer than its element");
    }
});
