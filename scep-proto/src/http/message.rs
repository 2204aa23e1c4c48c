//! The GET `message` parameter of PKIOperation: percent-encoded base64 (S-3, S-5).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::HttpError;

/// Decoder settings shared by both alphabets: padding optional (Cisco omits it, S-3 (d)),
/// non-zero trailing bits tolerated (they carry no data).
const TOLERANT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

/// S-3 (d): the standard alphabet.
const STANDARD_TOLERANT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, TOLERANT);

/// S-3 (e): the URL-safe alphabet.
const URL_SAFE_TOLERANT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, TOLERANT);

/// What a client escapes in a query value: everything except RFC 3986 "unreserved"
/// characters, so base64's `+`, `/` and `=` always travel as `%2B`, `%2F`, `%3D` (S-5).
pub(super) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Decodes the raw (still percent-encoded) value of a GET `message` parameter into the
/// pkiMessage bytes, tolerating what real clients send (S-3):
///
/// 1. percent-decode once (a malformed `%` escape stays as it is);
/// 2. turn spaces back into `+` (a form decoder upstream, or an unescaped `+` read as a form
///    space: macOS leaves `+` and `/` unescaped);
/// 3. drop CR, LF and TAB (IOS embeds line breaks as `%0A`);
/// 4. decode with the standard alphabet, padding optional;
/// 5. only if that fails and `-` or `_` occur, decode with the URL-safe alphabet.
///
/// Total: never panics, allocates at most the input's length twice.
///
/// # Errors
/// [`HttpError::MissingMessage`] when nothing is left to decode,
/// [`HttpError::MessageNotBase64`] when neither alphabet accepts the text.
pub fn decode_get_message(raw: &str) -> Result<Vec<u8>, HttpError> {
    let cleaned: Vec<u8> = percent_decode_str(raw)
        .filter(|b| !matches!(b, b'\r' | b'\n' | b'\t'))
        .map(|b| if b == b' ' { b'+' } else { b })
        .collect();
    if cleaned.is_empty() {
        return Err(HttpError::MissingMessage);
    }
    // Non-empty input never decodes to an empty message in either alphabet.
    match STANDARD_TOLERANT.decode(&cleaned) {
        Ok(message) => Ok(message),
        Err(_) if cleaned.iter().any(|b| matches!(b, b'-' | b'_')) => URL_SAFE_TOLERANT
            .decode(&cleaned)
            .map_err(|_| HttpError::MessageNotBase64),
        Err(_) => Err(HttpError::MessageNotBase64),
    }
}

/// Encodes a pkiMessage as the value of a GET `message` parameter (S-3, S-5): standard base64
/// with padding, then percent-encoded so that `+`, `/` and `=` are escaped. The result is what
/// follows `message=` in the query.
#[must_use]
pub fn encode_get_message(message: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(message);
    utf8_percent_encode(&b64, QUERY_VALUE).to_string()
}
