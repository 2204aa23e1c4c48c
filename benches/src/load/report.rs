//! The result line: throughput, errors and latency percentiles.

use std::time::Duration;

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Requests answered with a SUCCESS CertRep.
    pub successes: u64,
    /// Every other completed request (see [`Outcome`](super::Outcome)).
    pub errors: u64,
    /// From the start of the timed phase until the last in-flight request returned.
    pub elapsed: Duration,
    /// Latency of every completed request, success or error, in any order.
    pub latencies: Vec<Duration>,
}

impl Summary {
    /// SUCCESS answers per second of elapsed time (0 when nothing elapsed).
    #[must_use]
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            // u64 -> f64 is exact below 2^53 requests.
            self.successes as f64 / secs
        } else {
            0.0
        }
    }

    /// The last line of `scep-load`'s output:
    /// `throughput=<req/s, 1 decimal> errors=<n> p50_ms=<2 decimals> p99_ms=<2 decimals>`.
    #[must_use]
    pub fn line(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "throughput={:.1} errors={} p50_ms={:.2} p99_ms={:.2}",
            self.throughput(),
            self.errors,
            ms(percentile(&sorted, 50)),
            ms(percentile(&sorted, 99)),
        )
    }
}

/// The nearest-rank `p`-th percentile (1 ≤ p ≤ 100) of `sorted` (ascending); zero when empty.
#[must_use]
pub fn percentile(sorted: &[Duration], p: u32) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let p = usize::try_from(p.clamp(1, 100)).unwrap_or(100);
    // rank = ceil(p / 100 * n), 1-based.
    let rank = sorted.len().saturating_mul(p).div_ceil(100).max(1);
    sorted
        .get(rank - 1)
        .or(sorted.last())
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{Summary, percentile};
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&v, 50), ms(50));
        assert_eq!(percentile(&v, 99), ms(99));
        assert_eq!(percentile(&v, 100), ms(100));
        assert_eq!(percentile(&[ms(7)], 99), ms(7));
        assert_eq!(percentile(&[ms(1), ms(2), ms(3)], 50), ms(2));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn line_format() {
        let s = Summary {
            successes: 25,
            errors: 3,
            elapsed: Duration::from_secs(2),
            latencies: vec![ms(4), Duration::from_micros(1500), ms(9)],
        };
        assert_eq!(s.line(), "throughput=12.5 errors=3 p50_ms=4.00 p99_ms=9.00");
        assert_eq!(
            Summary::default().line(),
            "throughput=0.0 errors=0 p50_ms=0.00 p99_ms=0.00"
        );
    }
}
