//! GetCACaps text (S-9, S-15, S-16) and the client choices derived from it (S-5, S-37, S-38).

use proptest::prelude::*;
use scep_proto::{Capabilities, Capability, CapsProfile, ContentCipher, DigestAlg, Method};

fn set(caps: &[Capability]) -> Capabilities {
    caps.iter().copied().collect()
}

#[test]
fn s15_keywords_exact_spelling() {
    let words: Vec<&str> = Capability::ALL.iter().map(|c| c.keyword()).collect();
    assert_eq!(
        words,
        [
            "AES",
            "DES3",
            "GetNextCACert",
            "POSTPKIOperation",
            "Renewal",
            "SHA-1",
            "SHA-256",
            "SHA-384",
            "SHA-512",
            "SCEPStandard"
        ]
    );
    for cap in Capability::ALL {
        assert_eq!(cap.to_string(), cap.keyword());
        assert_eq!(
            Capability::from_keyword(cap.keyword().as_bytes()),
            Some(cap)
        );
    }
}

/// S-16: CRLF, LF, mixed case, blank lines, surrounding blanks and unknown words.
#[test]
fn s16_tolerant_parsing_table() {
    use Capability::*;
    let table: &[(&[u8], &[Capability])] = &[
        (b"", &[]),
        (b"\n\n\r\n", &[]),
        (b"AES\nDES3\n", &[Aes, Des3]),
        (b"AES\r\nDES3\r\n", &[Aes, Des3]),
        (b"AES\r\nDES3", &[Aes, Des3]),
        (
            b"aes\nDes3\nsha-256\ngetnextcacert",
            &[Aes, Des3, Sha256, GetNextCaCert],
        ),
        (b"  Renewal \t\r\n\tSHA-1\r\n", &[Renewal, Sha1]),
        (b"\n\nSHA-512\n\n", &[Sha512]),
        (b"Foo\nAES\nSHA-3\nGetCRL\n", &[Aes]),
        // A word is a whole line: no splitting on commas or spaces.
        (b"AES, DES3\nAES DES3\n", &[]),
        // Not UTF-8 on one line does not spoil the others.
        (b"\xff\xfe\nDES3\n", &[Des3]),
        // A lone CR inside a line is not a separator.
        (b"AES\rDES3\n", &[]),
        (b"SHA-384\n", &[Sha384]),
    ];
    for (text, expected) in table {
        assert_eq!(
            Capabilities::parse(text),
            set(expected),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

/// S-15/S-16: `SCEPStandard` implies `AES`, `POSTPKIOperation` and `SHA-256`.
#[test]
fn s16_scep_standard_implication() {
    use Capability::*;
    let caps = Capabilities::parse(b"scepstandard\r\n");
    assert_eq!(caps, set(&[ScepStandard, Aes, PostPkiOperation, Sha256]));
    assert!(caps.contains(Aes) && caps.contains(PostPkiOperation) && caps.contains(Sha256));
    assert!(!caps.contains(Des3));
    // Without it nothing is implied.
    assert_eq!(Capabilities::parse(b"AES\n"), set(&[Aes]));
    assert_eq!(set(&[ScepStandard]).with_implications().len(), 4);
}

/// S-16: the Full profile, byte for byte.
#[test]
fn s16_full_profile_exact_bytes() {
    assert_eq!(
        CapsProfile::Full.capabilities().to_text(),
        "AES\nDES3\nGetNextCACert\nPOSTPKIOperation\nRenewal\nSHA-1\nSHA-256\nSHA-384\nSHA-512\nSCEPStandard\n"
    );
    assert_eq!(CapsProfile::default(), CapsProfile::Full);
}

/// S-16: the IosLike profile, byte for byte.
#[test]
fn s16_ios_like_profile_exact_bytes() {
    assert_eq!(
        CapsProfile::IosLike.capabilities().to_text(),
        "GetNextCACert\nRenewal\nSHA-1\nSHA-256\n"
    );
}

/// C-27: the server can drop `GetNextCACert` while no rollover exists; rendering writes
/// exactly the set.
#[test]
fn s16_render_without_next_ca_cert() {
    let caps = CapsProfile::IosLike
        .capabilities()
        .without(Capability::GetNextCaCert);
    assert_eq!(caps.to_text(), "Renewal\nSHA-1\nSHA-256\n");
    assert_eq!(Capabilities::EMPTY.to_text(), "");
}

/// S-9: any Content-Type is fine (the API takes none); an HTTP error or an empty body is no
/// capabilities.
#[test]
fn s09_client_tolerance() {
    let body = b"AES\nPOSTPKIOperation\n";
    assert_eq!(
        Capabilities::from_http_response(200, body),
        set(&[Capability::Aes, Capability::PostPkiOperation])
    );
    assert_eq!(
        Capabilities::from_http_response(200, b""),
        Capabilities::EMPTY
    );
    assert_eq!(
        Capabilities::from_http_response(404, body),
        Capabilities::EMPTY
    );
    assert_eq!(
        Capabilities::from_http_response(500, body),
        Capabilities::EMPTY
    );
    assert!(Capabilities::from_http_response(200, b"").is_empty());
}

/// S-5: POST iff `POSTPKIOperation` or `SCEPStandard`.
#[test]
fn s05_method_choice() {
    use Capability::*;
    let table: &[(&[Capability], Method)] = &[
        (&[], Method::Get),
        (&[Aes, Sha256, Renewal, GetNextCaCert], Method::Get),
        (&[PostPkiOperation], Method::Post),
        (&[ScepStandard], Method::Post),
    ];
    for (caps, method) in table {
        assert_eq!(set(caps).pki_operation_method(), *method, "{caps:?}");
        assert_eq!(set(caps).supports_post(), *method == Method::Post);
    }
    assert_eq!(
        CapsProfile::IosLike.capabilities().pki_operation_method(),
        Method::Get
    );
}

/// S-37: AES-128-CBC if `AES` or `SCEPStandard`, else DES-EDE3-CBC.
#[test]
fn s37_cipher_choice() {
    use Capability::*;
    let table: &[(&[Capability], ContentCipher)] = &[
        (&[], ContentCipher::Des3),
        (&[Des3], ContentCipher::Des3),
        (&[Aes], ContentCipher::Aes128),
        (&[Aes, Des3], ContentCipher::Aes128),
        (&[ScepStandard], ContentCipher::Aes128),
        (&[GetNextCaCert, Renewal, Sha1, Sha256], ContentCipher::Des3),
    ];
    for (caps, cipher) in table {
        assert_eq!(set(caps).content_cipher(), *cipher, "{caps:?}");
    }
}

/// S-38: SHA-256 if advertised or `SCEPStandard`, else SHA-512, else SHA-1.
#[test]
fn s38_digest_choice() {
    use Capability::*;
    let table: &[(&[Capability], DigestAlg)] = &[
        (&[], DigestAlg::Sha1),
        (&[Sha1], DigestAlg::Sha1),
        (&[Sha384], DigestAlg::Sha1),
        (&[Sha512], DigestAlg::Sha512),
        (&[Sha1, Sha512], DigestAlg::Sha512),
        (&[Sha256], DigestAlg::Sha256),
        (&[Sha1, Sha256, Sha512], DigestAlg::Sha256),
        (&[ScepStandard], DigestAlg::Sha256),
    ];
    for (caps, digest) in table {
        assert_eq!(set(caps).digest(), *digest, "{caps:?}");
    }
}

#[test]
fn set_operations() {
    let mut caps = Capabilities::EMPTY;
    assert!(caps.is_empty());
    assert!(caps.insert(Capability::Renewal));
    assert!(!caps.insert(Capability::Renewal));
    assert_eq!(caps.len(), 1);
    assert!(caps.remove(Capability::Renewal));
    assert!(!caps.remove(Capability::Renewal));
    assert_eq!(format!("{:?}", set(&[Capability::Aes])), "{Aes}");
    assert_eq!(
        CapsProfile::Full.capabilities().iter().collect::<Vec<_>>(),
        Capability::ALL
    );
}

fn any_caps() -> impl Strategy<Value = Capabilities> {
    prop::collection::vec(prop::sample::select(Capability::ALL.to_vec()), 0..12)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    /// S-16: render -> parse gives the set back, with the SCEPStandard implication applied.
    #[test]
    fn s16_render_parse_round_trip(caps in any_caps()) {
        let parsed = Capabilities::parse(caps.to_text().as_bytes());
        prop_assert_eq!(parsed, caps.with_implications());
        prop_assert_eq!(Capabilities::parse(parsed.to_text().as_bytes()), parsed);
    }

    /// S-16: parsing never fails and is stable under parse -> render -> parse.
    #[test]
    fn s16_parse_arbitrary_bytes_is_stable(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let parsed = Capabilities::parse(&body);
        prop_assert_eq!(Capabilities::parse(parsed.to_text().as_bytes()), parsed);
    }

    /// S-16: case and line-ending noise do not change the result.
    #[test]
    fn s16_noise_does_not_matter(caps in any_caps(), crlf in any::<bool>(), upper in any::<bool>()) {
        let mut text = String::new();
        for cap in caps.iter() {
            let word = if upper { cap.keyword().to_ascii_uppercase() } else { cap.keyword().to_ascii_lowercase() };
            text.push_str("  ");
            text.push_str(&word);
            text.push_str(if crlf { " \r\n\n" } else { "\t\n" });
        }
        prop_assert_eq!(Capabilities::parse(text.as_bytes()), caps.with_implications());
    }
}
