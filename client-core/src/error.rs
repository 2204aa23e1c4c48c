//! Why an [`Enrollment`](crate::Enrollment) or an [`Agent`](crate::Agent) ended without a
//! certificate: one variant per cause, each a sentence an operator can act on.

use core::fmt;

use pki_timers::Instant;
use scep_proto::FailInfo;

use crate::fingerprint::{CaFingerprint, CaFingerprints};
use crate::transport::TransportError;
use crate::trustpoint::{Event, PersistError, StateName, TrustpointError};

/// Why an enrolment, renewal or resident run ended without what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// Neither a CA fingerprint nor an approval was chosen: nothing says which CA to trust.
    #[error(
        "no way to trust the CA was given: pin its fingerprint (ca_fingerprint), decide \
         (approve_ca) or trust on first use (trust_on_first_use)"
    )]
    NoCaTrust,
    /// No store was given for the trustpoint record.
    #[error(
        "no store for the trustpoint record was given (store_in or store): without one a \
         pending request and its key are lost when the process stops"
    )]
    NoStore,
    /// A setting is invalid (subject, key size, …).
    #[error("invalid setting: {0}")]
    Config(#[source] TrustpointError),
    /// The enrolment URL or the TLS trust cannot be used.
    #[error(transparent)]
    Transport(TransportError),
    /// The store holds a trustpoint for another subject or URL path.
    #[error(
        "the store already holds a trustpoint for {stored}, not {requested}: use another \
         store or remove the record"
    )]
    StoredTrustpointDiffers {
        /// The stored subject and path.
        stored: String,
        /// The requested subject and path.
        requested: String,
    },
    /// The resident agent found no trustpoint in its store.
    #[error("the store holds no trustpoint: enrol first")]
    NotEnrolled,
    /// The resident agent's trustpoint never renews automatically.
    #[error(
        "the trustpoint has auto-enroll off, so a resident run would never renew: enrol with \
         auto-enroll, or renew by hand"
    )]
    NoAutoEnroll,
    /// The URL the agent was given has another path than the trustpoint sends to.
    #[error("the trustpoint sends its requests to path {stored}, but the URL's path is {url}")]
    PathMismatch {
        /// The trustpoint's path.
        stored: String,
        /// The URL's path.
        url: String,
    },
    /// The trustpoint record could not be read or written.
    #[error("cannot save or read the trustpoint record: {0}")]
    Store(#[source] std::io::Error),
    /// The trustpoint record is not a valid record, or could not be encoded.
    #[error("the trustpoint record is unusable: {0}")]
    Persist(#[source] PersistError),
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Rng(String),
    /// The CA could not be reached to authenticate it (no connection, timeout, TLS, not
    /// HTTP).
    #[error("{message}")]
    Unreachable {
        /// The transport's error, naming the host and the operating system's error.
        message: String,
    },
    /// The CA served a certificate with another fingerprint than the pinned one.
    #[error("{}", mismatch(expected, actual.as_deref()))]
    FingerprintMismatch {
        /// The pinned fingerprint.
        expected: Box<CaFingerprint>,
        /// The fingerprints of the certificate the CA served, if it served one.
        actual: Option<Box<CaFingerprints>>,
    },
    /// The host's approval callback refused the CA certificate.
    #[error("the CA certificate {subject} was not approved")]
    CaRefused {
        /// The CA certificate's subject.
        subject: String,
    },
    /// Authentication failed for another reason (undecodable answer, CA not valid now).
    #[error("authenticating the CA failed: {reason}")]
    AuthenticationFailed {
        /// Why.
        reason: String,
    },
    /// The CA answered FAILURE (K-12).
    #[error("the CA rejected the request ({}){}", fail_info_name(*fail_info), text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Rejected {
        /// The failInfo.
        fail_info: FailInfo,
        /// The failInfoText, if any.
        text: Option<String>,
    },
    /// The POLL schedule ran out while the request stayed PENDING (K-13).
    #[error("the request stayed pending until the poll schedule ran out")]
    PollExhausted,
    /// CONNECT RETRY ran out (K-14).
    #[error("the CA did not give a usable answer before the retries ran out{}", suffix(last_problem.as_deref()))]
    RetriesExhausted {
        /// The last transport failure or bad answer.
        last_problem: Option<String>,
    },
    /// The CA answered with DES or MD5 while legacy algorithms are off (S-37, S-38).
    #[error(
        "the CA protects its answers with DES or MD5 (legacy algorithms), which are refused: \
         enable legacy algorithms to accept them"
    )]
    LegacyAlgorithmRefused,
    /// Another terminal event (identity expiring, re-authentication needed, …).
    #[error("the trustpoint stopped: {}", describe(event))]
    Ended {
        /// The event.
        event: Event,
    },
    /// The deadline passed; the record is saved and a later run continues.
    #[error("{}", deadline_text(*pending, transaction_id.as_deref(), *next_attempt, last_problem.as_deref()))]
    Deadline {
        /// Whether the request is PENDING at the CA.
        pending: bool,
        /// The transactionID of the request under way.
        transaction_id: Option<String>,
        /// When the trustpoint would have asked next.
        next_attempt: Option<Instant>,
        /// The last transport failure or bad answer, if any.
        last_problem: Option<String>,
    },
    /// Nothing to send and no timer armed (the trustpoint waits for the host).
    #[error("the trustpoint has nothing left to do in state {}", state.as_str())]
    Idle {
        /// Its state.
        state: StateName,
    },
    /// A [`StopHandle`](crate::StopHandle) ended the run.
    #[error("stopped by the host")]
    Stopped,
}

fn suffix(problem: Option<&str>) -> String {
    problem.map(|p| format!(" (last: {p})")).unwrap_or_default()
}

fn mismatch(expected: &CaFingerprint, actual: Option<&CaFingerprints>) -> String {
    match actual {
        Some(a) => format!(
            "the CA certificate does not have the pinned fingerprint {expected}; it has {}, {} \
             and {}",
            a.md5, a.sha1, a.sha256
        ),
        None => format!("the CA served no certificate with the pinned fingerprint {expected}"),
    }
}

fn deadline_text(
    pending: bool,
    id: Option<&str>,
    next: Option<Instant>,
    problem: Option<&str>,
) -> String {
    let mut text = String::from("gave up at the deadline");
    if pending {
        text.push_str(" while the request");
        if let Some(id) = id {
            text.push_str(&format!(" (transactionID {id})"));
        }
        text.push_str(" is pending at the CA");
    }
    if let Some(at) = next {
        text.push_str(&format!("; next attempt due {at}"));
    }
    text.push_str(&suffix(problem));
    text.push_str("; the record is saved, run again to continue");
    text
}

/// The RFC 8894 name of a failInfo.
pub(crate) fn fail_info_name(f: FailInfo) -> &'static str {
    match f {
        FailInfo::BadAlg => "badAlg",
        FailInfo::BadMessageCheck => "badMessageCheck",
        FailInfo::BadRequest => "badRequest",
        FailInfo::BadTime => "badTime",
        FailInfo::BadCertId => "badCertId",
    }
}

/// A sentence for an event.
pub(crate) fn describe(e: &Event) -> String {
    match e {
        Event::Authenticated => String::from("the CA is authenticated"),
        Event::CaApprovalNeeded { md5, sha1 } => {
            format!("the CA certificate awaits approval (MD5 {md5}, SHA-1 {sha1})")
        }
        Event::AuthenticationFailed { reason } => format!("authentication failed: {reason}"),
        Event::Enrolled => String::from("enrolled: the identity certificate is installed"),
        Event::Renewed => String::from("renewed: a new identity certificate is installed"),
        Event::RolloverCaInstalled => String::from("the rollover CA certificate is stored"),
        Event::RolloverIdentityInstalled => {
            String::from("the identity certificate for the rollover CA is stored")
        }
        Event::RolloverActivated => String::from("the rollover CA (and identity) became active"),
        Event::Pending => String::from("the CA answered PENDING: waiting for its operator"),
        Event::Rejected { fail_info, text } => format!(
            "the CA rejected the request ({}){}",
            fail_info_name(*fail_info),
            text.as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ),
        Event::PollExhausted => String::from("the poll schedule ran out"),
        Event::RetriesExhausted => String::from("the retries ran out"),
        Event::IdentityExpiring => {
            String::from("no automatic attempt fits before the identity certificate expires")
        }
        Event::NeedsReauthentication => {
            String::from("the CA expired without a rollover: authenticate a new CA")
        }
        Event::NeedsManualRenewal => String::from("only a manual renewal restarts enrolment"),
        Event::LegacyAlgorithmRefused => {
            String::from("the CA uses DES or MD5, refused without legacy algorithms")
        }
        Event::Warning(w) => format!("warning: {w}"),
    }
}

/// A sentence for the event, for logs and command-line output (`Debug` keeps the variant).
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self))
    }
}
