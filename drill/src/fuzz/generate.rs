//! The scenario generator: valid random deployments and fault schedules from a seed.
//!
//! Sizes are kept so that one scenario runs well under a second: at most 20 clients, a pool
//! of 4 keys, at most about 30 renewals per client over the run, and retry counts that keep a
//! GetNextCACert retry storm (H-1, H-3) to a few thousand requests.

use pki_timers::{Duration, Overlap, Percent};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::scenario::{ClientKind, ClockLoss, Grant, Group, Scenario, Window};

const DAY: u64 = 86_400;
const HOUR: u64 = 3_600;

/// A small deterministic generator over the scenario's own stream.
struct Draw(StdRng);

impl Draw {
    fn u64(&mut self) -> u64 {
        rand::Rng::next_u64(&mut self.0)
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo + 1;
        lo + self.u64() % span
    }

    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.u64() % 100 < percent
    }

    /// One of the items, uniformly.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = usize::try_from(self.u64() % items.len().max(1) as u64).unwrap_or(0);
        items[i.min(items.len().saturating_sub(1))]
    }

    /// A length between `lo` and `hi` seconds, log-uniform-ish: first a scale, then a value.
    fn span(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let mut top = lo.max(1);
        let scales = self.range(0, 40);
        for _ in 0..scales {
            if top >= hi / 2 {
                break;
            }
            top = top.saturating_mul(2);
        }
        self.range(lo, top.min(hi))
    }
}

/// The scenario for one seed: the same seed gives the same scenario.
#[must_use]
pub fn scenario(seed: u64) -> Scenario {
    let mut material = [0u8; 32];
    material[..8].copy_from_slice(&seed.to_le_bytes());
    material[8..16].copy_from_slice(b"scenario");
    let mut d = Draw(StdRng::from_seed(material));
    let mut s = Scenario {
        seed,
        listings: Vec::new(),
        key_pool: 4,
        key_bits: 1024,
        gaps_shown: 5,
        ..Scenario::default()
    };

    // Lifetimes: whole days or any second (the arithmetic is to the second).
    let whole = d.chance(60);
    let round = |v: u64, unit: u64| if whole { (v / unit).max(1) * unit } else { v };
    s.ca_lifetime = Duration::from_secs(round(d.range(20 * DAY, 800 * DAY), DAY));
    s.generations = u32::try_from(d.range(1, 3)).unwrap_or(1);
    let lca = s.ca_lifetime.as_secs();
    let run = lca * u64::from(s.generations);
    let cert = if d.chance(10) {
        // H-6: every renewal is a SHADOW.
        d.range(lca, lca + lca / 2)
    } else {
        d.range(
            (run / 25).max(DAY).min(lca),
            lca.saturating_sub(DAY).max(DAY),
        )
    };
    s.cert_lifetime = Duration::from_secs(round(cert, DAY).clamp(DAY, 1825 * DAY));
    let lcert = s.cert_lifetime.as_secs();
    s.crl_lifetime = Duration::from_secs(d.range(1, 336) * HOUR);
    s.request_lifetime = Duration::from_secs(d.range(1, 1000) * HOUR);

    // The fleet: at most ~30 renewals per client over the run.
    let p_min = (100 * run / (30 * lcert)).clamp(1, 99);
    let mut groups = Vec::new();
    let mut left = d.range(1, 20);
    let kinds = d.range(1, 3);
    for k in 0..kinds {
        if left == 0 {
            break;
        }
        let count = if k + 1 == kinds {
            left
        } else {
            d.range(1, left)
        };
        left = left.saturating_sub(count);
        if count == 0 {
            break;
        }
        let kind = if d.chance(20) {
            ClientKind::CaOnly
        } else {
            let p = if d.chance(3) { 100 } else { d.range(p_min, 99) };
            ClientKind::AutoEnroll {
                percent: Percent::new(u32::try_from(p).unwrap_or(80)).unwrap_or(Percent::FULL),
                regenerate: d.chance(30),
            }
        };
        groups.push(Group {
            count: usize::try_from(count).unwrap_or(1),
            kind,
        });
    }
    s.groups = groups;
    let some_p = s
        .groups
        .iter()
        .find_map(|g| match g.kind {
            ClientKind::AutoEnroll { percent, .. } => Some(u64::from(percent.get())),
            ClientKind::CaOnly => None,
        })
        .unwrap_or(90);

    // Overlap: off, anywhere, or near the H-1 boundary (100 − p) · D / 100 of a client.
    let longest = lcert.min(lca);
    let boundary = longest * (100 - some_p.min(99)) / 100;
    s.overlap = match d.range(0, 9) {
        0 => None,
        1..=4 => Overlap::from_duration(Duration::from_secs(
            d.range(boundary / 2, boundary + boundary / 2).max(60),
        ))
        .ok(),
        _ => Overlap::from_duration(Duration::from_secs(d.span(HOUR, lca + lca / 5))).ok(),
    };

    // Grant: auto, or manual with a delay near the renewal lead time.
    let lead = lcert * (100 - some_p.min(99)) / 100;
    s.grant = if d.chance(35) {
        let delay = match d.range(0, 2) {
            0 => d.span(60, DAY),
            _ => d.range(lead / 10, lead + lead / 2),
        };
        Grant::Manual {
            delay: Duration::from_secs(delay.max(1)),
        }
    } else {
        Grant::Auto
    };
    s.join_window = Duration::from_secs(d.range(0, (lca / 2).min(90 * DAY)));
    s.retry_period = Duration::from_secs(d.range(1, 60) * 60);
    // N: unlimited and 999 only where a 404 storm stays small.
    let few = s.clients() <= 5 && s.retry_period.as_secs() >= 20 * 60;
    s.retry_count = match d.range(0, 19) {
        0 if few => 0,
        1..=3 if few => 999,
        0..=9 => u32::try_from(d.range(1, 10)).unwrap_or(1),
        _ => u32::try_from(d.range(11, 50)).unwrap_or(11),
    };
    let any = d.range(0, 2 * DAY);
    s.jitter = Duration::from_secs(d.pick(&[0, HOUR, 12 * HOUR, any]));

    // Faults. About half the scenarios have none that shift time (outage, clock loss,
    // cancel, manual rollover), so the checker's predictions are held to the second there.
    let faults = d.chance(55);
    let window = |d: &mut Draw| Window {
        start: Duration::from_secs(d.range(0, run)),
        length: Duration::from_secs(if d.chance(50) {
            d.span(60, 12 * HOUR)
        } else {
            d.span(HOUR, (lcert / 2).max(HOUR))
        }),
    };
    s.outages = Vec::new();
    if faults {
        for _ in 0..d.range(0, 2) {
            s.outages.push(window(&mut d));
        }
        if d.chance(30) {
            let share = u32::try_from(d.range(10, 100)).unwrap_or(50);
            s.clock_losses.push(ClockLoss {
                share,
                window: window(&mut d),
            });
        }
    }
    s.reboot_share = if d.chance(50) {
        u32::try_from(d.range(5, 60)).unwrap_or(10)
    } else {
        0
    };
    if faults && d.chance(30) {
        // C-24 inside some generation's rollover window, often followed by C-23.
        let g = d.range(0, u64::from(s.generations) - 1);
        let na = (g + 1) * lca;
        let o = s
            .overlap
            .map_or(lca / 10, |o| o.duration().as_secs().min(lca));
        let cancel = d.range(na - o, na - 1);
        s.rollover_cancel = Some(Duration::from_secs(cancel));
        if d.chance(70) {
            let left = na - cancel;
            s.manual_rollover = Some(Duration::from_secs(cancel + d.range(1, left * 9 / 10)));
        }
    } else if faults && d.chance(15) {
        s.manual_rollover = Some(Duration::from_secs(d.range(0, run)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_valid_reproducible_and_round_trip() {
        for seed in 0..300 {
            let s = scenario(seed);
            assert_eq!(s, scenario(seed));
            s.validate().unwrap();
            assert!(s.clients() <= 20 && s.clients() >= 1, "{seed}");
            let back = Scenario::from_args(s.to_args()).unwrap().unwrap();
            assert_eq!(back, s, "{seed}");
        }
    }
}
