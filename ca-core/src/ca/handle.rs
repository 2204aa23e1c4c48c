//! `handle`: the HTTP operations and the PKIOperation pipeline (C-5 … C-13, S-26 … S-36):
//! dispatch, the answers to CertPoll (C-13) and GetCert (S-35), and the CertRep replies.
//! Enrolments go to [`super::enroll`].

use std::sync::Arc;

use der::Decode;
use pki_timers::Instant;
use rand::CryptoRng;
use scep_proto::{
    CertRepBuilder, CertRepContent, Certificate, CertsOnly, DigestAlg, Envelope, ErrorStatus,
    HttpResponse, IssuerAndSerialNumber, MessageType, Nonce, PkiMessage, Profile, RequestBody,
    ScepRequest, ScepResponse, VerifiedMessage,
};

use super::enroll::{
    Delivery, EnrollKind, Enrollment, Opened, SignerClass, bound_to, cert_key, requester,
};
use super::error::{Answer, Failure};
use super::ra::{Recipient, Standing};
use super::state::{EntryState, Generation};
use super::{Ca, GrantMode, Snapshot};
use crate::DatabaseLevel;
use crate::host::{AuditOutcome, AuditRecord, Requester};
use crate::issue::{VerifiedCsr, certificate_serial};
use crate::storage::{RecordKey, Store};

/// Where a CertRep goes: identifiers, algorithms and the signing key (C-7, S-27), and what
/// the audit record says so far.
struct Reply {
    builder: CertRepBuilder,
    signer: Arc<Generation>,
    /// The request went to `signer`'s RA: the RA signs (C-7).
    via_ra: bool,
    trail: Trail,
}

impl Reply {
    /// A reply to `msg` not yet attributed to a CA generation: the active key signs (C-7).
    fn from_active(builder: CertRepBuilder, snap: &Snapshot, msg: &PkiMessage) -> Self {
        Self {
            builder,
            signer: Arc::clone(&snap.active),
            via_ra: false,
            trail: Trail {
                message_type: Some(msg.message_type()),
                transaction_id: Some(msg.transaction_id().as_str().to_owned()),
                ..Trail::default()
            },
        }
    }
}

/// The audit record in the making (issue 14 item 4): what is known of the request, why it
/// is answered as it is, and for a SUCCESS what is handed out.
#[derive(Default)]
struct Trail {
    message_type: Option<MessageType>,
    transaction_id: Option<String>,
    requester: Option<Requester>,
    reason: String,
    /// Serial and subject of the certificate handed out, and whether this request issued it.
    handed_out: Option<(Option<u64>, Option<String>, bool)>,
}

/// The PKIOperation messageTypes the CA serves (S-10), known from the signed attributes.
/// The largest block of the content ciphers S-16 allows (AES), in bytes.
const CIPHER_BLOCK: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Enrol(EnrollKind),
    Poll,
    GetCert,
    GetCrl,
}

impl Operation {
    fn of(message_type: MessageType) -> Option<Self> {
        match message_type {
            MessageType::PkcsReq => Some(Self::Enrol(EnrollKind::Initial)),
            MessageType::RenewalReq => Some(Self::Enrol(EnrollKind::Renewal)),
            MessageType::CertPoll => Some(Self::Poll),
            MessageType::GetCert => Some(Self::GetCert),
            MessageType::GetCrl => Some(Self::GetCrl),
            MessageType::CertRep | MessageType::Unknown(_) => None,
        }
    }
}

/// The decrypted messageData, parsed and (for an enrolment) verified (S-21, S-26).
enum Body {
    Enrol(EnrollKind, Box<VerifiedCsr>),
    Poll,
    GetCert(IssuerAndSerialNumber),
    GetCrl,
}

impl<S: Store> Ca<S> {
    /// Answers one HTTP request (S-1 … S-8, S-31 … S-36). Call it from any thread with:
    /// `method` the request method token, `target` the raw request-target (path and query),
    /// `body` the request body, `now` the current time and an RNG.
    ///
    /// Total: every input gets an answer, never a panic. 200 for every SCEP answer (CertRep
    /// FAILURE and PENDING included); 400/405/413 for requests that are not SCEP (S-8); 404
    /// for GetNextCACert without a rollover; 503 when the CA is not operational (C-4) or the
    /// store failed (nothing was handed out then; the client may retry).
    pub fn handle<R: CryptoRng + ?Sized>(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        now: Instant,
        rng: &mut R,
    ) -> HttpResponse {
        let request = match ScepRequest::parse(method, target, body) {
            Ok(r) => r,
            Err(e) => return ScepResponse::from(e).into_http(),
        };
        // Store v2: pick up what other instances changed (a no-op while nothing changed).
        self.refresh_before_request();
        let snap = self.snapshot();
        let response = match request {
            ScepRequest::GetCaCert { .. } => super::ra::ca_cert_answer(&snap),
            ScepRequest::GetCaCaps { .. } => ScepResponse::Caps(self.capabilities(&snap)),
            ScepRequest::GetNextCaCert { .. } => self.next_ca_cert(&snap, now, rng),
            ScepRequest::GetCrl { .. } => ScepResponse::Crl(self.crl_der()),
            ScepRequest::PkiOperation { message, .. } => {
                if !snap.state.is_operational() {
                    self.audit(
                        Trail {
                            reason: "the CA is not operational".to_owned(),
                            ..Trail::default()
                        },
                        AuditOutcome::Http(503),
                    );
                    ScepResponse::Error(ErrorStatus::ServiceUnavailable)
                } else {
                    self.pki_operation(&snap, &message, now, rng)
                }
            }
            _ => ScepResponse::Error(ErrorStatus::BadRequest),
        };
        response.into_http()
    }

    /// C-27: the profile's keywords; `GetNextCACert` only during a rollover unless
    /// `advertise_next_ca_always`.
    fn capabilities(&self, snap: &Snapshot) -> scep_proto::Capabilities {
        let caps = self.config.caps_profile.capabilities();
        if self.config.advertise_next_ca_always || snap.rollover.is_some() {
            caps
        } else {
            caps.without(scep_proto::Capability::GetNextCaCert)
        }
    }

    /// S-33: the rollover certificate signed by the active key (signed once per rollover,
    /// see `next_ca`); 404 without; 503 if not operational.
    fn next_ca_cert<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        now: Instant,
        rng: &mut R,
    ) -> ScepResponse {
        if !snap.state.is_operational() {
            return ScepResponse::Error(ErrorStatus::ServiceUnavailable);
        }
        let Some(rollover) = &snap.rollover else {
            return ScepResponse::Error(ErrorStatus::NotFound);
        };
        match self.next_ca.get_or_build(&snap.active, rollover, || {
            scep_proto::NextCaCerts::build(
                &rollover.published(),
                snap.active.signer(),
                DigestAlg::Sha256,
                Some(now.unix()),
                rng,
            )
        }) {
            Ok(body) => ScepResponse::NextCaCert(body),
            Err(_) => ScepResponse::Error(ErrorStatus::ServiceUnavailable),
        }
    }

    pub(crate) fn profile(&self) -> Profile {
        if self.config.legacy_algorithms {
            Profile::LEGACY
        } else {
            Profile::STRICT
        }
    }

    /// C-5: decode → signature → attributes → recipient key → decrypt → messageData →
    /// dispatch; the first failing step decides the answer.
    ///
    /// C-6: everything the signed attributes and the envelope's clear parts decide
    /// (messageType, the signer's right to it, recipient, algorithms) is decided before the
    /// content key is unwrapped. From the unwrap on, every failure that depends on the secret
    /// plaintext is the one answer [`Failure::Opaque`].
    fn pki_operation<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        message: &[u8],
        now: Instant,
        rng: &mut R,
    ) -> ScepResponse {
        let msg = match PkiMessage::from_der(message, &self.profile()) {
            Ok(msg) => msg,
            Err(e) => return self.undecodable(snap, message, e, now, rng),
        };
        let mut builder = CertRepBuilder::new(
            msg.transaction_id().clone(),
            Nonce::random(rng),
            msg.sender_nonce(),
        );
        // S-27: mirror the request's digest (SHA-1 only under the legacy switch).
        builder.digest = self.reply_digest(msg.digest());
        builder.signing_time = Some(now.unix());
        // C-7: unattributed failures are signed by the active key.
        let mut reply = Reply::from_active(builder, snap, &msg);
        let verified = match msg.verify(None) {
            Ok(v) => v,
            Err(e) => return self.fail(reply, &Failure::Protocol(e), rng),
        };
        let class = self.signer_class(snap, verified.signer(), now);
        // C-9 steps 5 and 6: the registered RA is not a renewal credential (C-8); a revoked
        // RA, or any while a revocation may be unseen (failed refresh), is not the RA.
        let standing = super::ra::standing(snap, verified.signer(), class, now, |serial| {
            self.credential_unsure(serial)
        });
        let class = standing.demote(class);
        reply.trail.requester = Some(requester(verified.signer(), class));
        let Some(operation) = Operation::of(verified.message().message_type()) else {
            return self.fail(reply, &Failure::UnsupportedMessage, rng);
        };
        if let Err(f) = self.allowed_in_clear(operation, class) {
            return self.fail(reply, &f, rng);
        }
        if matches!(operation, Operation::Enrol(_))
            && standing != Standing::Ra
            && self.over_key_quota(
                verified.signer(),
                verified.attributes().transaction_id.as_str(),
            )
        {
            return self.fail(reply, &Failure::KeyQuota, rng);
        }
        let envelope = match verified.envelope() {
            Ok(Some(env)) => env,
            Ok(None) => return self.fail(reply, &Failure::UnsupportedMessage, rng),
            Err(e) => return self.fail(reply, &Failure::Protocol(e), rng),
        };
        // C-6: the active certificate or its RA, else the rollover certificate or its RA.
        let Some(recipient) = Recipient::find(snap, &envelope) else {
            return self.fail(reply, &Failure::NotAddressed, rng);
        };
        let addressee = recipient.addressee;
        // C-7 and S-28: the recipient key signs; a SUCCESS mirrors the request's cipher.
        reply.signer = Arc::clone(&recipient.generation);
        reply.via_ra = recipient.via_ra;
        reply.builder.cipher = envelope.cipher();
        // Issue 13 item 6, decided from cleartext (C-6): a PKCSReq's plaintext is its CSR, at
        // least one cipher block shorter than the ciphertext, so a ciphertext that long cannot
        // hold a CSR within the cap. A CSR over the cap found after decrypting is opaque.
        if matches!(operation, Operation::Enrol(_))
            && envelope.ciphertext_len().saturating_sub(CIPHER_BLOCK) > self.config.max_csr_bytes
        {
            return self.fail(reply, &Failure::CsrTooLarge, rng);
        }
        let Some(body) = self.open_body(&verified, &envelope, &recipient, operation, rng) else {
            return self.fail(reply, &Failure::Opaque, rng);
        };
        let request = Opened {
            tid: verified.attributes().transaction_id.as_str(),
            signer: verified.signer(),
            class,
            addressee,
            standing,
        };
        let outcome = match body {
            Body::Enrol(kind, csr) => {
                let enrollment =
                    Enrollment::arriving(&request, &csr, kind, &self.config.policy, now);
                self.enroll(snap, &request, &enrollment, rng)
            }
            Body::Poll => self.poll(&request),
            Body::GetCert(ias) => self.get_cert(&ias),
            Body::GetCrl => Ok(Delivery::Crl),
        };
        match outcome {
            Ok(Delivery::Pending(reason)) => {
                reply.trail.reason = reason;
                self.build(reply, &CertRepContent::Pending, rng)
            }
            Ok(Delivery::Cert {
                der,
                newly_issued,
                reason,
            }) => {
                reply.trail.reason = reason;
                self.deliver_cert(reply, request.signer, &der, newly_issued, rng)
            }
            Ok(Delivery::Crl) => {
                reply.trail.reason = "GetCRL".to_owned();
                reply.trail.handed_out = Some((None, None, false));
                let crl = self.lock().crl.parsed.clone();
                let certs = CertsOnly {
                    certificates: Vec::new(),
                    crls: vec![crl],
                };
                self.build(
                    reply,
                    &CertRepContent::Success {
                        certs: &certs,
                        recipient: request.signer,
                    },
                    rng,
                )
            }
            Err(f) => self.fail(reply, &f, rng),
        }
    }

    /// C-6: what the messageType and the signer alone decide, before any decryption: C-9
    /// step 1, C-8 (a RenewalReq needs a renewal credential), S-35 (GetCert needs database
    /// level Complete).
    fn allowed_in_clear(&self, operation: Operation, class: SignerClass) -> Result<(), Failure> {
        match operation {
            Operation::Enrol(_) if self.config.grant == GrantMode::None => Err(Failure::GrantNone),
            Operation::Enrol(EnrollKind::Renewal)
                if !matches!(class, SignerClass::Credential { .. }) =>
            {
                Err(Failure::RenewalNotAuthorized)
            }
            Operation::GetCert if self.config.database_level < DatabaseLevel::Complete => {
                Err(Failure::UnknownTransaction)
            }
            _ => Ok(()),
        }
    }

    /// C-6: unwraps the content key, decrypts, parses the messageData for `operation` and, for
    /// an enrolment, verifies the CSR (S-26). `None` for any failure: which step failed is
    /// never told, since each depends on plaintext an attacker may have tampered with.
    fn open_body<R: CryptoRng + ?Sized>(
        &self,
        verified: &VerifiedMessage,
        envelope: &Envelope,
        recipient: &Recipient,
        operation: Operation,
        rng: &mut R,
    ) -> Option<Body> {
        let message_type = verified.message().message_type();
        let plaintext = envelope.decrypt_for(recipient.cert(), recipient.key(), rng);
        // The same parsing work whether or not the padding was valid (bad padding would
        // otherwise answer sooner): a failed decryption parses a decoy of the same length.
        let decoy;
        let input = match &plaintext {
            Ok(p) => p.as_slice(),
            Err(_) => {
                decoy = vec![0u8; envelope.ciphertext_len()];
                decoy.as_slice()
            }
        };
        let parsed = RequestBody::from_der(message_type, input);
        // CertPoll and GetCRL are answered from the transactionID and the signer alone, the
        // CRL being the current one whatever is asked: their messageData has no proof of
        // possession, so whether it decrypts and parses must not show either.
        match operation {
            Operation::Poll => return Some(Body::Poll),
            Operation::GetCrl => return Some(Body::GetCrl),
            _ => {}
        }
        let parsed = match (plaintext, parsed) {
            (Ok(_), Ok(body)) => body,
            _ => return None,
        };
        match (operation, parsed) {
            (Operation::Enrol(kind), RequestBody::PkcsReq(csr) | RequestBody::RenewalReq(csr))
                if csr.to_der().len() <= self.config.max_csr_bytes =>
            {
                // S-40: the CSR as scep-proto decoded it (BER normalised), not decoded again.
                VerifiedCsr::verify(csr.cert_req().clone(), self.config.legacy_algorithms)
                    .ok()
                    .map(|csr| Body::Enrol(kind, Box::new(csr)))
            }
            (Operation::GetCert, RequestBody::GetCert(ias)) => Some(Body::GetCert(ias)),
            _ => None,
        }
    }

    /// A pkiMessage the configured profile refuses. If it only uses a legacy algorithm (S-37,
    /// S-38) its identifiers are still readable: FAILURE badAlg, signed with SHA-256.
    /// Otherwise no transactionID/senderNonce is available: 400 (S-8, C-5).
    fn undecodable<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        message: &[u8],
        error: scep_proto::Error,
        now: Instant,
        rng: &mut R,
    ) -> ScepResponse {
        let legacy_only = !self.config.legacy_algorithms
            && matches!(error.fail_info(), Some(scep_proto::FailInfo::BadAlg));
        let Some(msg) = legacy_only
            .then(|| PkiMessage::from_der(message, &Profile::LEGACY).ok())
            .flatten()
        else {
            let trail = Trail {
                reason: format!("undecodable pkiMessage: {error}"),
                ..Trail::default()
            };
            self.audit(trail, AuditOutcome::Http(400));
            return ScepResponse::Error(ErrorStatus::BadRequest);
        };
        let mut builder = CertRepBuilder::new(
            msg.transaction_id().clone(),
            Nonce::random(rng),
            msg.sender_nonce(),
        );
        builder.signing_time = Some(now.unix());
        let reply = Reply::from_active(builder, snap, &msg);
        self.fail(reply, &Failure::Protocol(error), rng)
    }

    fn deliver_cert<R: CryptoRng + ?Sized>(
        &self,
        mut reply: Reply,
        recipient: &Certificate,
        der: &[u8],
        newly_issued: bool,
        rng: &mut R,
    ) -> ScepResponse {
        let Ok(cert) = Certificate::from_der(der) else {
            reply.trail.reason = "stored certificate does not decode".to_owned();
            self.audit(reply.trail, AuditOutcome::Http(503));
            return ScepResponse::Error(ErrorStatus::ServiceUnavailable);
        };
        reply.trail.handed_out = Some((
            certificate_serial(&cert).ok(),
            Some(cert.tbs_certificate().subject().to_string()),
            newly_issued,
        ));
        // S-28: the issued certificate first on the wire, then (if configured) the CA.
        let mut bag = vec![cert];
        if self.config.ca_cert_in_success {
            bag.push(reply.signer.cert().clone());
        }
        let certs = CertsOnly::new(bag);
        self.build(
            reply,
            &CertRepContent::Success {
                certs: &certs,
                recipient,
            },
            rng,
        )
    }

    fn fail<R: CryptoRng + ?Sized>(
        &self,
        mut reply: Reply,
        failure: &Failure,
        rng: &mut R,
    ) -> ScepResponse {
        reply.trail.reason = failure.reason();
        match failure.answer() {
            Answer::Http(status) => {
                self.audit(reply.trail, AuditOutcome::Http(status.code()));
                ScepResponse::Error(status)
            }
            Answer::Fail(fail_info, text) => self.build(
                reply,
                &CertRepContent::Failure {
                    fail_info,
                    text: text.map(str::to_owned),
                },
                rng,
            ),
        }
    }

    /// Signs the CertRep and reports it to the host (the one place every CertRep passes).
    fn build<R: CryptoRng + ?Sized>(
        &self,
        reply: Reply,
        content: &CertRepContent<'_>,
        rng: &mut R,
    ) -> ScepResponse {
        let Reply {
            builder,
            signer,
            via_ra,
            mut trail,
        } = reply;
        let outcome = |content: &CertRepContent<'_>, trail: &Trail| match content {
            CertRepContent::Pending => AuditOutcome::Pending,
            CertRepContent::Failure { fail_info, .. } => AuditOutcome::Failure(*fail_info),
            _ => {
                let (serial, subject, newly_issued) =
                    trail.handed_out.clone().unwrap_or((None, None, false));
                AuditOutcome::Success {
                    serial,
                    subject,
                    newly_issued,
                }
            }
        };
        let (response, outcome) =
            match builder
                .clone()
                .build(content, signer.signer_as(via_ra), rng)
            {
                Ok(der) => (ScepResponse::CertRep(der), outcome(content, &trail)),
                // A SUCCESS that cannot be encrypted to the signer (e.g. its key) becomes a
                // FAILURE; anything else is an internal failure.
                Err(e) => match (content, e.fail_info()) {
                    (CertRepContent::Success { .. }, Some(fail_info)) => {
                        trail.reason = format!("{}; not delivered: {e}", trail.reason);
                        match builder.build(
                            &CertRepContent::Failure {
                                fail_info,
                                text: None,
                            },
                            signer.signer_as(via_ra),
                            rng,
                        ) {
                            Ok(der) => {
                                (ScepResponse::CertRep(der), AuditOutcome::Failure(fail_info))
                            }
                            Err(_) => (
                                ScepResponse::Error(ErrorStatus::ServiceUnavailable),
                                AuditOutcome::Http(503),
                            ),
                        }
                    }
                    _ => (
                        ScepResponse::Error(ErrorStatus::ServiceUnavailable),
                        AuditOutcome::Http(503),
                    ),
                },
            };
        self.audit(trail, outcome);
        response
    }

    /// Hands the audit record to the host, if one is installed.
    fn audit(&self, trail: Trail, outcome: AuditOutcome) {
        if let Some(host) = &self.host {
            host.audit(&AuditRecord {
                message_type: trail.message_type,
                transaction_id: trail.transaction_id,
                requester: trail.requester,
                outcome,
                reason: trail.reason,
            });
        }
    }
}

impl<S: Store> Ca<S> {
    /// C-13: CertPoll by transactionID.
    pub(crate) fn poll(&self, request: &Opened<'_>) -> Result<Delivery, Failure> {
        let tid = request.tid;
        let mut inner = self.lock();
        self.adopt_stored(&mut inner, tid);
        let Some(entry) = inner.find_transaction(tid).cloned() else {
            return Err(Failure::UnknownTransaction);
        };
        // C-13 (amended): only the requester learns anything, and nothing is consumed by
        // anyone else.
        if !bound_to(&entry, &cert_key(request.signer)) {
            return Err(Failure::UnknownTransaction);
        }
        match entry.state {
            EntryState::Pending | EntryState::Issuing => {
                Ok(Delivery::Pending("CertPoll: still pending".to_owned()))
            }
            EntryState::Issued { cert, .. } => Ok(Delivery::Cert {
                der: cert,
                newly_issued: false,
                reason: "CertPoll: issued".to_owned(),
            }),
            EntryState::Rejected => {
                // Told once, then forgotten (a failed delete only keeps it for the purge).
                if self.store.remove(&RecordKey::Request(entry.id)).is_ok() {
                    inner.requests.remove(&entry.id);
                }
                Err(Failure::Rejected)
            }
        }
    }

    /// S-35: GetCert at database level Complete.
    pub(crate) fn get_cert(&self, ias: &IssuerAndSerialNumber) -> Result<Delivery, Failure> {
        if self.config.database_level < DatabaseLevel::Complete {
            return Err(Failure::UnknownTransaction);
        }
        // C-6: the IssuerAndSerialNumber is malleable plaintext; a miss looks like any
        // envelope that did not open.
        let serial = serial_u64(ias.serial_number.as_bytes()).ok_or(Failure::Opaque)?;
        let der = self
            .store
            .get(&RecordKey::IssuedCert(serial))
            .map_err(|_| Failure::Storage)?
            .ok_or(Failure::Opaque)?;
        let cert = Certificate::from_der(&der).map_err(|_| Failure::Storage)?;
        if !scep_proto::names_match(cert.tbs_certificate().issuer(), &ias.issuer) {
            return Err(Failure::Opaque);
        }
        Ok(Delivery::Cert {
            der,
            newly_issued: false,
            reason: "GetCert".to_owned(),
        })
    }
}

fn serial_u64(bytes: &[u8]) -> Option<u64> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    if trimmed.len() > 8 {
        return None;
    }
    Some(
        trimmed
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}
