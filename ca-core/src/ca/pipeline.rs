//! `handle`: the HTTP operations and the PKIOperation pipeline (C-5 … C-13, S-26 … S-36).

use std::sync::Arc;

use der::{Decode, Encode};
use pki_timers::{Instant, Validity};
use rand::CryptoRng;
use scep_proto::{
    CertRepBuilder, CertRepContent, CertValidity, Certificate, CertsOnly, DigestAlg, ErrorStatus,
    HttpResponse, IssuerAndSerialNumber, Nonce, PkiMessage, Profile, Request, RequestBody,
    ScepRequest, ScepResponse,
};

use super::error::{Answer, CaError, Failure};
use super::state::{Entry, EntryState, Generation, encode_issued_name, signer_id};
use super::{Ca, GrantMode, SignerClass, Snapshot};
use crate::DatabaseLevel;
use crate::issue::{
    IdentityParams, VerifiedCsr, certificate_serial, identity_certificate, identity_validity,
    rollover_identity_validity_for,
};
use crate::storage::{RecordKey, Store};

/// Where a CertRep goes: identifiers, algorithms and the signing key (C-7, S-27).
struct Reply {
    builder: CertRepBuilder,
    signer: Arc<Generation>,
}

/// What the grant decision (C-9) produced, under the lock.
enum Decision {
    Pending,
    Failure(Failure),
    Redeliver(Vec<u8>),
    Issue {
        id: u64,
        serial: u64,
        validity: Validity,
    },
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
        let snap = self.snapshot();
        let response = match request {
            ScepRequest::GetCaCert { .. } => ScepResponse::CaCert(snap.active.der.clone()),
            ScepRequest::GetCaCaps { .. } => ScepResponse::Caps(self.capabilities(&snap)),
            ScepRequest::GetNextCaCert { .. } => self.next_ca_cert(&snap, now, rng),
            ScepRequest::GetCrl { .. } => ScepResponse::Crl(self.crl_der()),
            ScepRequest::PkiOperation { message, .. } => {
                if !snap.state.is_operational() {
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
                core::slice::from_ref(rollover.cert()),
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

    fn profile(&self) -> Profile {
        if self.config.legacy_algorithms {
            Profile::LEGACY
        } else {
            Profile::STRICT
        }
    }

    /// C-5: decode → signature → attributes → recipient key → decrypt → messageData →
    /// dispatch; the first failing step decides the answer.
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
        builder.digest = self.reply_digest(msg.digest());
        builder.signing_time = Some(now.unix());
        // C-7: unattributed failures are signed by the active key.
        let early = Reply {
            builder,
            signer: Arc::clone(&snap.active),
        };
        let verified = match msg.verify(None) {
            Ok(v) => v,
            Err(e) => return self.fail(early, &Failure::Protocol(e), rng),
        };
        let envelope = match verified.envelope() {
            Ok(Some(env)) => env,
            Ok(None) => {
                return self.fail(early, &Failure::UnsupportedMessage, rng);
            }
            Err(e) => return self.fail(early, &Failure::Protocol(e), rng),
        };
        // C-6: the active certificate, else the rollover certificate.
        let (generation, to_rollover) = if envelope.is_addressed_to(snap.active.cert()) {
            (Arc::clone(&snap.active), false)
        } else {
            match &snap.rollover {
                Some(r) if envelope.is_addressed_to(r.cert()) => (Arc::clone(r), true),
                _ => return self.fail(early, &Failure::NotAddressed, rng),
            }
        };
        let mut reply = Reply {
            builder: early.builder,
            signer: Arc::clone(&generation),
        };
        let request = match verified.open_request(generation.ca.key(), rng) {
            Ok(r) => r,
            Err(e) => return self.fail(reply, &Failure::Protocol(e), rng),
        };
        // S-27, S-28: mirror the request's digest and cipher.
        let mut mirrored = CertRepBuilder::reply_to(&request, reply.builder.sender_nonce);
        mirrored.digest = self.reply_digest(mirrored.digest);
        mirrored.signing_time = reply.builder.signing_time;
        reply.builder = mirrored;
        let outcome = match &request.body {
            RequestBody::PkcsReq(csr) => {
                self.enroll(snap, &request, csr.to_der(), false, to_rollover, now, rng)
            }
            RequestBody::RenewalReq(csr) => {
                self.enroll(snap, &request, csr.to_der(), true, to_rollover, now, rng)
            }
            RequestBody::CertPoll(_) => self.poll(&request),
            RequestBody::GetCert(ias) => self.get_cert(ias),
            RequestBody::GetCrl(_) => Ok(Delivery::Crl),
            _ => Err(Failure::UnsupportedMessage),
        };
        match outcome {
            Ok(Delivery::Pending) => self.build(reply, &CertRepContent::Pending, rng),
            Ok(Delivery::Cert(der)) => self.deliver_cert(reply, &request, &der, rng),
            Ok(Delivery::Crl) => {
                let crl = self.lock().crl.parsed.clone();
                let certs = CertsOnly {
                    certificates: Vec::new(),
                    crls: vec![crl],
                };
                self.build(
                    reply,
                    &CertRepContent::Success {
                        certs: &certs,
                        recipient: &request.signer,
                    },
                    rng,
                )
            }
            Err(f) => self.fail(reply, &f, rng),
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
            return ScepResponse::Error(ErrorStatus::BadRequest);
        };
        let mut builder = CertRepBuilder::new(
            msg.transaction_id().clone(),
            Nonce::random(rng),
            msg.sender_nonce(),
        );
        builder.signing_time = Some(now.unix());
        let reply = Reply {
            builder,
            signer: Arc::clone(&snap.active),
        };
        self.fail(reply, &Failure::Protocol(error), rng)
    }

    fn deliver_cert<R: CryptoRng + ?Sized>(
        &self,
        reply: Reply,
        request: &Request,
        der: &[u8],
        rng: &mut R,
    ) -> ScepResponse {
        let Ok(cert) = Certificate::from_der(der) else {
            return ScepResponse::Error(ErrorStatus::ServiceUnavailable);
        };
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
                recipient: &request.signer,
            },
            rng,
        )
    }

    fn fail<R: CryptoRng + ?Sized>(
        &self,
        reply: Reply,
        failure: &Failure,
        rng: &mut R,
    ) -> ScepResponse {
        match failure.answer() {
            Answer::Http(status) => ScepResponse::Error(status),
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

    fn build<R: CryptoRng + ?Sized>(
        &self,
        reply: Reply,
        content: &CertRepContent<'_>,
        rng: &mut R,
    ) -> ScepResponse {
        let Reply { builder, signer } = reply;
        match builder.clone().build(content, signer.signer(), rng) {
            Ok(der) => ScepResponse::CertRep(der),
            // A SUCCESS that cannot be encrypted to the signer (e.g. its key) becomes a
            // FAILURE; anything else is an internal failure.
            Err(e) => match (content, e.fail_info()) {
                (CertRepContent::Success { .. }, Some(fail_info)) => match builder.build(
                    &CertRepContent::Failure {
                        fail_info,
                        text: None,
                    },
                    signer.signer(),
                    rng,
                ) {
                    Ok(der) => ScepResponse::CertRep(der),
                    Err(_) => ScepResponse::Error(ErrorStatus::ServiceUnavailable),
                },
                _ => ScepResponse::Error(ErrorStatus::ServiceUnavailable),
            },
        }
    }

    /// PKCSReq / RenewalReq: S-26, C-8, C-9, C-10 … C-12.
    #[allow(clippy::too_many_arguments)] // one call site; the pieces are the pipeline's state
    fn enroll<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        request: &Request,
        csr_der: &[u8],
        renewal: bool,
        to_rollover: bool,
        now: Instant,
        rng: &mut R,
    ) -> Result<Delivery, Failure> {
        if self.config.grant == GrantMode::None {
            return Err(Failure::GrantNone);
        }
        // Before the CSR's signature check and before anything is stored (issue 13 item 6).
        if csr_der.len() > self.config.max_csr_bytes {
            return Err(Failure::CsrTooLarge);
        }
        let csr =
            VerifiedCsr::from_der(csr_der, self.config.legacy_algorithms).map_err(Failure::Csr)?;
        let class = classify(&request.signer, &snap.active, &self.profile(), now);
        let sid = signer_id(&request.signer);
        let tid = request.attributes.transaction_id.as_str().to_owned();
        let issuer = if to_rollover {
            snap.rollover
                .clone()
                .unwrap_or_else(|| Arc::clone(&snap.active))
        } else {
            Arc::clone(&snap.active)
        };
        let decision = {
            let mut inner = self.lock();
            let credential = match class {
                SignerClass::Credential { serial, validity }
                    if !inner.revoked.contains_key(&serial) =>
                {
                    Some(validity)
                }
                _ => None,
            };
            if renewal && credential.is_none() {
                return Err(Failure::RenewalNotAuthorized);
            }
            self.decide(
                &mut inner,
                &csr,
                &tid,
                sid,
                credential,
                to_rollover,
                &issuer,
                now,
            )
        };
        match decision {
            Decision::Pending => Ok(Delivery::Pending),
            Decision::Failure(f) => Err(f),
            Decision::Redeliver(der) => Ok(Delivery::Cert(der)),
            Decision::Issue {
                id,
                serial,
                validity,
            } => self
                .issue(id, serial, validity, &issuer, &csr, false, rng)
                .map(Delivery::Cert),
        }
    }

    /// C-9 steps 2 … 7 and C-12, under the lock.
    #[allow(clippy::too_many_arguments)] // one call site, under the lock
    fn decide(
        &self,
        inner: &mut super::state::Inner,
        csr: &VerifiedCsr,
        tid: &str,
        sid: Vec<u8>,
        credential: Option<Validity>,
        to_rollover: bool,
        issuer: &Generation,
        now: Instant,
    ) -> Decision {
        // C-12: duplicates by transactionID.
        if let Some(old) = inner.find_transaction(tid) {
            if old.signer_id == sid {
                return match &old.state {
                    EntryState::Pending | EntryState::Issuing => Decision::Pending,
                    EntryState::Issued { cert, .. } => Decision::Redeliver(cert.clone()),
                    EntryState::Rejected => Decision::Failure(Failure::Rejected),
                };
            }
            // A different signer reuses the ID (key-derived IDs): a new transaction.
            let old_id = old.id;
            if self.store.remove(&RecordKey::Request(old_id)).is_err() {
                return Decision::Failure(Failure::Storage);
            }
            inner.requests.remove(&old_id);
        }
        // Step 3: a one-time password, consumed once.
        let mut granted = false;
        if let Some(password) = csr.challenge_password()
            && let Some(id) = inner.otps.find(password, now)
        {
            if self.store.remove(&RecordKey::OneTimePassword(id)).is_err() {
                return Decision::Failure(Failure::Storage);
            }
            inner.otps.remove(id);
            granted = true;
        }
        // Step 4: authorized auto-grant of renewals. Step 5 (grant_auto_rollover) is not
        // implemented. Step 6: Auto (RaAuto without RAs never grants).
        granted = granted
            || (self.config.grant_auto_trustpoint && credential.is_some())
            || self.config.grant == GrantMode::Auto;
        let validity = if granted {
            match issued_validity(&self.config, issuer, to_rollover, credential, now) {
                Ok(v) => Some(v),
                Err(f) => return Decision::Failure(f),
            }
        } else {
            None
        };
        // The table is capped: a full table answers 503 (nothing signed, nothing stored).
        if inner.requests.len() >= self.config.max_requests {
            return Decision::Failure(Failure::TableFull);
        }
        let Ok(id) = self.alloc_request_id(inner) else {
            return Decision::Failure(Failure::Storage);
        };
        let mut entry = Entry {
            id,
            transaction_id: tid.to_owned(),
            created: now,
            state: EntryState::Pending,
            signer_id: sid,
            csr: csr.as_der().to_vec(),
            to_rollover,
            signer_validity: credential,
        };
        match validity {
            None => {
                // Step 7: pending.
                if self.put_entry(&entry).is_err() {
                    return Decision::Failure(Failure::Storage);
                }
                inner.requests.insert(id, entry);
                Decision::Pending
            }
            Some(validity) => {
                let Ok(serial) = self.alloc_serial(inner) else {
                    return Decision::Failure(Failure::Storage);
                };
                entry.state = EntryState::Issuing;
                inner.requests.insert(id, entry);
                Decision::Issue {
                    id,
                    serial,
                    validity,
                }
            }
        }
    }

    /// C-10: signs outside the lock, then records durably before the certificate is
    /// returned (C-20). On failure an entry that was `persisted` as pending goes back to
    /// pending; an auto-granted one (never stored) is forgotten.
    #[allow(clippy::too_many_arguments)] // grant and auto-grant share it; all are needed
    pub(crate) fn issue<R: CryptoRng + ?Sized>(
        &self,
        id: u64,
        serial: u64,
        validity: Validity,
        issuer: &Generation,
        csr: &VerifiedCsr,
        persisted: bool,
        rng: &mut R,
    ) -> Result<Vec<u8>, Failure> {
        let mut params = IdentityParams::new(serial, validity);
        params.signature = self.signature();
        let signed = identity_certificate(&issuer.ca, csr, &params, rng);
        let mut inner = self.lock();
        let cert = match signed.and_then(|c| c.to_der().map_err(crate::issue::IssueError::Encoding))
        {
            Ok(der) => der,
            Err(e) => {
                forget_or_restore(&mut inner, id, persisted);
                return Err(Failure::Csr(e));
            }
        };
        let Some(entry) = inner.requests.get(&id).cloned() else {
            return Err(Failure::Storage);
        };
        let mut issued = entry.clone();
        issued.state = EntryState::Issued {
            serial,
            cert: cert.clone(),
        };
        let stored = self
            .record_issued(serial, csr, validity, &cert)
            .and_then(|()| self.put_entry(&issued));
        match stored {
            Ok(()) => {
                inner.requests.insert(id, issued);
                Ok(cert)
            }
            Err(_) => {
                forget_or_restore(&mut inner, id, persisted);
                Err(Failure::Storage)
            }
        }
    }

    /// C-18: the Names and Complete records of an issued certificate.
    fn record_issued(
        &self,
        serial: u64,
        csr: &VerifiedCsr,
        validity: Validity,
        der: &[u8],
    ) -> Result<(), CaError> {
        if self.config.database_level >= DatabaseLevel::Names {
            self.store
                .put(
                    &RecordKey::IssuedName(serial),
                    &encode_issued_name(&csr.subject().to_string(), validity.not_after()),
                )
                .map_err(CaError::storage)?;
        }
        if self.config.database_level >= DatabaseLevel::Complete {
            self.store
                .put(&RecordKey::IssuedCert(serial), der)
                .map_err(CaError::storage)?;
        }
        Ok(())
    }

    /// C-13: CertPoll by transactionID.
    fn poll(&self, request: &Request) -> Result<Delivery, Failure> {
        let tid = request.attributes.transaction_id.as_str();
        let mut inner = self.lock();
        let Some(entry) = inner.find_transaction(tid).cloned() else {
            return Err(Failure::UnknownTransaction);
        };
        match entry.state {
            EntryState::Pending | EntryState::Issuing => Ok(Delivery::Pending),
            EntryState::Issued { cert, .. } => Ok(Delivery::Cert(cert)),
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
    fn get_cert(&self, ias: &IssuerAndSerialNumber) -> Result<Delivery, Failure> {
        if self.config.database_level < DatabaseLevel::Complete {
            return Err(Failure::UnknownTransaction);
        }
        let serial = serial_u64(ias.serial_number.as_bytes()).ok_or(Failure::UnknownTransaction)?;
        let der = self
            .store
            .get(&RecordKey::IssuedCert(serial))
            .map_err(|_| Failure::Storage)?
            .ok_or(Failure::UnknownTransaction)?;
        let cert = Certificate::from_der(&der).map_err(|_| Failure::Storage)?;
        if !scep_proto::names_match(cert.tbs_certificate().issuer(), &ias.issuer) {
            return Err(Failure::UnknownTransaction);
        }
        Ok(Delivery::Cert(der))
    }
}

fn forget_or_restore(inner: &mut super::state::Inner, id: u64, persisted: bool) {
    if persisted {
        if let Some(e) = inner.requests.get_mut(&id) {
            e.state = EntryState::Pending;
        }
    } else {
        inner.requests.remove(&id);
    }
}

/// What a successful pipeline step hands back.
enum Delivery {
    Pending,
    Cert(Vec<u8>),
    Crl,
}

/// T-7, or C-11 for a request addressed to the rollover CA, at the grant instant.
pub(crate) fn issued_validity(
    config: &super::CaConfig,
    issuer: &Generation,
    to_rollover: bool,
    signer: Option<Validity>,
    now: Instant,
) -> Result<Validity, Failure> {
    if to_rollover {
        rollover_identity_validity_for(
            now,
            &issuer.ca,
            config.lifetime_certificate,
            signer,
            config.rollover_id_validity,
        )
    } else {
        identity_validity(now, &issuer.ca, config.lifetime_certificate)
    }
    .map_err(Failure::Csr)
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

/// C-8: self-signed, a renewal credential of the active CA (chain-verified under `profile` and
/// in force; revocation is checked by the caller under the lock), or untrusted.
pub(crate) fn classify(
    cert: &Certificate,
    active: &Generation,
    profile: &Profile,
    now: Instant,
) -> SignerClass {
    let tbs = cert.tbs_certificate();
    let signed_by_active = || {
        active
            .ca
            .key()
            .public_key()
            .verify_certificate(cert, profile)
            .is_ok()
    };
    if !scep_proto::names_match(tbs.issuer(), active.ca.subject()) || !signed_by_active() {
        return if scep_proto::names_match(tbs.issuer(), tbs.subject()) {
            SignerClass::SelfSigned
        } else {
            SignerClass::Untrusted
        };
    }
    let v = CertValidity::of(cert);
    match (
        Validity::from_unix(v.not_before, v.not_after),
        certificate_serial(cert),
    ) {
        (Ok(validity), Ok(serial)) if validity.contains(now) => {
            SignerClass::Credential { serial, validity }
        }
        _ => SignerClass::Untrusted,
    }
}
