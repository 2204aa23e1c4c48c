//! The single seam between untrusted BER input and the DER-only `der` decoders (S-40), plus a
//! tiny TLV walker over DER used to keep the signed-attribute bytes as received (S-19).
//!
//! `to_der` hands input to the crate's BER normaliser (`ber`), which re-emits indefinite
//! lengths as definite ones, shortens non-minimal lengths and joins constructed universal
//! strings, copying DER-shaped sub-trees byte for byte (SETs are never re-sorted, S-19).

use std::borrow::Cow;

use crate::ber::{BerError, normalize_ber};
use crate::error::{DerProblem, Error, Layer, LimitKind, Result};
use crate::limits::Limits;

fn bad(layer: Layer, problem: DerProblem) -> Error {
    Error::Malformed { layer, problem }
}

/// One decoded header: tag byte, length (`None` = indefinite) and header size.
struct Header {
    tag: u8,
    len: Option<usize>,
    header_len: usize,
}

fn read_header(input: &[u8], layer: Layer) -> Result<Header> {
    let (&tag, rest) = input
        .split_first()
        .ok_or(bad(layer, DerProblem::Truncated))?;
    if tag & 0x1f == 0x1f {
        // High tag numbers never occur in SCEP structures.
        return Err(bad(layer, DerProblem::Tag));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or(bad(layer, DerProblem::Truncated))?;
    if first < 0x80 {
        return Ok(Header {
            tag,
            len: Some(usize::from(first)),
            header_len: 2,
        });
    }
    if first == 0x80 {
        if tag & 0x20 == 0 {
            return Err(bad(layer, DerProblem::Length));
        }
        return Ok(Header {
            tag,
            len: None,
            header_len: 2,
        });
    }
    let n = usize::from(first & 0x7f);
    if n > 4 {
        return Err(bad(layer, DerProblem::Length));
    }
    let bytes = rest.get(..n).ok_or(bad(layer, DerProblem::Truncated))?;
    let mut len: usize = 0;
    for &b in bytes {
        len = len
            .checked_mul(256)
            .and_then(|l| l.checked_add(usize::from(b)))
            .ok_or(bad(layer, DerProblem::Length))?;
    }
    Ok(Header {
        tag,
        len: Some(len),
        header_len: 2usize.saturating_add(n),
    })
}

/// A definite-length element inside DER bytes.
#[derive(Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) value: &'a [u8],
    /// Tag, length and content octets.
    pub(crate) raw: &'a [u8],
}

/// Reads one definite-length element from the front of `input`; returns it and the rest.
pub(crate) fn read_tlv(input: &[u8], layer: Layer) -> Result<(Tlv<'_>, &[u8])> {
    let h = read_header(input, layer)?;
    let len = h.len.ok_or(bad(layer, DerProblem::Length))?;
    let end = h
        .header_len
        .checked_add(len)
        .ok_or(bad(layer, DerProblem::Length))?;
    let raw = input.get(..end).ok_or(bad(layer, DerProblem::Truncated))?;
    let value = raw
        .get(h.header_len..)
        .ok_or(bad(layer, DerProblem::Truncated))?;
    let rest = input.get(end..).ok_or(bad(layer, DerProblem::Truncated))?;
    Ok((
        Tlv {
            tag: h.tag,
            value,
            raw,
        },
        rest,
    ))
}

/// The children of a constructed DER element's content octets.
pub(crate) fn children(mut value: &[u8], layer: Layer) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = read_tlv(value, layer)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Writes a DER tag and minimal length followed by `value`.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len.to_be_bytes().last().copied().unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len().to_be_bytes().last().copied().unwrap_or(0));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
}

/// Turns BER input into DER with the crate's normaliser ([`crate::normalize_ber`], S-40) under
/// the default [`Limits`]; DER-shaped input comes back borrowed and unchanged.
pub(crate) fn to_der(input: &[u8], layer: Layer) -> Result<Cow<'_, [u8]>> {
    normalize_ber(input, &Limits::DEFAULT).map_err(|e| ber_error(layer, &e))
}

/// The codec's view of a normaliser failure: budgets become [`Error::Limit`], everything else
/// [`Error::Malformed`] in the layer being decoded.
fn ber_error(layer: Layer, error: &BerError) -> Error {
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
    bad(layer, problem)
}

/// micromdm writes `encryptedContent [0] IMPLICIT OCTET STRING` in constructed form (a `[0]`
/// holding OCTET STRING segments). Given the DER of `ContentInfo{EnvelopedData}`, rewrite that
/// one element to its primitive form, leaving every other byte as is.
pub(crate) fn flatten_encrypted_content(der: &[u8]) -> Result<Cow<'_, [u8]>> {
    let layer = Layer::EnvelopedData;
    let (ci, _) = read_tlv(der, Layer::ContentInfo)?;
    let ci_kids = children(ci.value, Layer::ContentInfo)?;
    let Some(explicit) = ci_kids.get(1) else {
        return Ok(Cow::Borrowed(der));
    };
    let Some(env) = children(explicit.value, layer)?.into_iter().next() else {
        return Ok(Cow::Borrowed(der));
    };
    let env_kids = children(env.value, layer)?;
    // version, [0] originatorInfo?, recipientInfos SET, encryptedContentInfo SEQUENCE, …
    let Some((eci_index, eci)) = env_kids
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, t)| t.tag == 0x30)
    else {
        return Ok(Cow::Borrowed(der));
    };
    let eci_kids = children(eci.value, Layer::EncryptedContent)?;
    let Some(content) = eci_kids.get(2) else {
        return Ok(Cow::Borrowed(der));
    };
    if content.tag != 0xa0 {
        return Ok(Cow::Borrowed(der));
    }
    let mut joined = Vec::new();
    for seg in children(content.value, Layer::EncryptedContent)? {
        if seg.tag != 0x04 {
            return Err(bad(Layer::EncryptedContent, DerProblem::Tag));
        }
        joined.extend_from_slice(seg.value);
    }
    // Rebuild bottom-up.
    let mut eci_value = Vec::new();
    for (i, kid) in eci_kids.iter().enumerate() {
        if i == 2 {
            write_tlv(&mut eci_value, 0x80, &joined);
        } else {
            eci_value.extend_from_slice(kid.raw);
        }
    }
    let mut env_value = Vec::new();
    for (i, kid) in env_kids.iter().enumerate() {
        if i == eci_index {
            write_tlv(&mut env_value, 0x30, &eci_value);
        } else {
            env_value.extend_from_slice(kid.raw);
        }
    }
    let mut env_der = Vec::new();
    write_tlv(&mut env_der, env.tag, &env_value);
    let mut explicit_der = Vec::new();
    write_tlv(&mut explicit_der, explicit.tag, &env_der);
    let mut ci_value = Vec::new();
    for (i, kid) in ci_kids.iter().enumerate() {
        if i == 1 {
            ci_value.extend_from_slice(&explicit_der);
        } else {
            ci_value.extend_from_slice(kid.raw);
        }
    }
    let mut out = Vec::new();
    write_tlv(&mut out, ci.tag, &ci_value);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let bad = [0x24, 0x03, 0x02, 0x01, 0x00];
        assert!(to_der(&bad, Layer::Input).is_err());
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
            Err(bad(Layer::Input, DerProblem::Truncated))
        );
        let primitive_indefinite = [0x04, 0x80, 0x00, 0x00];
        assert_eq!(
            to_der(&primitive_indefinite, Layer::Input),
            Err(bad(Layer::Input, DerProblem::Length))
        );
        // A high tag number is valid BER and passes the seam unchanged; the typed decoders
        // behind it refuse it where SCEP expects another tag.
        let high_tag = [0x1f, 0x81, 0x00, 0x00];
        assert_eq!(to_der(&high_tag, Layer::Input).unwrap(), &high_tag[..]);
        assert!(crate::PkiMessage::from_der(&high_tag, &crate::Profile::STRICT).is_err());
        let trailing = [0x05, 0x00, 0x00];
        assert_eq!(
            to_der(&trailing, Layer::Input),
            Err(bad(Layer::Input, DerProblem::TrailingData))
        );
        assert_eq!(
            to_der(&[], Layer::Input),
            Err(bad(Layer::Input, DerProblem::Truncated))
        );
    }

    #[test]
    fn write_tlv_uses_minimal_long_form() {
        let mut out = Vec::new();
        write_tlv(&mut out, 0x04, &[0u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(out.len(), 304);
    }

    #[test]
    fn micromdm_constructed_encrypted_content_is_flattened() {
        // ContentInfo { oid, [0] { EnvelopedData { 0, SET{}, ECI { oid, alg, [0] { OS, OS } } } } }
        let eci_inner = [
            0x06, 0x01, 0x2a, // contentType (dummy)
            0x30, 0x00, // algorithm (dummy)
            0xa0, 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x02, 0x03, 0x04,
        ];
        let mut eci = Vec::new();
        write_tlv(&mut eci, 0x30, &eci_inner);
        let mut env_inner = vec![0x02, 0x01, 0x00, 0x31, 0x00];
        env_inner.extend(&eci);
        let mut env = Vec::new();
        write_tlv(&mut env, 0x30, &env_inner);
        let mut explicit = Vec::new();
        write_tlv(&mut explicit, 0xa0, &env);
        let mut ci_inner = vec![0x06, 0x01, 0x2a];
        ci_inner.extend(&explicit);
        let mut ci = Vec::new();
        write_tlv(&mut ci, 0x30, &ci_inner);
        let flat = flatten_encrypted_content(&ci).unwrap();
        let tail = [0x80, 0x04, 0x01, 0x02, 0x03, 0x04];
        assert!(flat.ends_with(&tail), "{flat:02x?}");
        assert_eq!(flat.len(), ci.len() - 4);
        // Already primitive: untouched and borrowed.
        let again = flatten_encrypted_content(&flat).unwrap().into_owned();
        assert_eq!(again, flat.into_owned());
    }
}
