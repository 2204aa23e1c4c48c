//! Message building (K-5, K-6, K-8 (3), K-11): a new transaction's key, CSR and signer, and
//! the pkiMessage sent for it (the request, or a CertPoll after PENDING).

use pki_timers::Instant;
use scep_proto::{
    Capabilities, Capability, Csr, IssuerAndSubject, MessageType, Nonce, PrivateKey, RequestBody,
    RequestBuilder, SelfSigned, Signer, TransactionId,
};

use super::csr;
use super::state::{Job, JobKind, Transaction};
use super::{RequestFailure, Trustpoint};

impl Trustpoint {
    /// K-5 / K-6 / K-8 (3): key, CSR, signer and recipient of a new transaction.
    pub(super) fn build_transaction<R: rand::CryptoRng + ?Sized>(
        &mut self,
        job: Job,
        now: Instant,
        rng: &mut R,
    ) -> Result<Transaction, RequestFailure> {
        let chain = self
            .chain
            .as_ref()
            .ok_or(RequestFailure::NotAuthenticated)?;
        let (ca, recipient, verifier) = match job.kind {
            JobKind::Shadow => {
                let r = self
                    .rollover_ca
                    .as_ref()
                    .ok_or(RequestFailure::NoRolloverCa)?;
                (r.clone(), r.clone(), r.clone())
            }
            _ => (
                chain.ca.clone(),
                chain.recipient().clone(),
                chain.verifier().clone(),
            ),
        };
        let request_key = match (&self.identity, job.regenerate) {
            (Some(id), false) => id.key.clone(),
            _ => match self
                .key_source
                .as_ref()
                .and_then(|s| s.next_key(self.config.key_bits))
            {
                Some(key) => key,
                None => PrivateKey::generate(self.config.key_bits, rng)
                    .map_err(|_| RequestFailure::KeyGeneration)?,
            },
        };
        let csr = csr::build_csr(
            &self.subject,
            &request_key,
            self.config.challenge_password.as_deref(),
            &self.config.subject_alt_names,
            self.last_csr.as_ref(),
            rng,
        )
        .map_err(|_| RequestFailure::Csr)?;
        let csr = self.last_csr.insert(csr).der.clone();
        let renewal_signer = match (&self.identity, job.kind) {
            (Some(id), JobKind::Renew | JobKind::Shadow)
                if self.caps.contains(Capability::Renewal) =>
            {
                Some(id)
            }
            _ => None,
        };
        let (signer_cert, signer_key, message_type) = match renewal_signer {
            Some(id) => (
                id.cert.clone(),
                id.key.clone(),
                self.config.renewal_message.message_type(),
            ),
            None => {
                let serial = Nonce::random(rng).0;
                let mut serial = serial.get(..8).unwrap_or(&serial).to_vec();
                if let Some(first) = serial.first_mut() {
                    *first = (*first & 0x7f) | 0x01;
                }
                let nb = now.unix().saturating_sub(3600);
                let na = now.unix().saturating_add(86_400);
                let cert = SelfSigned::new(self.subject.clone(), serial, nb, na)
                    .build(&request_key, rng)
                    .map_err(RequestFailure::SignerCertificate)?;
                (cert, request_key.clone(), MessageType::PkcsReq)
            }
        };
        Ok(Transaction {
            job,
            id: TransactionId::random(rng),
            message_type,
            request_key,
            signer_cert,
            signer_key,
            recipient,
            verifier,
            ca,
            csr,
            subject: self.subject.clone(),
            polling: false,
            poll: None,
            retries: 0,
            nonce: None,
        })
    }
}

/// The pkiMessage for `txn`: the request, or a CertPoll after PENDING; fresh senderNonce.
pub(super) fn build_message<R: rand::CryptoRng + ?Sized>(
    txn: &mut Transaction,
    caps: Capabilities,
    rng: &mut R,
) -> Result<Vec<u8>, RequestFailure> {
    let body = if txn.polling {
        RequestBody::CertPoll(IssuerAndSubject {
            issuer: txn.ca.tbs_certificate().subject().clone(),
            subject: txn.subject.clone(),
        })
    } else {
        let csr = Csr::from_der(&txn.csr).map_err(|_| RequestFailure::Csr)?;
        match txn.message_type {
            MessageType::RenewalReq => RequestBody::RenewalReq(csr),
            _ => RequestBody::PkcsReq(csr),
        }
    };
    let nonce = Nonce::random(rng);
    let mut builder = RequestBuilder::new(txn.id.clone(), nonce);
    builder.digest = caps.digest();
    builder.cipher = caps.content_cipher();
    let der = builder
        .build(
            &body,
            Signer {
                cert: &txn.signer_cert,
                key: &txn.signer_key,
            },
            &txn.recipient,
            rng,
        )
        .map_err(RequestFailure::Message)?;
    txn.nonce = Some(nonce);
    Ok(der)
}
