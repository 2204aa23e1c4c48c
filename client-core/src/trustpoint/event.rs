//! What a trustpoint reports to its host (K-18).

use scep_proto::FailInfo;

use super::{AuthFailure, Warning};

/// An event drained with `Trustpoint::poll_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The CA certificate is trusted and the capabilities are known (K-2).
    Authenticated,
    /// No fingerprint is configured: the host must call `approve_ca` after checking these
    /// fingerprints of the CA certificate (upper-case hex in groups of eight digits, as IOS
    /// shows them; `CaFingerprint` parses this form and every other common one).
    CaApprovalNeeded {
        /// MD5 fingerprint.
        md5: String,
        /// SHA-1 fingerprint.
        sha1: String,
    },
    /// Authentication failed (bad answer, forged or corrupt CA certificate, fingerprint
    /// mismatch, expired CA, refused by the host); the trustpoint is unauthenticated again.
    AuthenticationFailed {
        /// Why.
        reason: AuthFailure,
    },
    /// The first identity certificate is installed (K-5).
    Enrolled,
    /// A renewed identity certificate replaced the old one (K-7).
    Renewed,
    /// A rollover CA certificate is stored, inactive (K-8, K-9).
    RolloverCaInstalled,
    /// A rollover identity certificate is stored, inactive (K-8).
    RolloverIdentityInstalled,
    /// The rollover CA (and identity) became active (K-10).
    RolloverActivated,
    /// The CA answered PENDING; polling follows (K-11).
    Pending,
    /// The CA answered FAILURE; automation stopped (K-12).
    Rejected {
        /// The failInfo.
        fail_info: FailInfo,
        /// The failInfoText, if any.
        text: Option<String>,
    },
    /// The POLL schedule ran out (K-13).
    PollExhausted,
    /// CONNECT RETRY ran out (K-14).
    RetriesExhausted,
    /// No automatic attempt fits before the identity expires (T-13). With
    /// `reenroll_after_expiry` a fresh enrolment (K-5a) follows the expiry, once per P until
    /// the CA answers; without it, nothing more happens automatically.
    IdentityExpiring,
    /// The CA expired without a rollover: authenticate again out of band (K-10).
    NeedsReauthentication,
    /// Only a manual `enroll` restarts enrolment (K-12).
    NeedsManualRenewal,
    /// The CA answered with DES or MD5 while `legacy_algorithms` is off (S-37, S-38): a
    /// badAlg-class refusal on our side. Still a transport failure (K-14), so CONNECT RETRY
    /// follows; a host may stop here and tell the operator to enable the legacy switch.
    LegacyAlgorithmRefused,
    /// Something worth logging that changes nothing (K-19, a transport failure, …).
    Warning(Warning),
}
