//! The tolerant reader's first stage: BER in, DER-shaped bytes out (SPEC S-40), and the one
//! seam between untrusted input and the DER-only `der` decoders ([`to_der`]).
//!
//! Real SCEP peers send BER (jscep, Apple and OpenSSL `-stream` use indefinite lengths and
//! chunked OCTET STRINGs), while the `der` crate reads DER only. [`normalize_ber`] and
//! [`flatten_constructed_string`] are public for the fuzz targets only; `tlv` reads headers
//! for the normaliser and walks normalised DER for the codecs, `normalize` is the two-pass
//! engine.

mod error;
mod normalize;
mod tlv;

pub use error::BerError;
pub(crate) use tlv::{Tlv, children, read_tlv, write_tlv};

use crate::Limits;
use crate::error::{DerProblem, Error, Layer, LimitKind, Result};
use normalize::Mode;
use std::borrow::Cow;

/// Turns BER input into DER with [`normalize_ber`] (S-40) under the default [`Limits`];
/// DER-shaped input comes back borrowed and unchanged.
pub(crate) fn to_der(input: &[u8], layer: Layer) -> Result<Cow<'_, [u8]>> {
    normalize_ber(input, &Limits::DEFAULT).map_err(|e| der_error(layer, &e))
}

/// The codecs' view of a reader fault: budgets become [`Error::Limit`], everything else
/// [`Error::Malformed`] in the layer being decoded.
fn der_error(layer: Layer, error: &BerError) -> Error {
    let problem = match error {
        BerError::InputTooLarge { .. } => return Error::Limit(LimitKind::InputSize),
        BerError::DepthExceeded { .. } => return Error::Limit(LimitKind::Depth),
        BerError::TooManyElements { .. } => return Error::Limit(LimitKind::Elements),
        BerError::Truncated { .. } | BerError::MissingEndOfContents { .. } => DerProblem::Truncated,
        BerError::InvalidTag { .. }
        | BerError::HighTagNumberTooLong { .. }
        | BerError::MismatchedSegmentType { .. } => DerProblem::Tag,
        BerError::LengthOverflow { .. }
        | BerError::AbsurdLength { .. }
        | BerError::IndefiniteOnPrimitive { .. }
        | BerError::UnexpectedEndOfContents { .. }
        | BerError::MalformedEndOfContents { .. } => DerProblem::Length,
        BerError::TrailingData { .. } => DerProblem::TrailingData,
        BerError::InvalidBitStringSegment { .. } => DerProblem::Value,
    };
    Error::Malformed { layer, problem }
}

/// Rewrites one BER-encoded element (with everything inside it) into DER form (SPEC S-40).
///
/// Only the *encoding* changes, never a *value*:
///
/// - indefinite lengths become definite, and every length is written in its minimal form;
/// - a constructed (segmented) BIT STRING, OCTET STRING, ObjectDescriptor or character/time
///   string becomes one primitive element holding the concatenation of its segments,
///   recursively (for BIT STRING only the last segment may leave bits unused);
/// - everything else is copied as received: identifier octets, primitive contents, the order
///   of SET and SET OF members. Nothing is sorted, nothing is re-encoded, values are not
///   checked (that is the DER decoder's job).
///
/// # Byte-identical copying (S-19)
///
/// Call an element *DER-shaped* when it and every element inside it use definite lengths in
/// the minimal form and no universal string type in the constructed form. Every DER-shaped
/// element of the input appears byte for byte in the output, wherever it sits, except a
/// segment of a constructed string (its data is merged into the flattened string). So a
/// DER-shaped input is returned unchanged, as [`Cow::Borrowed`], whatever its tags and
/// whatever the order of its SET members; and DER-shaped signed attributes keep their exact
/// received bytes even inside a BER message, which is what the signature check needs.
/// `Cow::Borrowed` is returned exactly when nothing changed.
///
/// # Implicitly tagged strings
///
/// An `[n] IMPLICIT OCTET STRING` in constructed form cannot be told from an
/// `[n] EXPLICIT OCTET STRING` without the ASN.1 module, so both are copied structurally
/// (only the inner universal OCTET STRING of the explicit form is flattened). Where a codec
/// knows a field is implicitly tagged, such as EnvelopedData's `encryptedContent` (written
/// constructed by micromdm and OpenSSL `-stream`), it passes that element to
/// [`flatten_constructed_string`].
///
/// # Costs
///
/// Input over [`Limits::max_input_len`], more than [`Limits::max_elements`] elements or
/// nesting deeper than [`Limits::max_depth`] is refused. The walk never recurses (it keeps an
/// explicit stack), never panics, and allocates in proportion to the input only (a few words
/// per element plus the output). The output is usually shorter than the input; it is longer
/// by at most one byte per indefinite-length element whose contents reach 64 KiB (a definite
/// length then takes four octets where the indefinite form used three). Normalising the
/// output again returns it unchanged, provided it still fits [`Limits::max_input_len`].
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(problem: DerProblem) -> Result<Cow<'static, [u8]>> {
        Err(Error::Malformed {
            layer: Layer::Input,
            problem,
        })
    }

    #[test]
    fn s40_der_passes_through_borrowed() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        assert!(matches!(to_der(&der, Layer::Input), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn s40_indefinite_lengths_become_definite() {
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x31, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let der = to_der(&ber, Layer::Input).unwrap();
        assert_eq!(
            &*der,
            &[0x30, 0x07, 0x02, 0x01, 0x05, 0x31, 0x02, 0x05, 0x00]
        );
    }

    #[test]
    fn s40_constructed_octet_strings_are_joined_even_nested() {
        let ber = [
            0x24, 0x80, 0x04, 0x02, 0x01, 0x02, 0x24, 0x04, 0x04, 0x02, 0x03, 0x04, 0x04, 0x00,
            0x00, 0x00,
        ];
        let der = to_der(&ber, Layer::Input).unwrap();
        assert_eq!(&*der, &[0x04, 0x04, 0x01, 0x02, 0x03, 0x04]);
        // A constructed string with a foreign segment is refused.
        let foreign = [0x24, 0x03, 0x02, 0x01, 0x00];
        assert!(to_der(&foreign, Layer::Input).is_err());
    }

    #[test]
    fn s40_non_minimal_lengths_are_shortened_and_sets_keep_their_order() {
        let ber = [0x31, 0x81, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01];
        let der = to_der(&ber, Layer::Input).unwrap();
        assert_eq!(&*der, &[0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01]);
    }

    #[test]
    fn s40_faults_are_typed() {
        let missing_eoc = [0x30, 0x80, 0x05, 0x00];
        assert_eq!(
            to_der(&missing_eoc, Layer::Input),
            bad(DerProblem::Truncated)
        );
        let primitive_indefinite = [0x04, 0x80, 0x00, 0x00];
        assert_eq!(
            to_der(&primitive_indefinite, Layer::Input),
            bad(DerProblem::Length)
        );
        // A high tag number is valid BER and passes the seam unchanged; the typed decoders
        // behind it refuse it where SCEP expects another tag.
        let high_tag = [0x1f, 0x81, 0x00, 0x00];
        assert_eq!(to_der(&high_tag, Layer::Input).unwrap(), &high_tag[..]);
        assert!(crate::PkiMessage::from_der(&high_tag, &crate::Profile::STRICT).is_err());
        let trailing = [0x05, 0x00, 0x00];
        assert_eq!(
            to_der(&trailing, Layer::Input),
            bad(DerProblem::TrailingData)
        );
        assert_eq!(to_der(&[], Layer::Input), bad(DerProblem::Truncated));
    }
}
