//! A scenario as the drill command line that reproduces it (`Scenario::to_args`).

use pki_timers::Duration;

use crate::scenario::{ClientKind, Grant, Scenario, Window};

/// `1d2h3m4s`, the units [`crate::parse_duration`] reads; `0s` for zero.
pub(crate) fn duration_arg(d: Duration) -> String {
    let mut rest = d.as_secs();
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, secs) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = rest / secs;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
            rest %= secs;
        }
    }
    out
}

fn window_arg(w: Window) -> String {
    format!("{}+{}", duration_arg(w.start), duration_arg(w.length))
}

impl Scenario {
    /// The flags that make [`Scenario::from_args`] return this very scenario (every knob
    /// spelled out, so a change of default does not change what the line means).
    #[must_use]
    pub fn to_args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: String| {
            a.push(format!("--{name}"));
            a.push(value);
        };
        flag("seed", self.seed.to_string());
        flag("start", self.start.to_string());
        flag("generations", self.generations.to_string());
        flag("ca-lifetime", duration_arg(self.ca_lifetime));
        flag("cert-lifetime", duration_arg(self.cert_lifetime));
        flag("crl-lifetime", duration_arg(self.crl_lifetime));
        flag("request-lifetime", duration_arg(self.request_lifetime));
        flag(
            "overlap",
            self.overlap
                .map_or_else(|| "off".to_owned(), |o| duration_arg(o.duration())),
        );
        match self.grant {
            Grant::Auto => flag("grant", "auto".to_owned()),
            Grant::Manual { delay } => flag("grant-delay", duration_arg(delay)),
        }
        for g in &self.groups {
            let kind = match g.kind {
                ClientKind::AutoEnroll {
                    percent,
                    regenerate: false,
                } => format!("p{}", percent.get()),
                ClientKind::AutoEnroll {
                    percent,
                    regenerate: true,
                } => format!("p{}+regenerate", percent.get()),
                ClientKind::CaOnly => "ca-only".to_owned(),
            };
            flag("group", format!("{}:{kind}", g.count));
        }
        flag("join-window", duration_arg(self.join_window));
        flag("retry-period", duration_arg(self.retry_period));
        flag("retry-count", self.retry_count.to_string());
        flag("jitter", duration_arg(self.jitter));
        if self.outages.is_empty() {
            flag("outage", "none".to_owned());
        }
        for w in &self.outages {
            flag("outage", window_arg(*w));
        }
        flag("reboot-share", self.reboot_share.to_string());
        for c in &self.clock_losses {
            flag(
                "clock-loss",
                format!("{}@{}", c.share, window_arg(c.window)),
            );
        }
        if let Some(at) = self.rollover_cancel {
            flag("rollover-cancel", duration_arg(at));
        }
        if let Some(at) = self.manual_rollover {
            flag("manual-rollover", duration_arg(at));
        }
        if self.listings.is_empty() {
            flag("listing", "none".to_owned());
        }
        for at in &self.listings {
            flag("listing", duration_arg(*at));
        }
        flag("key-bits", self.key_bits.to_string());
        flag("key-pool", self.key_pool.to_string());
        flag("gaps-shown", self.gaps_shown.to_string());
        if self.reenroll_after_expiry {
            a.push("--reenroll-after-expiry".to_owned());
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for secs in [0u64, 1, 59, 60, 3_599, 86_400, 90_061, 63_072_000] {
            let d = Duration::from_secs(secs);
            assert_eq!(crate::parse_duration(&duration_arg(d)), Some(d), "{secs}");
        }
        assert_eq!(duration_arg(Duration::from_secs(90_061)), "1d1h1m1s");
    }

    #[test]
    fn the_default_scenario_round_trips() {
        let s = Scenario::default();
        let back = Scenario::from_args(s.to_args()).unwrap().unwrap();
        assert_eq!(back, s);
        let on = Scenario {
            reenroll_after_expiry: true,
            ..Scenario::default()
        };
        assert_eq!(Scenario::from_args(on.to_args()).unwrap().unwrap(), on);
    }
}
