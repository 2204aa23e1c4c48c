//! Hand-made BER vectors for the normaliser (SPEC S-40, S-19).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use scep_proto::{BerError, Limits, flatten_constructed_string, normalize_ber};
use std::borrow::Cow;

fn norm(input: &[u8]) -> Result<Vec<u8>, BerError> {
    normalize_ber(input, &Limits::default()).map(Cow::into_owned)
}

/// Asserts `input` normalises to `expected`, and that `expected` is a fixed point returned
/// without copying.
#[track_caller]
fn check(input: &[u8], expected: &[u8]) {
    assert_eq!(norm(input).unwrap(), expected, "normalised form");
    assert_unchanged(expected);
}

/// Asserts that DER-shaped `input` comes back as the very same bytes, borrowed.
#[track_caller]
fn assert_unchanged(input: &[u8]) {
    match normalize_ber(input, &Limits::default()).unwrap() {
        Cow::Borrowed(out) => assert_eq!(out, input),
        Cow::Owned(out) => panic!("DER-shaped input was rewritten: {out:02X?}"),
    }
}

#[track_caller]
fn check_err(input: &[u8], expected: BerError) {
    assert_eq!(norm(input), Err(expected));
}

// ---- Indefinite lengths ------------------------------------------------------------------

#[test]
fn s40_indefinite_length_sequence() {
    check(
        &[0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00],
        &[0x30, 0x03, 0x02, 0x01, 0x05],
    );
    check(&[0x30, 0x80, 0x00, 0x00], &[0x30, 0x00]);
}

#[test]
fn s40_indefinite_length_set_keeps_member_order() {
    // Members 9 then 1: DER would sort them, the normaliser must not (S-19).
    check(
        &[0x31, 0x80, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01, 0x00, 0x00],
        &[0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01],
    );
}

#[test]
fn s40_indefinite_length_explicit_tags() {
    check(
        &[0xA0, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00],
        &[0xA0, 0x03, 0x02, 0x01, 0x01],
    );
    // [APPLICATION 1] and [PRIVATE 2], constructed.
    check(
        &[0x61, 0x80, 0x05, 0x00, 0x00, 0x00],
        &[0x61, 0x02, 0x05, 0x00],
    );
    check(
        &[0xE2, 0x80, 0x05, 0x00, 0x00, 0x00],
        &[0xE2, 0x02, 0x05, 0x00],
    );
}

#[test]
fn s40_nested_indefinite_lengths() {
    check(
        &[
            0x30, 0x80, 0x30, 0x80, 0xA1, 0x80, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
        &[0x30, 0x06, 0x30, 0x04, 0xA1, 0x02, 0x04, 0x00],
    );
    // Indefinite inside definite inside indefinite, with siblings after each.
    check(
        &[
            0x30, 0x80, //
            0x30, 0x08, 0x31, 0x80, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, //
            0x02, 0x01, 0x07, //
            0x00, 0x00,
        ],
        &[
            0x30, 0x0B, 0x30, 0x06, 0x31, 0x02, 0x05, 0x00, 0x05, 0x00, 0x02, 0x01, 0x07,
        ],
    );
}

// ---- Constructed strings -----------------------------------------------------------------

#[test]
fn s40_constructed_octet_string() {
    check(
        &[0x24, 0x08, 0x04, 0x02, b'a', b'b', 0x04, 0x02, b'c', b'd'],
        &[0x04, 0x04, b'a', b'b', b'c', b'd'],
    );
}

#[test]
fn s40_constructed_octet_string_nested_and_indefinite() {
    // 24 80 { 24 06 { 04 'a', 04 'b' }, 04 'c', 24 80 { 04 'de' } }
    check(
        &[
            0x24, 0x80, //
            0x24, 0x06, 0x04, 0x01, b'a', 0x04, 0x01, b'b', //
            0x04, 0x01, b'c', //
            0x24, 0x80, 0x04, 0x02, b'd', b'e', 0x00, 0x00, //
            0x00, 0x00,
        ],
        &[0x04, 0x05, b'a', b'b', b'c', b'd', b'e'],
    );
}

#[test]
fn s40_constructed_octet_string_inside_explicit_tag() {
    // OpenSSL -stream's eContent shape: [0] 80 { 24 80 { 04 .., 04 .. } }.
    check(
        &[
            0xA0, 0x80, 0x24, 0x80, 0x04, 0x02, 1, 2, 0x04, 0x01, 3, 0x00, 0x00, 0x00, 0x00,
        ],
        &[0xA0, 0x05, 0x04, 0x03, 1, 2, 3],
    );
}

#[test]
fn s40_constructed_bit_string() {
    // The X.690 example for BIT STRING: 0A3B5F291CD, 4 unused bits.
    check(
        &[
            0x23, 0x80, 0x03, 0x03, 0x00, 0x0A, 0x3B, 0x03, 0x05, 0x04, 0x5F, 0x29, 0x1C, 0xD0,
            0x00, 0x00,
        ],
        &[0x03, 0x07, 0x04, 0x0A, 0x3B, 0x5F, 0x29, 0x1C, 0xD0],
    );
    // Nested, with an empty (zero-bit) first segment.
    check(
        &[
            0x23, 0x0A, 0x03, 0x01, 0x00, 0x23, 0x05, 0x03, 0x03, 0x02, 0xAB, 0xCC,
        ],
        &[0x03, 0x03, 0x02, 0xAB, 0xCC],
    );
}

#[test]
fn s40_constructed_bit_string_segment_errors() {
    // Unused bits in a segment that is not the last one.
    check_err(
        &[0x23, 0x08, 0x03, 0x02, 0x04, 0xF0, 0x03, 0x02, 0x00, 0xFF],
        BerError::InvalidBitStringSegment { offset: 6 },
    );
    // More than seven unused bits.
    check_err(
        &[0x23, 0x04, 0x03, 0x02, 0x08, 0xFF],
        BerError::InvalidBitStringSegment { offset: 2 },
    );
    // Empty segment (no unused-bits octet).
    check_err(
        &[0x23, 0x02, 0x03, 0x00],
        BerError::InvalidBitStringSegment { offset: 2 },
    );
    // Unused bits declared without any bit.
    check_err(
        &[0x23, 0x03, 0x03, 0x01, 0x03],
        BerError::InvalidBitStringSegment { offset: 2 },
    );
    // OCTET STRING segment in a BIT STRING.
    check_err(
        &[0x23, 0x03, 0x04, 0x01, 0x00],
        BerError::MismatchedSegmentType { offset: 2 },
    );
}

#[test]
fn s40_constructed_character_strings() {
    // PrintableString with an OCTET STRING segment (X.690) and a PrintableString one.
    check(
        &[
            0x33, 0x80, 0x04, 0x02, b'a', b'b', 0x13, 0x01, b'c', 0x00, 0x00,
        ],
        &[0x13, 0x03, b'a', b'b', b'c'],
    );
    // UTF8String, IA5String, BMPString, UTCTime.
    check(&[0x2C, 0x03, 0x04, 0x01, b'x'], &[0x0C, 0x01, b'x']);
    check(&[0x36, 0x03, 0x04, 0x01, b'x'], &[0x16, 0x01, b'x']);
    check(
        &[0x3E, 0x04, 0x04, 0x02, 0x00, b'x'],
        &[0x1E, 0x02, 0x00, b'x'],
    );
    check(
        &[0x37, 0x80, 0x04, 0x01, b'9', 0x00, 0x00],
        &[0x17, 0x01, b'9'],
    );
    // An IA5String segment inside a PrintableString is not allowed.
    check_err(
        &[0x33, 0x03, 0x16, 0x01, b'a'],
        BerError::MismatchedSegmentType { offset: 2 },
    );
    // A SEQUENCE in an OCTET STRING.
    check_err(
        &[0x24, 0x02, 0x30, 0x00],
        BerError::MismatchedSegmentType { offset: 2 },
    );
    // Constructed INTEGER is not a string type: copied structurally (the DER layer rejects it).
    assert_unchanged(&[0x22, 0x03, 0x02, 0x01, 0x01]);
}

#[test]
fn s40_empty_constructed_strings() {
    check(&[0x24, 0x00], &[0x04, 0x00]);
    check(&[0x24, 0x80, 0x00, 0x00], &[0x04, 0x00]);
    check(
        &[0x24, 0x80, 0x24, 0x00, 0x04, 0x00, 0x00, 0x00],
        &[0x04, 0x00],
    );
    check(&[0x23, 0x00], &[0x03, 0x01, 0x00]);
    check(&[0x33, 0x80, 0x00, 0x00], &[0x13, 0x00]);
}

// ---- Lengths and tags --------------------------------------------------------------------

#[test]
fn s40_non_minimal_lengths() {
    let five = [1, 2, 3, 4, 5];
    let expected = [0x04, 0x05, 1, 2, 3, 4, 5];
    check(&[&[0x04, 0x81, 0x05][..], &five].concat(), &expected);
    check(&[&[0x04, 0x82, 0x00, 0x05][..], &five].concat(), &expected);
    check(
        &[&[0x04, 0x88, 0, 0, 0, 0, 0, 0, 0, 0x05][..], &five].concat(),
        &expected,
    );
    check(
        &[0x30, 0x84, 0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01],
        &[0x30, 0x03, 0x02, 0x01, 0x01],
    );
    // 200 bytes with a two-octet length: minimal is 81 C8.
    let mut long = vec![0x04, 0x82, 0x00, 0xC8];
    long.extend([0xAA; 200]);
    let mut expected = vec![0x04, 0x81, 0xC8];
    expected.extend([0xAA; 200]);
    check(&long, &expected);
    // A minimal long form is left alone.
    assert_unchanged(&expected);
}

#[test]
fn s40_non_minimal_length_inside_der_parent_rewrites_parent() {
    // The parent's own length shrinks by the saved octet.
    check(
        &[0x30, 0x04, 0x04, 0x81, 0x01, 0xAA],
        &[0x30, 0x03, 0x04, 0x01, 0xAA],
    );
}

#[test]
fn s40_high_tag_numbers() {
    // [31] primitive and [128] / [APPLICATION 16383] constructed, DER: unchanged.
    assert_unchanged(&[0x9F, 0x1F, 0x01, 0xAA]);
    assert_unchanged(&[0xBF, 0x81, 0x00, 0x03, 0x02, 0x01, 0x01]);
    assert_unchanged(&[0x7F, 0xFF, 0x7F, 0x00]);
    // Indefinite length on a high-tag element; identifier octets kept as received.
    check(
        &[0xBF, 0x81, 0x00, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00],
        &[0xBF, 0x81, 0x00, 0x03, 0x02, 0x01, 0x01],
    );
    check_err(&[0x9F, 0x1E, 0x00], BerError::InvalidTag { offset: 0 });
    check_err(
        &[0x9F, 0x80, 0x20, 0x00],
        BerError::InvalidTag { offset: 0 },
    );
    check_err(
        &[0x30, 0x08, 0x9F, 0x81, 0x82, 0x83, 0x84, 0x05, 0x00, 0x00],
        BerError::HighTagNumberTooLong { offset: 2 },
    );
}

// ---- Byte-identical copies (S-19) --------------------------------------------------------

#[test]
fn s19_der_input_is_returned_unchanged() {
    // Unsorted SET OF, a SET with members out of tag order, nested tags, empty elements.
    assert_unchanged(&[0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01]);
    assert_unchanged(&[0x31, 0x05, 0x04, 0x00, 0x02, 0x01, 0x00]);
    assert_unchanged(&[
        0x30, 0x0E, 0xA0, 0x0C, 0x31, 0x0A, 0x30, 0x03, 0x02, 0x01, 0x02, 0x30, 0x03, 0x02, 0x01,
        0x01,
    ]);
    assert_unchanged(&[0x05, 0x00]);
    assert_unchanged(&[0x30, 0x00]);
    // Values the DER layer would reject are still not the normaliser's business.
    assert_unchanged(&[0x01, 0x01, 0x01]); // BOOLEAN 0x01
    assert_unchanged(&[0x02, 0x02, 0x00, 0x01]); // non-minimal INTEGER
    assert_unchanged(&[0x03, 0x02, 0x07, 0xFF]); // BIT STRING with non-zero padding bits
}

#[test]
fn s19_der_subtree_keeps_its_bytes_inside_ber() {
    // A SignerInfo-like SEQUENCE with indefinite length around DER-shaped, unsorted
    // signed attributes [0] { attr(type 2.5.4.41), attr(type 2.5.4.3) }.
    let signed_attrs: &[u8] = &[
        0xA0, 0x16, //
        0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x29, 0x31, 0x02, 0x05, 0x00, // 29 before 03
        0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x31, 0x02, 0x05, 0x00,
    ];
    let mut ber = vec![0x30, 0x80, 0x02, 0x81, 0x01, 0x01];
    ber.extend_from_slice(signed_attrs);
    ber.extend_from_slice(&[0x24, 0x80, 0x04, 0x01, 0x55, 0x00, 0x00, 0x00, 0x00]);
    let out = norm(&ber).unwrap();
    let mut expected = vec![0x30, 0x1E, 0x02, 0x01, 0x01];
    expected.extend_from_slice(signed_attrs);
    expected.extend_from_slice(&[0x04, 0x01, 0x55]);
    assert_eq!(out, expected);
    assert_eq!(&out[5..5 + signed_attrs.len()], signed_attrs);
}

// ---- Error classes -----------------------------------------------------------------------

#[test]
fn s40_error_truncated_header() {
    check_err(&[], BerError::Truncated { offset: 0 });
    check_err(&[0x30], BerError::Truncated { offset: 0 });
    check_err(&[0x04, 0x82, 0x01], BerError::Truncated { offset: 0 });
    check_err(&[0x30, 0x80, 0x04], BerError::Truncated { offset: 2 });
    check_err(&[0x30, 0x80, 0x00], BerError::Truncated { offset: 2 });
}

#[test]
fn s40_error_truncated_content() {
    check_err(&[0x04, 0x05, 0x01, 0x02], BerError::Truncated { offset: 0 });
    // A child running past its definite-length parent, even though the input goes on.
    check_err(
        &[0x30, 0x03, 0x04, 0x05, 1, 2, 3, 4, 5],
        BerError::Truncated { offset: 2 },
    );
    check_err(
        &[0x30, 0x05, 0x02, 0x01, 0x01],
        BerError::Truncated { offset: 0 },
    );
}

#[test]
fn s40_error_absurd_length() {
    check_err(
        &[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        BerError::AbsurdLength { offset: 0 },
    );
    check_err(
        &[0x30, 0x80, 0x04, 0x83, 0x10, 0x00, 0x00, 0x00, 0x00],
        BerError::AbsurdLength { offset: 2 },
    );
}

#[test]
fn s40_error_length_of_length_over_eight() {
    check_err(
        &[0x04, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xAA],
        BerError::LengthOverflow { offset: 0 },
    );
    check_err(&[0x04, 0xFF, 0x00], BerError::LengthOverflow { offset: 0 });
    let mut strict = Limits::default();
    strict.max_length_octets = 2;
    assert_eq!(
        normalize_ber(&[0x04, 0x83, 0, 0, 1, 0xAA], &strict),
        Err(BerError::LengthOverflow { offset: 0 })
    );
}

#[test]
fn s40_error_indefinite_on_primitive() {
    check_err(
        &[0x04, 0x80, 0x00, 0x00],
        BerError::IndefiniteOnPrimitive { offset: 0 },
    );
    check_err(
        &[0x24, 0x80, 0x04, 0x80, 0x00, 0x00, 0x00, 0x00],
        BerError::IndefiniteOnPrimitive { offset: 2 },
    );
}

#[test]
fn s40_error_missing_end_of_contents() {
    check_err(
        &[0x30, 0x80, 0x02, 0x01, 0x01],
        BerError::MissingEndOfContents { offset: 0 },
    );
    check_err(&[0x30, 0x80], BerError::MissingEndOfContents { offset: 0 });
    // The enclosing definite length ends first.
    check_err(
        &[0x30, 0x05, 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00],
        BerError::MissingEndOfContents { offset: 2 },
    );
    // One marker for two open elements.
    check_err(
        &[0x30, 0x80, 0x30, 0x80, 0x00, 0x00],
        BerError::MissingEndOfContents { offset: 0 },
    );
}

#[test]
fn s40_error_stray_end_of_contents() {
    check_err(
        &[0x00, 0x00],
        BerError::UnexpectedEndOfContents { offset: 0 },
    );
    check_err(
        &[0x30, 0x02, 0x00, 0x00],
        BerError::UnexpectedEndOfContents { offset: 2 },
    );
    check_err(
        &[0x30, 0x80, 0x00, 0x01, 0x00],
        BerError::MalformedEndOfContents { offset: 2 },
    );
    check_err(
        &[0x30, 0x02, 0x20, 0x00],
        BerError::MalformedEndOfContents { offset: 2 },
    );
}

#[test]
fn s40_error_nesting_bomb() {
    let bomb: Vec<u8> = [0x30, 0x80].repeat(100_000);
    check_err(&bomb, BerError::DepthExceeded { limit: 32 });
    let bomb: Vec<u8> = [0x24, 0x80].repeat(100_000);
    check_err(&bomb, BerError::DepthExceeded { limit: 32 });
    // Definite lengths: 40 nested SEQUENCEs around NULL.
    let mut nested = vec![0x05, 0x00];
    for _ in 0..40 {
        let mut outer = vec![0x30, u8::try_from(nested.len()).unwrap()];
        outer.extend(nested);
        nested = outer;
    }
    check_err(&nested, BerError::DepthExceeded { limit: 32 });
}

#[test]
fn s40_depth_limit_is_exact() {
    // 31 SEQUENCEs around a NULL: 32 levels, accepted; one more is refused.
    let wrap = |levels: usize| {
        let mut ber = [0x30, 0x80].repeat(levels);
        ber.extend([0x05, 0x00]);
        ber.extend([0x00, 0x00].repeat(levels));
        ber
    };
    assert!(norm(&wrap(31)).is_ok());
    check_err(&wrap(32), BerError::DepthExceeded { limit: 32 });
    let mut shallow = Limits::default();
    shallow.max_depth = 2;
    assert!(normalize_ber(&wrap(1), &shallow).is_ok());
    assert_eq!(
        normalize_ber(&wrap(2), &shallow),
        Err(BerError::DepthExceeded { limit: 2 })
    );
}

#[test]
fn s40_error_input_too_large() {
    let limit = Limits::default().max_input_len;
    let mut big = vec![0x04, 0x83, 0x04, 0x00, 0x00];
    big.resize(5 + limit - 4, 0);
    check_err(
        &big,
        BerError::InputTooLarge {
            len: limit + 1,
            limit,
        },
    );
    // Exactly at the limit is fine.
    let mut fits = vec![0x04, 0x83, 0x03, 0xFF, 0xFB];
    fits.resize(limit, 0);
    assert_unchanged(&fits);
}

#[test]
fn s40_error_too_many_elements() {
    let mut few = Limits::default();
    few.max_elements = 3;
    let input = [0x30, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x00, 0x00];
    // Four elements: SEQUENCE, two INTEGERs and the end-of-contents marker.
    assert_eq!(
        normalize_ber(&input, &few),
        Err(BerError::TooManyElements { limit: 3 })
    );
    few.max_elements = 4;
    assert!(normalize_ber(&input, &few).is_ok());
}

#[test]
fn s40_error_trailing_data() {
    check_err(
        &[0x02, 0x01, 0x01, 0xFF],
        BerError::TrailingData { offset: 3 },
    );
    check_err(
        &[0x30, 0x80, 0x00, 0x00, 0x00, 0x00],
        BerError::TrailingData { offset: 4 },
    );
    check_err(
        &[0x30, 0x00, 0x30, 0x00],
        BerError::TrailingData { offset: 2 },
    );
}

#[test]
fn s40_errors_display_the_layer_and_offset() {
    let text = BerError::Truncated { offset: 7 }.to_string();
    assert!(text.starts_with("BER"), "{text}");
    assert!(text.contains('7'), "{text}");
}

// ---- flatten_constructed_string ----------------------------------------------------------

#[test]
fn s20_flatten_implicit_octet_string() {
    let limits = Limits::default();
    // Primitive [0] IMPLICIT: the contents, borrowed.
    let primitive = [0x80, 0x03, 1, 2, 3];
    let flat = flatten_constructed_string(&primitive, &limits).unwrap();
    assert!(matches!(flat, Cow::Borrowed(_)));
    assert_eq!(&flat[..], &[1, 2, 3]);
    // micromdm: constructed [0] with one segment.
    let micromdm = [0xA0, 0x05, 0x04, 0x03, 1, 2, 3];
    assert_eq!(
        &flatten_constructed_string(&micromdm, &limits).unwrap()[..],
        &[1, 2, 3]
    );
    // OpenSSL -stream: indefinite [0] with nested indefinite and definite segments.
    let stream = [
        0xA0, 0x80, 0x04, 0x02, 1, 2, 0x24, 0x80, 0x04, 0x01, 3, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    ];
    assert_eq!(
        &flatten_constructed_string(&stream, &limits).unwrap()[..],
        &[1, 2, 3]
    );
    // Any tag, including a plain OCTET STRING and a high tag number.
    let octets = [0x24, 0x03, 0x04, 0x01, 9];
    assert_eq!(
        &flatten_constructed_string(&octets, &limits).unwrap()[..],
        &[9]
    );
    let high = [0xBF, 0x81, 0x00, 0x03, 0x04, 0x01, 9];
    assert_eq!(
        &flatten_constructed_string(&high, &limits).unwrap()[..],
        &[9]
    );
    let empty = [0xA0, 0x80, 0x00, 0x00];
    assert!(
        flatten_constructed_string(&empty, &limits)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn s20_flatten_errors() {
    let limits = Limits::default();
    assert_eq!(
        flatten_constructed_string(&[0xA0, 0x03, 0x02, 0x01, 0x01], &limits),
        Err(BerError::MismatchedSegmentType { offset: 2 })
    );
    assert_eq!(
        flatten_constructed_string(&[0xA0, 0x03, 0x03, 0x01, 0x00], &limits),
        Err(BerError::MismatchedSegmentType { offset: 2 })
    );
    assert_eq!(
        flatten_constructed_string(&[0x80, 0x01, 0x01, 0x00], &limits),
        Err(BerError::TrailingData { offset: 3 })
    );
    assert_eq!(
        flatten_constructed_string(&[0xA0, 0x80, 0x04, 0x00], &limits),
        Err(BerError::MissingEndOfContents { offset: 0 })
    );
    assert_eq!(
        flatten_constructed_string(&[0x80, 0x80, 0x00, 0x00], &limits),
        Err(BerError::IndefiniteOnPrimitive { offset: 0 })
    );
    let bomb: Vec<u8> = [&[0xA0, 0x80][..], &[0x24, 0x80].repeat(1000)].concat();
    assert_eq!(
        flatten_constructed_string(&bomb, &limits),
        Err(BerError::DepthExceeded { limit: 32 })
    );
}

#[test]
fn s40_output_growth_is_one_byte_per_huge_indefinite_element() {
    // SEQUENCE (indefinite) { OCTET STRING of 64 KiB }: the definite length of the SEQUENCE
    // needs 83 01 00 05 (four octets) where 80 .. 00 00 took three.
    let mut ber = vec![0x30, 0x80, 0x04, 0x83, 0x01, 0x00, 0x00];
    ber.extend(std::iter::repeat_n(0x5A, 0x1_0000));
    ber.extend([0x00, 0x00]);
    let out = norm(&ber).unwrap();
    assert_eq!(out.len(), ber.len() + 1);
    assert_eq!(
        &out[..9],
        &[0x30, 0x83, 0x01, 0x00, 0x05, 0x04, 0x83, 0x01, 0x00]
    );
    assert_unchanged(&out);
    // Below 64 KiB the definite form is never longer.
    let mut ber = vec![0x30, 0x80, 0x04, 0x82, 0xFF, 0xF0];
    ber.extend(std::iter::repeat_n(0x5A, 0xFFF0));
    ber.extend([0x00, 0x00]);
    assert_eq!(norm(&ber).unwrap().len(), ber.len());
}
