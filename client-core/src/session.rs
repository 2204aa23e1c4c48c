//! The blocking loop under [`Enrollment`](crate::Enrollment) and [`Agent`](crate::Agent):
//! send what the trustpoint asks, save the record after every answer and before every wait,
//! hand each event to the host, and never sleep past a deadline.

use pki_timers::{ClientTimer, Instant};
use scep_proto::{CaCerts, Certificate, ClientRequest};

use crate::clock::{Clock, StopHandle};
use crate::fingerprint::{CaFingerprint, CaFingerprints, FingerprintAlg};
use crate::store::TrustpointStore;
use crate::transport::{HttpReply, Transport, TransportError};
use crate::trustpoint::{Event, StateName, Trustpoint};

/// A transport that remembers what the host needs to explain an outcome: the last GetCACert
/// answer (to show a person the CA certificate) and the last exchange that got no answer.
pub(crate) struct Recorder<'a> {
    pub(crate) inner: &'a mut (dyn Transport + Send),
    ca_certs: Option<HttpReply>,
    /// The last failed exchange's error text (it names the host and the OS error).
    pub(crate) last_failure: Option<String>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(inner: &'a mut (dyn Transport + Send)) -> Self {
        Self {
            inner,
            ca_certs: None,
            last_failure: None,
        }
    }

    /// The certificates of the last GetCACert answer.
    pub(crate) fn ca_certificates(&self) -> Vec<Certificate> {
        let Some(r) = &self.ca_certs else {
            return Vec::new();
        };
        let ct = r
            .content_type
            .as_deref()
            .unwrap_or(CaCerts::CONTENT_TYPE_CA);
        match CaCerts::from_der(ct, &r.body) {
            Ok(CaCerts::Single(c)) => vec![*c],
            Ok(CaCerts::Chain(certs)) => certs,
            Err(_) => Vec::new(),
        }
    }

    /// The certificate of the last GetCACert answer whose MD5 fingerprint is `md5` (text as in
    /// [`Event::CaApprovalNeeded`]).
    pub(crate) fn ca_with_md5(&self, md5: &str) -> Option<(Certificate, Vec<u8>)> {
        use der::Encode as _;
        let want: CaFingerprint = md5.parse().ok()?;
        self.ca_certificates().into_iter().find_map(|c| {
            let der = c.to_der().ok()?;
            want.matches(&der).then_some((c, der))
        })
    }

    /// Whether the last GetCACert answer holds a certificate with fingerprint `fp`, and the
    /// fingerprints of its first certificate (for an error message).
    pub(crate) fn fingerprint_check(&self, fp: &CaFingerprint) -> (bool, Option<CaFingerprints>) {
        use der::Encode as _;
        let ders: Vec<Vec<u8>> = self
            .ca_certificates()
            .iter()
            .filter_map(|c| c.to_der().ok())
            .collect();
        let found = ders.iter().any(|d| fp.matches(d));
        (found, ders.first().map(|d| CaFingerprints::of(d)))
    }
}

impl Transport for Recorder<'_> {
    fn send(&mut self, request: &ClientRequest) -> Result<HttpReply, TransportError> {
        let reply = self.inner.send(request);
        match &reply {
            Ok(r) => {
                self.last_failure = None;
                if request.target.contains("operation=GetCACert") {
                    self.ca_certs = Some(r.clone());
                }
            }
            Err(e) => self.last_failure = Some(error_chain(e)),
        }
        reply
    }
}

/// An error and its sources as one sentence ("… at host: …: Connection refused (os error
/// 111)"), skipping a source whose text the outer message already holds.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What the host's event handler decides.
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// Why [`drive`] returned without the handler stopping it.
pub(crate) enum Halt {
    /// The deadline came first.
    Deadline,
    /// The stop handle was raised.
    Stopped,
    /// Nothing to send and no timer armed.
    Idle(StateName),
    /// The record could not be saved.
    Store(std::io::Error),
    /// The record could not be encoded.
    Persist(crate::trustpoint::PersistError),
}

/// Everything the loop works with.
pub(crate) struct Driver<'a> {
    pub(crate) tp: &'a mut Trustpoint,
    pub(crate) transport: Recorder<'a>,
    pub(crate) store: &'a dyn TrustpointStore,
    pub(crate) clock: &'a mut dyn Clock,
    pub(crate) rng: &'a mut dyn rand::CryptoRng,
    pub(crate) stop: StopHandle,
    /// The last `Event::Warning` seen (the reason of a CONNECT RETRY, …).
    pub(crate) last_warning: Option<String>,
    /// Told before every wait: the trustpoint (its state, transactionID) and the wake-up time.
    pub(crate) on_wait: Option<&'a mut OnWait>,
}

/// The host's callback before a wait.
pub(crate) type OnWait = dyn FnMut(&Trustpoint, Instant) + Send;

impl Driver<'_> {
    /// Saves the trustpoint record.
    pub(crate) fn save(&mut self) -> Result<(), Halt> {
        let bytes = self.tp.to_bytes().map_err(Halt::Persist)?;
        self.store.save(&bytes).map_err(Halt::Store)
    }

    /// Fires the POLL timer now if it is the next one due: a restarted host asks at once
    /// whether its pending request was granted meanwhile, instead of waiting out the
    /// schedule computed before the restart.
    pub(crate) fn poll_now_if_pending(&mut self) {
        if self.tp.state() != StateName::Pending {
            return;
        }
        let next = self.tp.timers().into_iter().min_by_key(|(_, at)| *at);
        if let Some((ClientTimer::Poll, at)) = next {
            let now = self.clock.now();
            self.tp.handle_timeout(if at > now { at } else { now });
        }
    }

    /// Runs the trustpoint until `handler` says stop (the event is returned), the deadline
    /// passes, the stop handle is raised or nothing remains to do. The record is saved after
    /// every answer and before every wait.
    pub(crate) fn drive(
        &mut self,
        deadline: Option<Instant>,
        mut handler: impl FnMut(&Event, &mut Trustpoint, &Recorder<'_>) -> Flow,
    ) -> Result<Event, Halt> {
        // Whether the trustpoint may have changed since the record was last saved.
        let mut dirty = true;
        loop {
            // Events are not part of the record: each one is handed out after the state that
            // produced it is saved, so "pending" is never printed before it is durable.
            while let Some(event) = self.tp.poll_event() {
                if let Event::Warning(w) = &event {
                    self.last_warning = Some(w.to_string());
                }
                if let Flow::Stop = handler(&event, self.tp, &self.transport) {
                    self.save()?;
                    return Ok(event);
                }
            }
            if self.stop.is_stopped() {
                self.save()?;
                return Err(Halt::Stopped);
            }
            let now = self.clock.now();
            if let Some(request) = self.tp.poll_request(now, self.rng) {
                let reply = self.transport.send(&request);
                let now = self.clock.now();
                self.tp.handle_response(reply, now, self.rng);
                self.save()?;
                dirty = false;
                continue;
            }
            if self.tp.poll_event_pending() {
                continue;
            }
            let Some(at) = self.tp.poll_timeout() else {
                self.save()?;
                return Err(Halt::Idle(self.tp.state()));
            };
            let now = self.clock.now();
            if deadline.is_some_and(|d| now >= d) {
                self.save()?;
                return Err(Halt::Deadline);
            }
            if at > now {
                // Saved before waiting: a crash or Ctrl-C during the wait loses nothing.
                if dirty {
                    self.save()?;
                }
                if let Some(f) = self.on_wait.as_mut() {
                    f(self.tp, at);
                }
                let until = deadline.map_or(at, |d| d.min(at));
                self.clock
                    .sleep(until.saturating_since(now), &self.stop.clone());
            }
            let now = self.clock.now();
            self.tp.handle_timeout(now);
            dirty = true;
        }
    }
}

/// SHA-256, SHA-1 and MD5 of a CA certificate shown to a person who decides whether to trust it.
#[derive(Clone, Debug)]
pub struct CaCandidate {
    /// The CA certificate's subject (RFC 4514).
    pub subject: String,
    /// Its notBefore.
    pub not_before: Instant,
    /// Its notAfter.
    pub not_after: Instant,
    /// Its fingerprints.
    pub fingerprints: CaFingerprints,
    /// The certificate.
    pub certificate: Certificate,
}

impl CaCandidate {
    pub(crate) fn new(certificate: Certificate, der: &[u8]) -> Self {
        let v = scep_proto::CertValidity::of(&certificate);
        let tbs = certificate.tbs_certificate();
        Self {
            subject: tbs.subject().to_string(),
            not_before: Instant::from_unix(v.not_before),
            not_after: Instant::from_unix(v.not_after),
            fingerprints: CaFingerprints::of(der),
            certificate,
        }
    }

    /// Whether `fp` (any of MD5, SHA-1, SHA-256) is this certificate's.
    #[must_use]
    pub fn matches(&self, fp: &CaFingerprint) -> bool {
        let mine = match fp.algorithm() {
            FingerprintAlg::Md5 => &self.fingerprints.md5,
            FingerprintAlg::Sha1 => &self.fingerprints.sha1,
            FingerprintAlg::Sha256 => &self.fingerprints.sha256,
        };
        mine == fp
    }
}

impl std::fmt::Display for CaCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "CA certificate: {}", self.subject)?;
        writeln!(f, "  valid {} to {}", self.not_before, self.not_after)?;
        writeln!(f, "  {}", self.fingerprints.md5)?;
        writeln!(f, "  {}", self.fingerprints.sha1)?;
        write!(f, "  {}", self.fingerprints.sha256)
    }
}
