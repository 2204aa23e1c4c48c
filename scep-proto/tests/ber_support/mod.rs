//! Test-only ASN.1 element trees: a strict DER reader and writer, and a BER writer that
//! varies the encoding at random. Shared by the `ber_*` integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "test support code: fails loudly, never sees untrusted input"
)]

/// One element: identifier octets plus primitive contents or children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// A primitive element.
    Prim { tag: Vec<u8>, content: Vec<u8> },
    /// A constructed element.
    Cons { tag: Vec<u8>, children: Vec<Tree> },
}

/// DER length octets.
pub fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// Wraps `content` in a definite-length element with identifier octets `tag`.
pub fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    out.extend(der_len(content.len()));
    out.extend(content);
    out
}

impl Tree {
    /// Identifier octets.
    pub fn tag(&self) -> &[u8] {
        match self {
            Tree::Prim { tag, .. } | Tree::Cons { tag, .. } => tag,
        }
    }

    /// Children of a constructed element.
    pub fn children(&self) -> &[Tree] {
        match self {
            Tree::Cons { children, .. } => children,
            Tree::Prim { .. } => panic!("primitive element has no children"),
        }
    }

    /// Mutable children of a constructed element.
    pub fn children_mut(&mut self) -> &mut Vec<Tree> {
        match self {
            Tree::Cons { children, .. } => children,
            Tree::Prim { .. } => panic!("primitive element has no children"),
        }
    }

    /// Contents of a primitive element.
    pub fn content(&self) -> &[u8] {
        match self {
            Tree::Prim { content, .. } => content,
            Tree::Cons { .. } => panic!("constructed element has no primitive contents"),
        }
    }

    /// DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        match self {
            Tree::Prim { tag, content } => tlv(tag, content),
            Tree::Cons { tag, children } => {
                let inner: Vec<u8> = children.iter().flat_map(Tree::to_der).collect();
                tlv(tag, &inner)
            }
        }
    }

    /// Parses exactly one definite-length element (panics on anything else).
    pub fn from_der(bytes: &[u8]) -> Tree {
        let (tree, rest) = Self::parse(bytes);
        assert!(rest.is_empty(), "trailing bytes");
        tree
    }

    fn parse(bytes: &[u8]) -> (Tree, &[u8]) {
        let mut i = 1;
        if bytes[0] & 0x1F == 0x1F {
            while bytes[i] & 0x80 != 0 {
                i += 1;
            }
            i += 1;
        }
        let tag = bytes[..i].to_vec();
        let first = bytes[i];
        i += 1;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            assert_ne!(first, 0x80, "indefinite length in DER");
            let n = usize::from(first & 0x7F);
            let mut len = 0usize;
            for b in &bytes[i..i + n] {
                len = len * 256 + usize::from(*b);
            }
            i += n;
            len
        };
        let content = &bytes[i..i + len];
        let rest = &bytes[i + len..];
        if tag[0] & 0x20 == 0 {
            let content = content.to_vec();
            return (Tree::Prim { tag, content }, rest);
        }
        let mut children = Vec::new();
        let mut inner = content;
        while !inner.is_empty() {
            let (child, next) = Self::parse(inner);
            children.push(child);
            inner = next;
        }
        (Tree::Cons { tag, children }, rest)
    }

    /// A BER encoding of the same value, with the encoding choices drawn from `rng`:
    /// indefinite or non-minimal lengths, and segmented (nested, mixed) string types.
    pub fn to_ber(&self, rng: &mut Rng) -> Vec<u8> {
        match self {
            Tree::Cons { tag, children } => {
                let parts: Vec<Vec<u8>> = children.iter().map(|c| c.to_ber(rng)).collect();
                wrap(tag, &parts.concat(), true, rng)
            }
            Tree::Prim { tag, content } => match segment_tag(tag) {
                Some(seg) if rng.below(3) == 0 => {
                    let bit = tag[0] == 0x03;
                    let mut cons_tag = tag.clone();
                    cons_tag[0] |= 0x20;
                    let inner = segments(seg, content, bit, 2, rng);
                    wrap(&cons_tag, &inner, true, rng)
                }
                _ => wrap(tag, content, false, rng),
            },
        }
    }
}

/// The segment tag of a universal string type that this generator chunks.
fn segment_tag(tag: &[u8]) -> Option<u8> {
    match tag {
        [0x03] => Some(0x03),
        [0x04] | [0x0C] | [0x13] | [0x16] | [0x1E] => Some(0x04),
        _ => None,
    }
}

/// Encodes `content` (for BIT STRING: unused-bits octet first) as a series of segments,
/// some of them nested.
fn segments(seg: u8, content: &[u8], bit: bool, nest: u32, rng: &mut Rng) -> Vec<u8> {
    let (unused, data) = if bit {
        (content[0], &content[1..])
    } else {
        (0, content)
    };
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let take = if rest.is_empty() {
            0
        } else {
            1 + rng.below(rest.len())
        };
        let (piece, tail) = rest.split_at(take);
        let last = tail.is_empty();
        let mut body = Vec::new();
        if bit {
            body.push(if last { unused } else { 0 });
        }
        body.extend(piece);
        if nest > 0 && rng.below(4) == 0 {
            // A nested constructed segment holding this piece.
            let inner = segments(seg, &body, bit, nest - 1, rng);
            out.extend(wrap(&[seg | 0x20], &inner, true, rng));
        } else {
            out.extend(wrap(&[seg], &body, false, rng));
        }
        if rng.below(6) == 0 && !bit {
            // An empty segment.
            out.extend(wrap(&[seg], &[], false, rng));
        }
        rest = tail;
        if last {
            break;
        }
    }
    out
}

/// Wraps `content` with a length chosen at random (indefinite only if `constructed`).
fn wrap(tag: &[u8], content: &[u8], constructed: bool, rng: &mut Rng) -> Vec<u8> {
    let mut out = tag.to_vec();
    match rng.below(4) {
        0 if constructed => {
            out.push(0x80);
            out.extend(content);
            out.extend([0, 0]);
            return out;
        }
        1 => {
            // Long form with 1..=3 extra leading zero octets.
            let bytes = content.len().to_be_bytes();
            let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
            let zeros = 1 + rng.below(3);
            out.push(0x80 | (significant.len() + zeros) as u8);
            out.extend(std::iter::repeat_n(0u8, zeros));
            out.extend(significant);
        }
        _ => out.extend(der_len(content.len())),
    }
    out.extend(content);
    out
}

/// A small deterministic generator (xorshift64*), seeded by the property test.
pub struct Rng(u64);

impl Rng {
    /// A generator from any seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}
