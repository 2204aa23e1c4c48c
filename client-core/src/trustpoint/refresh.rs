//! K-10a on the trustpoint: after an activation the GetCACaps refresh [REC] waits for this
//! trustpoint's offset in the jitter window, while the activation itself and the timers armed
//! from the new state (K-10) stay at `ca.na`.

use pki_timers::{Duration, Instant};

use super::{State, Trustpoint, Wire};

impl Trustpoint {
    /// K-10a: this trustpoint's own offset within its jitter window, from its identity
    /// certificate (else its subject): the same on every call and after a restore, different
    /// from one trustpoint to the next.
    #[must_use]
    pub fn jitter_offset(&self) -> Duration {
        let seed = self
            .identity
            .as_ref()
            .and_then(|id| der::Encode::to_der(&id.cert).ok())
            .unwrap_or_else(|| self.config.subject.as_bytes().to_vec());
        crate::jitter_offset(&seed, self.config.jitter)
    }

    /// When the deferred capability refresh is due, if one is (none without authoritative
    /// time, T-12).
    pub(super) fn caps_refresh_due(&self) -> Option<Instant> {
        self.caps_refresh_at
            .filter(|_| self.timers.is_authoritative())
    }

    /// After an activation that needs no enrolment: the refresh at once with a zero window,
    /// else at `now` plus this trustpoint's offset.
    pub(super) fn plan_caps_refresh(&mut self, now: Instant) {
        let offset = self.jitter_offset();
        if offset.as_secs() == 0 {
            self.caps_refresh_at = None;
            self.start_caps_refresh();
        } else {
            self.caps_refresh_at = Some(now.saturating_add(offset));
        }
    }

    /// The refresh, if due at `now`: started when nothing else is under way, else tried again
    /// one retry period later.
    pub(super) fn handle_caps_refresh(&mut self, now: Instant) {
        let Some(at) = self.caps_refresh_due() else {
            return;
        };
        if at > now {
            return;
        }
        if self.is_idle() && self.wire == Wire::Idle {
            self.caps_refresh_at = None;
            self.start_caps_refresh();
        } else {
            self.caps_refresh_at = Some(now.saturating_add(self.retry.period()));
        }
    }

    fn start_caps_refresh(&mut self) {
        self.state = State::AwaitingCaCaps {
            refresh: true,
            enrol: false,
        };
        self.wire = Wire::Ready;
    }
}
