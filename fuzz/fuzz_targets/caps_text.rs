//! GetCACaps text (SPEC S-16): parsing any bytes never panics, and parse -> render -> parse
//! is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scep_proto::Capabilities;

fuzz_target!(|data: &[u8]| {
    let caps = Capabilities::parse(data);
    let text = caps.to_text();
    let again = Capabilities::parse(text.as_bytes());
    assert_eq!(again, caps);
    assert_eq!(again.to_text(), text);
    assert_eq!(caps.with_implications(), caps);
    // The derived client choices are total (S-5, S-37, S-38).
    let _ = (
        caps.pki_operation_method(),
        caps.content_cipher(),
        caps.digest(),
    );
    assert_eq!(Capabilities::from_http_response(200, data), caps);
});
