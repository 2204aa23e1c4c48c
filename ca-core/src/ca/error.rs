//! The CA's error type and the one mapping of a request failure to its answer (C-5).

use pki_timers::TimerError;
use scep_proto::{ErrorStatus, FailInfo};

use crate::archive::ArchiveError;
use crate::issue::IssueError;
use crate::storage::{RecordKey, StoreError};

/// A configuration key out of its SPEC §3.1 range.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `name` is empty, longer than 64 bytes, or has characters other than letters, digits,
    /// `_` and `-`.
    #[error("the CA name must be 1-64 letters, digits, '_' or '-'")]
    InvalidName,
    /// `issuer_name` is not an RFC 4514 DN or is empty.
    #[error("issuer_name is not a distinguished name")]
    InvalidIssuerName,
    /// A lifetime outside its range.
    #[error("lifetime out of range: {0}")]
    Lifetime(#[source] TimerError),
    /// `key_bits` outside 1024–4096.
    #[error("key_bits {bits} is outside {min}-{max}", min = scep_proto::PrivateKey::MIN_BITS, max = scep_proto::PrivateKey::MAX_BITS)]
    KeyBits {
        /// The value given.
        bits: u32,
    },
    /// `otp_default_minutes` outside 1–1440 (also a `generate_otp` argument).
    #[error("one-time password validity {minutes} min is outside 1-1440")]
    OtpMinutes {
        /// The value given.
        minutes: u32,
    },
    /// `hash` is MD5 or SHA-1 without `legacy_algorithms`.
    #[error("an MD5 or SHA-1 hash needs legacy_algorithms")]
    LegacyHash,
    /// The policy's key size range is empty or outside 1024–4096.
    #[error("policy key sizes {min}-{max} are not a range inside {lo}-{hi}", lo = scep_proto::PrivateKey::MIN_BITS, hi = scep_proto::PrivateKey::MAX_BITS)]
    PolicyKeyBits {
        /// `min_key_bits`.
        min: u32,
        /// `max_key_bits`.
        max: u32,
    },
    /// The policy's maximum validity is zero.
    #[error("policy max_validity must be positive")]
    PolicyValidity,
    /// `archive_password` is set but empty.
    #[error("the archive password is empty")]
    EmptyArchivePassword,
    /// `max_requests` outside 1–10 000 000.
    #[error("max_requests {value} is outside 1-10000000")]
    MaxRequests {
        /// The value given.
        value: usize,
    },
    /// `max_csr_bytes` outside 512–262 144.
    #[error("max_csr_bytes {value} is outside 512-262144")]
    MaxCsrBytes {
        /// The value given.
        value: usize,
    },
    /// `key_passphrase` is set but empty.
    #[error("the key passphrase is empty")]
    EmptyKeyPassphrase,
    /// `ra_subject` does not parse as a DN, is empty, or equals `issuer_name` (a client
    /// tells the RA from the CA by subject, K-2).
    #[error("invalid ra_subject")]
    InvalidRaSubject,
    /// The stored CA's subject differs from `issuer_name` (C-2: fixed once the CA exists).
    #[error("issuer_name differs from the existing CA's subject")]
    IssuerNameChanged,
}

/// The CA's lifecycle state (C-4). A CA that was never opened is `Disabled` and has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CaState {
    /// One CA certificate, operational.
    Active,
    /// Operational, with a rollover (shadow) CA certificate waiting for activation (C-22).
    ActiveWithRollover,
    /// The CA certificate expired without a rollover (C-25): PKIOperation answers 503.
    Expired,
}

impl CaState {
    /// Whether PKIOperation and GetNextCACert are served (C-4).
    #[must_use]
    pub const fn is_operational(self) -> bool {
        matches!(self, Self::Active | Self::ActiveWithRollover)
    }

    /// The word the status report prints.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Active => "enabled",
            Self::ActiveWithRollover => "enabled, rollover pending",
            Self::Expired => "expired",
        }
    }
}

/// Everything that can go wrong in the CA outside a request's answer. Grouped by cause:
/// configuration, storage, crypto/issuance, administrator misuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    // --- configuration ---
    /// A configuration key is out of range.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// C-1 (and T-12): the CA is created only with authoritative time.
    #[error("the CA cannot be created without authoritative time")]
    NoAuthoritativeTime,

    // --- storage ---
    /// The store failed.
    #[error("storage: {0}")]
    Storage(#[source] StoreError),
    /// A record does not decode.
    #[error("record {key:?} is corrupt")]
    CorruptRecord {
        /// Which record.
        key: RecordKey,
    },
    /// [`Ca::import`](crate::Ca::import) into a store that already holds a CA.
    #[error("the store already holds a CA")]
    AlreadyExists,
    /// The stored CA keys are encrypted and no `key_passphrase` is configured.
    #[error("the CA keys in the store are encrypted: a key passphrase is needed")]
    KeyPassphraseRequired,
    /// The configured `key_passphrase` does not open the stored CA keys.
    #[error("the key passphrase does not open the CA keys in the store")]
    WrongKeyPassphrase,
    /// The serial or request counter reached its end.
    #[error("counter exhausted")]
    CounterExhausted,

    // --- crypto / issuance ---
    /// Making a key, certificate or CRL failed.
    #[error("issuance: {0}")]
    Issue(#[source] IssueError),
    /// Writing the key archive failed (C-19).
    #[error("archive: {0}")]
    Archive(#[source] ArchiveError),
    /// A stored or built certificate does not convert between the strict and lenient forms.
    #[error("certificate encoding")]
    CertificateEncoding,

    // --- administrator misuse ---
    /// No request with this id.
    #[error("no request {id}")]
    UnknownRequest {
        /// The id.
        id: u64,
    },
    /// The request is not pending (C-15).
    #[error("request {id} is not pending")]
    NotPending {
        /// The id.
        id: u64,
    },
    /// `grant` of a pending renewal whose signer, a renewal credential when the request
    /// arrived (C-8), has been revoked since (C-15). The request stays pending: the
    /// operator rejects or removes it; the device enrols again as a new one.
    #[error("request {id} renews certificate {serial:#x}, which has been revoked")]
    RenewalCredentialRevoked {
        /// The request id.
        id: u64,
        /// The revoked signer's serial.
        serial: u64,
    },
    /// `grant` of a request addressed to a rollover CA that has been cancelled since (C-24;
    /// the cancel could not reject it). Nothing is issued; the request is rejected now.
    #[error("request {id} was addressed to a cancelled rollover CA; it is rejected")]
    RolloverCancelled {
        /// The request id.
        id: u64,
    },
    /// `revoke` of a serial this CA never issued.
    #[error("serial {serial:#x} was not issued by this CA")]
    UnknownSerial {
        /// The serial.
        serial: u64,
    },
    /// `rollover()` while a rollover exists (C-22).
    #[error("rollover already exists")]
    RolloverExists,
    /// `rollover_cancel()` without a rollover (C-24).
    #[error("no rollover to cancel")]
    NoRollover,
    /// [`Ca::create_ra`](crate::Ca::create_ra) while the active CA already has an RA.
    #[error("the CA already has an RA certificate")]
    RaExists,
    /// The host's review refused a grant ([`crate::host::CaHost::review`]).
    #[error("refused by the host: {reason}")]
    HostRejected {
        /// The host's reason.
        reason: String,
    },
    /// The operation needs an operational CA (C-4).
    #[error("the CA is not operational ({state:?})")]
    NotOperational {
        /// The current state.
        state: CaState,
    },
}

impl CaError {
    pub(crate) fn storage(e: StoreError) -> Self {
        Self::Storage(e)
    }
}

/// Why an enrolment got no certificate in a step that an arriving request ([`Failure`]) and
/// an administrator's grant ([`CaError`]) share: the host's review, the validity, signing and
/// the record. Each caller maps it with its `From` impl, so nothing is lost on the way.
#[derive(Debug)]
pub(crate) enum EnrollError {
    /// The host's review refused it (C-10, amended).
    HostRejected(String),
    /// T-7/C-11 leave no validity, the policy leaves no name, or signing failed.
    Issue(IssueError),
    /// The entry left the request table while it was being signed (an administrator removed
    /// it): nothing was recorded.
    Vanished {
        /// The entry's request id.
        id: u64,
    },
    /// The store refused the issuance record (C-20): nothing was handed out.
    Store(StoreError),
}

impl From<EnrollError> for Failure {
    fn from(e: EnrollError) -> Self {
        match e {
            EnrollError::HostRejected(reason) => Self::HostRejected(reason),
            EnrollError::Issue(e) => Self::Csr(e),
            EnrollError::Vanished { .. } | EnrollError::Store(_) => Self::Storage,
        }
    }
}

impl From<EnrollError> for CaError {
    fn from(e: EnrollError) -> Self {
        match e {
            EnrollError::HostRejected(reason) => Self::HostRejected { reason },
            EnrollError::Issue(e) => Self::Issue(e),
            EnrollError::Vanished { id } => Self::UnknownRequest { id },
            EnrollError::Store(e) => Self::Storage(e),
        }
    }
}

/// Why a PKIOperation request was not answered with a certificate. Crate-internal: the CA
/// turns it into an HTTP status or a CertRep FAILURE with [`Failure::answer`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// The pkiMessage (any layer) is bad: the protocol crate's own mapping decides.
    Protocol(scep_proto::Error),
    /// C-6: the envelope is not addressed to the active or rollover CA certificate.
    NotAddressed,
    /// C-6 (amended): anything that failed once the content key was unwrapped (padding,
    /// content, messageData, the CSR and its proof of possession, S-26): one answer, with
    /// nothing that tells which.
    Opaque,
    /// S-26 and CSR checks.
    Csr(IssueError),
    /// C-8: a RenewalReq whose signer is not a renewal credential.
    RenewalNotAuthorized,
    /// C-9 step 1.
    GrantNone,
    /// C-12/C-13: the transaction was rejected by the administrator.
    Rejected,
    /// C-12 (amended): a known transactionID from a key the entry is not bound to.
    TransactionTaken,
    /// C-10 (amended): outside the issuance policy, where it would be granted automatically.
    OutsidePolicy(Vec<crate::policy::Violation>),
    /// The host's review rejected the request (the reason is for the audit record only).
    HostRejected(String),
    /// C-13: unknown or purged transaction; S-35 GetCert without the certificate.
    UnknownTransaction,
    /// A messageType the CA does not serve (S-10).
    UnsupportedMessage,
    /// The store failed: nothing was handed out; try again later.
    Storage,
    /// The CSR is longer than `max_csr_bytes`.
    CsrTooLarge,
    /// The request table holds `max_requests` entries: try again later.
    TableFull,
    /// C-14: the signer key already holds `MAX_PENDING_PER_KEY` unissued entries.
    KeyQuota,
}

/// The answer a failure gets: a CertRep FAILURE or, when none can be built, an HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// CertRep FAILURE with this failInfo and optional failInfoText.
    Fail(FailInfo, Option<&'static str>),
    /// No CertRep: this HTTP status.
    Http(ErrorStatus),
}

impl Failure {
    /// Why, in words, for the audit record (never sent to the requester).
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Protocol(e) => format!("pkiMessage refused: {e}"),
            Self::NotAddressed => "not addressed to this CA".to_owned(),
            Self::Opaque => "the envelope, its messageData or the CSR did not open".to_owned(),
            Self::Csr(e) => format!("issuance failed: {e}"),
            Self::RenewalNotAuthorized => {
                "renewal signer is not a valid certificate of this CA".to_owned()
            }
            Self::GrantNone => "enrolment disabled (grant none)".to_owned(),
            Self::Rejected => "rejected by the administrator".to_owned(),
            Self::TransactionTaken => "transactionID bound to another requester's key".to_owned(),
            Self::OutsidePolicy(v) => {
                format!("outside the issuance policy: {}", super::enroll::list(v))
            }
            Self::HostRejected(reason) => format!("rejected by the host: {reason}"),
            Self::UnknownTransaction => "unknown transaction or certificate".to_owned(),
            Self::UnsupportedMessage => "messageType not served".to_owned(),
            Self::Storage => "the store failed".to_owned(),
            Self::CsrTooLarge => "CSR over max_csr_bytes".to_owned(),
            Self::TableFull => "request table full (max_requests)".to_owned(),
            Self::KeyQuota => "too many unissued requests from this signer key".to_owned(),
        }
    }

    /// The single mapping of a pipeline failure to its answer (C-5, C-6, C-8 … C-13, S-26,
    /// S-35).
    pub(crate) fn answer(&self) -> Answer {
        match self {
            Self::Protocol(e) => Answer::Fail(e.fail_info().unwrap_or(FailInfo::BadRequest), None),
            Self::NotAddressed => {
                Answer::Fail(FailInfo::BadRequest, Some("not addressed to this CA"))
            }
            Self::Opaque => Answer::Fail(FailInfo::BadMessageCheck, None),
            Self::Csr(IssueError::ProofOfPossession) => Answer::Fail(
                FailInfo::BadMessageCheck,
                Some("CSR signature does not verify"),
            ),
            Self::Csr(
                IssueError::UnsupportedKeyAlgorithm { .. }
                | IssueError::KeySizeOutOfRange { .. }
                | IssueError::UnsupportedSignatureAlgorithm { .. }
                | IssueError::PssParameters { .. }
                | IssueError::LegacyAlgorithmRefused { .. },
            ) => Answer::Fail(FailInfo::BadAlg, None),
            Self::Csr(IssueError::IssuingCaExpired { .. } | IssueError::OutlivesIssuer) => {
                Answer::Fail(FailInfo::BadRequest, Some("issuing CA expired"))
            }
            Self::Csr(_) => Answer::Fail(FailInfo::BadRequest, None),
            Self::RenewalNotAuthorized => Answer::Fail(
                FailInfo::BadRequest,
                Some("renewal signer is not a valid certificate of this CA"),
            ),
            Self::GrantNone => Answer::Fail(FailInfo::BadRequest, Some("enrolment disabled")),
            Self::Rejected => Answer::Fail(FailInfo::BadRequest, Some("request rejected")),
            Self::OutsidePolicy(_) => {
                Answer::Fail(FailInfo::BadRequest, Some("outside the issuance policy"))
            }
            Self::HostRejected(_) => Answer::Fail(FailInfo::BadRequest, None),
            Self::TransactionTaken => Answer::Fail(
                FailInfo::BadRequest,
                Some("transactionID in use by another requester"),
            ),
            Self::UnknownTransaction => Answer::Fail(FailInfo::BadCertId, None),
            Self::UnsupportedMessage => Answer::Fail(FailInfo::BadRequest, None),
            Self::Storage | Self::TableFull => Answer::Http(ErrorStatus::ServiceUnavailable),
            Self::CsrTooLarge => Answer::Fail(FailInfo::BadRequest, None),
            Self::KeyQuota => Answer::Fail(
                FailInfo::BadRequest,
                Some("too many pending requests from this key"),
            ),
        }
    }
}
