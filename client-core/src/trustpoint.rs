//! The trustpoint: a sans-IO state machine for one CA and one identity (SPEC §4, K-1 … K-19).
//!
//! The host drives it (STYLE.md): it asks what to send ([`Trustpoint::poll_request`]), hands
//! the answer back ([`Trustpoint::handle_response`]), asks when to wake
//! ([`Trustpoint::poll_timeout`]), reports that the time came ([`Trustpoint::handle_timeout`])
//! and drains events ([`Trustpoint::poll_event`]). Time is always an argument; without
//! authoritative time no timer runs (T-12).

mod authenticate;
mod cert_rep;
mod certs;
mod config;
mod csr;
mod event;
mod fingerprint;
mod persist;
mod reason;
mod refresh;
mod renewal;
mod request;
mod rollover;
mod state;

use std::collections::VecDeque;
use std::sync::Arc;

use pki_timers::{ClientTimer, Instant, RetryConfig, TimerListing, TimerTable};
use scep_proto::{Capabilities, Certificate, ClientRequest, PrivateKey, Profile, TransactionId};
use x509_cert::name::Name;

use self::certs::{cert_validity, not_after};
use self::request::build_message;
use self::state::{CaChain, Identity, Job, JobKind, State, Transaction, Wire};

pub use self::config::{AutoEnroll, ConfigError, RenewalMessage, TrustpointConfig};
pub use self::event::Event;
pub use self::persist::PersistError;
pub use self::reason::{AuthFailure, NextCaProblem, ReplyProblem, RequestFailure, Warning};

use crate::transport::{HttpReply, TransportError};

/// Why a host call was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustpointError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The operation needs an authenticated trustpoint (a trusted CA certificate).
    #[error("the trustpoint is not authenticated")]
    NotAuthenticated,
    /// An authentication exchange is under way.
    #[error("authentication is in progress")]
    Busy,
    /// `approve_ca` was called while no CA certificate awaits approval.
    #[error("no CA certificate awaits approval")]
    NoApprovalPending,
}

/// The state a trustpoint is in, by what it waits for (K-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateName {
    /// No trusted CA certificate.
    Unauthenticated,
    /// Waiting for the GetCACert answer.
    AwaitingCaCert,
    /// Waiting for the host to approve the CA certificate (`approve_ca`).
    AwaitingCaApproval,
    /// Waiting for the GetCACaps answer.
    AwaitingCaCaps,
    /// CA trusted, no identity certificate, nothing under way.
    Authenticated,
    /// Waiting for the GetNextCACert answer (SHADOW).
    AwaitingNextCaCert,
    /// A request is to be built at the next `poll_request`.
    PreparingRequest,
    /// Waiting for the CertRep to a request or poll.
    AwaitingCertRep,
    /// PENDING: waiting for the POLL timer.
    Pending,
    /// Waiting for CONNECT RETRY after a transport failure.
    Retrying,
    /// An identity certificate is installed and nothing is under way.
    Enrolled,
    /// The CA refused a request; only a manual `enroll` restarts enrolment.
    RejectedNeedsManual,
}

impl StateName {
    /// The name as text (for logs and status output).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "Unauthenticated",
            Self::AwaitingCaCert => "AwaitingCaCert",
            Self::AwaitingCaApproval => "AwaitingCaApproval",
            Self::AwaitingCaCaps => "AwaitingCaCaps",
            Self::Authenticated => "Authenticated",
            Self::AwaitingNextCaCert => "AwaitingNextCaCert",
            Self::PreparingRequest => "PreparingRequest",
            Self::AwaitingCertRep => "AwaitingCertRep",
            Self::Pending => "Pending",
            Self::Retrying => "Retrying",
            Self::Enrolled => "Enrolled",
            Self::RejectedNeedsManual => "RejectedNeedsManual",
        }
    }
}

/// A sans-IO SCEP trustpoint: a state machine for one CA and one identity.
///
/// The host drives it: it asks what to send ([`Trustpoint::poll_request`]), hands the answer
/// back ([`Trustpoint::handle_response`]), asks when to wake ([`Trustpoint::poll_timeout`]),
/// reports that the time came ([`Trustpoint::handle_timeout`]) and drains events
/// ([`Trustpoint::poll_event`]). Time is always an argument; without authoritative time no
/// timer runs. Most programs use [`crate::Enrollment`] or [`crate::Agent`], which drive it.
///
/// `Debug` shows the state and certificate subjects, never key material.
pub struct Trustpoint {
    config: TrustpointConfig,
    subject: Name,
    retry: RetryConfig,
    state: State,
    wire: Wire,
    chain: Option<CaChain>,
    caps: Capabilities,
    identity: Option<Identity>,
    rollover_ca: Option<Certificate>,
    /// The rollover CA's RA certificates from GetNextCACert (S-33): (encrypts, signs).
    rollover_ra: (Option<Certificate>, Option<Certificate>),
    rollover_identity: Option<Identity>,
    timers: TimerTable<ClientTimer>,
    events: VecDeque<Event>,
    key_source: Option<Arc<dyn KeySource>>,
    /// The GetCACaps refresh deferred after an activation (K-10a), see `refresh`.
    caps_refresh_at: Option<Instant>,
    /// The last CSR built, sent again while its key and content stay the same (see
    /// `csr::SignedCsr`); not persisted.
    last_csr: Option<csr::SignedCsr>,
}

/// Where a trustpoint takes new key pairs from (K-5 initial enrolment, K-6/K-8 `regenerate`)
/// instead of generating them itself: an HSM, a pre-generated pool (the drill's fleet uses one,
/// as RSA key generation would dominate a simulated fleet), a key provisioned at manufacture.
///
/// Not part of the persisted state: after [`Trustpoint::from_bytes`] the host sets it again.
pub trait KeySource: Send + Sync {
    /// The next key pair of `bits` bits, or `None` to let the trustpoint generate one.
    fn next_key(&self, bits: u32) -> Option<PrivateKey>;
}

impl core::fmt::Debug for Trustpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let subj = |c: &Certificate| c.tbs_certificate().subject().to_string();
        f.debug_struct("Trustpoint")
            .field("name", &self.config.name)
            .field("state", &self.state.name())
            .field("ca", &self.chain.as_ref().map(|c| subj(&c.ca)))
            .field("identity", &self.identity.as_ref().map(|i| subj(&i.cert)))
            .field("rollover_ca", &self.rollover_ca.as_ref().map(subj))
            .field(
                "rollover_identity",
                &self.rollover_identity.as_ref().map(|i| subj(&i.cert)),
            )
            .finish_non_exhaustive()
    }
}

impl Trustpoint {
    /// A new, unauthenticated trustpoint.
    ///
    /// # Errors
    /// [`TrustpointError::Config`] when `config` does not validate.
    pub fn new(config: TrustpointConfig) -> Result<Self, TrustpointError> {
        config.validate()?;
        let subject = config.subject_name()?;
        let retry = config.retry_config()?;
        Ok(Self {
            config,
            subject,
            retry,
            state: State::Unauthenticated,
            wire: Wire::Idle,
            chain: None,
            caps: Capabilities::EMPTY,
            identity: None,
            rollover_ca: None,
            rollover_ra: (None, None),
            rollover_identity: None,
            timers: TimerTable::new(),
            events: VecDeque::new(),
            key_source: None,
            caps_refresh_at: None,
            last_csr: None,
        })
    }

    fn profile(&self) -> Profile {
        if self.config.legacy_algorithms {
            Profile::LEGACY
        } else {
            Profile::STRICT
        }
    }

    fn percent(&self) -> pki_timers::Percent {
        self.config
            .auto_enroll
            .map_or(pki_timers::Percent::CA_ONLY_SHADOW, |a| a.percent)
    }

    // ---------------------------------------------------------------- accessors

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TrustpointConfig {
        &self.config
    }

    /// The current state (K-1).
    #[must_use]
    pub fn state(&self) -> StateName {
        self.state.name()
    }

    /// The active (trusted) CA certificate.
    #[must_use]
    pub fn ca_cert(&self) -> Option<&Certificate> {
        self.chain.as_ref().map(|c| &c.ca)
    }

    /// The stored, not yet active rollover CA certificate (K-8, K-9).
    #[must_use]
    pub fn rollover_ca_cert(&self) -> Option<&Certificate> {
        self.rollover_ca.as_ref()
    }

    /// The active identity certificate.
    #[must_use]
    pub fn identity_cert(&self) -> Option<&Certificate> {
        self.identity.as_ref().map(|i| &i.cert)
    }

    /// The private key of the active identity certificate.
    #[must_use]
    pub fn identity_key(&self) -> Option<&PrivateKey> {
        self.identity.as_ref().map(|i| &i.key)
    }

    /// Takes new key pairs from `source` from now on (see [`KeySource`]).
    pub fn set_key_source(&mut self, source: Arc<dyn KeySource>) {
        self.key_source = Some(source);
    }

    /// The stored, not yet active rollover identity certificate (K-8).
    #[must_use]
    pub fn rollover_identity_cert(&self) -> Option<&Certificate> {
        self.rollover_identity.as_ref().map(|i| &i.cert)
    }

    /// The CA's capabilities (empty before authentication or when GetCACaps failed).
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The transactionID of the transaction under way, if any.
    #[must_use]
    pub fn transaction_id(&self) -> Option<&TransactionId> {
        match &self.state {
            State::AwaitingCertRep { txn } | State::Pending { txn } | State::Retrying { txn } => {
                Some(&txn.id)
            }
            _ => None,
        }
    }

    /// The armed timers as an IOS-like listing seen from `now` (T-16 client labels).
    #[must_use]
    pub fn timer_listing(&self, now: Instant) -> TimerListing {
        let mut listing = TimerListing::new(format!("Trustpoint {}", self.config.name));
        for (timer, at) in self.timers.entries() {
            listing.push_instant(timer.label(&self.config.name), at, now);
        }
        if let Some(at) = self.caps_refresh_at {
            listing.push_instant(format!("CAPS REFRESH {}", self.config.name), at, now);
        }
        listing
    }

    /// Every armed timer and its deadline, earliest first (stored even without authoritative
    /// time).
    #[must_use]
    pub fn timers(&self) -> Vec<(ClientTimer, Instant)> {
        self.timers.entries()
    }

    // ---------------------------------------------------------------- host commands

    /// Tells the trustpoint whether the host clock is authoritative (T-12). Without it no
    /// timer runs; once true, overdue timers fire at the next `handle_timeout`.
    pub fn set_authoritative_time(&mut self, authoritative: bool, now: Instant) {
        self.timers.set_authoritative(authoritative);
        // K-4: with auto-enroll configured, RENEW is armed even before authentication.
        if authoritative
            && self.config.auto_enroll.is_some()
            && matches!(self.state, State::Unauthenticated)
            && self.timers.deadline(ClientTimer::Renew).is_none()
        {
            self.timers.arm(ClientTimer::Renew, now);
        }
    }

    /// Turns re-enrolment after expiry (K-5a, [`TrustpointConfig::reenroll_after_expiry`]) on
    /// or off, e.g. on a restored trustpoint. Turned on while the identity has expired or is
    /// about to with nothing armed (`IdentityExpiring` was emitted), the fresh enrolment is
    /// planned for the first second after the expiry (or `now`). Turned off, a fresh enrolment
    /// planned for an expired identity is cancelled.
    pub fn set_reenroll_after_expiry(&mut self, on: bool, now: Instant) {
        if on {
            self.config.reenroll_after_expiry = true;
            self.plan_reenrolment(now);
        } else {
            if self.identity_expired(now) && matches!(self.state, State::Enrolled) {
                self.timers.cancel(ClientTimer::Renew);
            }
            self.config.reenroll_after_expiry = false;
        }
    }

    /// Starts authentication (K-2): GetCACert, then the fingerprint check or host approval,
    /// then GetCACaps. A transaction under way is abandoned; certificates and keys are kept.
    ///
    /// # Errors
    /// [`TrustpointError::Busy`] while an exchange is under way.
    pub fn authenticate(&mut self, _now: Instant) -> Result<(), TrustpointError> {
        if self.wire == Wire::InFlight {
            return Err(TrustpointError::Busy);
        }
        self.state = State::AwaitingCaCert;
        self.wire = Wire::Ready;
        self.caps_refresh_at = None;
        Ok(())
    }

    /// The host's verdict on the CA certificate shown in [`Event::CaApprovalNeeded`] (K-2).
    ///
    /// # Errors
    /// [`TrustpointError::NoApprovalPending`] unless the trustpoint awaits approval.
    pub fn approve_ca(&mut self, approved: bool) -> Result<(), TrustpointError> {
        let State::AwaitingCaApproval { chain } = &self.state else {
            return Err(TrustpointError::NoApprovalPending);
        };
        if approved {
            self.chain = Some((**chain).clone());
            self.state = State::AwaitingCaCaps {
                refresh: false,
                enrol: false,
            };
            self.wire = Wire::Ready;
        } else {
            self.state = State::Unauthenticated;
            self.events.push_back(Event::AuthenticationFailed {
                reason: AuthFailure::RefusedByHost,
            });
        }
        Ok(())
    }

    /// Manual renewal, the admin `enroll` (K-15): cancels RENEW, SHADOW, POLL and CONNECT
    /// RETRY, clears `RejectedNeedsManual`, and starts at once — initial enrolment without a
    /// valid identity, SHADOW when the identity reaches the CA's expiry (falling back to RENEW
    /// if GetNextCACert fails), else RENEW. `regenerate` defaults to the configured one.
    ///
    /// # Errors
    /// [`TrustpointError::NotAuthenticated`] without a trusted CA certificate;
    /// [`TrustpointError::Busy`] during authentication.
    pub fn enroll(
        &mut self,
        now: Instant,
        regenerate: Option<bool>,
    ) -> Result<(), TrustpointError> {
        let Some(chain) = &self.chain else {
            return Err(TrustpointError::NotAuthenticated);
        };
        if matches!(
            self.state,
            State::AwaitingCaCert | State::AwaitingCaApproval { .. } | State::AwaitingCaCaps { .. }
        ) {
            return Err(TrustpointError::Busy);
        }
        let ca_na = not_after(&chain.ca);
        for t in [
            ClientTimer::Renew,
            ClientTimer::Shadow,
            ClientTimer::Poll,
            ClientTimer::ConnectRetry,
        ] {
            self.timers.cancel(t);
        }
        let regenerate =
            regenerate.unwrap_or(self.config.auto_enroll.is_some_and(|a| a.regenerate));
        let kind = match &self.identity {
            Some(id) if cert_validity(&id.cert).is_some_and(|v| v.contains(now)) => {
                if not_after(&id.cert) >= ca_na {
                    JobKind::Shadow
                } else {
                    JobKind::Renew
                }
            }
            _ => JobKind::Initial,
        };
        self.state = self.idle_state();
        self.wire = Wire::Idle;
        self.start_job(
            Job {
                kind,
                regenerate,
                manual: true,
            },
            now,
        );
        Ok(())
    }

    // ---------------------------------------------------------------- driving

    /// The request to send now, if any (at most one exchange is outstanding). Builds
    /// key pairs, CSRs and pkiMessages with `rng`; every send of a PKIOperation carries a
    /// fresh senderNonce (K-14).
    #[must_use]
    pub fn poll_request<R: rand::CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
    ) -> Option<ClientRequest> {
        if self.wire == Wire::InFlight {
            return None;
        }
        if let State::PreparingRequest { job } = self.state {
            match self.build_transaction(job, now, rng) {
                Ok(txn) => {
                    self.state = State::AwaitingCertRep { txn: Box::new(txn) };
                    self.wire = Wire::Ready;
                }
                Err(reason) => {
                    self.events
                        .push_back(Event::Warning(Warning::RequestNotBuilt(reason)));
                    self.state = self.idle_state();
                    self.failed_attempt(job, now);
                    return None;
                }
            }
        }
        if self.wire != Wire::Ready {
            return None;
        }
        let path = self.config.path.clone();
        let request = match &mut self.state {
            State::AwaitingCaCert => ClientRequest::get_ca_cert(&path, None),
            State::AwaitingCaCaps { .. } => ClientRequest::get_ca_caps(&path, None),
            State::AwaitingNextCaCert { .. } => ClientRequest::get_next_ca_cert(&path, None),
            State::AwaitingCertRep { txn } => {
                let caps = self.caps;
                match build_message(txn, caps, rng) {
                    Ok(der) => ClientRequest::pki_operation(&path, caps, &der),
                    Err(reason) => {
                        // Cannot happen with a well-formed transaction; give the attempt up
                        // (T-13) rather than retry in a loop.
                        let job = txn.job;
                        self.events
                            .push_back(Event::Warning(Warning::RequestNotBuilt(reason)));
                        self.state = self.idle_state();
                        self.wire = Wire::Idle;
                        self.failed_attempt(job, now);
                        return None;
                    }
                }
            }
            _ => return None,
        };
        self.wire = Wire::InFlight;
        Some(request)
    }

    /// Hands in the answer to the request last returned by `poll_request` (`Err`: none came).
    pub fn handle_response<R: rand::CryptoRng + ?Sized>(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        now: Instant,
        rng: &mut R,
    ) {
        if self.wire != Wire::InFlight {
            self.events
                .push_back(Event::Warning(Warning::UnexpectedAnswer));
            return;
        }
        self.wire = Wire::Idle;
        let state = core::mem::replace(&mut self.state, State::Unauthenticated);
        match state {
            State::AwaitingCaCert => self.on_ca_cert(reply, now),
            State::AwaitingCaCaps { refresh, enrol } => self.on_caps(reply, refresh, enrol, now),
            State::AwaitingNextCaCert { job, retries } => {
                self.on_next_ca_cert(reply, job, retries, now);
            }
            State::AwaitingCertRep { txn } => self.on_cert_rep(reply, *txn, now, rng),
            other => self.state = other,
        }
    }

    /// When the host must call `handle_timeout` next; `None` without authoritative time or
    /// without armed timers.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.next_deadline().map(|(_, at)| at);
        [timer, self.caps_refresh_due()].into_iter().flatten().min()
    }

    /// Fires every timer due at `now`, earliest first; calls before a deadline change nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((timer, _)) = self.timers.pop_due(now) {
            self.fire(timer, now);
        }
        self.handle_caps_refresh(now);
    }

    /// Whether events wait to be drained.
    #[must_use]
    pub fn poll_event_pending(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event for the host (K-18).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---------------------------------------------------------------- internals

    fn idle_state(&self) -> State {
        if self.chain.is_none() {
            State::Unauthenticated
        } else if self.identity.is_some() {
            State::Enrolled
        } else {
            State::Authenticated
        }
    }

    fn is_idle(&self) -> bool {
        matches!(self.state, State::Authenticated | State::Enrolled)
    }
}
