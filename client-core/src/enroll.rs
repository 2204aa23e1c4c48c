//! One call from an enrolment URL to an identity certificate: [`Enrollment`].

use std::path::Path;
use std::sync::{Arc, Mutex};

use pki_timers::{Duration, Instant, Percent};
use scep_proto::PrivateKey;

use crate::clock::{Clock, StopHandle, SystemClock};
use crate::enrolled::Enrolled;
use crate::error::EnrollError;
use crate::fingerprint::CaFingerprint;
use crate::session::{CaCandidate, Driver, Flow, Halt, Recorder};
use crate::store::{FileStore, TrustpointStore};
use crate::transport::Transport;
use crate::trustpoint::{AutoEnroll, Event, KeySource, StateName, Trustpoint, TrustpointConfig};

/// The renewal point [`Enrollment`] and `scep client` configure unless told otherwise: 80 %
/// of the identity certificate's lifetime.
pub const DEFAULT_RENEWAL_PERCENT: Percent = match Percent::new(80) {
    Ok(p) => p,
    Err(_) => Percent::FULL,
};

/// The record's file name inside the directory given to [`Enrollment::store_in`].
pub const TRUSTPOINT_FILE: &str = "trustpoint.bin";

type Approve = Box<dyn FnMut(&CaCandidate) -> bool + Send>;
type OnEvent = Box<dyn FnMut(&Event, &Trustpoint) + Send>;
type OnWait = Box<crate::session::OnWait>;

/// How the CA certificate is trusted (K-2): a pinned fingerprint, or a decision of the host.
pub(crate) enum CaTrust {
    Fingerprint(CaFingerprint),
    Approve(Approve),
}

impl CaTrust {
    /// The verdict on `candidate`.
    fn decide(&mut self, candidate: &CaCandidate) -> bool {
        match self {
            Self::Fingerprint(fp) => candidate.matches(fp),
            Self::Approve(f) => f(candidate),
        }
    }
}

/// Where requests go: the enrolment URL (its path is the path of every request), or a
/// transport the host brings with the path it serves.
enum Target {
    #[cfg(feature = "http")]
    Url {
        url: String,
        config: crate::transport::http::HttpTransportConfig,
    },
    Custom {
        transport: Box<dyn Transport + Send>,
        path: String,
    },
}

impl Target {
    fn open(self) -> Result<(Box<dyn Transport + Send>, String), EnrollError> {
        match self {
            #[cfg(feature = "http")]
            Self::Url { url, config } => {
                let t = crate::transport::http::HttpTransport::new(&url, config)
                    .map_err(EnrollError::Transport)?;
                let path = t.path().to_owned();
                Ok((Box::new(t), path))
            }
            Self::Custom { transport, path } => Ok((transport, path)),
        }
    }
}

/// A key the host brings: the initial request uses it (once), later regenerations make new
/// ones.
struct GivenKey(Mutex<Option<PrivateKey>>);

impl KeySource for GivenKey {
    fn next_key(&self, _bits: u32) -> Option<PrivateKey> {
        self.0.lock().ok()?.take()
    }
}

/// A blocking enrolment from an enrolment URL to an identity certificate, its key and the CA
/// certificate, with the trustpoint saved in a store on the way.
///
/// `run` sets the host clock as authoritative, authenticates the CA (a pinned fingerprint or
/// the host's decision — one of them is required), enrols, waits out PENDING on the POLL
/// schedule (the record saved before every wait), and returns at the first terminal event
/// ([`Event::is_terminal`]) or the deadline, with a typed error for every way it can end
/// without a certificate. Called again on the same store, it resumes the transaction under
/// way (asking the CA at once), or returns the stored identity without a request.
///
/// ```no_run
/// use client_core::Enrollment;
///
/// let enrolled = Enrollment::new("https://ca.example/scep", "CN=device-42,O=Example")
///     .ca_fingerprint("sha256:3F9A…".parse()?)
///     .challenge("one-time password")
///     .store_in("/var/lib/device/scep")
///     .run()?;
/// enrolled.write_pem_files("/var/lib/device/scep")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Enrollment {
    target: Target,
    settings: Settings,
    key: Option<PrivateKey>,
    trust: Option<CaTrust>,
    store: Option<Box<dyn TrustpointStore + Send>>,
    on_event: Option<OnEvent>,
    on_wait: Option<OnWait>,
    clock: Box<dyn Clock>,
}

/// The plain settings of an [`Enrollment`].
struct Settings {
    subject: String,
    subject_alt_names: Vec<crate::san::SubjectAltName>,
    challenge: Option<String>,
    key_bits: u32,
    deadline: Duration,
    auto_enroll: Option<AutoEnroll>,
    legacy_algorithms: bool,
    name: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("subject", &self.settings.subject)
            .field("key_bits", &self.settings.key_bits)
            .field("deadline", &self.settings.deadline)
            .finish_non_exhaustive()
    }
}

impl Enrollment {
    /// An enrolment at `url` (`http://` or, with the `https` feature, `https://`; every
    /// request goes to its path) for `subject` (RFC 4514, e.g. `CN=device-42,O=Example`).
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[must_use]
    pub fn new(url: &str, subject: &str) -> Self {
        Self::with_target(
            Target::Url {
                url: url.to_owned(),
                config: crate::transport::http::HttpTransportConfig::default(),
            },
            subject,
        )
    }

    /// An enrolment over a transport the host brings (an in-process CA, a proxy, another
    /// HTTP stack); `path` is the enrolment URL's path that transport serves, sent in every
    /// request (there is no default path).
    #[must_use]
    pub fn with_transport(
        transport: impl Transport + Send + 'static,
        path: &str,
        subject: &str,
    ) -> Self {
        Self::with_target(
            Target::Custom {
                transport: Box::new(transport),
                path: path.to_owned(),
            },
            subject,
        )
    }

    fn with_target(target: Target, subject: &str) -> Self {
        Self {
            target,
            settings: Settings {
                subject: subject.to_owned(),
                subject_alt_names: Vec::new(),
                challenge: None,
                key_bits: 2048,
                deadline: Duration::from_hours(1),
                auto_enroll: Some(AutoEnroll::new(DEFAULT_RENEWAL_PERCENT)),
                legacy_algorithms: false,
                name: String::from("scep"),
            },
            key: None,
            trust: None,
            store: None,
            on_event: None,
            on_wait: None,
            clock: Box::new(SystemClock),
        }
    }

    /// Timeouts, reply limit and TLS trust of the HTTP transport (see `HttpTransportConfig`).
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[must_use]
    pub fn http_config(mut self, config: crate::transport::http::HttpTransportConfig) -> Self {
        if let Target::Url { config: c, .. } = &mut self.target {
            *c = config;
        }
        self
    }

    /// Trust the CA whose certificate has this fingerprint (MD5, SHA-1 or SHA-256, as the
    /// CA's operator published it); any other CA certificate ends the enrolment with
    /// [`EnrollError::FingerprintMismatch`] before anything is sent to it.
    #[must_use]
    pub fn ca_fingerprint(mut self, fingerprint: CaFingerprint) -> Self {
        self.trust = Some(CaTrust::Fingerprint(fingerprint));
        self
    }

    /// Let `approve` decide on the CA certificate (show its fingerprints to a person, look
    /// them up in an inventory); `false` ends the enrolment with [`EnrollError::CaRefused`].
    #[must_use]
    pub fn approve_ca(
        mut self,
        approve: impl FnMut(&CaCandidate) -> bool + Send + 'static,
    ) -> Self {
        self.trust = Some(CaTrust::Approve(Box::new(approve)));
        self
    }

    /// Trust whatever CA certificate the URL serves on first use (the fingerprints are
    /// pinned from then on in the record). Only on a network path an attacker cannot sit on.
    #[must_use]
    pub fn trust_on_first_use(self) -> Self {
        self.approve_ca(|_| true)
    }

    /// Ask for this subjectAltName too (`"dns:host.example.com".parse()?`, an IP address, an
    /// e-mail address); call once per entry. The CA decides what it copies.
    #[must_use]
    pub fn subject_alt_name(mut self, san: crate::san::SubjectAltName) -> Self {
        self.settings.subject_alt_names.push(san);
        self
    }

    /// The challengePassword the CA's operator gave out.
    #[must_use]
    pub fn challenge(mut self, password: &str) -> Self {
        self.settings.challenge = Some(password.to_owned());
        self
    }

    /// Request the certificate for this key instead of generating one (read one with
    /// [`crate::pem::read_private_key`]).
    #[must_use]
    pub fn key(mut self, key: PrivateKey) -> Self {
        self.settings.key_bits = key.bits();
        self.key = Some(key);
        self
    }

    /// Size of generated RSA keys (1024–4096, default 2048).
    #[must_use]
    pub fn key_bits(mut self, bits: u32) -> Self {
        self.settings.key_bits = bits;
        self
    }

    /// Keep the trustpoint record in `store`: required (a record survives Ctrl-C, a crash or
    /// a reboot while the request is pending, and holds the key).
    #[must_use]
    pub fn store(mut self, store: impl TrustpointStore + Send + 'static) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Keep the trustpoint record in `dir`/`trustpoint.bin` (the directory must exist; the
    /// file is written atomically, mode 0600).
    #[must_use]
    pub fn store_in(self, dir: impl AsRef<Path>) -> Self {
        let path = dir.as_ref().join(TRUSTPOINT_FILE);
        self.store(FileStore::new(path))
    }

    /// Give up after this long (default one hour); the record stays saved, and a later `run`
    /// on the same store continues the same transaction.
    #[must_use]
    pub fn deadline(mut self, deadline: std::time::Duration) -> Self {
        self.settings.deadline = deadline.into();
        self
    }

    /// Automatic renewal for the resident [`Agent`](crate::Agent) that takes over the record
    /// (default: at 80 % of the certificate's lifetime, same key; `None`: never, only manual
    /// renewals).
    #[must_use]
    pub fn auto_enroll(mut self, auto_enroll: Option<AutoEnroll>) -> Self {
        self.settings.auto_enroll = auto_enroll;
        self
    }

    /// Accept DES and MD5 from old CAs (default off).
    #[must_use]
    pub fn legacy_algorithms(mut self, on: bool) -> Self {
        self.settings.legacy_algorithms = on;
        self
    }

    /// The trustpoint's name (timer listings; default `scep`).
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.settings.name);
        self
    }

    /// Called with every event (progress, `Pending` with
    /// [`Trustpoint::transaction_id`] and [`Trustpoint::poll_timeout`], warnings).
    #[must_use]
    pub fn on_event(mut self, f: impl FnMut(&Event, &Trustpoint) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Called before every wait with the trustpoint and the instant it waits for: while the
    /// request is pending (`Trustpoint::state` is `Pending`) that is the next poll, with
    /// `Trustpoint::transaction_id`; while the CA does not answer, the next retry.
    #[must_use]
    pub fn on_wait(mut self, f: impl FnMut(&Trustpoint, Instant) + Send + 'static) -> Self {
        self.on_wait = Some(Box::new(f));
        self
    }

    /// Read the time and wait on `clock` instead of the system clock (simulations, tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Enrols (or resumes, or returns the stored identity); see the type's documentation.
    ///
    /// # Errors
    /// At once, before any request: [`EnrollError::NoCaTrust`], [`EnrollError::NoStore`],
    /// [`EnrollError::Config`], [`EnrollError::Transport`] (an unusable URL),
    /// [`EnrollError::StoredTrustpointDiffers`]. Later, every way the enrolment can end
    /// without a certificate has its variant; none of them leaves a sleeping thread.
    pub fn run(self) -> Result<Enrolled, EnrollError> {
        let Self {
            target,
            settings,
            key,
            trust,
            store,
            on_event,
            on_wait,
            clock,
        } = self;
        settings.run(target, trust, store, key, (on_event, on_wait), clock)
    }
}

impl Settings {
    fn config(&self, path: String, trust: &CaTrust) -> TrustpointConfig {
        let mut config = TrustpointConfig::default();
        config.name.clone_from(&self.name);
        config.path = path;
        config.subject.clone_from(&self.subject);
        config.subject_alt_names.clone_from(&self.subject_alt_names);
        config.challenge_password.clone_from(&self.challenge);
        config.ca_fingerprint = match trust {
            CaTrust::Fingerprint(fp) => Some(fp.to_hex()),
            CaTrust::Approve(_) => None,
        };
        config.key_bits = self.key_bits;
        config.auto_enroll = self.auto_enroll;
        config.legacy_algorithms = self.legacy_algorithms;
        config
    }

    fn run(
        &self,
        target: Target,
        trust: Option<CaTrust>,
        store: Option<Box<dyn TrustpointStore + Send>>,
        key: Option<PrivateKey>,
        (mut on_event, mut on_wait): (Option<OnEvent>, Option<OnWait>),
        mut clock: Box<dyn Clock>,
    ) -> Result<Enrolled, EnrollError> {
        let mut trust = trust.ok_or(EnrollError::NoCaTrust)?;
        let store = store.ok_or(EnrollError::NoStore)?;
        self.config(String::from("/"), &trust)
            .validate()
            .map_err(|e| EnrollError::Config(e.into()))?;
        let (mut transport, path) = target.open()?;
        let mut rng = crate::agent::new_rng()?;
        let now = clock.now();
        let deadline = now.saturating_add(self.deadline);
        let (mut tp, resumed) = match store.load().map_err(EnrollError::Store)? {
            Some(bytes) => {
                let tp = Trustpoint::from_bytes(&bytes).map_err(EnrollError::Persist)?;
                let c = tp.config();
                if c.subject != self.subject
                    || c.path != path
                    || c.subject_alt_names != self.subject_alt_names
                {
                    return Err(EnrollError::StoredTrustpointDiffers {
                        stored: describe(&c.subject, &c.subject_alt_names, &c.path),
                        requested: describe(&self.subject, &self.subject_alt_names, &path),
                    });
                }
                (tp, true)
            }
            None => (
                Trustpoint::new(self.config(path, &trust)).map_err(EnrollError::Config)?,
                false,
            ),
        };
        if let Some(key) = key {
            tp.set_key_source(Arc::new(GivenKey(Mutex::new(Some(key)))));
        }
        tp.set_authoritative_time(true, now);
        if resumed && has_valid_identity(&tp, now) && tp.state() == StateName::Enrolled {
            return Enrolled::new(tp, true);
        }
        let mut notify = move |e: &Event, tp: &Trustpoint| {
            if let Some(f) = on_event.as_mut() {
                f(e, tp);
            }
        };
        let mut driver = Driver {
            tp: &mut tp,
            transport: Recorder::new(transport.as_mut()),
            store: store.as_ref(),
            clock: clock.as_mut(),
            rng: &mut rng,
            stop: StopHandle::new(),
            last_warning: None,
            on_wait: on_wait.as_deref_mut(),
        };
        if matches!(
            driver.tp.state(),
            StateName::Unauthenticated
                | StateName::AwaitingCaCert
                | StateName::AwaitingCaApproval
                | StateName::AwaitingCaCaps
        ) {
            authenticate(&mut driver, &mut trust, deadline, &mut notify)?;
        }
        match driver.tp.state() {
            StateName::Pending => driver.poll_now_if_pending(),
            StateName::Retrying | StateName::AwaitingCertRep | StateName::PreparingRequest => {}
            _ => {
                let now = driver.clock.now();
                driver.tp.enroll(now, None).map_err(EnrollError::Config)?;
            }
        }
        driver.save().map_err(halt_error)?;
        let outcome = driver.drive(Some(deadline), |e, tp, _| {
            notify(e, tp);
            if e.is_terminal() {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        let last_warning = driver.last_warning.take();
        let last_failure = driver.transport.last_failure.take();
        drop(driver);
        match outcome {
            Ok(e) if e.is_success() => Enrolled::new(tp, false),
            Ok(e) => Err(EnrollError::from_terminal(e, last_failure.or(last_warning))),
            Err(Halt::Deadline) => Err(EnrollError::Deadline {
                pending: tp.state() == StateName::Pending,
                transaction_id: tp.transaction_id().map(|t| t.as_str().to_owned()),
                next_attempt: tp.poll_timeout(),
                last_problem: last_failure.or(last_warning),
            }),
            Err(h) => Err(halt_error(h)),
        }
    }
}

/// `CN=x (dns:a, ip:b) at /path` for an error message.
fn describe(subject: &str, sans: &[crate::san::SubjectAltName], path: &str) -> String {
    let names: Vec<String> = sans.iter().map(ToString::to_string).collect();
    if names.is_empty() {
        format!("{subject} at {path}")
    } else {
        format!("{subject} ({}) at {path}", names.join(", "))
    }
}

/// Drives authentication to `Authenticated`, answering the approval with `trust`.
fn authenticate(
    driver: &mut Driver<'_>,
    trust: &mut CaTrust,
    deadline: Instant,
    notify: &mut impl FnMut(&Event, &Trustpoint),
) -> Result<(), EnrollError> {
    let now = driver.clock.now();
    driver.tp.authenticate(now).map_err(EnrollError::Config)?;
    let mut refused: Option<CaCandidate> = None;
    let mut unreadable = false;
    let outcome = driver.drive(Some(deadline), |e, tp, rec| match e {
        Event::CaApprovalNeeded { md5, .. } => {
            notify(e, tp);
            let verdict = match rec.ca_with_md5(md5) {
                Some((cert, der)) => {
                    let candidate = CaCandidate::new(cert, &der);
                    let ok = trust.decide(&candidate);
                    if !ok {
                        refused = Some(candidate);
                    }
                    ok
                }
                None => {
                    unreadable = true;
                    false
                }
            };
            // Cannot fail: the trustpoint just asked for this approval.
            let _ = tp.approve_ca(verdict);
            Flow::Continue
        }
        Event::Authenticated | Event::AuthenticationFailed { .. } => {
            notify(e, tp);
            Flow::Stop
        }
        other => {
            notify(other, tp);
            Flow::Continue
        }
    });
    match outcome {
        Ok(Event::Authenticated) => Ok(()),
        Ok(Event::AuthenticationFailed { reason }) => {
            if let Some(candidate) = refused {
                return Err(match trust {
                    CaTrust::Fingerprint(fp) => EnrollError::FingerprintMismatch {
                        expected: Box::new(fp.clone()),
                        actual: Some(Box::new(candidate.fingerprints)),
                    },
                    CaTrust::Approve(_) => EnrollError::CaRefused {
                        subject: candidate.subject,
                    },
                });
            }
            if unreadable {
                return Err(EnrollError::AuthenticationFailed {
                    reason: reason.to_string(),
                });
            }
            if let Some(message) = driver.transport.last_failure.take() {
                return Err(EnrollError::Unreachable { message });
            }
            if let CaTrust::Fingerprint(fp) = trust {
                let (found, actual) = driver.transport.fingerprint_check(fp);
                if !found {
                    return Err(EnrollError::FingerprintMismatch {
                        expected: Box::new(fp.clone()),
                        actual: actual.map(Box::new),
                    });
                }
            }
            Err(EnrollError::AuthenticationFailed {
                reason: reason.to_string(),
            })
        }
        Ok(other) => Err(EnrollError::from_terminal(other, None)),
        Err(Halt::Deadline) => Err(EnrollError::Deadline {
            pending: false,
            transaction_id: None,
            next_attempt: driver.tp.poll_timeout(),
            last_problem: driver.transport.last_failure.take(),
        }),
        Err(h) => Err(halt_error(h)),
    }
}

pub(crate) fn halt_error(h: Halt) -> EnrollError {
    match h {
        Halt::Store(e) => EnrollError::Store(e),
        Halt::Persist(e) => EnrollError::Persist(e),
        Halt::Idle(state) => EnrollError::Idle { state },
        Halt::Stopped => EnrollError::Stopped,
        Halt::Deadline => EnrollError::Deadline {
            pending: false,
            transaction_id: None,
            next_attempt: None,
            last_problem: None,
        },
    }
}

/// Whether the trustpoint's identity certificate is valid at `now`.
pub(crate) fn has_valid_identity(tp: &Trustpoint, now: Instant) -> bool {
    tp.identity_cert().is_some_and(|c| {
        let v = scep_proto::CertValidity::of(c);
        v.not_before <= now.unix() && now.unix() <= v.not_after
    })
}
