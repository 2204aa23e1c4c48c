//! What a decrypted request asks for: enrolment (C-8 … C-12), CertPoll (C-13), GetCert (S-35),
//! and the issuance itself (C-10, C-18, C-20).

use std::sync::Arc;

use der::Decode;
use pki_timers::{Instant, Validity};
use rand::CryptoRng;
use scep_proto::{CertValidity, Certificate, IssuerAndSerialNumber, Profile};
use x509_cert::request::CertReq;

use super::error::Failure;
use super::ra::{Standing, auto_grant};
use super::state::{Entry, EntryState, Generation, signer_id};
use super::{Ca, GrantMode, SignerClass, Snapshot};
use crate::DatabaseLevel;
use crate::host::{RequestView, Requester, Review, ReviewStage, SignerKind};
use crate::issue::{
    VerifiedCsr, certificate_serial, identity_validity, rollover_identity_validity_for,
};
use crate::policy::{IssuancePolicy, Violation};
use crate::storage::{RecordKey, Store};

/// What the grant decision (C-9) produced, under the lock.
enum Decision {
    Pending(String),
    Failure(Failure),
    Redeliver(Vec<u8>),
    /// Counter values are needed first: taken from the store without the lock, then the
    /// decision is made again (the table may have changed meanwhile).
    Allocate {
        serial: bool,
    },
    Issue {
        id: u64,
        serial: u64,
        validity: Validity,
        reason: String,
    },
}

/// C-14: the most not-yet-issued entries (pending or being issued) one signer key that is not
/// a renewal credential may hold. Beyond it that key is answered FAILURE badRequest, so that a
/// self-signed flood cannot fill the table (`max_requests`) on its own; renewal credentials
/// are not limited (there are only as many as the CA issued).
pub(crate) const MAX_PENDING_PER_KEY: usize = 4;

/// What an enrolment asks, for the grant decision (C-9, C-12).
struct Asked<'a> {
    csr: &'a VerifiedCsr,
    tid: &'a str,
    /// DER of the signer's IssuerAndSerialNumber.
    sid: Vec<u8>,
    /// The signer's subjectPublicKey.
    signer_key: Vec<u8>,
    /// The signer's class and subject, for the record.
    signer: (SignerKind, String),
    /// The signer's validity if it is a renewal credential (C-8), revocation applied.
    credential: Option<Validity>,
    to_rollover: bool,
    standing: Standing,
    /// Where the request is outside the policy (C-10).
    violations: Vec<Violation>,
    /// The policy it is issued under (the host may have narrowed it).
    policy: IssuancePolicy,
    /// The request table's size in a store instances share (C-14 `max_requests`).
    stored_rows: Option<u64>,
}

/// Violations as one line of text.
pub(crate) fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signer as the host sees it (C-8 class, subject, key fingerprint).
pub(crate) fn requester(signer: &Certificate, class: SignerClass) -> Requester {
    Requester {
        kind: match class {
            SignerClass::SelfSigned => SignerKind::SelfSigned,
            SignerClass::Credential { serial, .. } => SignerKind::Credential { serial },
            SignerClass::Untrusted => SignerKind::Untrusted,
        },
        subject: signer.tbs_certificate().subject().to_string(),
        key_fingerprint: key_fingerprint(&cert_key(signer)),
    }
}

/// SHA-256 of a subjectPublicKey, lowercase hex.
pub(crate) fn key_fingerprint(key: &[u8]) -> String {
    super::records::hex(&scep_proto::DigestAlg::Sha256.digest(key))
}

/// The subjectPublicKey bits of a certificate: the requester's key (C-12, C-13).
pub(crate) fn cert_key(cert: &Certificate) -> Vec<u8> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

/// The subjectPublicKey bits of a stored CSR.
fn csr_key(csr_der: &[u8]) -> Option<Vec<u8>> {
    CertReq::from_der(csr_der)
        .ok()
        .map(|r| r.info.public_key.subject_public_key.raw_bytes().to_vec())
}

/// C-12/C-13 (amended): whether `key` is the key of the entry's signer or of its CSR.
fn bound_to(entry: &Entry, key: &[u8]) -> bool {
    entry.signer_key.as_deref() == Some(key) || csr_key(&entry.csr).as_deref() == Some(key)
}

/// C-12 (amended): whether `holder` squats `tid`: `tid` is a known derivation of the new
/// request's CSR key and of none of the holder's keys. An issued squatter is displaced too
/// (under grant auto every squatter is issued at once): its certificate stays recorded by
/// serial, only the squatter's redelivery by this transactionID goes.
fn squats(holder: &Entry, tid: &str, csr: &VerifiedCsr) -> bool {
    super::tid::derived_from(tid, csr.public_key_info())
        && !super::tid::csr_derives(tid, &holder.csr)
        && !holder
            .signer_key
            .as_deref()
            .is_some_and(|k| super::tid::from_bits(tid, k))
}

/// C-14: the entries `key` signed that are not issued yet, in this instance's table.
fn unissued_of(inner: &super::state::Inner, key: &[u8]) -> usize {
    inner.requests.unissued_of(key)
}

/// A request past C-6: outer signature verified, envelope decrypted, messageData parsed.
pub(crate) struct Opened<'a> {
    /// The transactionID.
    pub(crate) tid: &'a str,
    /// The signer certificate (the recipient of a SUCCESS envelope).
    pub(crate) signer: &'a Certificate,
    /// How the CA sees the signer (C-8), revocation applied.
    pub(crate) class: SignerClass,
    /// Addressed to the rollover CA (C-6).
    pub(crate) to_rollover: bool,
    pub(crate) standing: Standing,
}

/// What a successful pipeline step hands back.
pub(crate) enum Delivery {
    /// PENDING, and why.
    Pending(String),
    /// SUCCESS with a certificate (DER); `newly_issued` by this request; why.
    Cert {
        der: Vec<u8>,
        newly_issued: bool,
        reason: String,
    },
    /// SUCCESS with the CRL.
    Crl,
}

impl<S: Store> Ca<S> {
    /// C-8 and C-9 step 1 from the signer certificate alone (C-6: decided before decrypting):
    /// the signer's class, with a revoked credential demoted to untrusted.
    pub(crate) fn signer_class(
        &self,
        snap: &Snapshot,
        signer: &Certificate,
        now: Instant,
    ) -> SignerClass {
        match classify(signer, &snap.active, &self.profile(), now) {
            SignerClass::Credential { serial, .. } if self.lock().revoked.contains_key(&serial) => {
                SignerClass::Untrusted
            }
            class => class,
        }
    }

    /// C-14 before decrypting (C-6: from the cleartext signer and transactionID only): whether
    /// a signer that is not a renewal credential already holds [`MAX_PENDING_PER_KEY`]
    /// unissued entries and `tid` is not one of its own (a retransmission is still answered).
    pub(crate) fn over_key_quota(
        &self,
        signer: &Certificate,
        class: SignerClass,
        tid: &str,
    ) -> bool {
        if matches!(class, SignerClass::Credential { .. }) {
            return false;
        }
        let key = cert_key(signer);
        let stored = self.stored_unissued(&key);
        let mut inner = self.lock();
        if super::quota::unissued(&inner, &key, stored) < MAX_PENDING_PER_KEY {
            return false;
        }
        // A retransmission is still answered, wherever its transaction was made.
        self.adopt_stored(&mut inner, tid);
        !inner
            .find_transaction(tid)
            .is_some_and(|e| bound_to(e, &key))
    }

    /// PKCSReq / RenewalReq past S-26: C-9, C-10 … C-12.
    pub(crate) fn enroll<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        request: &Opened<'_>,
        csr: &VerifiedCsr,
        renewal: bool,
        now: Instant,
        rng: &mut R,
    ) -> Result<Delivery, Failure> {
        if self.config.grant == GrantMode::None {
            return Err(Failure::GrantNone);
        }
        let to_rollover = request.to_rollover;
        let class = request.class;
        let sid = signer_id(request.signer);
        let tid = request.tid.to_owned();
        let issuer = if to_rollover {
            snap.rollover
                .clone()
                .unwrap_or_else(|| Arc::clone(&snap.active))
        } else {
            Arc::clone(&snap.active)
        };
        // C-10 (amended): the policy, then the host's review, without the lock.
        let renewal_signer =
            matches!(class, SignerClass::Credential { .. }).then_some(request.signer);
        let violations = csr.violations(&self.config.policy, renewal_signer);
        let requester = requester(request.signer, class);
        let policy = self.review(&RequestView {
            stage: ReviewStage::Arrival,
            transaction_id: request.tid,
            renewal,
            to_rollover,
            requester: &requester,
            csr,
            violations: &violations,
        })?;
        // C-14: the table's size, from the store when instances share it (without the lock).
        let stored_rows = match class {
            SignerClass::Credential { .. } => None,
            _ => self.store.count_requests().map_err(|_| Failure::Storage)?,
        };
        // C-3/C-14: request ids and serials come from the store, without the lock (their
        // durable write is shared with other requests' writes); the decision is retaken with
        // them in hand.
        let mut allocated = super::Allocated::default();
        let mut decision = Decision::Allocate { serial: false };
        for _ in 0..4 {
            decision = {
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
                self.adopt_stored(&mut inner, &tid);
                let asked = Asked {
                    csr,
                    tid: &tid,
                    sid: sid.clone(),
                    signer_key: cert_key(request.signer),
                    signer: (requester.kind, requester.subject.clone()),
                    credential,
                    to_rollover,
                    standing: request.standing,
                    violations: violations.clone(),
                    policy,
                    stored_rows,
                };
                self.decide(&mut inner, asked, &issuer, now, &mut allocated)
            };
            let Decision::Allocate { serial } = decision else {
                break;
            };
            let mut wanted = Vec::with_capacity(2);
            if allocated.request_id.is_some() && (!serial || allocated.serial.is_some()) {
                continue;
            }
            if allocated.request_id.is_none() {
                wanted.push(crate::storage::Counter::RequestId);
            }
            if serial && allocated.serial.is_none() {
                wanted.push(crate::storage::Counter::Serial);
            }
            let got = self.allocate(&wanted).map_err(|_| Failure::Storage)?;
            allocated.request_id = allocated.request_id.or(got.request_id);
            allocated.serial = allocated.serial.or(got.serial);
        }
        // C-9 step 5: a subordinate CA's shadow request is issued as a CA certificate.
        let ca = auto_grant(&self.config, to_rollover, request.standing, csr).is_some_and(|g| g.1);
        match decision {
            Decision::Pending(reason) => Ok(Delivery::Pending(reason)),
            Decision::Failure(f) => Err(f),
            Decision::Allocate { .. } => Err(Failure::Storage),
            Decision::Redeliver(der) => Ok(Delivery::Cert {
                der,
                newly_issued: false,
                reason: "retransmission: the certificate issued earlier".to_owned(),
            }),
            Decision::Issue {
                id,
                serial,
                validity,
                reason,
            } => self
                .issue(
                    id,
                    serial,
                    validity,
                    &issuer,
                    csr,
                    (false, ca),
                    &policy,
                    rng,
                )
                .map(|der| Delivery::Cert {
                    der,
                    newly_issued: true,
                    reason,
                }),
        }
    }

    /// C-10 (amended): the host's review of a request; the policy to issue it under.
    pub(crate) fn review(&self, view: &RequestView<'_>) -> Result<IssuancePolicy, Failure> {
        let policy = self.config.policy;
        let Some(host) = &self.host else {
            return Ok(policy);
        };
        match host.review(view) {
            Review::Reject(reason) => Err(Failure::HostRejected(reason)),
            Review::Narrow(n) => Ok(policy.narrowed(&n)),
            _ => Ok(policy),
        }
    }

    /// C-9 steps 2 … 7 and C-12, under the lock.
    fn decide(
        &self,
        inner: &mut super::state::Inner,
        asked: Asked<'_>,
        issuer: &Generation,
        now: Instant,
        allocated: &mut super::Allocated,
    ) -> Decision {
        let Asked {
            csr,
            tid,
            sid,
            signer_key,
            signer,
            credential,
            to_rollover,
            standing,
            violations,
            policy,
            stored_rows,
        } = asked;
        // C-12: duplicates by transactionID, only for the requester the entry is bound to
        // (amended): transactionIDs are public.
        let mut replaced = None;
        if let Some(old) = inner.find_transaction(tid) {
            let bound = bound_to(old, &signer_key);
            // C-12 (amended): a transactionID derived from the new CSR's key and not from the
            // holder's belongs to the new requester; a not-yet-issued holder is a squatter.
            let squatter = !bound && squats(old, tid, csr);
            if !bound && !squatter {
                return Decision::Failure(Failure::TransactionTaken);
            }
            if !squatter && old.signer_id == sid {
                return match &old.state {
                    EntryState::Pending | EntryState::Issuing => {
                        Decision::Pending("retransmission: still pending".to_owned())
                    }
                    EntryState::Issued { cert, .. } => Decision::Redeliver(cert.clone()),
                    EntryState::Rejected => Decision::Failure(Failure::Rejected),
                };
            }
            // A different signer reuses the ID (key-derived IDs): a new transaction, only for
            // the same CSR key (amended).
            if !squatter
                && csr_key(&old.csr).as_deref()
                    != Some(csr.public_key_info().subject_public_key.raw_bytes())
            {
                return Decision::Failure(Failure::TransactionTaken);
            }
            replaced = Some((old.id, squatter));
        }
        // C-14: a signer that is not a renewal credential holds a few unissued entries at most
        // (the signer key is cleartext: also checked before decrypting, C-6).
        // A new transaction of the same key in place of its own entry adds nothing.
        if credential.is_none()
            && standing != Standing::Ra
            && !matches!(replaced, Some((_, false)))
            && unissued_of(inner, &signer_key) >= MAX_PENDING_PER_KEY
        {
            return Decision::Failure(Failure::KeyQuota);
        }
        let note = match replaced {
            Some((old_id, true)) => format!(
                "replaced request {old_id}, a squatter on this key's transactionID (C-12); "
            ),
            _ => String::new(),
        };
        // C-10 (amended): a request outside the policy is never granted automatically.
        let clean = violations.is_empty();
        // Step 3: a one-time password, consumed once, and only by a signer that holds the
        // requested key or is a renewal credential: a captured envelope replayed in another
        // signer's SignedData must not spend the victim's password. Found here, spent below
        // (once nothing else can fail) with the store's conditional write.
        let holds_key =
            signer_key.as_slice() == csr.public_key_info().subject_public_key.raw_bytes();
        let otp = csr
            .challenge_password()
            .filter(|_| clean && (holds_key || credential.is_some()))
            .and_then(|password| inner.otps.find(password, now));
        let mut granted = otp.map(|_| "granted: one-time password");
        // Step 4 (renewals keep their names, C-10); steps 5 and 6 (`auto_grant`); Auto.
        if granted.is_none() && clean && self.config.grant_auto_trustpoint && credential.is_some() {
            granted = Some("granted: renewal credential (grant_auto_trustpoint)");
        }
        let by_ra = auto_grant(&self.config, to_rollover, standing, csr).filter(|_| clean);
        granted = granted.or(by_ra.map(|(reason, _)| reason));
        if granted.is_none() && self.config.grant == GrantMode::Auto {
            if !clean {
                return Decision::Failure(Failure::OutsidePolicy(violations));
            }
            granted = Some("granted: grant auto");
        }
        let validity = if granted.is_some() {
            match issued_validity(&self.config, issuer, to_rollover, credential, &policy, now) {
                Ok(v) => Some(v),
                Err(f) => return Decision::Failure(f),
            }
        } else {
            None
        };
        // The table is capped: a full table answers 503 (nothing signed, nothing stored), except
        // to renewal credentials (C-14: bounded by the certificates the CA issued). A replaced
        // entry frees its place.
        let entries = super::quota::entries(inner, stored_rows)
            .saturating_sub(usize::from(replaced.is_some()));
        if credential.is_none() && entries >= self.config.max_requests {
            return Decision::Failure(Failure::TableFull);
        }
        let issuing = matches!((validity, granted), (Some(_), Some(_)));
        let (Some(id), true) = (allocated.request_id, !issuing || allocated.serial.is_some())
        else {
            return Decision::Allocate { serial: issuing };
        };
        // Nothing can fail the decision now but the store: the side effects.
        if let Some((old_id, _)) = replaced {
            if self.store.remove(&RecordKey::Request(old_id)).is_err() {
                return Decision::Failure(Failure::Storage);
            }
            inner.requests.remove(&old_id);
        }
        if let Some(otp_id) = otp {
            match self.store.consume_otp(otp_id) {
                Ok(true) => inner.otps.remove(otp_id),
                Ok(false) => {
                    // Another instance spent it first: decide again without it.
                    inner.otps.remove(otp_id);
                    return Decision::Allocate { serial: false };
                }
                Err(_) => return Decision::Failure(Failure::Storage),
            }
        }
        allocated.request_id = None;
        inner.last_request = inner.last_request.max(id);
        let mut entry = Entry {
            id,
            transaction_id: tid.to_owned(),
            created: now,
            state: EntryState::Pending,
            signer_id: sid,
            signer_key: Some(signer_key),
            signer: Some(signer),
            renames: violations.contains(&Violation::RenewalChangesNames),
            csr: csr.as_der().to_vec(),
            to_rollover,
            signer_validity: credential,
        };
        match (validity, granted) {
            (Some(validity), Some(reason)) => {
                let Some(serial) = allocated.serial.take() else {
                    return Decision::Failure(Failure::Storage);
                };
                inner.last_serial = inner.last_serial.max(serial);
                entry.state = EntryState::Issuing;
                inner.requests.insert(id, entry);
                Decision::Issue {
                    id,
                    serial,
                    validity,
                    reason: format!("{note}{reason}"),
                }
            }
            _ => {
                // Step 7: pending.
                if self.put_entry(&entry).is_err() {
                    return Decision::Failure(Failure::Storage);
                }
                // C-14: other instances may have filled a shared table meanwhile.
                if stored_rows.is_some()
                    && replaced.is_none()
                    && credential.is_none()
                    && self.withdraw_if_overfull(id)
                {
                    return Decision::Failure(Failure::TableFull);
                }
                inner.requests.insert(id, entry);
                Decision::Pending(if clean {
                    format!("{note}pending: waiting for an administrator")
                } else {
                    format!(
                        "{note}pending: waiting for an administrator; outside the issuance \
                         policy: {}",
                        list(&violations)
                    )
                })
            }
        }
    }

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

/// T-7, or C-11 for a request addressed to the rollover CA, at the grant instant.
pub(crate) fn issued_validity(
    config: &super::CaConfig,
    issuer: &Generation,
    to_rollover: bool,
    signer: Option<Validity>,
    policy: &IssuancePolicy,
    now: Instant,
) -> Result<Validity, Failure> {
    let validity = if to_rollover {
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
    .map_err(Failure::Csr)?;
    // C-10 (amended): the policy's maximum validity.
    match policy.max_validity {
        Some(max) if validity.span() > max => {
            // Cannot overflow: nb + max < na.
            Ok(Validity::starting_at(validity.not_before(), max).unwrap_or(validity))
        }
        _ => Ok(validity),
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
