//! What the CA asks of and tells its host: a review of each enrolment request (C-10 amended:
//! accept, narrow or reject, e.g. an inventory or challenge check) and an audit record of
//! every PKIOperation decision (issue 14: what was asked, by whom, what was decided and why).
//!
//! Implement [`CaHost`] and install it with [`Ca::with_host`](crate::Ca::with_host). Both
//! methods are called on the request's thread without the CA's lock held; they must not call
//! back into the same [`Ca`](crate::Ca)'s request handling.

use core::fmt;

use scep_proto::{FailInfo, MessageType};

use crate::issue::VerifiedCsr;
use crate::policy::{Narrowing, Violation};

/// The embedder's side of the CA: review and audit. Every method has a default (accept;
/// ignore), so an implementation overrides only what it needs.
pub trait CaHost: Send + Sync {
    /// Reviews an enrolment request (PKCSReq or RenewalReq) after its proof of possession
    /// and the [`IssuancePolicy`](crate::policy::IssuancePolicy) check, before it is granted
    /// or queued ([`ReviewStage::Arrival`]), and again when an administrator grants a pending
    /// one ([`ReviewStage::AdminGrant`]). A rejection at arrival answers FAILURE badRequest
    /// (the reason goes to the audit record, never to the requester); at a grant it fails the
    /// grant with [`CaError::HostRejected`](crate::CaError::HostRejected).
    fn review(&self, request: &RequestView<'_>) -> Review {
        let _ = request;
        Review::Accept
    }

    /// Receives one record per PKIOperation request the CA answered (issue 14 item 4).
    fn audit(&self, record: &AuditRecord) {
        let _ = record;
    }
}

/// A host's verdict on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Review {
    /// Go on as the policy and the grant mode decide.
    Accept,
    /// Go on, issuing at most what the narrowing allows.
    Narrow(Narrowing),
    /// Refuse, with a reason for the audit record and the administrator.
    Reject(String),
}

/// When a request is reviewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReviewStage {
    /// On arrival, before the grant decision (C-9).
    Arrival,
    /// When an administrator grants a pending request (C-15).
    AdminGrant,
}

/// How the CA sees the signer of a request (C-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignerKind {
    /// A self-signed certificate: a new enrolment.
    SelfSigned,
    /// A valid, unrevoked certificate of this CA: a renewal credential.
    Credential {
        /// Its serial.
        serial: u64,
    },
    /// Any other certificate: a new enrolment with an untrusted signer.
    Untrusted,
}

impl fmt::Display for SignerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfSigned => f.write_str("self-signed"),
            Self::Credential { serial } => write!(f, "credential {serial:#x}"),
            Self::Untrusted => f.write_str("untrusted"),
        }
    }
}

/// Who sent a request: its signer certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Requester {
    /// The signer's class (C-8).
    pub kind: SignerKind,
    /// The signer certificate's subject (RFC 4514).
    pub subject: String,
    /// SHA-256 of the signer's subjectPublicKey, lowercase hex.
    pub key_fingerprint: String,
}

/// An enrolment request as the host reviews it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestView<'a> {
    /// When.
    pub stage: ReviewStage,
    /// The transactionID.
    pub transaction_id: &'a str,
    /// The messageType was RenewalReq (else PKCSReq).
    pub renewal: bool,
    /// Addressed to the rollover CA.
    pub to_rollover: bool,
    /// Who sent it. At [`ReviewStage::AdminGrant`] of a request stored by an older version
    /// the subject may be empty.
    pub requester: &'a Requester,
    /// The request (proof of possession verified).
    pub csr: &'a VerifiedCsr,
    /// Where it is outside the CA's policy (an administrator may grant it anyway: what the
    /// policy forbids is left out of the certificate).
    pub violations: &'a [Violation],
}

/// What the CA answered (issue 14: the outcome of an audit record).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditOutcome {
    /// CertRep SUCCESS. For an enrolment: the certificate's serial and subject, and whether
    /// it was issued by this request (`false`: a retransmission or a CertPoll handing out a
    /// certificate issued earlier).
    Success {
        /// Serial of the certificate handed out (none for GetCRL).
        serial: Option<u64>,
        /// Its subject (RFC 4514).
        subject: Option<String>,
        /// Issued by this very request.
        newly_issued: bool,
    },
    /// CertRep PENDING.
    Pending,
    /// CertRep FAILURE.
    Failure(FailInfo),
    /// No CertRep: an HTTP status (400 undecodable, 503 storage failure or CA not
    /// operational).
    Http(u16),
}

/// One PKIOperation request and the CA's decision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AuditRecord {
    /// The messageType, when the message decoded.
    pub message_type: Option<MessageType>,
    /// The transactionID, when the message decoded.
    pub transaction_id: Option<String>,
    /// The signer, when the signature verified.
    pub requester: Option<Requester>,
    /// What was answered.
    pub outcome: AuditOutcome,
    /// Why, in words (e.g. "auto-granted", "one-time password", "pending: manual grant",
    /// "outside the issuance policy: EKU OCSPSigning not allowed", "host rejected: …").
    pub reason: String,
}
