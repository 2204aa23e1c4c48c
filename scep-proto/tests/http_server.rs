//! Server side of the HTTP mapping: request parsing (S-1 … S-6, S-36) and answers (S-7, S-8).

use scep_proto::{
    Capabilities, CapsProfile, ErrorStatus, HttpError, HttpLimits, Method, Operation, RequestPart,
    ScepRequest, ScepResponse, decode_get_message,
};

/// A pkiMessage-shaped byte string whose standard base64 contains `+`, `/` and padding.
const MSG: &[u8] = &[0xfb, 0xff, 0xbf, 0x30, 0x82, 0x01, 0x0a, 0x02];

#[test]
fn msg_has_the_interesting_base64_characters() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(MSG);
    assert_eq!(b64, "+/+/MIIBCgI=");
}

fn get_pki(query_message: &str) -> Result<ScepRequest, HttpError> {
    ScepRequest::parse(
        "GET",
        &format!("/scep?operation=PKIOperation&message={query_message}"),
        &[],
    )
}

fn pki_get(message: &[u8]) -> ScepRequest {
    ScepRequest::PkiOperation {
        message: message.to_vec(),
        via: Method::Get,
    }
}

/// S-3: every tolerated spelling of the same message decodes to the same bytes.
#[test]
fn s03_get_decoding_table() {
    let table: &[(&str, &str)] = &[
        ("standard, fully escaped", "%2B%2F%2B%2FMIIBCgI%3D"),
        ("standard, lower-case escapes", "%2b%2f%2b%2fMIIBCgI%3d"),
        ("unescaped plus and slash (macOS)", "+/+/MIIBCgI="),
        ("plus turned into space", " / /MIIBCgI="),
        ("plus sent as %20", "%20/%20/MIIBCgI%3D"),
        ("missing padding (Cisco)", "%2B%2F%2B%2FMIIBCgI"),
        (
            "%0A line breaks (IOS)",
            "%2B%2F%2B%2F%0AMIIB%0D%0ACgI%3D%0A",
        ),
        ("raw tab", "+/+/MIIB\tCgI="),
        ("URL-safe alphabet", "-_-_MIIBCgI"),
        ("URL-safe with padding", "-_-_MIIBCgI%3D"),
    ];
    for (what, raw) in table {
        assert_eq!(decode_get_message(raw).as_deref(), Ok(MSG), "{what}");
        assert_eq!(get_pki(raw), Ok(pki_get(MSG)), "{what}");
    }
}

#[test]
fn s03_get_unescaped_plus_and_slash() {
    assert_eq!(decode_get_message("+/+/MIIBCgI="), Ok(MSG.to_vec()));
}

#[test]
fn s03_get_spaces_for_plus() {
    assert_eq!(decode_get_message(" / /MIIBCgI="), Ok(MSG.to_vec()));
}

#[test]
fn s03_get_percent_0a_line_breaks() {
    // IOS wraps base64 at 64 characters with LF.
    use base64::Engine as _;
    let long: Vec<u8> = (0..=255u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&long);
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let raw = wrapped.join("%0A").replace('+', "%2B").replace('/', "%2F");
    assert_eq!(decode_get_message(&raw), Ok(long));
}

#[test]
fn s03_get_missing_padding() {
    assert_eq!(decode_get_message("QQ"), Ok(b"A".to_vec()));
    assert_eq!(decode_get_message("QUI"), Ok(b"AB".to_vec()));
    assert_eq!(decode_get_message("QQ%3D%3D"), Ok(b"A".to_vec()));
    // Partial padding is tolerated too.
    assert_eq!(decode_get_message("QQ%3D"), Ok(b"A".to_vec()));
}

#[test]
fn s03_get_url_safe_fallback_only_when_needed() {
    // Standard alphabet works: the URL-safe reading is never tried.
    assert_eq!(decode_get_message("MIIB"), Ok(vec![0x30, 0x82, 0x01]));
    // '-' and '_' trigger the fallback.
    assert_eq!(decode_get_message("-_-_"), Ok(vec![0xfb, 0xff, 0xbf]));
}

/// S-3: garbage is a typed error, never a panic.
#[test]
fn s03_get_garbage_is_typed_error() {
    let table: &[(&str, HttpError)] = &[
        ("", HttpError::MissingMessage),
        ("%0A%0D", HttpError::MissingMessage),
        ("%3D%3D", HttpError::MessageNotBase64),
        ("!!!!", HttpError::MessageNotBase64),
        ("MII*", HttpError::MessageNotBase64),
        ("%ZZ", HttpError::MessageNotBase64),
        ("%", HttpError::MessageNotBase64),
        ("Q", HttpError::MessageNotBase64),
        ("QQ===", HttpError::MessageNotBase64),
        ("+/-_", HttpError::MessageNotBase64),
        ("%C3%A9t%C3%A9", HttpError::MessageNotBase64),
        ("%00%FF", HttpError::MessageNotBase64),
    ];
    for (raw, err) in table {
        assert_eq!(decode_get_message(raw).as_ref(), Err(err), "{raw:?}");
        assert_eq!(get_pki(raw).as_ref(), Err(err), "{raw:?}");
    }
    // GET PKIOperation without any `message`.
    assert_eq!(
        ScepRequest::parse("GET", "/scep?operation=PKIOperation", &[]),
        Err(HttpError::MissingMessage)
    );
}

/// S-1: names match ASCII-case-insensitively; the path is opaque.
#[test]
fn s01_operation_case_insensitive() {
    for (name, op) in [
        ("GetCACert", Operation::GetCaCert),
        ("getcacert", Operation::GetCaCert),
        ("GETCACAPS", Operation::GetCaCaps),
        ("getNextCaCert", Operation::GetNextCaCert),
        ("pkioperation", Operation::PkiOperation),
        ("GetCrl", Operation::GetCrl),
        ("GetCACertificate", Operation::Unknown),
        ("", Operation::Unknown),
    ] {
        assert_eq!(Operation::from_name(name), op, "{name}");
    }
    let parsed = ScepRequest::parse("GET", "/x?operation=getcacaps", &[]).unwrap();
    assert_eq!(parsed, ScepRequest::GetCaCaps { ca_ident: None });
}

#[test]
fn s01_exact_names() {
    let names: Vec<_> = [
        Operation::GetCaCert,
        Operation::GetCaCaps,
        Operation::GetNextCaCert,
        Operation::PkiOperation,
        Operation::GetCrl,
        Operation::Unknown,
    ]
    .iter()
    .map(|o| o.name())
    .collect();
    assert_eq!(
        names,
        [
            Some("GetCACert"),
            Some("GetCACaps"),
            Some("GetNextCACert"),
            Some("PKIOperation"),
            Some("GetCRL"),
            None
        ]
    );
}

#[test]
fn s01_path_is_opaque() {
    let expected = ScepRequest::GetCaCert { ca_ident: None };
    for target in [
        "/cgi-bin/pkiclient.exe?operation=GetCACert",
        "/certsrv/mscep/mscep.dll/pkiclient.exe?operation=GetCACert",
        "/?operation=GetCACert",
        "/scep/some%20thing/?operation=GetCACert",
        "http://ca.example:8080/scep?operation=GetCACert",
        "operation=GetCACert",
        "/scep?foo=bar&operation=GetCACert&x",
        "/scep?OPERATION=GetCACert",
        "/scep?operation=GetCACert#frag",
        "/scep?operation=GetCACert&operation=PKIOperation",
        "/scep?operation=+GetCACert+",
        "HTTPS://ca.example/scep?operation=GetCACert",
    ] {
        assert_eq!(
            ScepRequest::parse("GET", target, &[]).as_ref(),
            Ok(&expected),
            "{target}"
        );
    }
}

/// A bare query string that happens to contain `://` is still a query, not a URL.
#[test]
fn s01_raw_query_with_url_in_message() {
    assert_eq!(
        ScepRequest::parse("GET", "operation=GetCACert&message=http://x", &[]),
        Ok(ScepRequest::GetCaCert {
            ca_ident: Some("http://x".into())
        })
    );
}

#[test]
fn s01_missing_and_unknown_operation() {
    for target in [
        "/scep",
        "/scep?",
        "/scep?operation=",
        "/scep?message=abc",
        "",
        "http://ca/scep",
        "/scep?operation",
    ] {
        assert_eq!(
            ScepRequest::parse("GET", target, &[]),
            Err(HttpError::MissingOperation),
            "{target}"
        );
    }
    assert_eq!(
        ScepRequest::parse("GET", "/scep?operation=GetCert", &[]),
        Err(HttpError::UnknownOperation)
    );
    assert_eq!(
        ScepRequest::parse("GET", "/scep?operation=PKIOperation%00", &[]),
        Err(HttpError::UnknownOperation)
    );
}

/// S-2: `message` outside PKIOperation is free text, never base64-decoded, never an error.
#[test]
fn s02_free_text_message_ignored() {
    let table: &[(&str, Option<&str>)] = &[
        ("Test-Router", Some("Test-Router")),
        ("0", Some("0")),
        ("1", Some("1")),
        ("", None),
        ("My+CA%20name", Some("My CA name")),
        ("!!!not*base64%%", Some("!!!not*base64%%")),
        ("%FF%FE", Some("\u{fffd}\u{fffd}")),
    ];
    for op in ["GetCACert", "GetCACaps", "GetNextCACert", "GetCRL"] {
        for (raw, ident) in table {
            let parsed =
                ScepRequest::parse("GET", &format!("/scep?operation={op}&message={raw}"), &[])
                    .unwrap_or_else(|e| panic!("{op} {raw}: {e}"));
            let ca_ident = ident.map(str::to_owned);
            let expected = match op {
                "GetCACert" => ScepRequest::GetCaCert { ca_ident },
                "GetCACaps" => ScepRequest::GetCaCaps { ca_ident },
                "GetNextCACert" => ScepRequest::GetNextCaCert { ca_ident },
                _ => ScepRequest::GetCrl { ca_ident },
            };
            assert_eq!(parsed, expected, "{op} {raw}");
        }
    }
}

/// S-36: plain GetCRL without message.
#[test]
fn s36_plain_get_crl() {
    assert_eq!(
        ScepRequest::parse("GET", "/scep?operation=GetCRL", &[]),
        Ok(ScepRequest::GetCrl { ca_ident: None })
    );
}

/// S-4: the POST body is the message; there is no Content-Type input to reject (the
/// recorded octet-stream / none / x-pki-message cases are in http_fixtures.rs).
#[test]
fn s04_post_body_is_raw_message() {
    let body = b"\x30\x80 not even DER \x00\x00";
    for target in [
        "/scep?operation=PKIOperation",
        "/scep?operation=PKIOperation&message=",
        "/scep?operation=pkioperation&message=ignored-because-body",
    ] {
        assert_eq!(
            ScepRequest::parse("POST", target, body),
            Ok(ScepRequest::PkiOperation {
                message: body.to_vec(),
                via: Method::Post
            }),
            "{target}"
        );
    }
}

#[test]
fn s04_post_empty_body() {
    assert_eq!(
        ScepRequest::parse("POST", "/scep?operation=PKIOperation", &[]),
        Err(HttpError::MissingMessage)
    );
    // Tolerance: the message in the query instead of the body.
    assert_eq!(
        ScepRequest::parse(
            "POST",
            "/scep?operation=PKIOperation&message=%2B%2F%2B%2FMIIBCgI%3D",
            &[]
        ),
        Ok(ScepRequest::PkiOperation {
            message: MSG.to_vec(),
            via: Method::Post
        })
    );
}

/// S-8: methods other than GET and POST are 405.
#[test]
fn s08_wrong_method_is_405() {
    for method in ["PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "", "GET "] {
        let err = ScepRequest::parse(method, "/scep?operation=GetCACaps", &[]).unwrap_err();
        assert_eq!(err, HttpError::MethodNotAllowed, "{method:?}");
        let http = ScepResponse::from(err).to_http();
        assert_eq!(http.status, 405);
        assert_eq!(http.allow, Some("GET, POST"));
    }
    // Method tokens are matched leniently.
    assert!(ScepRequest::parse("get", "/scep?operation=GetCACaps", &[]).is_ok());
    // POST of a non-PKIOperation is served like the GET (body ignored).
    assert_eq!(
        ScepRequest::parse("POST", "/scep?operation=GetCACaps", b"xyz"),
        Ok(ScepRequest::GetCaCaps { ca_ident: None })
    );
}

/// S-6: targets of at least 64 KiB are accepted, POST bodies up to 256 KiB; beyond: 413.
#[test]
fn s06_size_limits() {
    use base64::Engine as _;
    // A 64 KiB+ target carrying a large GET message.
    let message = vec![0x5a; 60 * 1024];
    let b64 = base64::engine::general_purpose::STANDARD.encode(&message);
    let target = format!("/scep?operation=PKIOperation&message={b64}");
    assert!(target.len() > 64 * 1024);
    assert_eq!(
        ScepRequest::parse("GET", &target, &[]),
        Ok(pki_get(&message))
    );

    // Exactly 256 KiB body: accepted.
    let body = vec![0u8; 256 * 1024];
    assert!(ScepRequest::parse("POST", "/?operation=PKIOperation", &body).is_ok());
    // One more byte: 413.
    let body = vec![0u8; 256 * 1024 + 1];
    let err = ScepRequest::parse("POST", "/?operation=PKIOperation", &body).unwrap_err();
    assert_eq!(
        err,
        HttpError::TooLarge {
            part: RequestPart::Body,
            len: 256 * 1024 + 1,
            limit: 256 * 1024
        }
    );
    assert_eq!(err.status(), ErrorStatus::PayloadTooLarge);
    assert_eq!(ScepResponse::from(err).to_http().status, 413);

    // Target over the limit.
    let target = format!("/?operation=GetCACaps&message={}", "a".repeat(512 * 1024));
    assert!(matches!(
        ScepRequest::parse("GET", &target, &[]),
        Err(HttpError::TooLarge {
            part: RequestPart::Target,
            ..
        })
    ));

    // Decoded GET message over the message limit.
    let mut limits = HttpLimits::DEFAULT;
    limits.max_message_len = 10;
    let target = format!(
        "/?operation=PKIOperation&message={}",
        base64::engine::general_purpose::STANDARD.encode([1u8; 11])
    );
    assert_eq!(
        ScepRequest::parse_with_limits("GET", &target, &[], &limits),
        Err(HttpError::TooLarge {
            part: RequestPart::Message,
            len: 11,
            limit: 10
        })
    );
    assert!(ScepRequest::parse_with_limits("GET", &target, &[], &HttpLimits::UNLIMITED).is_ok());
}

/// S-7: exact content types and 200 for every SCEP answer.
#[test]
fn s07_content_types() {
    let der = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    let table: Vec<(ScepResponse, &str)> = vec![
        (
            ScepResponse::CaCert(der.clone()),
            "application/x-x509-ca-cert",
        ),
        (
            ScepResponse::CaRaCerts(der.clone()),
            "application/x-x509-ca-ra-cert",
        ),
        (
            ScepResponse::NextCaCert(der.clone()),
            "application/x-x509-next-ca-cert",
        ),
        (
            ScepResponse::CertRep(der.clone()),
            "application/x-pki-message",
        ),
        (ScepResponse::Crl(der.clone()), "application/pkix-crl"),
    ];
    for (response, content_type) in table {
        let http = response.to_http();
        assert_eq!(http.status, 200, "{response:?}");
        assert_eq!(http.content_type, content_type);
        assert_eq!(http.body, der);
        assert_eq!(http.allow, None);
    }
    let http = ScepResponse::Caps(CapsProfile::IosLike.capabilities()).to_http();
    assert_eq!(http.status, 200);
    assert_eq!(http.content_type, "text/plain");
    assert_eq!(http.body, b"GetNextCACert\nRenewal\nSHA-1\nSHA-256\n");
    let http = ScepResponse::Caps(Capabilities::EMPTY).into_http();
    assert_eq!((http.status, http.body.len()), (200, 0));
}

/// S-8: error statuses, all text/plain with a short body; one mapping from HttpError.
#[test]
fn s08_status_per_error() {
    let table = [
        (ErrorStatus::BadRequest, 400),
        (ErrorStatus::NotFound, 404),
        (ErrorStatus::MethodNotAllowed, 405),
        (ErrorStatus::PayloadTooLarge, 413),
        (ErrorStatus::ServiceUnavailable, 503),
    ];
    for (status, code) in table {
        let http = ScepResponse::Error(status).to_http();
        assert_eq!(http.status, code);
        assert_eq!(http.content_type, "text/plain");
        assert!(!http.body.is_empty() && http.body.len() < 64);
        assert!(http.body.ends_with(b"\n"));
        assert_eq!(status.code(), code);
    }
    let errors = [
        (HttpError::MethodNotAllowed, 405),
        (HttpError::MissingOperation, 400),
        (HttpError::UnknownOperation, 400),
        (HttpError::MissingMessage, 400),
        (HttpError::MessageNotBase64, 400),
        (
            HttpError::TooLarge {
                part: RequestPart::Target,
                len: 2,
                limit: 1,
            },
            413,
        ),
    ];
    for (err, code) in errors {
        assert_eq!(err.status().code(), code, "{err}");
        assert_eq!(ScepResponse::from(err).to_http().status, code);
    }
}

#[test]
fn s01_names_display() {
    assert_eq!(Operation::PkiOperation.to_string(), "PKIOperation");
    assert_eq!(Operation::Unknown.name(), None);
    assert_eq!(Method::from_token("POST"), Some(Method::Post));
    assert_eq!(Method::from_token("Post"), Some(Method::Post));
    assert_eq!(Method::from_token("HEAD"), None);
    assert_eq!(Method::Get.to_string(), "GET");
    let err = HttpError::TooLarge {
        part: RequestPart::Body,
        len: 300_000,
        limit: 262_144,
    };
    assert_eq!(
        err.to_string(),
        "request body too large: 300000 bytes, limit 262144"
    );
}

/// S-7: every content type string reads back from a header.
#[test]
fn s07_content_type_strings_read_back() {
    use scep_proto::ContentType;
    for ct in [
        ContentType::CaCert,
        ContentType::CaRaCert,
        ContentType::NextCaCert,
        ContentType::PkiMessage,
        ContentType::TextPlain,
        ContentType::PkixCrl,
    ] {
        assert_eq!(ContentType::from_header(ct.as_str()), Some(ct));
        assert_eq!(ct.to_string(), ct.as_str());
    }
}
