//! Client side of the HTTP mapping (S-1, S-3, S-5) and its round trip through the server side.

use proptest::prelude::*;
use scep_proto::{
    Capabilities, Capability, CapsProfile, ClientRequest, ContentType, HttpError, HttpLimits,
    Method, ScepRequest, encode_get_message,
};

const MSG: &[u8] = &[0xfb, 0xff, 0xbf, 0x30, 0x82, 0x01, 0x0a, 0x02];

/// S-1: exact operation-name case, path kept as given.
#[test]
fn s01_client_targets_exact_case() {
    let table = [
        (
            ClientRequest::get_ca_cert("/cgi-bin/pkiclient.exe", None),
            "/cgi-bin/pkiclient.exe?operation=GetCACert",
        ),
        (
            ClientRequest::get_ca_caps("/scep", None),
            "/scep?operation=GetCACaps",
        ),
        (
            ClientRequest::get_next_ca_cert("/scep", Some("Test-Router")),
            "/scep?operation=GetNextCACert&message=Test-Router",
        ),
        (
            ClientRequest::get_crl("/scep", Some("")),
            "/scep?operation=GetCRL",
        ),
        (
            ClientRequest::get_ca_cert("", Some("My CA/1+2")),
            "/?operation=GetCACert&message=My%20CA%2F1%2B2",
        ),
        (
            ClientRequest::get_ca_caps("/scep?tenant=a", None),
            "/scep?tenant=a&operation=GetCACaps",
        ),
    ];
    for (request, target) in table {
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.target, target);
        assert_eq!(request.content_type, None);
        assert!(request.body.is_empty());
    }
}

/// S-3, S-5: base64 in a GET has `+`, `/` and `=` escaped.
#[test]
fn s03_client_get_escapes_base64() {
    assert_eq!(encode_get_message(MSG), "%2B%2F%2B%2FMIIBCgI%3D");
    let request = ClientRequest::pki_operation_via("/scep", Method::Get, MSG);
    assert_eq!(
        request.target,
        "/scep?operation=PKIOperation&message=%2B%2F%2B%2FMIIBCgI%3D"
    );
    assert!(request.body.is_empty());
    assert_eq!(request.content_type, None);
}

/// S-5: POST iff POSTPKIOperation or SCEPStandard; POST carries the raw body.
#[test]
fn s05_client_method_from_caps() {
    let post_caps = [
        Capabilities::EMPTY.with(Capability::PostPkiOperation),
        Capabilities::EMPTY.with(Capability::ScepStandard),
        CapsProfile::Full.capabilities(),
    ];
    for caps in post_caps {
        let request = ClientRequest::pki_operation("/scep", caps, MSG);
        assert_eq!(request.method, Method::Post, "{caps:?}");
        assert_eq!(request.target, "/scep?operation=PKIOperation");
        assert_eq!(request.content_type, Some("application/x-pki-message"));
        assert_eq!(request.body, MSG);
    }
    let get_caps = [
        Capabilities::EMPTY,
        CapsProfile::IosLike.capabilities(),
        Capabilities::EMPTY.with(Capability::Aes),
    ];
    for caps in get_caps {
        let request = ClientRequest::pki_operation("/scep", caps, MSG);
        assert_eq!(request.method, Method::Get, "{caps:?}");
        assert!(
            request
                .target
                .starts_with("/scep?operation=PKIOperation&message=")
        );
    }
}

#[test]
fn s07_content_type_header_reading() {
    assert_eq!(
        ContentType::from_header("application/x-pki-message"),
        Some(ContentType::PkiMessage)
    );
    assert_eq!(
        ContentType::from_header(" Text/Plain; charset=utf-8"),
        Some(ContentType::TextPlain)
    );
    assert_eq!(
        ContentType::from_header("application/X-X509-CA-RA-CERT"),
        Some(ContentType::CaRaCert)
    );
    assert_eq!(ContentType::from_header("application/octet-stream"), None);
    assert_eq!(ContentType::from_header(""), None);
}

fn parse(request: &ClientRequest) -> Result<ScepRequest, HttpError> {
    ScepRequest::parse_with_limits(
        request.method.as_str(),
        &request.target,
        &request.body,
        &HttpLimits::UNLIMITED,
    )
}

#[test]
fn s05_every_request_kind_round_trips() {
    let requests = [
        ScepRequest::GetCaCert { ca_ident: None },
        ScepRequest::GetCaCaps {
            ca_ident: Some("0".into()),
        },
        ScepRequest::GetNextCaCert {
            ca_ident: Some("CA name & co=1+1 é".into()),
        },
        ScepRequest::GetCrl { ca_ident: None },
        ScepRequest::PkiOperation {
            message: MSG.to_vec(),
            via: Method::Get,
        },
        ScepRequest::PkiOperation {
            message: MSG.to_vec(),
            via: Method::Post,
        },
    ];
    for request in requests {
        let client = ClientRequest::from_scep_request("/scep", &request);
        assert_eq!(parse(&client), Ok(request));
    }
}

proptest! {
    /// S-3/S-5: whatever the bytes, a client-encoded GET decodes back to them on the server.
    #[test]
    fn s03_client_get_round_trips(message in prop::collection::vec(any::<u8>(), 1..600)) {
        let request = ClientRequest::pki_operation_via("/cgi-bin/pkiclient.exe", Method::Get, &message);
        prop_assert!(!request.target.contains('+'));
        prop_assert!(!request.target[request.target.find("message=").unwrap()..].contains('/'));
        prop_assert_eq!(
            parse(&request),
            Ok(ScepRequest::PkiOperation { message, via: Method::Get })
        );
    }

    /// S-4/S-5: and so does a POST.
    #[test]
    fn s04_client_post_round_trips(message in prop::collection::vec(any::<u8>(), 1..600)) {
        let request = ClientRequest::pki_operation_via("/scep", Method::Post, &message);
        prop_assert_eq!(
            parse(&request),
            Ok(ScepRequest::PkiOperation { message, via: Method::Post })
        );
    }

    /// S-2: free-text CA names survive the trip.
    #[test]
    fn s02_ca_ident_round_trips(ident in "\\PC{1,40}") {
        let request = ScepRequest::GetCaCert { ca_ident: Some(ident) };
        let client = ClientRequest::from_scep_request("/p", &request);
        prop_assert_eq!(parse(&client), Ok(request));
    }
}
