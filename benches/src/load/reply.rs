//! Opening one reply and deciding whether it is a success (S-27 … S-29).

use scep_proto::{Certificate, FailInfo, MessageType, PkiMessage, PkiStatus, Profile};

use super::{Prepared, Reply};

/// How one request ended. Everything but [`Outcome::Success`] counts as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A CertRep with pkiStatus SUCCESS, signed by the CA, for this transaction.
    Success,
    /// pkiStatus PENDING (e.g. a server in manual-grant mode).
    Pending,
    /// pkiStatus FAILURE with its failInfo.
    Failure(FailInfo),
    /// An HTTP status other than 200.
    HttpStatus(u16),
    /// No HTTP answer (connection, timeout, body read).
    Transport,
    /// A 200 answer that is not a pkiMessage, not a CertRep, or fails verification.
    Unparsable,
    /// A verified CertRep for another transaction or nonce.
    Mismatch,
}

impl Outcome {
    /// True for [`Outcome::Success`].
    #[must_use]
    pub fn is_success(self) -> bool {
        self == Self::Success
    }

    /// A short label for the error tally (FAILURE with its failInfo).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Failure(FailInfo::BadAlg) => "failure_badAlg",
            Self::Failure(FailInfo::BadMessageCheck) => "failure_badMessageCheck",
            Self::Failure(FailInfo::BadRequest) => "failure_badRequest",
            Self::Failure(FailInfo::BadTime) => "failure_badTime",
            Self::Failure(FailInfo::BadCertId) => "failure_badCertId",
            Self::HttpStatus(_) => "http_status",
            Self::Transport => "transport",
            Self::Unparsable => "unparsable",
            Self::Mismatch => "mismatch",
        }
    }
}

/// Classifies the answer to `sent`: parses it with the LEGACY profile (micromdm answers with
/// DES), verifies the signature against whichever of `signers` the SignerInfo names, and reads
/// pkiStatus. The issued certificate is not decrypted.
#[must_use]
pub fn classify(reply: &Reply, sent: &Prepared, signers: &[Certificate]) -> Outcome {
    if reply.status != 200 {
        return Outcome::HttpStatus(reply.status);
    }
    let Ok(message) = PkiMessage::from_der(&reply.body, &Profile::LEGACY) else {
        return Outcome::Unparsable;
    };
    let signer = signers.iter().find(|c| message.signer_id().matches(c));
    // A CertRep signed by a certificate that is not in GetCACert is not the CA's.
    let Some(signer) = signer else {
        return Outcome::Unparsable;
    };
    let Ok(verified) = message.verify(Some(signer)) else {
        return Outcome::Unparsable;
    };
    let attrs = verified.attributes();
    if attrs.message_type != MessageType::CertRep {
        return Outcome::Unparsable;
    }
    if attrs.transaction_id != sent.transaction_id
        || attrs.recipient_nonce != Some(sent.sender_nonce)
    {
        return Outcome::Mismatch;
    }
    match attrs.pki_status {
        Some(PkiStatus::Success) => Outcome::Success,
        Some(PkiStatus::Pending) => Outcome::Pending,
        Some(PkiStatus::Failure) => attrs
            .fail_info
            .map_or(Outcome::Unparsable, Outcome::Failure),
        None => Outcome::Unparsable,
    }
}
