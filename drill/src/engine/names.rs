//! Names of the trustpoint's events, and which of them are trouble (for gap causes).

use client_core::Event;

pub(super) fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Authenticated => "Authenticated",
        Event::CaApprovalNeeded { .. } => "CaApprovalNeeded",
        Event::AuthenticationFailed { .. } => "AuthenticationFailed",
        Event::Enrolled => "Enrolled",
        Event::Renewed => "Renewed",
        Event::RolloverCaInstalled => "RolloverCaInstalled",
        Event::RolloverIdentityInstalled => "RolloverIdentityInstalled",
        Event::RolloverActivated => "RolloverActivated",
        Event::Pending => "Pending",
        Event::Rejected { .. } => "Rejected",
        Event::PollExhausted => "PollExhausted",
        Event::RetriesExhausted => "RetriesExhausted",
        Event::IdentityExpiring => "IdentityExpiring",
        Event::NeedsReauthentication => "NeedsReauthentication",
        Event::NeedsManualRenewal => "NeedsManualRenewal",
        Event::LegacyAlgorithmRefused => "LegacyAlgorithmRefused",
        Event::Warning(_) => "Warning",
        _ => "other",
    }
}

pub(super) fn is_trouble(event: &Event) -> bool {
    matches!(
        event,
        Event::AuthenticationFailed { .. }
            | Event::Rejected { .. }
            | Event::PollExhausted
            | Event::RetriesExhausted
            | Event::IdentityExpiring
            | Event::NeedsReauthentication
            | Event::NeedsManualRenewal
            | Event::LegacyAlgorithmRefused
    )
}
