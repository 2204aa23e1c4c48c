//! HTTP request parsing (SPEC S-1 … S-6) must never panic, and whatever it accepts must come
//! back unchanged through the client builder (S-3, S-5).
//!
//! Input layout (also used by make-corpus.sh): byte 0 picks the method, then the request-target
//! up to the first NUL byte (lossily made UTF-8), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scep_proto::{
    ClientRequest, HttpLimits, Method, ScepRequest, ScepResponse, decode_get_message,
    encode_get_message,
};

/// Method selected by the first input byte (mod 4).
const METHODS: [&str; 4] = ["GET", "POST", "get", "PUT"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(selector % 4)];
    let (target, body) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (rest, &[][..]),
    };
    let target = String::from_utf8_lossy(target);

    match ScepRequest::parse(method, &target, body) {
        Ok(request) => {
            // Whatever was accepted, our client re-encodes it into a request that parses
            // back to the same value (GET message bytes included).
            let client = ClientRequest::from_scep_request("/fuzz", &request);
            let again = ScepRequest::parse_with_limits(
                client.method.as_str(),
                &client.target,
                &client.body,
                &HttpLimits::UNLIMITED,
            );
            assert_eq!(again.as_ref(), Ok(&request));
            if let ScepRequest::PkiOperation { message, .. } = &request {
                let get = ClientRequest::pki_operation_via("/", Method::Get, message);
                let parsed =
                    ScepRequest::parse_with_limits("GET", &get.target, &[], &HttpLimits::UNLIMITED);
                assert_eq!(
                    parsed,
                    Ok(ScepRequest::PkiOperation {
                        message: message.clone(),
                        via: Method::Get
                    })
                );
            }
        }
        Err(err) => {
            let status = ScepResponse::from(err).to_http().status;
            assert!(matches!(status, 400 | 405 | 413));
        }
    }

    // The S-3 decoder on its own: total, and the encoder inverts it.
    if let Ok(message) = decode_get_message(&target) {
        assert_eq!(
            decode_get_message(&encode_get_message(&message)),
            Ok(message)
        );
    }
});
