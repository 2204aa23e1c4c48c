//! Opening one reply and deciding whether it is a success (S-27 … S-29).

use scep_proto::{Certificate, FailInfo, MessageType, PkiMessage, PkiStatus, Profile};

use client_core::HttpReply;

use super::Prepared;

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
pub fn classify(reply: &HttpReply, sent: &Prepared, signers: &[Certificate]) -> Outcome {
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

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use rand::SeedableRng as _;
    use rand::rngs::StdRng;
    use scep_proto::{
        CertRepBuilder, CertRepContent, Certificate, CertsOnly, FailInfo, Nonce, PrivateKey,
        SelfSigned, Signer, TransactionId,
    };
    use x509_cert::name::Name;

    use super::{Outcome, classify};
    use client_core::HttpReply;

    use crate::load::{BuildParams, Prepared, build_messages};

    fn ca(seed: u64, cn: &str) -> (PrivateKey, Certificate) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = PrivateKey::generate(1024, &mut rng).unwrap();
        let name = Name::from_str(&format!("CN={cn}")).unwrap();
        let cert = SelfSigned::new(name, vec![1], 1_700_000_000, 1_900_000_000)
            .build(&key, &mut rng)
            .unwrap();
        (key, cert)
    }

    fn reply(status: u16, body: Vec<u8>) -> HttpReply {
        HttpReply {
            status,
            content_type: Some("application/x-pki-message".to_owned()),
            body,
        }
    }

    fn cert_rep(
        key: &PrivateKey,
        cert: &Certificate,
        to: &Prepared,
        tid: Option<&str>,
        content: &CertRepContent<'_>,
    ) -> Vec<u8> {
        let tid = tid.map_or_else(
            || to.transaction_id.clone(),
            |t| TransactionId::new(t).unwrap(),
        );
        let mut rng = StdRng::seed_from_u64(9);
        CertRepBuilder::new(tid, Nonce::random(&mut rng), to.sender_nonce)
            .build(content, Signer { cert, key }, &mut rng)
            .unwrap()
    }

    #[test]
    fn only_a_verified_success_for_this_transaction_counts() {
        let (key, cert) = ca(1, "load test CA");
        let (other_key, other_cert) = ca(2, "someone else");
        let mut params = BuildParams::new(2, 1_800_000_000);
        params.threads = 1;
        let sent = build_messages(&params, &cert).unwrap();
        assert_eq!(sent.len(), 2);
        assert_ne!(sent[0].transaction_id, sent[1].transaction_id);
        let signers = std::slice::from_ref(&cert);
        let issued = CertsOnly::new(vec![cert.clone()]);
        let success = CertRepContent::Success {
            certs: &issued,
            recipient: &cert,
        };
        let ok = cert_rep(&key, &cert, &sent[0], None, &success);
        assert_eq!(
            classify(&reply(200, ok.clone()), &sent[0], signers),
            Outcome::Success
        );
        // The same answer for the other request: wrong transactionID and nonce.
        assert_eq!(
            classify(&reply(200, ok.clone()), &sent[1], signers),
            Outcome::Mismatch
        );
        let wrong_tid = cert_rep(&key, &cert, &sent[0], Some("other"), &success);
        assert_eq!(
            classify(&reply(200, wrong_tid), &sent[0], signers),
            Outcome::Mismatch
        );
        let pending = cert_rep(&key, &cert, &sent[0], None, &CertRepContent::Pending);
        assert_eq!(
            classify(&reply(200, pending), &sent[0], signers),
            Outcome::Pending
        );
        let failure = CertRepContent::Failure {
            fail_info: FailInfo::BadAlg,
            text: None,
        };
        let failed = cert_rep(&key, &cert, &sent[0], None, &failure);
        assert_eq!(
            classify(&reply(200, failed), &sent[0], signers),
            Outcome::Failure(FailInfo::BadAlg)
        );
        // Signed by a certificate GetCACert did not return.
        let forged = cert_rep(&other_key, &other_cert, &sent[0], None, &success);
        assert_eq!(
            classify(&reply(200, forged), &sent[0], signers),
            Outcome::Unparsable
        );
        assert_eq!(
            classify(&reply(200, b"0".to_vec()), &sent[0], signers),
            Outcome::Unparsable
        );
        assert_eq!(
            classify(&reply(500, ok), &sent[0], signers),
            Outcome::HttpStatus(500)
        );
    }
}
