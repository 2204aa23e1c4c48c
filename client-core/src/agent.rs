//! The resident counterpart of [`Enrollment`](crate::Enrollment): [`Agent`] keeps an enrolled
//! trustpoint current — RENEW and SHADOW renewals, PENDING polls, the rollover CA's
//! activation — saving the record after every step.

use std::ops::ControlFlow;

use pki_timers::Duration;
use rand::SeedableRng as _;
use rand::rngs::StdRng;

use crate::clock::{Clock, StopHandle, SystemClock};
use crate::enroll::halt_error;
use crate::error::EnrollError;
use crate::session::{Driver, Flow, Halt, Recorder};
use crate::store::TrustpointStore;
use crate::transport::Transport;
use crate::trustpoint::{Event, StateName, Trustpoint};

/// A CSPRNG seeded from the operating system.
pub(crate) fn new_rng() -> Result<StdRng, EnrollError> {
    StdRng::try_from_rng(&mut rand::rngs::SysRng).map_err(|e| EnrollError::Rng(e.to_string()))
}

/// A resident client for one trustpoint (the record in its store): [`Agent::run`] stays in
/// the foreground, renews at the configured percentage, polls, installs and activates the
/// rollover CA, and calls the host for every event (write files, reload a server, log);
/// [`Agent::renew`] is the manual renewal.
///
/// ```no_run
/// use std::ops::ControlFlow;
/// use client_core::{Agent, FileStore, write_identity_files};
///
/// let dir = std::path::Path::new("/var/lib/device/scep");
/// let mut agent = Agent::open("https://ca.example/scep", FileStore::new(dir.join("trustpoint.bin")))?;
/// agent.run(|event, tp| {
///     eprintln!("{event}");
///     if event.is_success() || *event == client_core::Event::RolloverActivated {
///         let _ = write_identity_files(tp, dir);
///     }
///     ControlFlow::Continue(())
/// })?;
/// # Ok::<(), client_core::EnrollError>(())
/// ```
pub struct Agent {
    tp: Trustpoint,
    transport: Box<dyn Transport + Send>,
    store: Box<dyn TrustpointStore + Send>,
    clock: Box<dyn Clock>,
    rng: StdRng,
    stop: StopHandle,
    on_wait: Option<Box<crate::session::OnWait>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("trustpoint", &self.tp)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// The agent for the trustpoint saved in `store`, reaching its CA at `url` (whose path
    /// must be the one the trustpoint was enrolled with).
    ///
    /// # Errors
    /// [`EnrollError::NotEnrolled`] for an empty store, [`EnrollError::Transport`] for an
    /// unusable URL, [`EnrollError::PathMismatch`], [`EnrollError::Store`],
    /// [`EnrollError::Persist`].
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn open(
        url: &str,
        store: impl TrustpointStore + Send + 'static,
    ) -> Result<Self, EnrollError> {
        Self::open_with(url, crate::HttpTransportConfig::default(), store)
    }

    /// [`Agent::open`] with the HTTP transport's timeouts and TLS trust.
    ///
    /// # Errors
    /// As [`Agent::open`].
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn open_with(
        url: &str,
        config: crate::HttpTransportConfig,
        store: impl TrustpointStore + Send + 'static,
    ) -> Result<Self, EnrollError> {
        let transport = crate::HttpTransport::new(url, config).map_err(EnrollError::Transport)?;
        let bytes = store
            .load()
            .map_err(EnrollError::Store)?
            .ok_or(EnrollError::NotEnrolled)?;
        let tp = Trustpoint::from_bytes(&bytes).map_err(EnrollError::Persist)?;
        if tp.config().path != transport.path() {
            return Err(EnrollError::PathMismatch {
                stored: tp.config().path.clone(),
                url: transport.path().to_owned(),
            });
        }
        Self::from_trustpoint(tp, transport, store)
    }

    /// The agent for `tp` over a transport the host brings (which must serve the
    /// trustpoint's path); the record is saved in `store` from the first step on.
    ///
    /// # Errors
    /// [`EnrollError::Rng`] if the operating system's generator fails.
    pub fn from_trustpoint(
        tp: Trustpoint,
        transport: impl Transport + Send + 'static,
        store: impl TrustpointStore + Send + 'static,
    ) -> Result<Self, EnrollError> {
        Ok(Self {
            tp,
            transport: Box::new(transport),
            store: Box::new(store),
            clock: Box::new(SystemClock),
            rng: new_rng()?,
            stop: StopHandle::new(),
            on_wait: None,
        })
    }

    /// Read the time and wait on `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Called before every wait with the trustpoint and the instant it waits for (the next
    /// renewal, poll, retry or activation; see [`Trustpoint::timer_listing`]).
    #[must_use]
    pub fn on_wait(
        mut self,
        f: impl FnMut(&Trustpoint, pki_timers::Instant) + Send + 'static,
    ) -> Self {
        self.on_wait = Some(Box::new(f));
        self
    }

    /// The trustpoint as it is now.
    #[must_use]
    pub fn trustpoint(&self) -> &Trustpoint {
        &self.tp
    }

    /// Turns re-enrolment after expiry on or off (K-5a,
    /// [`Trustpoint::set_reenroll_after_expiry`] at the clock's now); the record keeps it from
    /// the next save.
    pub fn set_reenroll_after_expiry(&mut self, on: bool) {
        let now = self.clock.now();
        self.tp.set_reenroll_after_expiry(on, now);
    }

    /// A handle that ends [`Agent::run`] from another thread.
    #[must_use]
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    fn driver(&mut self) -> Driver<'_> {
        Driver {
            tp: &mut self.tp,
            transport: Recorder::new(self.transport.as_mut()),
            store: self.store.as_ref(),
            clock: self.clock.as_mut(),
            rng: &mut self.rng,
            stop: self.stop.clone(),
            last_warning: None,
            on_wait: self.on_wait.as_deref_mut(),
        }
    }

    /// Stays resident: runs the trustpoint's timers on the clock (RENEW or SHADOW at the
    /// auto-enroll percentage, POLL while PENDING, CONNECT RETRY, the rollover CA's
    /// activation), saves the record after every answer and before every wait, and calls
    /// `on_event` with every event and the trustpoint; `ControlFlow::Break` ends the run.
    /// A pending request left by an earlier process is polled at once.
    ///
    /// # Errors
    /// At once: [`EnrollError::NoAutoEnroll`] when the trustpoint would never renew,
    /// [`EnrollError::Idle`] without a trusted CA. Later: [`EnrollError::Stopped`] from a
    /// [`StopHandle`], [`EnrollError::Idle`] when the trustpoint needs the host (rejected
    /// request: renew by hand; CA expired without rollover: enrol again), store errors.
    pub fn run(
        &mut self,
        mut on_event: impl FnMut(&Event, &Trustpoint) -> ControlFlow<()>,
    ) -> Result<(), EnrollError> {
        if self.tp.config().auto_enroll.is_none() {
            return Err(EnrollError::NoAutoEnroll);
        }
        if self.tp.ca_cert().is_none() {
            return Err(EnrollError::Idle {
                state: self.tp.state(),
            });
        }
        let now = self.clock.now();
        self.tp.set_authoritative_time(true, now);
        let mut driver = self.driver();
        driver.poll_now_if_pending();
        let outcome = driver.drive(None, |e, tp, _| match on_event(e, tp) {
            ControlFlow::Continue(()) => Flow::Continue,
            ControlFlow::Break(()) => Flow::Stop,
        });
        match outcome {
            Ok(_) => Ok(()),
            Err(h) => Err(halt_error(h)),
        }
    }

    /// The manual renewal (K-15): a new request at once — RENEW, or SHADOW when the identity
    /// reaches the CA's expiry, or a new enrolment when it is no longer valid — followed to
    /// its end within `deadline`. `regenerate`: a new key pair (`None`: as configured). A
    /// request still under way (PENDING after a restart) is continued, not replaced.
    /// Returns the success event (`Renewed`, `Enrolled` or `RolloverIdentityInstalled`).
    ///
    /// # Errors
    /// As [`Enrollment::run`](crate::Enrollment::run) after authentication (rejection, poll
    /// or retry exhaustion, deadline with the record saved, …).
    pub fn renew(
        &mut self,
        regenerate: Option<bool>,
        deadline: std::time::Duration,
        mut on_event: impl FnMut(&Event, &Trustpoint),
    ) -> Result<Event, EnrollError> {
        let now = self.clock.now();
        self.tp.set_authoritative_time(true, now);
        let under_way = matches!(
            self.tp.state(),
            StateName::Pending
                | StateName::Retrying
                | StateName::AwaitingCertRep
                | StateName::PreparingRequest
        );
        if !under_way {
            self.tp
                .enroll(now, regenerate)
                .map_err(EnrollError::Config)?;
        }
        let deadline = now.saturating_add(Duration::from(deadline));
        let mut driver = self.driver();
        driver.poll_now_if_pending();
        driver.save().map_err(halt_error)?;
        let outcome = driver.drive(Some(deadline), |e, tp, _| {
            on_event(e, tp);
            if e.is_terminal() {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        let problem = driver
            .transport
            .last_failure
            .take()
            .or(driver.last_warning.take());
        drop(driver);
        match outcome {
            Ok(e) if e.is_success() => Ok(e),
            Ok(e) => Err(EnrollError::from_terminal(e, problem)),
            Err(Halt::Deadline) => Err(EnrollError::Deadline {
                pending: self.tp.state() == StateName::Pending,
                transaction_id: self.tp.transaction_id().map(|t| t.as_str().to_owned()),
                next_attempt: self.tp.poll_timeout(),
                last_problem: problem,
            }),
            Err(h) => Err(halt_error(h)),
        }
    }
}
