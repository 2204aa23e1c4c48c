//! The trustpoint: a sans-IO state machine for one CA and one identity (SPEC §4, K-1 … K-19).
//!
//! The host drives it (STYLE.md): it asks what to send ([`Trustpoint::poll_request`]), hands
//! the answer back ([`Trustpoint::handle_response`]), asks when to wake
//! ([`Trustpoint::poll_timeout`]), reports that the time came ([`Trustpoint::handle_timeout`])
//! and drains events ([`Trustpoint::poll_event`]). Time is always an argument; without
//! authoritative time no timer runs (T-12).

mod config;
mod csr;
mod event;
mod persist;
mod refresh;

use std::collections::VecDeque;
use std::sync::Arc;

use der::Encode;
use pki_timers::{
    ClientTimer, Instant, PollSchedule, Rearm, RenewalKind, RetryConfig, Step, TimerListing,
    TimerTable, Validity, activation_at, ca_only_shadow_at, connect_retry_at, rearm_after_failure,
    renewal_timer,
};
use scep_proto::PrivateKey;
use scep_proto::{
    CaCerts, Capabilities, Capability, CertRepStatus, CertValidity, Certificate, ClientRequest,
    ContentType, Csr, DigestAlg, FailInfo, IssuerAndSubject, MessageType, NextCaCerts, Nonce,
    PkiMessage, Profile, PublicKey, RequestBody, RequestBuilder, SelfSigned, Signer, TransactionId,
    names_match,
};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::name::Name;

pub use self::config::{AutoEnroll, ConfigError, RenewalMessage, TrustpointConfig};
pub use self::event::Event;
pub use self::persist::PersistError;

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

/// A certificate with its private key.
#[derive(Clone)]
struct Identity {
    cert: Certificate,
    key: PrivateKey,
}

/// The trusted CA certificate and the RA certificates that encrypt and sign for it (K-2).
#[derive(Clone, Debug)]
struct CaChain {
    ca: Certificate,
    ra_encrypt: Option<Certificate>,
    ra_sign: Option<Certificate>,
}

impl CaChain {
    fn recipient(&self) -> &Certificate {
        self.ra_encrypt.as_ref().unwrap_or(&self.ca)
    }
    fn verifier(&self) -> &Certificate {
        self.ra_sign.as_ref().unwrap_or(&self.ca)
    }
}

/// What an enrolment attempt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobKind {
    /// K-5.
    Initial,
    /// K-6.
    Renew,
    /// K-8.
    Shadow,
    /// K-9.
    CaOnlyShadow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Job {
    kind: JobKind,
    regenerate: bool,
    manual: bool,
}

/// One SCEP transaction: everything needed to resend the request or poll for it (K-11, K-14).
#[derive(Clone)]
struct Transaction {
    job: Job,
    id: TransactionId,
    message_type: MessageType,
    request_key: PrivateKey,
    signer_cert: Certificate,
    signer_key: PrivateKey,
    /// The certificate the request is encrypted to (CA or RA).
    recipient: Certificate,
    /// The certificate expected to sign the CertRep (CA or RA).
    verifier: Certificate,
    /// The CA the request is addressed to (issuer of the answer).
    ca: Certificate,
    csr: Vec<u8>,
    subject: Name,
    /// After PENDING: send CertPoll instead of the request.
    polling: bool,
    /// First PENDING instant and the poll attempt last armed (T-10).
    poll: Option<(Instant, u32)>,
    /// CONNECT RETRYs made (T-11).
    retries: u32,
    /// The senderNonce of the message last sent.
    nonce: Option<Nonce>,
}

/// The state proper (K-1): each variant holds only what that state needs.
#[derive(Clone)]
enum State {
    Unauthenticated,
    AwaitingCaCert,
    AwaitingCaApproval {
        chain: Box<CaChain>,
    },
    /// `refresh`: after an activation (K-10), not an authentication; `enrol`: then start the
    /// initial enrolment (rollover CA without rollover identity, auto-enroll on).
    AwaitingCaCaps {
        refresh: bool,
        enrol: bool,
    },
    Authenticated,
    AwaitingNextCaCert {
        job: Job,
        retries: u32,
    },
    PreparingRequest {
        job: Job,
    },
    AwaitingCertRep {
        txn: Box<Transaction>,
    },
    Pending {
        txn: Box<Transaction>,
    },
    Retrying {
        txn: Box<Transaction>,
    },
    Enrolled,
    RejectedNeedsManual,
}

impl State {
    fn name(&self) -> StateName {
        match self {
            Self::Unauthenticated => StateName::Unauthenticated,
            Self::AwaitingCaCert => StateName::AwaitingCaCert,
            Self::AwaitingCaApproval { .. } => StateName::AwaitingCaApproval,
            Self::AwaitingCaCaps { .. } => StateName::AwaitingCaCaps,
            Self::Authenticated => StateName::Authenticated,
            Self::AwaitingNextCaCert { .. } => StateName::AwaitingNextCaCert,
            Self::PreparingRequest { .. } => StateName::PreparingRequest,
            Self::AwaitingCertRep { .. } => StateName::AwaitingCertRep,
            Self::Pending { .. } => StateName::Pending,
            Self::Retrying { .. } => StateName::Retrying,
            Self::Enrolled => StateName::Enrolled,
            Self::RejectedNeedsManual => StateName::RejectedNeedsManual,
        }
    }
}

/// Whether the current state's exchange must be sent, is on the wire, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    Idle,
    Ready,
    InFlight,
}

/// A sans-IO SCEP trustpoint (module docs; SPEC §4).
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
    rollover_identity: Option<Identity>,
    timers: TimerTable<ClientTimer>,
    events: VecDeque<Event>,
    key_source: Option<Arc<dyn KeySource>>,
    /// The GetCACaps refresh deferred after an activation (K-10a), see `refresh`.
    caps_refresh_at: Option<Instant>,
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

/// notBefore/notAfter of a certificate as timer inputs.
fn cert_validity(cert: &Certificate) -> Option<Validity> {
    let v = CertValidity::of(cert);
    Validity::from_unix(v.not_before, v.not_after).ok()
}

fn not_after(cert: &Certificate) -> Instant {
    Instant::from_unix(CertValidity::of(cert).not_after)
}

/// Upper-case hex in groups of eight digits, as IOS shows fingerprints.
fn fingerprint_text(digest: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in digest.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `der` has the configured fingerprint (digest chosen by its length, K-2).
fn fingerprint_matches(expected: &str, der: &[u8]) -> bool {
    let Some(want) = config::normalize_fingerprint(expected) else {
        return false;
    };
    let got = match want.len() {
        32 => hex(&DigestAlg::Md5.digest(der)),
        40 => hex(&DigestAlg::Sha1.digest(der)),
        _ => hex(&DigestAlg::Sha256.digest(der)),
    };
    got == want
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, ku)| ku)
}

/// K-2: the CA certificate of a GetCACert answer and its RA certificates.
fn split_chain(certs: Vec<Certificate>) -> Option<CaChain> {
    let is_self_signed =
        |c: &Certificate| names_match(c.tbs_certificate().issuer(), c.tbs_certificate().subject());
    let ca_pos = certs.iter().position(is_self_signed).or_else(|| {
        certs.iter().position(|c| {
            certs
                .iter()
                .any(|o| names_match(o.tbs_certificate().issuer(), c.tbs_certificate().subject()))
        })
    })?;
    let mut certs = certs;
    if ca_pos >= certs.len() {
        return None;
    }
    let ca = certs.remove(ca_pos);
    let ra_encrypt = certs
        .iter()
        .find(|c| key_usage(c).is_none_or(|ku| ku.key_encipherment()))
        .cloned();
    let ra_sign = certs
        .iter()
        .find(|c| key_usage(c).is_none_or(|ku| ku.digital_signature()))
        .cloned();
    Some(CaChain {
        ca,
        ra_encrypt,
        ra_sign,
    })
}

/// Why an answer failed K-14/K-17: a transport failure, with the reason for the log.
struct BadReply {
    reason: String,
    /// The answer used DES or MD5 while the profile refuses them (S-37, S-38).
    legacy: bool,
}

impl From<String> for BadReply {
    fn from(reason: String) -> Self {
        Self {
            reason,
            legacy: false,
        }
    }
}

impl From<&str> for BadReply {
    fn from(reason: &str) -> Self {
        Self::from(reason.to_string())
    }
}

fn bad(e: &scep_proto::Error, context: &str) -> BadReply {
    BadReply {
        reason: format!("{context}: {e}"),
        legacy: matches!(e, scep_proto::Error::LegacyAlgorithmDisabled { .. }),
    }
}

/// What a CertRep that passed K-17 says.
enum Outcome {
    Pending,
    Failure {
        fail_info: FailInfo,
        text: Option<String>,
    },
    Success(Box<Certificate>),
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
            rollover_identity: None,
            timers: TimerTable::new(),
            events: VecDeque::new(),
            key_source: None,
            caps_refresh_at: None,
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
                reason: String::from("the host refused the CA certificate"),
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
                    self.events.push_back(Event::Warning(reason));
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
                        self.events.push_back(Event::Warning(reason));
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
            self.events.push_back(Event::Warning(String::from(
                "an answer arrived while no request was outstanding",
            )));
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

    fn fire(&mut self, timer: ClientTimer, now: Instant) {
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
    fn start_job(&mut self, job: Job, now: Instant) {
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
                    self.events.push_back(Event::Warning(String::from(
                        "the identity reaches the CA's expiry but the CA does not advertise \
                         GetNextCACert: renewing against the active CA",
                    )));
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

    /// K-5 / K-6 / K-8 (3): key, CSR, signer and recipient of a new transaction.
    fn build_transaction<R: rand::CryptoRng + ?Sized>(
        &self,
        job: Job,
        now: Instant,
        rng: &mut R,
    ) -> Result<Transaction, String> {
        let chain = self.chain.as_ref().ok_or("not authenticated")?;
        let (ca, recipient, verifier) = match job.kind {
            JobKind::Shadow => {
                let r = self.rollover_ca.as_ref().ok_or("no rollover CA")?;
                (r.clone(), r.clone(), r.clone())
            }
            _ => (
                chain.ca.clone(),
                chain.recipient().clone(),
                chain.verifier().clone(),
            ),
        };
        let request_key = match (&self.identity, job.regenerate) {
            (Some(id), false) => id.key.clone(),
            _ => match self
                .key_source
                .as_ref()
                .and_then(|s| s.next_key(self.config.key_bits))
            {
                Some(key) => key,
                None => PrivateKey::generate(self.config.key_bits, rng)
                    .map_err(|_| "key generation failed")?,
            },
        };
        let csr = csr::build_csr(
            &self.subject,
            &request_key,
            self.config.challenge_password.as_deref(),
            rng,
        )
        .map_err(|_| "cannot build the CSR")?;
        let renewal_signer = match (&self.identity, job.kind) {
            (Some(id), JobKind::Renew | JobKind::Shadow)
                if self.caps.contains(Capability::Renewal) =>
            {
                Some(id)
            }
            _ => None,
        };
        let (signer_cert, signer_key, message_type) = match renewal_signer {
            Some(id) => (
                id.cert.clone(),
                id.key.clone(),
                self.config.renewal_message.message_type(),
            ),
            None => {
                let serial = Nonce::random(rng).0;
                let mut serial = serial.get(..8).unwrap_or(&serial).to_vec();
                if let Some(first) = serial.first_mut() {
                    *first = (*first & 0x7f) | 0x01;
                }
                let nb = now.unix().saturating_sub(3600);
                let na = now.unix().saturating_add(86_400);
                let cert = SelfSigned::new(self.subject.clone(), serial, nb, na)
                    .build(&request_key, rng)
                    .map_err(|e| format!("cannot build the signer certificate: {e}"))?;
                (cert, request_key.clone(), MessageType::PkcsReq)
            }
        };
        Ok(Transaction {
            job,
            id: TransactionId::random(rng),
            message_type,
            request_key,
            signer_cert,
            signer_key,
            recipient,
            verifier,
            ca,
            csr,
            subject: self.subject.clone(),
            polling: false,
            poll: None,
            retries: 0,
            nonce: None,
        })
    }

    fn on_ca_cert(&mut self, reply: Result<HttpReply, TransportError>, now: Instant) {
        let chain = match reply {
            Err(e) => Err(format!("GetCACert failed: {e}")),
            Ok(r) if r.status != 200 => Err(format!("GetCACert answered HTTP {}", r.status)),
            Ok(r) => {
                let ct = r
                    .content_type
                    .as_deref()
                    .unwrap_or(CaCerts::CONTENT_TYPE_CA);
                match CaCerts::from_der(ct, &r.body) {
                    Ok(CaCerts::Single(c)) => Ok(CaChain {
                        ca: *c,
                        ra_encrypt: None,
                        ra_sign: None,
                    }),
                    Ok(CaCerts::Chain(certs)) => {
                        split_chain(certs).ok_or_else(|| String::from("no CA certificate found"))
                    }
                    Err(e) => Err(format!("GetCACert answer undecodable: {e}")),
                }
            }
        };
        let chain = chain.and_then(|chain| {
            if cert_validity(&chain.ca).is_some_and(|v| v.contains(now)) {
                Ok(chain)
            } else {
                Err(String::from("the CA certificate is not valid now"))
            }
        });
        let chain = match chain {
            Ok(c) => c,
            Err(reason) => return self.auth_failed(reason),
        };
        let der = match chain.ca.to_der() {
            Ok(d) => d,
            Err(_) => return self.auth_failed(String::from("cannot encode the CA certificate")),
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
            Some(_) => self.auth_failed(String::from(
                "the CA certificate does not match the configured fingerprint",
            )),
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

    fn auth_failed(&mut self, reason: String) {
        self.state = if self.chain.is_some() {
            self.idle_state()
        } else {
            State::Unauthenticated
        };
        self.events
            .push_back(Event::AuthenticationFailed { reason });
    }

    fn on_caps(
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

    /// K-3: arm RENEW / SHADOW / CA-only SHADOW and the activation from the stored state.
    fn arm_timers(&mut self, now: Instant) {
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

    fn on_next_ca_cert(
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
        let rollover = match reply {
            Err(e) => Err(format!("GetNextCACert failed: {e}")),
            Ok(r) if r.status != 200 => Err(format!("GetNextCACert answered HTTP {}", r.status)),
            Ok(r) => NextCaCerts::from_der_verified(&r.body, &active, &self.profile())
                .map_err(|e| format!("GetNextCACert answer rejected: {e}"))
                .and_then(|n| {
                    n.rollover_for(&active)
                        .cloned()
                        .ok_or_else(|| String::from("GetNextCACert holds no rollover CA"))
                }),
        };
        match rollover {
            Ok(cert) => {
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
                self.events.push_back(Event::Warning(reason));
                self.state = State::PreparingRequest {
                    job: Job {
                        kind: JobKind::Renew,
                        ..job
                    },
                };
            }
            Err(reason) => {
                self.events.push_back(Event::Warning(reason));
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

    /// K-17: judges a PKIOperation answer.
    fn judge<R: rand::CryptoRng + ?Sized>(
        &self,
        reply: Result<HttpReply, TransportError>,
        txn: &Transaction,
        rng: &mut R,
    ) -> Result<Outcome, BadReply> {
        let reply = reply.map_err(|e| format!("PKIOperation failed: {e}"))?;
        if reply.status != 200 {
            return Err(format!("PKIOperation answered HTTP {}", reply.status).into());
        }
        if reply.scep_content_type() != Some(ContentType::PkiMessage) {
            return Err("PKIOperation answer has the wrong content type".into());
        }
        let msg = PkiMessage::from_der(&reply.body, &self.profile())
            .map_err(|e| bad(&e, "CertRep undecodable"))?;
        let verified = match msg.clone().verify(Some(&txn.verifier)) {
            Ok(v) => v,
            Err(e) => {
                // K-8 (4): a shadow request's answer may also come from the active CA.
                let active = self.chain.as_ref().map(|c| c.ca.clone());
                match (txn.job.kind, active) {
                    (JobKind::Shadow, Some(a)) => msg
                        .verify(Some(&a))
                        .map_err(|e| bad(&e, "CertRep signature"))?,
                    _ => return Err(bad(&e, "CertRep signature")),
                }
            }
        };
        let rep = verified
            .open_cert_rep(Some(&txn.signer_key), rng)
            .map_err(|e| bad(&e, "CertRep unreadable"))?;
        if rep.transaction_id != txn.id {
            return Err("CertRep transactionID mismatch".into());
        }
        if Some(rep.recipient_nonce) != txn.nonce {
            return Err("CertRep recipientNonce mismatch".into());
        }
        match rep.status {
            CertRepStatus::Pending => Ok(Outcome::Pending),
            CertRepStatus::Failure { fail_info, text } => Ok(Outcome::Failure { fail_info, text }),
            CertRepStatus::Success(certs) => {
                let want = csr::spki_der(&txn.request_key).map_err(|_| "request key")?;
                let cert = certs
                    .certificates
                    .iter()
                    .find(|c| {
                        c.tbs_certificate()
                            .subject_public_key_info()
                            .to_der()
                            .is_ok_and(|d| d == want)
                    })
                    .ok_or("no issued certificate for the request key")?;
                if !names_match(
                    cert.tbs_certificate().issuer(),
                    txn.ca.tbs_certificate().subject(),
                ) {
                    return Err("issued certificate has another issuer".into());
                }
                let issued_by_ca = PublicKey::from_certificate(&txn.ca)
                    .and_then(|ca| ca.verify_certificate(cert, &self.profile()));
                if issued_by_ca.is_err() {
                    return Err(
                        "issued certificate signature does not verify with the CA key".into(),
                    );
                }
                Ok(Outcome::Success(Box::new(cert.clone())))
            }
            _ => Err("unknown CertRep status".into()),
        }
    }

    fn on_cert_rep<R: rand::CryptoRng + ?Sized>(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        mut txn: Transaction,
        now: Instant,
        rng: &mut R,
    ) {
        match self.judge(reply, &txn, rng) {
            Err(bad) => {
                // K-14: every bad answer is a transport failure.
                if bad.legacy {
                    self.events.push_back(Event::LegacyAlgorithmRefused);
                }
                self.events.push_back(Event::Warning(bad.reason));
                match connect_retry_at(
                    now,
                    txn.retries,
                    self.retry,
                    self.config.connect_retry,
                    not_after(&txn.ca),
                ) {
                    Step::At(at) => {
                        txn.retries = txn.retries.saturating_add(1);
                        self.state = State::Retrying { txn: Box::new(txn) };
                        self.timers.arm(ClientTimer::ConnectRetry, at);
                    }
                    Step::Exhausted => {
                        self.events.push_back(Event::RetriesExhausted);
                        self.state = self.idle_state();
                        self.failed_attempt(txn.job, now);
                    }
                }
            }
            Ok(Outcome::Pending) => {
                txn.retries = 0;
                let (pending_at, attempt) = match txn.poll {
                    None => {
                        self.events.push_back(Event::Pending);
                        (now, 0)
                    }
                    Some((t0, k)) => (t0, k.saturating_add(1)),
                };
                let schedule = PollSchedule {
                    pending_at,
                    config: self.retry,
                    issuing_not_after: not_after(&txn.ca),
                };
                let (attempt, next) = schedule.next_after(attempt, now);
                match next {
                    Step::At(at) => {
                        txn.poll = Some((pending_at, attempt));
                        self.state = State::Pending { txn: Box::new(txn) };
                        self.timers.arm(ClientTimer::Poll, at);
                    }
                    Step::Exhausted => {
                        self.events.push_back(Event::PollExhausted);
                        self.state = self.idle_state();
                        self.failed_attempt(txn.job, now);
                    }
                }
            }
            Ok(Outcome::Failure { fail_info, text }) => {
                // K-12.
                for t in [
                    ClientTimer::Renew,
                    ClientTimer::Shadow,
                    ClientTimer::Poll,
                    ClientTimer::ConnectRetry,
                ] {
                    self.timers.cancel(t);
                }
                self.state = State::RejectedNeedsManual;
                self.events.push_back(Event::Rejected { fail_info, text });
                self.events.push_back(Event::NeedsManualRenewal);
            }
            Ok(Outcome::Success(cert)) => self.install(*cert, txn, now),
        }
    }

    /// K-7 / K-8 (4): install what a SUCCESS brought.
    fn install(&mut self, cert: Certificate, txn: Transaction, now: Instant) {
        let identity = Identity {
            cert,
            key: txn.request_key,
        };
        let to_active = self.chain.as_ref().is_some_and(|c| c.ca == txn.ca);
        if txn.job.kind == JobKind::Shadow && !to_active {
            self.rollover_identity = Some(identity);
            self.events.push_back(Event::RolloverIdentityInstalled);
        } else {
            let first = self.identity.is_none();
            self.identity = Some(identity);
            self.events.push_back(if first {
                Event::Enrolled
            } else {
                Event::Renewed
            });
        }
        self.state = self.idle_state();
        self.arm_timers(now);
    }

    /// T-13 after a failed (not rejected) attempt.
    fn failed_attempt(&mut self, job: Job, now: Instant) {
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
            Rearm::Expiring => self.events.push_back(Event::IdentityExpiring),
        }
    }

    /// K-10 at the active CA's expiry (K-10a: the capability refresh at this trustpoint's
    /// offset, unless an initial enrolment must start at once).
    fn activate(&mut self, now: Instant) {
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
        self.chain = Some(CaChain {
            ca: rollover,
            ra_encrypt: None,
            ra_sign: None,
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

/// The pkiMessage for `txn`: the request, or a CertPoll after PENDING; fresh senderNonce.
fn build_message<R: rand::CryptoRng + ?Sized>(
    txn: &mut Transaction,
    caps: Capabilities,
    rng: &mut R,
) -> Result<Vec<u8>, String> {
    let body = if txn.polling {
        RequestBody::CertPoll(IssuerAndSubject {
            issuer: txn.ca.tbs_certificate().subject().clone(),
            subject: txn.subject.clone(),
        })
    } else {
        let csr = Csr::from_der(&txn.csr).map_err(|e| format!("CSR: {e}"))?;
        match txn.message_type {
            MessageType::RenewalReq => RequestBody::RenewalReq(csr),
            _ => RequestBody::PkcsReq(csr),
        }
    };
    let nonce = Nonce::random(rng);
    let mut builder = RequestBuilder::new(txn.id.clone(), nonce);
    builder.digest = caps.digest();
    builder.cipher = caps.content_cipher();
    let der = builder
        .build(
            &body,
            Signer {
                cert: &txn.signer_cert,
                key: &txn.signer_key,
            },
            &txn.recipient,
            rng,
        )
        .map_err(|e| format!("cannot build the pkiMessage: {e}"))?;
    txn.nonce = Some(nonce);
    Ok(der)
}
