//! What [`Enrollment::run`](crate::Enrollment::run) returns, and the errors of terminal events.

use std::path::Path;

use scep_proto::{Certificate, FailInfo, PrivateKey};

use crate::error::EnrollError;
use crate::trustpoint::{Event, Trustpoint};

/// What an enrolment produced: the identity certificate, its key, the CA certificate, and the
/// trustpoint (saved in the store) to hand to an [`Agent`](crate::Agent) for renewals.
pub struct Enrolled {
    certificate: Certificate,
    key: PrivateKey,
    ca: Certificate,
    resumed: bool,
    trustpoint: Trustpoint,
}

impl std::fmt::Debug for Enrolled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolled")
            .field(
                "subject",
                &self.certificate.tbs_certificate().subject().to_string(),
            )
            .field("already_enrolled", &self.resumed)
            .finish_non_exhaustive()
    }
}

impl Enrolled {
    pub(crate) fn new(trustpoint: Trustpoint, resumed: bool) -> Result<Self, EnrollError> {
        let idle = || EnrollError::Idle {
            state: trustpoint.state(),
        };
        let certificate = trustpoint.identity_cert().ok_or_else(idle)?.clone();
        let key = trustpoint.identity_key().ok_or_else(idle)?.clone();
        let ca = trustpoint.ca_cert().ok_or_else(idle)?.clone();
        Ok(Self {
            certificate,
            key,
            ca,
            resumed,
            trustpoint,
        })
    }

    /// The identity certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Its private key.
    #[must_use]
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// The CA certificate that issued it.
    #[must_use]
    pub fn ca_certificate(&self) -> &Certificate {
        &self.ca
    }

    /// The chain to present: the identity certificate, then the CA certificate.
    #[must_use]
    pub fn chain(&self) -> [&Certificate; 2] {
        [&self.certificate, &self.ca]
    }

    /// Whether the store already held a valid identity and no request was made.
    #[must_use]
    pub fn already_enrolled(&self) -> bool {
        self.resumed
    }

    /// The trustpoint (also saved in the store).
    #[must_use]
    pub fn trustpoint(&self) -> &Trustpoint {
        &self.trustpoint
    }

    /// The trustpoint, e.g. for [`Agent::from_trustpoint`](crate::Agent::from_trustpoint).
    #[must_use]
    pub fn into_trustpoint(self) -> Trustpoint {
        self.trustpoint
    }

    /// Writes `key.pem` (mode 0600), `cert.pem`, `chain.pem` and `ca.pem` into `dir`, each
    /// atomically, the key first (see [`crate::write_identity_files`]).
    ///
    /// # Errors
    /// Any I/O error; files already replaced stay replaced.
    pub fn write_pem_files(&self, dir: impl AsRef<Path>) -> std::io::Result<crate::IdentityFiles> {
        crate::files::write_identity_files(&self.trustpoint, dir.as_ref())
    }
}

impl EnrollError {
    /// The error for a terminal event other than success.
    pub(crate) fn from_terminal(e: Event, last_problem: Option<String>) -> Self {
        match e {
            Event::Rejected { fail_info, text } => Self::Rejected { fail_info, text },
            Event::PollExhausted => Self::PollExhausted,
            Event::RetriesExhausted => Self::RetriesExhausted { last_problem },
            Event::LegacyAlgorithmRefused => Self::LegacyAlgorithmRefused,
            Event::AuthenticationFailed { reason } => Self::AuthenticationFailed {
                reason: reason.to_string(),
            },
            other => Self::Ended { event: other },
        }
    }

    /// The CA's failInfo when it refused the request.
    #[must_use]
    pub fn fail_info(&self) -> Option<FailInfo> {
        match self {
            Self::Rejected { fail_info, .. } => Some(*fail_info),
            _ => None,
        }
    }
}
