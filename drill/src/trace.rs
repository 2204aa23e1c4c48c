//! What a traced drill recorded besides its [`Report`](crate::Report): the CA's certificates,
//! what every client held when, the certificates it installed, and every event, in the order
//! they happened. The picture (`--html`) and the event log (`--events`) are drawn from it.

use pki_timers::Instant;

use crate::scenario::ClientKind;

/// Everything a traced run recorded (see [`run_with`](crate::run_with)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The CA's creation (the run's first instant).
    pub start: Instant,
    /// The run's end (exclusive).
    pub end: Instant,
    /// Every CA certificate the CA made, in order: the first one, then each rollover
    /// certificate (including cancelled ones).
    pub ca_certificates: Vec<CaCertificate>,
    /// Every client, by index.
    pub clients: Vec<ClientTrace>,
    /// Every event, by instant; at one instant the CA's and the administrator's first, then
    /// the clients' by index, each client's in the order they happened.
    pub events: Vec<TraceEvent>,
    /// Requests answered 404 to GetNextCACert, per hour since the CA's creation.
    pub next_ca_404_per_hour: Vec<(u64, u64)>,
}

/// One CA certificate and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaCertificate {
    /// Its serial number.
    pub serial: u64,
    /// Its notBefore.
    pub not_before: Instant,
    /// Its notAfter.
    pub not_after: Instant,
    /// When the CA made it (its creation, or the shadow generation of a rollover).
    pub generated: Instant,
    /// When it became the active CA certificate (the creation for the first one).
    pub activated: Option<Instant>,
    /// When the administrator cancelled it as a rollover (C-24).
    pub cancelled: Option<Instant>,
}

/// What a client held, from one instant on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Not enrolled yet (or, CA-only, not authenticated yet).
    NotYet,
    /// Covered: trusting the active CA certificate `ca` (an index into
    /// [`Trace::ca_certificates`]), with a rollover CA certificate `next` stored and, for
    /// auto-enroll clients, a rollover identity from it.
    Covered {
        /// The trusted CA certificate.
        ca: usize,
        /// The rollover CA certificate the client is ready to activate, if any.
        next: Option<usize>,
    },
    /// In a gap (see [`Gap`](crate::Gap)).
    Gap,
}

/// How a client came by a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// Initial enrolment (K-5), also after a re-enrolment from scratch.
    Enrolled,
    /// RENEW (K-6, K-7).
    Renewed,
    /// SHADOW: the rollover identity (K-8).
    Shadow,
}

impl Acquired {
    /// Its name in the event log and the picture.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enrolled => "enrolled",
            Self::Renewed => "renewed",
            Self::Shadow => "shadow",
        }
    }
}

/// One identity certificate a client installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentitySpan {
    /// Its notBefore.
    pub not_before: Instant,
    /// Its notAfter.
    pub not_after: Instant,
    /// The CA certificate that issued it (an index into [`Trace::ca_certificates`]).
    pub ca: Option<usize>,
    /// When the client installed it.
    pub installed: Instant,
    /// How.
    pub acquired: Acquired,
}

/// One client's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTrace {
    /// Its configuration.
    pub kind: ClientKind,
    /// When it first started.
    pub join: Instant,
    /// What it held, from each instant on (changes only, in order).
    pub holdings: Vec<(Instant, Holding)>,
    /// The identity certificates it installed, in order.
    pub certificates: Vec<IdentitySpan>,
    /// Windows without authoritative time (T-12).
    pub clock_lost: Vec<(Instant, Instant)>,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When (virtual time).
    pub at: Instant,
    /// The client, or `None` for the CA and its administrator.
    pub client: Option<usize>,
    /// What kind of event: a trustpoint event name (`Renewed`, `Pending`, …), `request` (one
    /// exchange with the CA, or a request lost to an outage), `join`, `reboot`, `clock lost`,
    /// `clock regained`, `re-enrol`, `gap start`, `gap end`, or a CA event (`CA created`,
    /// `shadow generated`, `rollover activated`, `rollover cancelled`, `CA expired`, `CRL
    /// updated`, `requests purged`, `granted`).
    pub kind: &'static str,
    /// Particulars, as text.
    pub detail: String,
}
