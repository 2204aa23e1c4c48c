//! Recorded real-peer requests (tests/data/NOTES.md) through the server-side HTTP mapping.

use scep_proto::{Capabilities, Method, Operation, ScepRequest};

/// One recorded request: the `.req.txt` text and, for PKIOperation, the pkiMessage as sent.
struct Recorded {
    name: &'static str,
    txt: &'static str,
    der: Option<&'static [u8]>,
}

macro_rules! rec {
    ($peer:literal, $stem:literal) => {
        Recorded {
            name: concat!($peer, "/", $stem),
            txt: include_str!(concat!("data/", $peer, "/", $stem, ".req.txt")),
            der: None,
        }
    };
    ($peer:literal, $stem:literal, der) => {
        Recorded {
            name: concat!($peer, "/", $stem),
            txt: include_str!(concat!("data/", $peer, "/", $stem, ".req.txt")),
            der: Some(include_bytes!(concat!(
                "data/", $peer, "/", $stem, ".req.der"
            ))),
        }
    };
}

/// What a `.req.txt` holds that the mapping needs.
struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
    content_type: Option<&'a str>,
    raw_query_length: usize,
}

fn request_line(txt: &str) -> Option<RequestLine<'_>> {
    let mut lines = txt.lines();
    let mut parts = lines.next()?.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    if parts.next() != Some("HTTP/1.1") {
        return None;
    }
    let mut content_type = None;
    let mut raw_query_length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(": ") {
            if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value);
            }
            if name == "raw-query-length" {
                raw_query_length = value.parse().ok();
            }
        }
    }
    Some(RequestLine {
        method,
        target,
        content_type,
        raw_query_length: raw_query_length?,
    })
}

const PKI_OPERATIONS: [Recorded; 7] = [
    rec!("certmonger", "008-PKIOperation-PKCSReq", der),
    rec!("certmonger", "010-PKIOperation-PKCSReq", der),
    rec!("certmonger", "012-PKIOperation-PKCSReq", der),
    rec!("micromdm-client", "003-PKIOperation-PKCSReq", der),
    rec!("pyscep", "005-PKIOperation-PKCSReq", der),
    rec!("sscep", "005-PKIOperation-PKCSReq", der),
    rec!("strongswan", "006-PKIOperation-PKCSReq", der),
];

const GET_CA_CAPS: [Recorded; 6] = [
    rec!("certmonger", "001-GetCACaps"),
    rec!("micromdm-client", "002-GetCACaps"),
    rec!("openssl", "001-GetCACaps"),
    rec!("pyscep", "001-GetCACaps"),
    rec!("sscep", "001-GetCACaps"),
    rec!("strongswan", "002-GetCACaps"),
];

/// S-3, S-4: every recorded PKIOperation yields exactly the bytes the client sent, whether it
/// came as certmonger's GET with percent-encoded base64 or as a POST body with whatever
/// Content-Type (or none) the client used.
#[test]
fn s03_s04_recorded_pki_operations_decode_byte_for_byte() {
    for rec in &PKI_OPERATIONS {
        let line = request_line(rec.txt).unwrap();
        let query = line.target.split_once('?').unwrap().1;
        assert_eq!(query.len(), line.raw_query_length, "{}", rec.name);
        let der = rec.der.unwrap();
        let body: &[u8] = if line.method == "POST" { der } else { &[] };
        let parsed = ScepRequest::parse(line.method, line.target, body)
            .unwrap_or_else(|e| panic!("{}: {e}", rec.name));
        let via = if line.method == "GET" {
            Method::Get
        } else {
            Method::Post
        };
        assert_eq!(
            parsed,
            ScepRequest::PkiOperation {
                message: der.to_vec(),
                via
            },
            "{}",
            rec.name
        );
        // Also as a bare query string, as some drivers hand it over.
        let again = ScepRequest::parse(line.method, query, body).unwrap();
        assert_eq!(again, parsed, "{}", rec.name);
    }
}

/// S-4: the recorded Content-Types are octet-stream (micromdm), x-pki-message (pyscep) and
/// none (sscep, strongSwan); certmonger uses GET (S-4) — all were accepted above.
#[test]
fn s04_recorded_content_types_are_varied() {
    let types: Vec<(&str, Option<&str>)> = PKI_OPERATIONS
        .iter()
        .map(|r| {
            let line = request_line(r.txt).unwrap();
            (line.method, line.content_type)
        })
        .collect();
    assert!(types.contains(&("POST", Some("application/octet-stream"))));
    assert!(types.contains(&("POST", Some("application/x-pki-message"))));
    assert!(types.contains(&("POST", None)));
    assert!(types.contains(&("GET", None)));
}

/// S-1, S-2: GetCACaps with `message=0` (certmonger), `message=` (openssl, pyscep) or no
/// `message` (micromdm, sscep, strongSwan) is the same request; the free text is kept, not
/// decoded as base64, never an error.
#[test]
fn s02_recorded_get_ca_caps_free_text_message() {
    for rec in &GET_CA_CAPS {
        let line = request_line(rec.txt).unwrap();
        assert_eq!(line.method, "GET");
        let parsed = ScepRequest::parse(line.method, line.target, &[]).unwrap();
        assert_eq!(parsed.operation(), Operation::GetCaCaps, "{}", rec.name);
        let expected = if rec.name.starts_with("certmonger") {
            Some("0".to_owned())
        } else {
            None
        };
        assert_eq!(
            parsed,
            ScepRequest::GetCaCaps { ca_ident: expected },
            "{}",
            rec.name
        );
    }
}

/// S-5: the recorded capability answer makes our client use POST, AES-128 and SHA-256.
#[test]
fn s05_recorded_caps_choose_post() {
    let caps = Capabilities::parse(include_bytes!("data/sscep/001-GetCACaps.resp.bin"));
    assert_eq!(caps.pki_operation_method(), Method::Post);
}
