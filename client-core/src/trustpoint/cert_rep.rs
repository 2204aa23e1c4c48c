//! The answer to a PKIOperation (K-11 … K-14, K-17): judged against the pinned signer, then
//! PENDING, FAILURE or the certificate installed (K-7, K-8 (4)).

use der::Encode;
use pki_timers::{ClientTimer, Instant, PollSchedule, Step, connect_retry_at};
use scep_proto::{
    CertRepStatus, Certificate, ContentType, FailInfo, PkiMessage, PublicKey, names_match,
};

use super::certs::not_after;
use super::csr;
use super::state::{Identity, JobKind, State, Transaction};
use super::{Event, ReplyProblem, Trustpoint, Warning};
use crate::transport::{HttpReply, TransportError};

/// What a CertRep that passed K-17 says.
enum Outcome {
    Pending,
    Failure {
        fail_info: FailInfo,
        text: Option<String>,
    },
    Success(Box<Certificate>),
}

impl Trustpoint {
    /// K-17: the certificates that may sign the answer to `txn` — the one it expects (the RA
    /// or the CA), the CA it is addressed to, and for a shadow request the active CA (K-8 (4)).
    /// All of them are pinned (K-2); none comes from the answer.
    fn expected_signers<'a>(&'a self, txn: &'a Transaction) -> Vec<&'a Certificate> {
        let mut out = vec![&txn.verifier, &txn.ca];
        if txn.job.kind == JobKind::Shadow
            && let Some(c) = &self.chain
        {
            out.push(&c.ca);
        }
        out
    }

    /// K-17: judges a PKIOperation answer.
    fn judge<R: rand::CryptoRng + ?Sized>(
        &self,
        reply: Result<HttpReply, TransportError>,
        txn: &Transaction,
        rng: &mut R,
    ) -> Result<Outcome, ReplyProblem> {
        let reply = reply.map_err(|e| ReplyProblem::Transport(e.to_string()))?;
        if reply.status != 200 {
            return Err(ReplyProblem::HttpStatus(reply.status));
        }
        if reply.scep_content_type() != Some(ContentType::PkiMessage) {
            return Err(ReplyProblem::ContentType);
        }
        let msg = PkiMessage::from_der(&reply.body, &self.profile())
            .map_err(ReplyProblem::Undecodable)?;
        // K-17: only a certificate this trustpoint expects may have signed, whatever the
        // CertRep carries; the sid picks which of them.
        let signer = self
            .expected_signers(txn)
            .into_iter()
            .find(|c| msg.signer_id().matches(c))
            .ok_or(ReplyProblem::UnexpectedSigner)?
            .clone();
        let verified = msg.verify(Some(&signer)).map_err(ReplyProblem::Signature)?;
        let rep = verified
            .open_cert_rep(Some(&txn.signer_key), rng)
            .map_err(ReplyProblem::Unreadable)?;
        if rep.transaction_id != txn.id {
            return Err(ReplyProblem::TransactionId);
        }
        if Some(rep.recipient_nonce) != txn.nonce {
            return Err(ReplyProblem::RecipientNonce);
        }
        match rep.status {
            CertRepStatus::Pending => Ok(Outcome::Pending),
            CertRepStatus::Failure { fail_info, text } => Ok(Outcome::Failure { fail_info, text }),
            CertRepStatus::Success(certs) => {
                let want = csr::spki_der(&txn.request_key).map_err(|_| ReplyProblem::RequestKey)?;
                let cert = certs
                    .certificates
                    .iter()
                    .find(|c| {
                        c.tbs_certificate()
                            .subject_public_key_info()
                            .to_der()
                            .is_ok_and(|d| d == want)
                    })
                    .ok_or(ReplyProblem::NoCertificateForKey)?;
                if !names_match(
                    cert.tbs_certificate().issuer(),
                    txn.ca.tbs_certificate().subject(),
                ) {
                    return Err(ReplyProblem::ForeignIssuer);
                }
                let issued_by_ca = PublicKey::from_certificate(&txn.ca)
                    .and_then(|ca| ca.verify_certificate(cert, &self.profile()));
                if issued_by_ca.is_err() {
                    return Err(ReplyProblem::IssuerSignature);
                }
                Ok(Outcome::Success(Box::new(cert.clone())))
            }
            _ => Err(ReplyProblem::UnknownStatus),
        }
    }

    pub(super) fn on_cert_rep<R: rand::CryptoRng + ?Sized>(
        &mut self,
        reply: Result<HttpReply, TransportError>,
        mut txn: Transaction,
        now: Instant,
        rng: &mut R,
    ) {
        match self.judge(reply, &txn, rng) {
            Err(problem) => {
                // K-14: every bad answer is a transport failure.
                if problem.is_legacy_refusal() {
                    self.events.push_back(Event::LegacyAlgorithmRefused);
                }
                self.events
                    .push_back(Event::Warning(Warning::BadCertRep(problem)));
                match connect_retry_at(
                    now,
                    txn.retries,
                    self.retry,
                    self.config.connect_retry,
                    not_after(&txn.ca),
                ) {
                    Step::At(at) => {
                        txn.retries = txn.retries.saturating_add(1);
                        self.state = State::Retrying { txn: Box::new(txn) };
                        self.timers.arm(ClientTimer::ConnectRetry, at);
                    }
                    Step::Exhausted => {
                        self.events.push_back(Event::RetriesExhausted);
                        self.state = self.idle_state();
                        self.failed_attempt(txn.job, now);
                    }
                }
            }
            Ok(Outcome::Pending) => {
                txn.retries = 0;
                let (pending_at, attempt) = match txn.poll {
                    None => {
                        self.events.push_back(Event::Pending);
                        (now, 0)
                    }
                    Some((t0, k)) => (t0, k.saturating_add(1)),
                };
                let schedule = PollSchedule {
                    pending_at,
                    config: self.retry,
                    issuing_not_after: not_after(&txn.ca),
                };
                // T-10 (amended): after an outage or a clock jump, skip the polls already past.
                let (attempt, next) = schedule.next_after(attempt, now);
                match next {
                    Step::At(at) => {
                        txn.poll = Some((pending_at, attempt));
                        self.state = State::Pending { txn: Box::new(txn) };
                        self.timers.arm(ClientTimer::Poll, at);
                    }
                    Step::Exhausted => {
                        self.events.push_back(Event::PollExhausted);
                        self.state = self.idle_state();
                        self.failed_attempt(txn.job, now);
                    }
                }
            }
            Ok(Outcome::Failure { fail_info, text }) => {
                // K-12.
                for t in [
                    ClientTimer::Renew,
                    ClientTimer::Shadow,
                    ClientTimer::Poll,
                    ClientTimer::ConnectRetry,
                ] {
                    self.timers.cancel(t);
                }
                self.state = State::RejectedNeedsManual;
                self.events.push_back(Event::Rejected { fail_info, text });
                self.events.push_back(Event::NeedsManualRenewal);
            }
            Ok(Outcome::Success(cert)) => self.install(*cert, txn, now),
        }
    }

    /// K-7 / K-8 (4): install what a SUCCESS brought.
    fn install(&mut self, cert: Certificate, txn: Transaction, now: Instant) {
        let identity = Identity {
            cert,
            key: txn.request_key,
        };
        let to_active = self.chain.as_ref().is_some_and(|c| c.ca == txn.ca);
        if txn.job.kind == JobKind::Shadow && !to_active {
            self.rollover_identity = Some(identity);
            self.events.push_back(Event::RolloverIdentityInstalled);
        } else {
            let first = self.identity.is_none();
            self.identity = Some(identity);
            self.events.push_back(if first {
                Event::Enrolled
            } else {
                Event::Renewed
            });
        }
        self.state = self.idle_state();
        self.arm_timers(now);
    }
}
