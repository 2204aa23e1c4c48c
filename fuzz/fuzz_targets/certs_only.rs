//! Certs-only degenerate SignedData (S-30) and the GetCACert body: parse, and a parsed value
//! re-encodes to DER that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scep_proto::{CaCerts, CertsOnly};

fuzz_target!(|data: &[u8]| {
    if let Ok(bag) = CertsOnly::from_der(data) {
        let der = bag.to_der().expect("a parsed certs-only re-encodes");
        let again = CertsOnly::from_der(&der).expect("our DER parses");
        assert_eq!(again.certificates.len(), bag.certificates.len());
        assert_eq!(again.crls.len(), bag.crls.len());
        assert_eq!(again.to_der().expect("re-encodes"), der, "DER is a fixed point");
    }
    for ct in [CaCerts::CONTENT_TYPE_CA, CaCerts::CONTENT_TYPE_CA_RA] {
        if let Ok(body) = CaCerts::from_der(ct, data) {
            let _ = body.to_der();
        }
    }
});
