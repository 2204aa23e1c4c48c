//! CA rollover on the client (K-8 (1)-(2), K-9, K-10): the rollover CA certificate fetched
//! with GetNextCACert, and the activation at the active CA's expiry.

use pki_timers::{ClientTimer, Instant, Step, activation_at, connect_retry_at};
use scep_proto::{Capabilities, NextCaCerts};

use super::certs::{build_chain, cert_validity, check_ca, not_after};
use super::state::{CaChain, Job, JobKind, State, Wire};
use super::{Event, NextCaProblem, Trustpoint, Warning};
use crate::transport::{HttpReply, TransportError};

impl Trustpoint {
    pub(super) fn on_next_ca_cert(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        job: Job,
        retries: u32,
        now: Instant,
    ) {
        let Some(active) = self.chain.as_ref().map(|c| c.ca.clone()) else {
            self.state = State::Unauthenticated;
            return;
        };
        let mut certs = Vec::new();
        let rollover = match reply {
            Err(e) => Err(NextCaProblem::Transport(e.to_string())),
            Ok(r) if r.status != 200 => Err(NextCaProblem::HttpStatus(r.status)),
            Ok(r) => {
                let profile = self.profile();
                NextCaCerts::from_der_verified(&r.body, &active, &profile)
                    .map_err(NextCaProblem::Rejected)
                    .and_then(|n| {
                        certs.clone_from(&n.certificates);
                        // S-33: from the signed content (or signed by the active CA key).
                        n.rollover_for_verified(&active, &profile)
                            .cloned()
                            .ok_or(NextCaProblem::NoRolloverCa)
                    })
                    .and_then(|cert| {
                        // K-2 (amended) checks at the K-10 activation instant: the rollover
                        // CA is pinned then, so a forged or corrupt one must never get there.
                        check_ca(&cert, not_after(&active), &profile)
                            .map_err(NextCaProblem::InvalidRolloverCa)?;
                        Ok(cert)
                    })
            }
        };
        match rollover {
            Ok(cert) => {
                // K-2 (amended) for the rollover RA: issued by the rollover CA and valid at
                // the activation; anything else in the answer is ignored.
                let at = not_after(&active);
                let others = certs.into_iter().filter(|c| *c != cert).collect();
                self.rollover_ra = scep_proto::PublicKey::from_certificate(&cert)
                    .map(|key| {
                        let (chain, _) =
                            build_chain(cert.clone(), &key, others, at, &self.profile());
                        (chain.ra_encrypt, chain.ra_sign)
                    })
                    .unwrap_or((None, None));
                self.rollover_ca = Some(cert);
                self.events.push_back(Event::RolloverCaInstalled);
                self.state = self.idle_state();
                if job.kind == JobKind::Shadow {
                    self.timers.cancel(ClientTimer::Shadow);
                    self.state = State::PreparingRequest { job };
                } else {
                    self.arm_timers(now);
                }
            }
            Err(reason) if job.manual && job.kind == JobKind::Shadow => {
                // K-15: SHADOW only if GetNextCACert succeeds, else RENEW.
                self.events
                    .push_back(Event::Warning(Warning::NextCaCert(reason)));
                self.state = State::PreparingRequest {
                    job: Job {
                        kind: JobKind::Renew,
                        ..job
                    },
                };
            }
            Err(reason) => {
                self.events
                    .push_back(Event::Warning(Warning::NextCaCert(reason)));
                match connect_retry_at(
                    now,
                    retries,
                    self.retry,
                    self.config.connect_retry,
                    not_after(&active),
                ) {
                    Step::At(at) => {
                        self.state = State::AwaitingNextCaCert {
                            job,
                            retries: retries.saturating_add(1),
                        };
                        self.timers.arm(ClientTimer::ConnectRetry, at);
                    }
                    Step::Exhausted => {
                        self.events.push_back(Event::RetriesExhausted);
                        self.state = self.idle_state();
                        self.failed_attempt(job, now);
                    }
                }
            }
        }
    }

    /// K-10 at the active CA's expiry (K-10a: the capability refresh at this trustpoint's
    /// offset, unless an initial enrolment must start at once).
    pub(super) fn activate(&mut self, now: Instant) {
        let Some(rollover) = self.rollover_ca.take() else {
            // No rollover CA: trust ends with the CA.
            self.chain = None;
            self.caps = Capabilities::EMPTY;
            self.timers.clear();
            self.state = State::Unauthenticated;
            self.wire = Wire::Idle;
            self.events.push_back(Event::NeedsReauthentication);
            return;
        };
        // The rollover CA's RA (S-33) replaces the old RA; without one, none is used.
        let (ra_encrypt, ra_sign) = core::mem::take(&mut self.rollover_ra);
        self.chain = Some(CaChain {
            ca: rollover,
            ra_encrypt,
            ra_sign,
        });
        let had_identity = self.rollover_identity.is_some();
        if let Some(id) = self.rollover_identity.take() {
            self.identity = Some(id);
        }
        self.events.push_back(Event::RolloverActivated);
        if self.is_idle() {
            self.timers.cancel(ClientTimer::Renew);
            self.timers.cancel(ClientTimer::Shadow);
            if !had_identity && self.config.auto_enroll.is_some() {
                // Refresh the capabilities from the new CA, then enrol at once [REC].
                self.state = State::AwaitingCaCaps {
                    refresh: true,
                    enrol: true,
                };
                self.wire = Wire::Ready;
            } else {
                // Timers from the new state now; the refresh (which re-arms them) later.
                self.arm_timers(now);
                self.plan_caps_refresh(now);
            }
        } else if let Some(v) = self.chain.as_ref().and_then(|c| cert_validity(&c.ca)) {
            self.timers
                .arm(ClientTimer::RolloverActivate, activation_at(v));
        }
    }
}
