//! K-2 authentication: the GetCACert answer judged and pinned, then GetCACaps.

use der::Encode;
use pki_timers::{ClientTimer, Instant};
use scep_proto::{CaCerts, Capabilities, DigestAlg};

use super::certs::{build_chain, check_ca, split_chain};
use super::fingerprint::{fingerprint_matches, fingerprint_text};
use super::state::{CaChain, Job, JobKind, State, Wire};
use super::{AuthFailure, Event, Trustpoint, Warning};
use crate::transport::{HttpReply, TransportError};

impl Trustpoint {
    /// K-2: the GetCACert answer as a chain to trust, or why not.
    fn read_ca_answer(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        now: Instant,
    ) -> Result<CaChain, AuthFailure> {
        let r = reply.map_err(|e| AuthFailure::Transport(e.to_string()))?;
        if r.status != 200 {
            return Err(AuthFailure::HttpStatus(r.status));
        }
        let ct = r
            .content_type
            .as_deref()
            .unwrap_or(CaCerts::CONTENT_TYPE_CA);
        let (ca, others) = match CaCerts::from_der(ct, &r.body) {
            Ok(CaCerts::Single(c)) => (*c, Vec::new()),
            Ok(CaCerts::Chain(certs)) => split_chain(certs, self.config.ca_fingerprint.as_deref())
                .ok_or(AuthFailure::NoCaCertificate)?,
            Err(e) => return Err(AuthFailure::Undecodable(e)),
        };
        let profile = self.profile();
        let ca_key = check_ca(&ca, now, &profile).inspect_err(|e| {
            if matches!(
                e,
                AuthFailure::CaSelfSignature(scep_proto::Error::LegacyAlgorithmDisabled { .. })
            ) {
                self.events.push_back(Event::LegacyAlgorithmRefused);
            }
        })?;
        let (chain, ignored) = build_chain(ca, &ca_key, others, now, &profile);
        if ignored > 0 {
            self.events
                .push_back(Event::Warning(Warning::IgnoredCertificates {
                    count: ignored,
                }));
        }
        Ok(chain)
    }

    pub(super) fn on_ca_cert(&mut self, reply: Result<HttpReply, TransportError>, now: Instant) {
        let chain = match self.read_ca_answer(reply, now) {
            Ok(c) => c,
            Err(reason) => return self.auth_failed(reason),
        };
        let der = match chain.ca.to_der() {
            Ok(d) => d,
            Err(_) => return self.auth_failed(AuthFailure::CaEncoding),
        };
        match &self.config.ca_fingerprint {
            Some(fp) if fingerprint_matches(fp, &der) => {
                self.chain = Some(chain);
                self.state = State::AwaitingCaCaps {
                    refresh: false,
                    enrol: false,
                };
                self.wire = Wire::Ready;
            }
            Some(_) => self.auth_failed(AuthFailure::FingerprintMismatch),
            None => {
                self.events.push_back(Event::CaApprovalNeeded {
                    md5: fingerprint_text(&DigestAlg::Md5.digest(&der)),
                    sha1: fingerprint_text(&DigestAlg::Sha1.digest(&der)),
                });
                self.state = State::AwaitingCaApproval {
                    chain: Box::new(chain),
                };
            }
        }
    }

    fn auth_failed(&mut self, reason: AuthFailure) {
        self.state = if self.chain.is_some() {
            self.idle_state()
        } else {
            State::Unauthenticated
        };
        self.events
            .push_back(Event::AuthenticationFailed { reason });
    }

    pub(super) fn on_caps(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        refresh: bool,
        enrol: bool,
        now: Instant,
    ) {
        match reply {
            Ok(r) => self.caps = Capabilities::from_http_response(r.status, &r.body),
            // After an activation an outage keeps what the CA advertised before.
            Err(_) if refresh => {}
            Err(_) => self.caps = Capabilities::EMPTY,
        }
        self.state = self.idle_state();
        if !refresh {
            self.events.push_back(Event::Authenticated);
        }
        self.arm_timers(now);
        if enrol {
            self.timers.cancel(ClientTimer::Renew);
            self.timers.cancel(ClientTimer::Shadow);
            self.start_job(
                Job {
                    kind: JobKind::Initial,
                    regenerate: self.config.auto_enroll.is_some_and(|a| a.regenerate),
                    manual: false,
                },
                now,
            );
        }
    }
}
