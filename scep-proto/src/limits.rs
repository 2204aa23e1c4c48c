//! Size, depth and count budgets for decoding untrusted input (SPEC S-40).
//!
//! One [`Limits`] value is handed to every decoder that sees peer bytes. The BER normaliser
//! enforces the input size, nesting depth, element count and
//! length-of-length budgets; the per-structure counts (certificates, SignerInfos, attributes)
//! are enforced by the message codecs.

/// Decoding budgets for untrusted input (SPEC S-40, a project decision).
///
/// Start from [`Limits::default`] (the SPEC values) and change single fields:
///
/// ```
/// let mut limits = scep_proto::Limits::default();
/// limits.max_depth = 16;
/// assert_eq!(limits.max_input_len, 256 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted encoded input in bytes (a whole pkiMessage, or one inner structure).
    /// Default 256 KiB, matching the largest POST body a server accepts (S-6).
    pub max_input_len: usize,
    /// Deepest accepted nesting of constructed elements; the outermost element is at depth 1.
    /// Default 32. Bounds the normaliser's stack as well as the codecs' recursion.
    pub max_depth: usize,
    /// Most elements (headers, including end-of-contents markers) one decode may visit.
    /// Default 65 536. Bounds the work and the bookkeeping memory per input.
    pub max_elements: usize,
    /// Most length octets after the initial `0x8N` octet of a long-form length. Default 8;
    /// BER allows leading zero octets, so this is larger than a minimal encoding needs.
    pub max_length_octets: usize,
    /// Most certificates in the `certificates` field of one SignedData. Default 16.
    /// Enforced by the SignedData codec, not by the normaliser.
    pub max_certificates: usize,
    /// Most SignerInfos in one SignedData. Default 4. Enforced by the SignedData codec.
    pub max_signer_infos: usize,
    /// Most attributes in one signed-attribute (or unsigned-attribute) set, and most
    /// attributes in a CSR. Default 64. Enforced by the codecs that read attributes.
    pub max_attributes: usize,
}

impl Limits {
    /// The SPEC S-40 values; the same as [`Limits::default`], usable in `const` context.
    pub const DEFAULT: Self = Self {
        max_input_len: 256 * 1024,
        max_depth: 32,
        max_elements: 65_536,
        max_length_octets: 8,
        max_certificates: 16,
        max_signer_infos: 4,
        max_attributes: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;

    #[test]
    fn s40_default_limits_match_spec() {
        let limits = Limits::default();
        assert_eq!(limits.max_input_len, 262_144);
        assert_eq!(limits.max_depth, 32);
        assert_eq!(limits.max_certificates, 16);
        assert_eq!(limits.max_signer_infos, 4);
        assert_eq!(limits.max_attributes, 64);
        assert_eq!(limits.max_length_octets, 8);
        assert_eq!(limits, Limits::DEFAULT);
    }
}
