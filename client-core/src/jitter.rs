//! K-10a: a request that need not go out at the instant that made it due is spread over a
//! window, each trustpoint at its own offset, so a fleet that activates a rollover CA in the
//! same second does not ask its CA in the same second.
//!
//! The offset is a pure function of bytes that differ from one trustpoint to the next (its
//! identity certificate, else its subject): never a clock, never a shared random generator, so
//! a trustpoint keeps its offset across restarts and a simulated fleet is reproducible.

use pki_timers::Duration;
use scep_proto::DigestAlg;

/// The offset in `[0, window)` for a trustpoint identified by `seed` (whole seconds; zero for a
/// zero window). Uniform over the window for distinct seeds.
#[must_use]
pub fn jitter_offset(seed: &[u8], window: Duration) -> Duration {
    let digest = DigestAlg::Sha256.digest(seed);
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    // A zero window has no offset but zero.
    Duration::from_secs(
        u64::from_be_bytes(first)
            .checked_rem(window.as_secs())
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k10a_offset_is_deterministic_inside_the_window() {
        let w = Duration::from_hours(12);
        for i in 0..2000u32 {
            let seed = format!("CN=client-{i:05}");
            let a = jitter_offset(seed.as_bytes(), w);
            assert_eq!(a, jitter_offset(seed.as_bytes(), w));
            assert!(a.as_secs() < w.as_secs());
        }
        assert_eq!(jitter_offset(b"x", Duration::from_secs(0)).as_secs(), 0);
        assert_eq!(jitter_offset(b"x", Duration::from_secs(1)).as_secs(), 0);
    }

    #[test]
    fn k10a_offsets_spread_over_the_window() {
        // 1,000 trustpoints over 12 hours: every hour gets its share (83 on average).
        let w = Duration::from_hours(12);
        let mut per_hour = [0u32; 12];
        for i in 0..1000u32 {
            let h = jitter_offset(format!("CN=client-{i:05}").as_bytes(), w).as_secs() / 3600;
            per_hour[usize::try_from(h).unwrap()] += 1;
        }
        assert!(
            per_hour.iter().all(|n| (50..=120).contains(n)),
            "{per_hour:?}"
        );
    }
}
