//! The two things the library crates take as arguments: the time and randomness.

use pki_timers::Instant;
use rand::rngs::StdRng;

/// The system clock as a CA instant (whole seconds; 1970 if the clock is before it).
pub(crate) fn now() -> Instant {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Instant::from_unix(secs)
}

/// A CSPRNG seeded from the operating system.
pub(crate) fn rng() -> Result<StdRng, String> {
    let mut os = rand::rngs::SysRng;
    <StdRng as rand::SeedableRng>::try_from_rng(&mut os)
        .map_err(|e| format!("the operating system's random source failed: {e}"))
}
