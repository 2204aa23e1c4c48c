//! The crate's one reader of identifier and length octets (X.690 §8.1.2, §8.1.3), and its
//! writer of DER lengths.
//!
//! The normaliser walks BER with [`read_header`]; the message codecs walk already-normalised
//! DER with [`read_tlv`] and [`children`] when they need the exact bytes of an element (S-19,
//! the signed attributes) or a field the `der` types cannot express.

use super::BerError;
use crate::Limits;
use crate::error::{DerProblem, Error, Layer, Result};

/// Class bits of an identifier octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagClass {
    /// `0b00`.
    Universal,
    /// `0b01`.
    Application,
    /// `0b10`.
    ContextSpecific,
    /// `0b11`.
    Private,
}

/// Universal tag number of the end-of-contents marker.
const END_OF_CONTENTS: u32 = 0;

/// The identifier and length octets of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Tag class.
    pub(crate) class: TagClass,
    /// Whether the constructed bit is set.
    pub(crate) constructed: bool,
    /// Tag number (below 2^28).
    pub(crate) number: u32,
    /// Number of identifier octets.
    pub(crate) tag_len: usize,
    /// Number of identifier plus length octets.
    pub(crate) header_len: usize,
    /// Definite length of the contents, or `None` for the indefinite form.
    pub(crate) length: Option<usize>,
    /// Whether the length octets are the DER form (definite, minimal).
    pub(crate) der_length: bool,
}

impl Header {
    /// Whether this is an end-of-contents marker (`00 00`).
    pub(crate) fn is_end_of_contents(&self) -> bool {
        self.class == TagClass::Universal && self.number == END_OF_CONTENTS
    }
}

/// `a + b`, or [`BerError::LengthOverflow`] for the element at `offset`.
pub(super) fn add(a: usize, b: usize, offset: usize) -> Result<usize, BerError> {
    a.checked_add(b).ok_or(BerError::LengthOverflow { offset })
}

/// Reads the header of the element starting at `offset`, which must lie before `bound`
/// (the end of the enclosing definite-length element, or of the input).
///
/// Checks everything that can be checked from the header alone: tag form, length form and
/// size (against `limits`), the primitive/indefinite combination, the end-of-contents shape,
/// and that a definite-length element ends at or before `bound`.
pub(crate) fn read_header(
    input: &[u8],
    offset: usize,
    bound: usize,
    limits: &Limits,
) -> Result<Header, BerError> {
    let truncated = BerError::Truncated { offset };
    let window = input.get(offset..bound).ok_or(truncated)?;
    let mut bytes = window.iter().copied();
    let first = bytes.next().ok_or(truncated)?;
    let class = match first >> 6 {
        0 => TagClass::Universal,
        1 => TagClass::Application,
        2 => TagClass::ContextSpecific,
        _ => TagClass::Private,
    };
    let constructed = first & 0x20 != 0;
    let mut number = u32::from(first & 0x1F);
    let mut tag_len = 1usize;
    if number == 0x1F {
        number = 0;
        loop {
            let octet = bytes.next().ok_or(truncated)?;
            if tag_len == 1 && octet == 0x80 {
                return Err(BerError::InvalidTag { offset });
            }
            if tag_len > 4 {
                return Err(BerError::HighTagNumberTooLong { offset });
            }
            // At most four septets: the value stays below 2^28, so neither step can overflow.
            number = number
                .checked_mul(0x80)
                .map(|n| n | u32::from(octet & 0x7F))
                .ok_or(BerError::HighTagNumberTooLong { offset })?;
            tag_len = add(tag_len, 1, offset)?;
            if octet & 0x80 == 0 {
                break;
            }
        }
        if number < 0x1F {
            return Err(BerError::InvalidTag { offset });
        }
    }

    let initial = bytes.next().ok_or(truncated)?;
    let mut header_len = add(tag_len, 1, offset)?;
    if class == TagClass::Universal && number == END_OF_CONTENTS {
        if constructed || tag_len != 1 || initial != 0 {
            return Err(BerError::MalformedEndOfContents { offset });
        }
        return Ok(Header {
            class,
            constructed,
            number,
            tag_len,
            header_len,
            length: Some(0),
            der_length: true,
        });
    }

    let (length, der_length) = if initial < 0x80 {
        (usize::from(initial), true)
    } else if initial == 0x80 {
        if !constructed {
            return Err(BerError::IndefiniteOnPrimitive { offset });
        }
        return Ok(Header {
            class,
            constructed,
            number,
            tag_len,
            header_len,
            length: None,
            der_length: false,
        });
    } else {
        let count = usize::from(initial & 0x7F);
        if initial == 0xFF || count > limits.max_length_octets {
            return Err(BerError::LengthOverflow { offset });
        }
        let mut value = 0usize;
        for _ in 0..count {
            let octet = bytes.next().ok_or(truncated)?;
            value = value
                .checked_mul(0x100)
                .map(|v| v | usize::from(octet))
                .ok_or(BerError::LengthOverflow { offset })?;
        }
        header_len = add(header_len, count, offset)?;
        let minimal = value >= 0x80 && length_octets(value) == add(count, 1, offset)?;
        (value, minimal)
    };
    if length > limits.max_input_len {
        return Err(BerError::AbsurdLength { offset });
    }
    let end = add(add(offset, header_len, offset)?, length, offset)?;
    if end > bound {
        return Err(truncated);
    }
    Ok(Header {
        class,
        constructed,
        number,
        tag_len,
        header_len,
        length: Some(length),
        der_length,
    })
}

/// A definite-length element inside DER bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (low tag numbers only).
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) value: &'a [u8],
    /// Tag, length and content octets.
    pub(crate) raw: &'a [u8],
}

/// Reads one element of DER from the front of `input`; returns it and the rest. Faults are
/// [`Error::Malformed`] in `layer`: the indefinite form and high tag numbers (which no SCEP
/// structure uses) are refused.
pub(crate) fn read_tlv(input: &[u8], layer: Layer) -> Result<(Tlv<'_>, &[u8])> {
    let bad = |problem| Error::Malformed { layer, problem };
    let header = read_header(input, 0, input.len(), &Limits::DEFAULT)
        .map_err(|e| super::der_error(layer, &e))?;
    let (Some(&tag), 1) = (input.first(), header.tag_len) else {
        return Err(bad(DerProblem::Tag));
    };
    let length = header.length.ok_or(bad(DerProblem::Length))?;
    let end = header
        .header_len
        .checked_add(length)
        .ok_or(bad(DerProblem::Length))?;
    let raw = input.get(..end).ok_or(bad(DerProblem::Truncated))?;
    let value = raw
        .get(header.header_len..)
        .ok_or(bad(DerProblem::Truncated))?;
    let rest = input.get(end..).ok_or(bad(DerProblem::Truncated))?;
    Ok((Tlv { tag, value, raw }, rest))
}

/// The elements of a constructed DER element's content octets.
pub(crate) fn children(mut value: &[u8], layer: Layer) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = read_tlv(value, layer)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Appends a DER element: identifier octet `tag`, the minimal length, `value`.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_length(out, value.len());
    out.extend_from_slice(value);
}

/// Number of octets of the DER length encoding of `len` (the initial octet included).
pub(super) fn length_octets(len: usize) -> usize {
    if len < 0x80 {
        return 1;
    }
    let bytes = len.to_be_bytes();
    let leading = bytes.iter().take_while(|b| **b == 0).count();
    bytes.len().saturating_sub(leading).saturating_add(1)
}

/// Appends the DER length encoding of `len`.
pub(super) fn push_length(out: &mut Vec<u8>, len: usize) {
    if let Ok(short) = u8::try_from(len)
        && short < 0x80
    {
        out.push(short);
        return;
    }
    let bytes = len.to_be_bytes();
    let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let count = u8::try_from(significant.len()).unwrap_or(0x7F);
    out.push(0x80 | count);
    out.extend_from_slice(&significant);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> Result<Header, BerError> {
        read_header(bytes, 0, bytes.len(), &Limits::default())
    }

    #[test]
    fn s40_header_low_tag_forms() {
        let h = header(&[0x30, 0x03, 1, 2, 3]).unwrap();
        assert_eq!(h.class, TagClass::Universal);
        assert!(h.constructed);
        assert_eq!((h.number, h.tag_len, h.header_len), (16, 1, 2));
        assert_eq!(h.length, Some(3));
        assert!(h.der_length);

        let h = header(&[0xA0, 0x80, 0, 0]).unwrap();
        assert_eq!(h.class, TagClass::ContextSpecific);
        assert_eq!(h.length, None);
        assert!(!h.der_length);

        let h = header(&[0x42, 0x00]).unwrap();
        assert_eq!(
            (h.class, h.constructed, h.number),
            (TagClass::Application, false, 2)
        );
        let h = header(&[0xDF, 0x7F, 0x00]).unwrap();
        assert_eq!((h.class, h.number, h.tag_len), (TagClass::Private, 0x7F, 2));
    }

    #[test]
    fn s40_header_high_tag_numbers() {
        let h = header(&[0x9F, 0x1F, 0x00]).unwrap();
        assert_eq!((h.number, h.tag_len, h.header_len), (31, 2, 3));
        let h = header(&[0xBF, 0x81, 0x00, 0x00]).unwrap();
        assert_eq!((h.number, h.tag_len), (128, 3));
        let h = header(&[0x9F, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]).unwrap();
        assert_eq!(h.number, (1 << 28) - 1);
        assert_eq!(
            header(&[0x9F, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00]),
            Err(BerError::HighTagNumberTooLong { offset: 0 })
        );
        assert_eq!(
            header(&[0x9F, 0x1E, 0x00]),
            Err(BerError::InvalidTag { offset: 0 })
        );
        assert_eq!(
            header(&[0x9F, 0x80, 0x1F, 0x00]),
            Err(BerError::InvalidTag { offset: 0 })
        );
        assert_eq!(
            header(&[0x9F, 0x81]),
            Err(BerError::Truncated { offset: 0 })
        );
    }

    #[test]
    fn s40_header_lengths() {
        let h = header(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!((h.length, h.header_len, h.der_length), (Some(5), 3, false));
        let h = header(&[0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!((h.length, h.header_len, h.der_length), (Some(5), 4, false));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        let h = header(&long).unwrap();
        assert_eq!((h.length, h.der_length), (Some(0x80), true));
        assert_eq!(
            header(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(BerError::AbsurdLength { offset: 0 })
        );
        assert_eq!(
            header(&[0x04, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Err(BerError::LengthOverflow { offset: 0 })
        );
        assert_eq!(
            header(&[0x04, 0xFF]),
            Err(BerError::LengthOverflow { offset: 0 })
        );
        assert_eq!(
            header(&[0x04, 0x80, 0, 0]),
            Err(BerError::IndefiniteOnPrimitive { offset: 0 })
        );
        assert_eq!(
            header(&[0x04, 0x05, 1]),
            Err(BerError::Truncated { offset: 0 })
        );
        assert_eq!(
            header(&[0x04, 0x82, 0x00]),
            Err(BerError::Truncated { offset: 0 })
        );
        assert_eq!(header(&[]), Err(BerError::Truncated { offset: 0 }));
    }

    #[test]
    fn s40_header_end_of_contents() {
        assert!(header(&[0x00, 0x00]).unwrap().is_end_of_contents());
        assert_eq!(
            header(&[0x00, 0x01, 0]),
            Err(BerError::MalformedEndOfContents { offset: 0 })
        );
        assert_eq!(
            header(&[0x20, 0x00]),
            Err(BerError::MalformedEndOfContents { offset: 0 })
        );
    }

    #[test]
    fn s40_read_tlv_walks_der() {
        let bytes = [0x30, 0x05, 0x04, 0x03, 1, 2, 3, 0xFF];
        let (outer, rest) = read_tlv(&bytes, Layer::Input).unwrap();
        assert_eq!(
            (outer.tag, outer.value, outer.raw),
            (0x30, &bytes[2..7], &bytes[..7])
        );
        assert_eq!(rest, &[0xFF]);
        let inner = children(outer.value, Layer::Input).unwrap();
        assert_eq!(inner.len(), 1);
        assert_eq!((inner[0].tag, inner[0].value), (0x04, &[1u8, 2, 3][..]));
        let bad = |problem| Error::Malformed {
            layer: Layer::Input,
            problem,
        };
        // Not DER: the indefinite form, a high tag number, a length past the end.
        assert_eq!(
            read_tlv(&[0x30, 0x80, 0, 0], Layer::Input),
            Err(bad(DerProblem::Length))
        );
        assert_eq!(
            read_tlv(&[0x1F, 0x81, 0x00, 0x00], Layer::Input),
            Err(bad(DerProblem::Tag))
        );
        assert_eq!(
            read_tlv(&[0x04, 0x05, 1], Layer::Input),
            Err(bad(DerProblem::Truncated))
        );
        assert_eq!(read_tlv(&[], Layer::Input), Err(bad(DerProblem::Truncated)));
        assert_eq!(
            children(&[0x05, 0x00, 0x04], Layer::Input),
            Err(bad(DerProblem::Truncated))
        );
    }

    #[test]
    fn write_tlv_uses_minimal_long_form() {
        let mut out = Vec::new();
        write_tlv(&mut out, 0x04, &[0u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(out.len(), 304);
        let mut short = Vec::new();
        write_tlv(&mut short, 0x30, &[]);
        assert_eq!(short, [0x30, 0x00]);
    }

    #[test]
    fn s40_length_encoding_is_minimal() {
        for len in [
            0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0x3_FFFF,
        ] {
            let mut out = Vec::new();
            push_length(&mut out, len);
            assert_eq!(out.len(), length_octets(len), "{len}");
            let mut bytes = vec![0x04];
            bytes.extend(&out);
            bytes.resize(bytes.len() + len, 0);
            let h = read_header(&bytes, 0, bytes.len(), &Limits::default()).unwrap();
            assert_eq!(h.length, Some(len));
            assert!(h.der_length);
        }
    }
}
