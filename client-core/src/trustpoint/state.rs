//! The state proper (K-1) and what it is made of: the trusted chain, the identity, the job
//! under way and its SCEP transaction.

use pki_timers::Instant;
use scep_proto::{Certificate, MessageType, Nonce, PrivateKey, TransactionId};
use x509_cert::name::Name;

use super::StateName;

/// A certificate with its private key.
#[derive(Clone)]
pub(super) struct Identity {
    pub(super) cert: Certificate,
    pub(super) key: PrivateKey,
}

/// The trusted CA certificate and the RA certificates that encrypt and sign for it (K-2).
#[derive(Clone, Debug)]
pub(super) struct CaChain {
    pub(super) ca: Certificate,
    pub(super) ra_encrypt: Option<Certificate>,
    pub(super) ra_sign: Option<Certificate>,
}

impl CaChain {
    pub(super) fn recipient(&self) -> &Certificate {
        self.ra_encrypt.as_ref().unwrap_or(&self.ca)
    }
    pub(super) fn verifier(&self) -> &Certificate {
        self.ra_sign.as_ref().unwrap_or(&self.ca)
    }
}

/// What an enrolment attempt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JobKind {
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
pub(super) struct Job {
    pub(super) kind: JobKind,
    pub(super) regenerate: bool,
    pub(super) manual: bool,
}

/// One SCEP transaction: everything needed to resend the request or poll for it (K-11, K-14).
#[derive(Clone)]
pub(super) struct Transaction {
    pub(super) job: Job,
    pub(super) id: TransactionId,
    pub(super) message_type: MessageType,
    pub(super) request_key: PrivateKey,
    pub(super) signer_cert: Certificate,
    pub(super) signer_key: PrivateKey,
    /// The certificate the request is encrypted to (CA or RA).
    pub(super) recipient: Certificate,
    /// The certificate expected to sign the CertRep (CA or RA).
    pub(super) verifier: Certificate,
    /// The CA the request is addressed to (issuer of the answer).
    pub(super) ca: Certificate,
    pub(super) csr: Vec<u8>,
    pub(super) subject: Name,
    /// After PENDING: send CertPoll instead of the request.
    pub(super) polling: bool,
    /// First PENDING instant and the poll attempt last armed (T-10).
    pub(super) poll: Option<(Instant, u32)>,
    /// CONNECT RETRYs made (T-11).
    pub(super) retries: u32,
    /// The senderNonce of the message last sent.
    pub(super) nonce: Option<Nonce>,
}

/// The state proper (K-1): each variant holds only what that state needs.
#[derive(Clone)]
pub(super) enum State {
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
    pub(super) fn name(&self) -> StateName {
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
pub(super) enum Wire {
    Idle,
    Ready,
    InFlight,
}
