//! Property tests for the normaliser (SPEC S-40): random DER trees re-encoded as random BER
//! normalise back to the exact DER; arbitrary and mutated bytes never panic; every success is
//! a fixed point.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code fails loudly on purpose"
)]

mod ber_support;

use ber_support::{Rng, Tree};
use proptest::collection::vec;
use proptest::prelude::*;
use scep_proto::{Limits, flatten_constructed_string, normalize_ber};
use std::borrow::Cow;

/// Primitive elements, string types included (those are what the BER writer segments).
fn primitive() -> impl Strategy<Value = Tree> {
    let prim = |tag: &'static [u8], max: usize| {
        vec(any::<u8>(), 0..max).prop_map(move |content| Tree::Prim {
            tag: tag.to_vec(),
            content,
        })
    };
    prop_oneof![
        prim(&[0x04], 300),
        prim(&[0x02], 24),
        prim(&[0x13], 40),
        prim(&[0x0C], 40),
        prim(&[0x16], 20),
        prim(&[0x1E], 20),
        prim(&[0x80], 20),
        prim(&[0x9F, 0x1F], 8),
        prim(&[0xDF, 0x81, 0x00], 8),
        Just(Tree::Prim {
            tag: vec![0x05],
            content: Vec::new(),
        }),
        (0u8..8, vec(any::<u8>(), 0..60)).prop_map(|(unused, data)| {
            let unused = if data.is_empty() { 0 } else { unused };
            let mut content = vec![unused];
            content.extend(data);
            Tree::Prim {
                tag: vec![0x03],
                content,
            }
        }),
    ]
}

/// Random element trees of depth at most 5 with constructed SEQUENCE, SET (never sorted),
/// and context/application/private/high-number tags.
fn tree() -> impl Strategy<Value = Tree> {
    primitive().prop_recursive(4, 48, 6, |inner| {
        let tags: &[&[u8]] = &[
            &[0x30],
            &[0x31],
            &[0xA0],
            &[0xA3],
            &[0x61],
            &[0xE1],
            &[0xBF, 0x81, 0x00],
        ];
        (proptest::sample::select(tags), vec(inner, 0..6)).prop_map(|(tag, children)| Tree::Cons {
            tag: tag.to_vec(),
            children,
        })
    })
}

/// Normalising `bytes` must not panic; a success must be a fixed point.
fn assert_fixed_point(bytes: &[u8]) -> Result<(), TestCaseError> {
    let limits = Limits::default();
    if let Ok(once) = normalize_ber(bytes, &limits) {
        match normalize_ber(&once, &limits) {
            Ok(Cow::Borrowed(twice)) => prop_assert_eq!(twice, &once[..]),
            other => prop_assert!(false, "second pass: {:?}", other),
        }
    }
    let _ = flatten_constructed_string(bytes, &limits);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn s40_prop_ber_variants_normalise_to_the_der(tree in tree(), seed in any::<u64>()) {
        let der = tree.to_der();
        let limits = Limits::default();
        let unchanged = normalize_ber(&der, &limits).unwrap();
        prop_assert!(matches!(unchanged, Cow::Borrowed(_)));
        let ber = tree.to_ber(&mut Rng::new(seed));
        let normalised = normalize_ber(&ber, &limits).unwrap();
        prop_assert_eq!(&normalised[..], der.as_slice());
        prop_assert_eq!(matches!(normalised, Cow::Borrowed(_)), ber == der);
    }

    #[test]
    fn s20_prop_flatten_returns_the_octets(
        content in vec(any::<u8>(), 0..2000),
        tag in proptest::sample::select(vec![0x04u8, 0x80, 0x81]),
        seed in any::<u64>(),
    ) {
        let ber = Tree::Prim { tag: vec![0x04], content: content.clone() }
            .to_ber(&mut Rng::new(seed));
        // Retag the element as [n] IMPLICIT, keeping its constructed bit.
        let mut ber = ber;
        ber[0] = tag | (ber[0] & 0x20);
        let flat = flatten_constructed_string(&ber, &Limits::default()).unwrap();
        prop_assert_eq!(&flat[..], content.as_slice());
    }

    #[test]
    fn s40_prop_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..1024)) {
        assert_fixed_point(&bytes)?;
    }

    #[test]
    fn s40_prop_mutated_ber_never_panics(
        tree in tree(),
        seed in any::<u64>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut ber = tree.to_ber(&mut Rng::new(seed));
        for (at, byte) in edits {
            let at = at.index(ber.len());
            ber[at] = byte;
        }
        assert_fixed_point(&ber)?;
        let cut = cut.index(ber.len() + 1);
        assert_fixed_point(&ber[..cut])?;
    }
}
