//! Renewal scheduling (K-3, K-4, K-6, K-9, K-19, T-13): which job a timer starts and when the
//! next attempt is armed.

use pki_timers::{
    ClientTimer, Instant, Rearm, RenewalKind, activation_at, ca_only_shadow_at,
    rearm_after_failure, renewal_timer,
};
use scep_proto::Capability;

use super::certs::{cert_validity, not_after};
use super::state::{Job, JobKind, State, Wire};
use super::{Event, Trustpoint, Warning};

impl Trustpoint {
    pub(super) fn fire(&mut self, timer: ClientTimer, now: Instant) {
        match timer {
            ClientTimer::Renew | ClientTimer::Shadow => {
                if self.chain.is_none() {
                    // K-4: nothing to send to; try again after P.
                    if self.config.auto_enroll.is_some() {
                        self.timers
                            .arm(timer, now.saturating_add(self.retry.period()));
                    }
                    return;
                }
                if !self.is_idle() {
                    return;
                }
                let regenerate = self.config.auto_enroll.is_some_and(|a| a.regenerate);
                let kind = match (&self.config.auto_enroll, &self.identity) {
                    (None, _) => JobKind::CaOnlyShadow,
                    (Some(_), None) => JobKind::Initial,
                    // K-5a: never a renewal signed by an expired certificate.
                    (Some(_), Some(_)) if self.identity_expired(now) => JobKind::Initial,
                    (Some(_), Some(_)) if timer == ClientTimer::Shadow => JobKind::Shadow,
                    (Some(_), Some(_)) => JobKind::Renew,
                };
                self.start_job(
                    Job {
                        kind,
                        regenerate,
                        manual: false,
                    },
                    now,
                );
            }
            ClientTimer::Poll => {
                if let State::Pending { txn } = &self.state {
                    let mut txn = txn.clone();
                    txn.polling = true;
                    self.state = State::AwaitingCertRep { txn };
                    self.wire = Wire::Ready;
                }
            }
            ClientTimer::ConnectRetry => match &self.state {
                State::Retrying { txn } => {
                    self.state = State::AwaitingCertRep { txn: txn.clone() };
                    self.wire = Wire::Ready;
                }
                State::AwaitingNextCaCert { .. } => self.wire = Wire::Ready,
                _ => {}
            },
            ClientTimer::RolloverActivate => self.activate(now),
        }
    }

    /// Starts an attempt from an idle state.
    pub(super) fn start_job(&mut self, job: Job, now: Instant) {
        match job.kind {
            JobKind::Initial | JobKind::Renew => {
                self.state = State::PreparingRequest { job };
            }
            JobKind::Shadow | JobKind::CaOnlyShadow => {
                if self.rollover_ca.is_some() {
                    if job.kind == JobKind::Shadow {
                        self.state = State::PreparingRequest { job };
                    } else {
                        self.arm_timers(now);
                    }
                } else if self.caps.contains(Capability::GetNextCaCert) || job.manual {
                    self.state = State::AwaitingNextCaCert { job, retries: 0 };
                    self.wire = Wire::Ready;
                } else if job.kind == JobKind::Shadow {
                    // K-19.
                    self.events
                        .push_back(Event::Warning(Warning::NoGetNextCaCert));
                    self.state = State::PreparingRequest {
                        job: Job {
                            kind: JobKind::Renew,
                            ..job
                        },
                    };
                }
            }
        }
    }

    /// K-3: arm RENEW / SHADOW / CA-only SHADOW and the activation from the stored state.
    pub(super) fn arm_timers(&mut self, now: Instant) {
        self.timers.cancel(ClientTimer::Renew);
        self.timers.cancel(ClientTimer::Shadow);
        let Some(chain) = &self.chain else {
            return;
        };
        let Some(ca_v) = cert_validity(&chain.ca) else {
            return;
        };
        self.timers
            .arm(ClientTimer::RolloverActivate, activation_at(ca_v));
        if self.rollover_identity.is_some() {
            return;
        }
        match (&self.config.auto_enroll, &self.identity) {
            (None, _) => {
                if self.caps.contains(Capability::GetNextCaCert) && self.rollover_ca.is_none() {
                    self.timers
                        .arm(ClientTimer::Shadow, ca_only_shadow_at(ca_v));
                }
            }
            (Some(_), None) => self.timers.arm(ClientTimer::Renew, now),
            (Some(ae), Some(id)) => {
                if let Some(id_v) = cert_validity(&id.cert) {
                    let t = renewal_timer(id_v, ca_v, ae.percent);
                    let timer = match t.kind {
                        RenewalKind::Renew => ClientTimer::Renew,
                        RenewalKind::Shadow => ClientTimer::Shadow,
                    };
                    self.timers.arm(timer, t.at);
                }
            }
        }
    }

    /// K-5a: re-enrolment after expiry is configured (with auto-enroll) and the identity
    /// certificate has expired: `now` is after its notAfter (a clock that went back before its
    /// notBefore is not an expiry).
    pub(super) fn identity_expired(&self, now: Instant) -> bool {
        self.config.reenroll_after_expiry
            && self.config.auto_enroll.is_some()
            && self
                .identity
                .as_ref()
                .is_some_and(|id| now.unix() > not_after(&id.cert).unix())
    }

    /// K-5a: arms the fresh enrolment at `at` (RENEW; it fires as K-5 once the identity has
    /// expired) if that is before the active CA's expiry; at and after it, the activation
    /// (K-10) decides.
    fn arm_reenrolment(&mut self, at: Instant) {
        let Some(ca_na) = self.chain.as_ref().map(|c| not_after(&c.ca)) else {
            return;
        };
        if at.unix() < ca_na.unix() {
            self.timers.arm(ClientTimer::Renew, at);
        }
    }

    /// K-5a for a host that turns the setting on while the identity is already past help
    /// (`IdentityExpiring` emitted, nothing armed): plan the fresh enrolment.
    pub(super) fn plan_reenrolment(&mut self, now: Instant) {
        let Some(id) = &self.identity else {
            return;
        };
        if !self.config.reenroll_after_expiry
            || self.config.auto_enroll.is_none()
            || !matches!(self.state, State::Enrolled)
            || self.rollover_identity.is_some()
            || self.timers.deadline(ClientTimer::Renew).is_some()
            || self.timers.deadline(ClientTimer::Shadow).is_some()
        {
            return;
        }
        let after_expiry = Instant::from_unix(not_after(&id.cert).unix().saturating_add(1));
        self.arm_reenrolment(if after_expiry.unix() > now.unix() {
            after_expiry
        } else {
            now
        });
    }

    /// T-13 after a failed (not rejected) attempt; with K-5a, after the identity's expiry
    /// every P.
    pub(super) fn failed_attempt(&mut self, job: Job, now: Instant) {
        if job.kind != JobKind::CaOnlyShadow && self.identity_expired(now) {
            // K-5a: the identity expired during this attempt (its CONNECT RETRYs ran past the
            // expiry): say so once, as T-13 would have.
            if job.kind != JobKind::Initial {
                self.events.push_back(Event::IdentityExpiring);
            }
            // The CA did not answer; a fresh enrolment after P, never in a tighter loop.
            self.arm_reenrolment(now.saturating_add(self.retry.period()));
            return;
        }
        let ca_na = self.chain.as_ref().map(|c| not_after(&c.ca));
        let (expires, p, timer) = match (job.kind, &self.identity) {
            (JobKind::CaOnlyShadow, _) => (
                ca_na,
                pki_timers::Percent::CA_ONLY_SHADOW,
                ClientTimer::Shadow,
            ),
            (JobKind::Shadow, Some(id)) => (
                Some(not_after(&id.cert)),
                self.percent(),
                ClientTimer::Shadow,
            ),
            (_, Some(id)) => (
                Some(not_after(&id.cert)),
                self.percent(),
                ClientTimer::Renew,
            ),
            (_, None) => (ca_na, self.percent(), ClientTimer::Renew),
        };
        let Some(expires) = expires else {
            return;
        };
        match rearm_after_failure(now, expires, p, self.retry) {
            Rearm::At(at) => self.timers.arm(timer, at),
            Rearm::Expiring => {
                self.events.push_back(Event::IdentityExpiring);
                // K-5a: enrol afresh from the first second after the expiry.
                if self.config.reenroll_after_expiry
                    && self.config.auto_enroll.is_some()
                    && job.kind != JobKind::CaOnlyShadow
                    && let Some(id) = &self.identity
                {
                    let after = Instant::from_unix(not_after(&id.cert).unix().saturating_add(1));
                    self.arm_reenrolment(after);
                }
            }
        }
    }
}
