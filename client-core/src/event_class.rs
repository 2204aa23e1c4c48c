//! Which events end what a host waits for ([`Event::is_terminal`]), so no host has to list
//! the failure events itself (and sleep forever on the one it forgot).

use crate::trustpoint::Event;

impl Event {
    /// Whether this event ends the enrolment or renewal under way, in success
    /// ([`Event::is_success`]) or failure: a host that waits for an outcome stops here.
    ///
    /// Terminal: `Enrolled`, `Renewed`, `RolloverIdentityInstalled` (a SHADOW renewal's
    /// result), `Rejected`, `NeedsManualRenewal`, `PollExhausted`, `RetriesExhausted`,
    /// `IdentityExpiring`, `NeedsReauthentication`, `AuthenticationFailed` and
    /// `LegacyAlgorithmRefused` (the trustpoint would retry, but only a configuration change
    /// helps). Not terminal: progress (`Authenticated`, `Pending`, `RolloverCaInstalled`,
    /// `RolloverActivated`), `Warning`, and `CaApprovalNeeded`, which waits for the host's
    /// `approve_ca`.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Enrolled
            | Self::Renewed
            | Self::RolloverIdentityInstalled
            | Self::Rejected { .. }
            | Self::NeedsManualRenewal
            | Self::PollExhausted
            | Self::RetriesExhausted
            | Self::IdentityExpiring
            | Self::NeedsReauthentication
            | Self::AuthenticationFailed { .. }
            | Self::LegacyAlgorithmRefused => true,
            Self::Authenticated
            | Self::CaApprovalNeeded { .. }
            | Self::RolloverCaInstalled
            | Self::RolloverActivated
            | Self::Pending
            | Self::Warning(_) => false,
        }
    }

    /// Whether this event is a new identity certificate: `Enrolled`, `Renewed`, or
    /// `RolloverIdentityInstalled` (the identity for the rollover CA, active at its
    /// activation).
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Self::Enrolled | Self::Renewed | Self::RolloverIdentityInstalled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k18_every_failure_event_is_terminal_and_progress_is_not() {
        let terminal = [
            Event::Enrolled,
            Event::Renewed,
            Event::RolloverIdentityInstalled,
            Event::Rejected {
                fail_info: scep_proto::FailInfo::BadRequest,
                text: None,
            },
            Event::NeedsManualRenewal,
            Event::PollExhausted,
            Event::RetriesExhausted,
            Event::IdentityExpiring,
            Event::NeedsReauthentication,
            Event::LegacyAlgorithmRefused,
        ];
        assert!(terminal.iter().all(Event::is_terminal));
        assert_eq!(terminal.iter().filter(|e| e.is_success()).count(), 3);
        // AuthenticationFailed and Warning carry the trustpoint's reason types; the match in
        // `is_terminal` lists them, and tests/enroll.rs sees them from a real trustpoint.
        let progress = [
            Event::Authenticated,
            Event::Pending,
            Event::RolloverCaInstalled,
            Event::RolloverActivated,
            Event::CaApprovalNeeded {
                md5: String::new(),
                sha1: String::new(),
            },
        ];
        assert!(!progress.iter().any(Event::is_terminal));
        assert!(!progress.iter().any(Event::is_success));
    }
}
