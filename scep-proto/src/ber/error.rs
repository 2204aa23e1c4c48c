//! Errors of the BER layer.

/// Why BER input was rejected by the normaliser (SPEC S-40).
///
/// Every variant that points into the input carries `offset`: the position, in the bytes
/// handed to the failing call, of the first identifier octet of the offending element (for
/// [`BerError::TrailingData`], of the first byte after the top-level element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum BerError {
    /// The input is longer than [`Limits::max_input_len`](crate::Limits::max_input_len).
    #[error("BER: input of {len} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge {
        /// Length of the input.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The identifier octets, the length octets or the declared contents run past the end of
    /// the input, or past the end of the enclosing definite-length element. An empty input is
    /// reported as truncated at offset 0.
    #[error("BER: element at byte {offset} is truncated")]
    Truncated {
        /// Start of the element.
        offset: usize,
    },
    /// Identifier octets that BER forbids: a tag number below 31 written in the high-tag-number
    /// form, a high tag number with a leading zero septet, or the reserved universal tag 0 used
    /// for anything but an end-of-contents marker.
    #[error("BER: invalid identifier octets at byte {offset}")]
    InvalidTag {
        /// Start of the element.
        offset: usize,
    },
    /// A high tag number longer than four septets (tag numbers must be below 2^28).
    #[error("BER: tag number at byte {offset} is too long")]
    HighTagNumberTooLong {
        /// Start of the element.
        offset: usize,
    },
    /// A long-form length with more length octets than
    /// [`Limits::max_length_octets`](crate::Limits::max_length_octets), the reserved initial
    /// length octet `0xFF`, or a value that does not fit in `usize`.
    #[error("BER: length octets of the element at byte {offset} overflow")]
    LengthOverflow {
        /// Start of the element.
        offset: usize,
    },
    /// A definite length larger than [`Limits::max_input_len`](crate::Limits::max_input_len):
    /// no input within the limits can hold it.
    #[error("BER: element at byte {offset} declares an absurd length")]
    AbsurdLength {
        /// Start of the element.
        offset: usize,
    },
    /// The indefinite length form on a primitive element (BER allows it only on constructed
    /// ones).
    #[error("BER: indefinite length on the primitive element at byte {offset}")]
    IndefiniteOnPrimitive {
        /// Start of the element.
        offset: usize,
    },
    /// An indefinite-length element whose contents reach the end of the input (or of the
    /// enclosing definite-length element) without an end-of-contents marker.
    #[error("BER: indefinite-length element at byte {offset} has no end-of-contents marker")]
    MissingEndOfContents {
        /// Start of the indefinite-length element.
        offset: usize,
    },
    /// An end-of-contents marker outside indefinite-length contents (at top level or inside a
    /// definite-length element).
    #[error("BER: unexpected end-of-contents marker at byte {offset}")]
    UnexpectedEndOfContents {
        /// Position of the marker.
        offset: usize,
    },
    /// Identifier octet `0x00` followed by anything but a `0x00` length octet.
    #[error("BER: malformed end-of-contents marker at byte {offset}")]
    MalformedEndOfContents {
        /// Position of the marker.
        offset: usize,
    },
    /// A segment inside a constructed string that is not of the segment type the string
    /// requires (OCTET STRING segments for OCTET STRING and the character string types,
    /// BIT STRING segments for BIT STRING).
    #[error("BER: segment at byte {offset} has the wrong type for its constructed string")]
    MismatchedSegmentType {
        /// Start of the segment.
        offset: usize,
    },
    /// A BIT STRING segment inside a constructed BIT STRING that is empty, declares more than
    /// seven unused bits, declares unused bits without any bit, or declares unused bits but is
    /// not the last segment.
    #[error("BER: invalid BIT STRING segment at byte {offset}")]
    InvalidBitStringSegment {
        /// Start of the segment.
        offset: usize,
    },
    /// Constructed elements nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("BER: nesting deeper than {limit}")]
    DepthExceeded {
        /// The limit in force.
        limit: usize,
    },
    /// More elements than [`Limits::max_elements`](crate::Limits::max_elements).
    #[error("BER: more than {limit} elements")]
    TooManyElements {
        /// The limit in force.
        limit: usize,
    },
    /// Bytes after the single top-level element.
    #[error("BER: trailing data at byte {offset}")]
    TrailingData {
        /// First byte after the top-level element.
        offset: usize,
    },
}
