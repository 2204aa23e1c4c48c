//! The tolerant reader's first stage: BER in, DER-shaped bytes out (SPEC S-40).
//!
//! Real SCEP peers send BER (jscep, Apple and OpenSSL `-stream` use indefinite lengths and
//! chunked OCTET STRINGs), while the `der` crate reads DER only. [`normalize_ber`] rewrites
//! the *encoding* of a BER element tree without touching its *values*:
//!
//! - indefinite lengths become definite, and every length is written in its minimal form;
//! - a constructed (segmented) BIT STRING, OCTET STRING or character/time string becomes one
//!   primitive element holding the concatenation of its segments, recursively;
//! - everything else is copied as received: identifier octets, primitive contents, the order
//!   of SET and SET OF members. Nothing is sorted, nothing is re-encoded.
//!
//! # Byte-identical copying
//!
//! Call an element *DER-shaped* when it and every element inside it use definite lengths in
//! the minimal form and no universal string type in the constructed form. The normaliser
//! copies every DER-shaped element byte for byte, wherever it sits in the input: its encoding
//! in the output is identical to its encoding in the input. In particular, a DER-shaped input
//! is returned unchanged (as [`Cow::Borrowed`]), whatever its tags or the order of its SET
//! members; and a DER-shaped `signedAttrs` keeps its exact received bytes, which is what the
//! signature check of S-19 needs even inside a BER message.
//!
//! # Context-specific strings
//!
//! An `[n] IMPLICIT OCTET STRING` in constructed form cannot be told from an
//! `[n] EXPLICIT OCTET STRING` without the ASN.1 module, so the generic pass copies both
//! structurally. A codec that knows a field is implicitly tagged (for example the
//! `encryptedContent` of EnvelopedData, which micromdm and OpenSSL `-stream` write in
//! constructed form) passes that one element to [`flatten_constructed_string`].
//!
//! # Costs
//!
//! Both functions reject input over [`Limits::max_input_len`], more than
//! [`Limits::max_elements`] elements and nesting deeper than [`Limits::max_depth`]; they never
//! recurse (the walk keeps an explicit stack), never panic and allocate in proportion to the
//! input only: some bookkeeping per element and the output. The output of [`normalize_ber`] is
//! at most one byte per indefinite-length element with 64 KiB or more of contents longer than
//! the input (the definite length then needs four octets where the indefinite form used three),
//! and usually shorter.

mod error;
mod normalize;
mod tlv;

pub use error::BerError;
#[allow(unused_imports, reason = "API for the message codecs")]
pub(crate) use tlv::{Element, Header, TagClass, read_element, read_header};

use crate::Limits;
use normalize::Mode;
use std::borrow::Cow;

/// Rewrites one BER-encoded element (with everything inside it) into DER form, as described
/// in the [module documentation](self) (SPEC S-40).
///
/// Returns [`Cow::Borrowed`] exactly when the input is already DER-shaped, so the caller
/// learns at no cost whether anything changed. The result is idempotent: normalising the
/// output again returns it unchanged (provided it still fits [`Limits::max_input_len`]).
///
/// `input` must hold exactly one element; bytes after it are [`BerError::TrailingData`].
///
/// ```
/// use scep_proto::{Limits, normalize_ber};
///
/// // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" } }
/// let ber = [0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0, 0];
/// let der = normalize_ber(&ber, &Limits::default())?;
/// assert_eq!(&der[..], &[0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']);
/// # Ok::<(), scep_proto::BerError>(())
/// ```
///
/// # Errors
///
/// Any [`BerError`]: malformed or truncated BER, or a [`Limits`] budget exceeded.
pub fn normalize_ber<'a>(input: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, BerError> {
    let parsed = normalize::parse(input, limits, Mode::Normalize)?;
    if parsed.changed {
        Ok(Cow::Owned(normalize::write(&parsed)))
    } else {
        Ok(Cow::Borrowed(input))
    }
}

/// Returns the content octets of one element that holds an OCTET STRING value in either form,
/// whatever its tag: the contents of a primitive element, or the concatenated data of the
/// OCTET STRING segments of a constructed one (segments may themselves be constructed, and
/// any level may use the indefinite length).
///
/// Call it where the codec knows the field is an implicitly tagged OCTET STRING, such as
/// EnvelopedData's `encryptedContent [0] IMPLICIT OCTET STRING` (SPEC S-20), or for
/// S-19's messageDigest input when working on received bytes. The result borrows from
/// `element` when it is primitive.
///
/// ```
/// use scep_proto::{Limits, flatten_constructed_string};
///
/// // [0] IMPLICIT OCTET STRING in constructed form, as micromdm writes encryptedContent.
/// let field = [0xA0, 0x07, 0x04, 0x02, 1, 2, 0x04, 0x01, 3];
/// assert_eq!(&flatten_constructed_string(&field, &Limits::default())?[..], &[1, 2, 3]);
/// # Ok::<(), scep_proto::BerError>(())
/// ```
///
/// # Errors
///
/// The errors of [`normalize_ber`], and [`BerError::MismatchedSegmentType`] when a segment is
/// not an OCTET STRING.
pub fn flatten_constructed_string<'a>(
    element: &'a [u8],
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, BerError> {
    let parsed = normalize::parse(element, limits, Mode::FlattenOctets)?;
    match normalize::primitive_contents(&parsed) {
        Some(contents) => Ok(Cow::Borrowed(contents)),
        None => Ok(Cow::Owned(normalize::concatenate(&parsed))),
    }
}
