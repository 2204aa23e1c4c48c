//! The two-pass BER-to-DER normaliser behind [`super::normalize_ber`] and
//! [`super::flatten_constructed_string`].
//!
//! Pass one walks the input iteratively (an explicit stack bounded by
//! [`Limits::max_depth`]) and records one [`Node`] per element in pre-order, each with the
//! length its contents will have once normalised. Pass two writes the nodes out. Nothing is
//! ever allocated from a declared length: the node list grows with the elements actually seen
//! (bounded by [`Limits::max_elements`]) and the output buffer is sized from the computed
//! output length, which is at most a few bytes longer than the input.

use super::BerError;
use super::tlv::{Header, TagClass, add, length_octets, push_length, read_header};
use crate::Limits;

/// Universal tag number of BIT STRING.
const BIT_STRING: u32 = 3;
/// Universal tag number of OCTET STRING.
const OCTET_STRING: u32 = 4;

/// Universal types whose constructed (segmented) BER form is rewritten to the primitive form:
/// BIT STRING, OCTET STRING, ObjectDescriptor, and the restricted character string and time
/// types (X.690 §8.6, §8.7 and the restricted character string rules). `CHARACTER STRING`
/// (29) is a SEQUENCE in disguise and is not in the list.
fn is_string_type(number: u32) -> bool {
    matches!(number, 3 | 4 | 7 | 12 | 18..=28 | 30)
}

/// What pass two writes for one element.
#[derive(Debug)]
enum Kind<'a> {
    /// A constructed element kept constructed: identifier octets, then the new length.
    Constructed,
    /// A primitive element: identifier octets, DER length, contents copied.
    Primitive(&'a [u8]),
    /// A constructed string rewritten as primitive: its primitive identifier octet and the
    /// DER length; for BIT STRING also the unused-bits octet of the last segment. The
    /// segment data follows as the [`Kind::Segment`] nodes after it.
    Flattened {
        /// The identifier octet with the constructed bit cleared.
        tag: u8,
        /// Whether this is a BIT STRING (whose segments start with an unused-bits octet).
        bit_string: bool,
        /// Unused bits declared by the last BIT STRING segment seen.
        unused_bits: u8,
    },
    /// Contents of one primitive segment of a flattened string (without the unused-bits octet
    /// for BIT STRING).
    Segment(&'a [u8]),
}

/// One element, in pre-order.
#[derive(Debug)]
struct Node<'a> {
    /// The identifier octets as received.
    tag: &'a [u8],
    /// What to write.
    kind: Kind<'a>,
    /// Length of the normalised contents (filled in while parsing).
    content_len: usize,
}

impl Node<'_> {
    /// Length of the whole normalised element.
    fn encoded_len(&self, offset: usize) -> Result<usize, BerError> {
        let header = add(self.tag.len(), length_octets(self.content_len), offset)?;
        add(header, self.content_len, offset)
    }
}

/// Which segments a constructed string accepts.
#[derive(Debug, Clone, Copy)]
struct SegmentRule {
    /// Index of the [`Kind::Flattened`] node receiving the data.
    owner: usize,
    /// Universal tag numbers a segment may have.
    allowed: [u32; 2],
    /// BIT STRING segments.
    bit_string: bool,
}

/// A constructed element being read.
#[derive(Debug)]
struct Frame {
    /// Offset of its identifier octets.
    start: usize,
    /// Its node, if it has one (nested segments of a flattened string do not).
    node: Option<usize>,
    /// End of its contents if the length is definite.
    end: Option<usize>,
    /// End of the innermost enclosing definite-length contents (or of the input).
    bound: usize,
    /// Set when the contents are segments of a flattened string.
    segments: Option<SegmentRule>,
}

/// Entry points of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The generic pass.
    Normalize,
    /// The top-level element's contents are OCTET STRING segments, whatever its tag.
    FlattenOctets,
}

/// Result of pass one.
#[derive(Debug)]
pub(super) struct Parsed<'a> {
    /// The elements in pre-order.
    nodes: Vec<Node<'a>>,
    /// Whether the output differs from the input.
    pub(super) changed: bool,
    /// Length of the normalised output.
    total_len: usize,
}

/// Pass one: validates `input` and computes the normalised lengths.
pub(super) fn parse<'a>(
    input: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<Parsed<'a>, BerError> {
    if input.len() > limits.max_input_len {
        return Err(BerError::InputTooLarge {
            len: input.len(),
            limit: limits.max_input_len,
        });
    }
    let mut nodes: Vec<Node<'a>> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0usize;
    let mut elements = 0usize;
    let mut changed = false;
    let mut total_len: Option<usize> = None;

    loop {
        let bound = match stack.last() {
            Some(top) => {
                if top.end == Some(pos) {
                    close(&mut stack, &mut nodes, &mut total_len)?;
                    continue;
                }
                top.bound
            }
            None => {
                if total_len.is_some() {
                    if pos != input.len() {
                        return Err(BerError::TrailingData { offset: pos });
                    }
                    break;
                }
                input.len()
            }
        };
        if pos >= bound {
            return Err(match stack.last() {
                Some(top) => BerError::MissingEndOfContents { offset: top.start },
                None => BerError::Truncated { offset: pos },
            });
        }
        elements = add(elements, 1, pos)?;
        if elements > limits.max_elements {
            return Err(BerError::TooManyElements {
                limit: limits.max_elements,
            });
        }
        let header = read_header(input, pos, bound, limits)?;
        let start = pos;
        if header.is_end_of_contents() {
            match stack.last() {
                Some(top) if top.end.is_none() => {
                    pos = add(pos, header.header_len, pos)?;
                    close(&mut stack, &mut nodes, &mut total_len)?;
                    continue;
                }
                _ => return Err(BerError::UnexpectedEndOfContents { offset: pos }),
            }
        }
        if stack.len() >= limits.max_depth {
            return Err(BerError::DepthExceeded {
                limit: limits.max_depth,
            });
        }
        changed |= !header.der_length;
        let contents_start = add(pos, header.header_len, pos)?;
        let tag = input
            .get(pos..add(pos, header.tag_len, pos)?)
            .ok_or(BerError::Truncated { offset: pos })?;
        let enclosing = stack.last().and_then(|frame| frame.segments);

        if !header.constructed {
            // read_header rejects the indefinite form on primitive elements.
            let length = header
                .length
                .ok_or(BerError::IndefiniteOnPrimitive { offset: pos })?;
            let contents_end = add(contents_start, length, pos)?;
            let contents = input
                .get(contents_start..contents_end)
                .ok_or(BerError::Truncated { offset: pos })?;
            pos = contents_end;
            match enclosing {
                Some(rule) => {
                    check_segment(&header, rule, start)?;
                    add_segment(&mut nodes, rule, contents, start)?;
                }
                None => {
                    let node = Node {
                        tag,
                        kind: Kind::Primitive(contents),
                        content_len: length,
                    };
                    finish_child(&stack, &mut nodes, node, &mut total_len, start)?;
                }
            }
            continue;
        }

        let end = match header.length {
            Some(length) => Some(add(contents_start, length, pos)?),
            None => None,
        };
        let frame_bound = end.unwrap_or(bound);
        let (node, segments) = match enclosing {
            Some(rule) => {
                check_segment(&header, rule, start)?;
                (None, Some(rule))
            }
            None => match flattening(mode, stack.is_empty(), &header) {
                Some((bit_string, allowed)) => {
                    changed = true;
                    let owner = nodes.len();
                    let first = tag.first().copied().unwrap_or(0);
                    nodes.push(Node {
                        tag,
                        kind: Kind::Flattened {
                            tag: first & !0x20,
                            bit_string,
                            unused_bits: 0,
                        },
                        content_len: usize::from(bit_string),
                    });
                    let rule = SegmentRule {
                        owner,
                        allowed,
                        bit_string,
                    };
                    (Some(owner), Some(rule))
                }
                None => {
                    let index = nodes.len();
                    nodes.push(Node {
                        tag,
                        kind: Kind::Constructed,
                        content_len: 0,
                    });
                    (Some(index), None)
                }
            },
        };
        stack.push(Frame {
            start,
            node,
            end,
            bound: frame_bound,
            segments,
        });
        pos = contents_start;
    }

    Ok(Parsed {
        nodes,
        changed,
        total_len: total_len.unwrap_or(0),
    })
}

/// Whether a constructed element (not itself a segment) is flattened, and if so whether it
/// is a BIT STRING and which universal tags its segments may have.
fn flattening(mode: Mode, is_root: bool, header: &Header) -> Option<(bool, [u32; 2])> {
    if mode == Mode::FlattenOctets && is_root {
        return Some((false, [OCTET_STRING; 2]));
    }
    if header.class != TagClass::Universal || !is_string_type(header.number) {
        return None;
    }
    if header.number == BIT_STRING {
        Some((true, [BIT_STRING; 2]))
    } else {
        // X.690: the segments of a restricted character string are OCTET STRINGs; segments
        // tagged like the outer type are accepted too.
        Some((false, [OCTET_STRING, header.number]))
    }
}

/// Checks that a segment has a type its constructed string allows.
fn check_segment(header: &Header, rule: SegmentRule, offset: usize) -> Result<(), BerError> {
    if header.class == TagClass::Universal && rule.allowed.contains(&header.number) {
        Ok(())
    } else {
        Err(BerError::MismatchedSegmentType { offset })
    }
}

/// Records one primitive segment and adds its data to the flattened string.
fn add_segment<'a>(
    nodes: &mut Vec<Node<'a>>,
    rule: SegmentRule,
    contents: &'a [u8],
    offset: usize,
) -> Result<(), BerError> {
    let owner = nodes
        .get_mut(rule.owner)
        .ok_or(BerError::MismatchedSegmentType { offset })?;
    let data = if rule.bit_string {
        let invalid = BerError::InvalidBitStringSegment { offset };
        let (&unused, data) = contents.split_first().ok_or(invalid)?;
        let Kind::Flattened { unused_bits, .. } = &mut owner.kind else {
            return Err(invalid);
        };
        // Only the last segment may leave bits unused, and never more than seven of one
        // that carries at least one bit.
        if *unused_bits != 0 || unused > 7 || (data.is_empty() && unused != 0) {
            return Err(invalid);
        }
        *unused_bits = unused;
        data
    } else {
        contents
    };
    owner.content_len = add(owner.content_len, data.len(), offset)?;
    nodes.push(Node {
        tag: &[],
        kind: Kind::Segment(data),
        content_len: data.len(),
    });
    Ok(())
}

/// Adds a finished element to its parent's contents length (or makes it the result).
fn finish_child<'a>(
    stack: &[Frame],
    nodes: &mut Vec<Node<'a>>,
    node: Node<'a>,
    total_len: &mut Option<usize>,
    offset: usize,
) -> Result<(), BerError> {
    let encoded = node.encoded_len(offset)?;
    nodes.push(node);
    add_to_parent(stack, nodes, encoded, total_len, offset)
}

/// Adds `encoded` bytes to the innermost open element, or records the output length when no
/// element is open.
fn add_to_parent(
    stack: &[Frame],
    nodes: &mut [Node<'_>],
    encoded: usize,
    total_len: &mut Option<usize>,
    offset: usize,
) -> Result<(), BerError> {
    match stack.last() {
        None => *total_len = Some(encoded),
        Some(frame) => {
            if let Some(parent) = frame.node.and_then(|index| nodes.get_mut(index)) {
                parent.content_len = add(parent.content_len, encoded, offset)?;
            }
        }
    }
    Ok(())
}

/// Closes the innermost open element.
fn close(
    stack: &mut Vec<Frame>,
    nodes: &mut [Node<'_>],
    total_len: &mut Option<usize>,
) -> Result<(), BerError> {
    let Some(frame) = stack.pop() else {
        return Ok(());
    };
    // A nested segment (no node) added its data to the flattened string segment by segment.
    let Some(node) = frame.node.and_then(|index| nodes.get(index)) else {
        return Ok(());
    };
    let encoded = node.encoded_len(frame.start)?;
    add_to_parent(stack, nodes, encoded, total_len, frame.start)
}

/// Pass two for [`Mode::Normalize`]: the DER bytes.
pub(super) fn write(parsed: &Parsed<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(parsed.total_len);
    for node in &parsed.nodes {
        match node.kind {
            Kind::Constructed => {
                out.extend_from_slice(node.tag);
                push_length(&mut out, node.content_len);
            }
            Kind::Primitive(contents) => {
                out.extend_from_slice(node.tag);
                push_length(&mut out, node.content_len);
                out.extend_from_slice(contents);
            }
            Kind::Flattened {
                tag,
                bit_string,
                unused_bits,
            } => {
                out.push(tag);
                push_length(&mut out, node.content_len);
                if bit_string {
                    out.push(unused_bits);
                }
            }
            Kind::Segment(data) => out.extend_from_slice(data),
        }
    }
    out
}

/// Pass two for [`Mode::FlattenOctets`]: the concatenated segment data.
pub(super) fn concatenate(parsed: &Parsed<'_>) -> Vec<u8> {
    let capacity = parsed.nodes.first().map_or(0, |root| root.content_len);
    let mut out = Vec::with_capacity(capacity);
    for node in &parsed.nodes {
        if let Kind::Segment(data) = node.kind {
            out.extend_from_slice(data);
        }
    }
    out
}

/// The contents of a primitive top-level element (for [`Mode::FlattenOctets`]).
pub(super) fn primitive_contents<'a>(parsed: &Parsed<'a>) -> Option<&'a [u8]> {
    match parsed.nodes.first().map(|node| &node.kind) {
        Some(Kind::Primitive(contents)) => Some(contents),
        _ => None,
    }
}
