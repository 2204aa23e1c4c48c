//! An enrolment's life past the envelope: the signer's class ([`classify`]: C-8), the grant
//! decision (C-9 … C-12, C-14), the issuance and its record ([`record`]: C-10, C-18, C-20).

mod classify;
mod record;

pub(crate) use self::classify::{Opened, SignerClass, cert_key, key_fingerprint, requester};
pub(crate) use self::record::{CertProfile, EntryOrigin, Grant};

use std::sync::Arc;

use der::Decode;
use pki_timers::{Instant, Validity};
use rand::CryptoRng;
use scep_proto::Certificate;
use x509_cert::request::CertReq;

use super::error::{EnrollError, Failure};
use super::ra::{Standing, auto_grant};
use super::state::{Entry, EntryState, Generation, signer_id};
use super::{Ca, GrantMode, Snapshot};
use crate::host::{RequestView, Requester, Review, ReviewStage, SignerKind};
use crate::issue::{IssueError, VerifiedCsr, identity_validity, rollover_identity_validity_for};
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

/// C-14: the most not-yet-issued entries (pending or being issued) one signer key may hold.
/// Beyond it that key is answered FAILURE badRequest, so that a self-signed flood cannot fill
/// the table (`max_requests`) on its own, and one renewal credential cannot grow it without
/// bound (credentials pass `max_requests`: they are only as many as the CA issued, each
/// holding this many entries at most). The registered RA is not limited.
pub(crate) const MAX_PENDING_PER_KEY: usize = 4;

/// What an enrolment asks, for the grant decision (C-9, C-12).
struct Asked<'a> {
    enrollment: &'a Enrollment<'a>,
    /// DER of the signer's IssuerAndSerialNumber.
    sid: Vec<u8>,
    /// The signer's subjectPublicKey.
    signer_key: Vec<u8>,
    /// The signer's class and subject, for the record.
    signer: (SignerKind, String),
    /// The signer's validity if it is a renewal credential (C-8), revocation applied.
    credential: Option<Validity>,
    standing: Standing,
    /// The policy it is issued under (the host may have narrowed it).
    policy: IssuancePolicy,
    /// The request table's size in a store instances share (C-14 `max_requests`).
    stored_rows: Option<u64>,
}

/// A new enrolment (PKCSReq) or a renewal (RenewalReq; C-8: only from a renewal credential).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnrollKind {
    /// PKCSReq.
    Initial,
    /// RenewalReq, or (at an administrator's grant) a request a renewal credential signed.
    Renewal,
}

/// The CA certificate a request is addressed to (C-6): the rollover CA issues under C-11.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addressee {
    /// The active CA (or its RA).
    Active,
    /// The rollover CA (or its RA).
    Rollover,
}

impl Addressee {
    /// The addressee recorded as a request entry's `to_rollover` flag.
    pub(crate) const fn from_flag(to_rollover: bool) -> Self {
        if to_rollover {
            Self::Rollover
        } else {
            Self::Active
        }
    }

    /// As a request entry records it.
    pub(crate) const fn is_rollover(self) -> bool {
        matches!(self, Self::Rollover)
    }
}

/// The request being enrolled, as both ways to a certificate see it: a PKCSReq or RenewalReq
/// past S-26 ([`Ca::enroll`], called by `handle`) and a pending entry an administrator grants
/// (`Ca::grant`). The host reviews it ([`Ca::review`]), its issuer and validity follow from it
/// ([`Enrollment::issuer`], [`issued_validity`]), and the certificate is signed from its CSR.
pub(crate) struct Enrollment<'a> {
    /// The transactionID.
    pub(crate) tid: &'a str,
    /// The CSR, proof of possession verified (S-26).
    pub(crate) csr: &'a VerifiedCsr,
    /// New or renewal.
    pub(crate) kind: EnrollKind,
    /// The CA certificate it was sent to.
    pub(crate) addressee: Addressee,
    /// The signer as the host sees it.
    pub(crate) requester: Requester,
    /// Where it is outside the issuance policy (C-10).
    pub(crate) violations: Vec<Violation>,
    /// The instant of the decision (`t_issue` if granted now).
    pub(crate) now: Instant,
}

/// The generation that issues an enrolment, and under which rule (T-7, or C-11 for the
/// rollover CA).
pub(crate) struct Issuer {
    /// The CA key and certificate that sign.
    pub(crate) generation: Arc<Generation>,
    /// [`Addressee::Rollover`]: C-11 applies.
    pub(crate) addressee: Addressee,
}

impl<'a> Enrollment<'a> {
    /// A PKCSReq or RenewalReq as it arrives: `request` opened, its CSR verified (S-26),
    /// checked against `policy` (C-10; a renewal credential's request against its names too).
    pub(crate) fn arriving(
        request: &Opened<'a>,
        csr: &'a VerifiedCsr,
        kind: EnrollKind,
        policy: &IssuancePolicy,
        now: Instant,
    ) -> Self {
        let renewal_signer =
            matches!(request.class, SignerClass::Credential { .. }).then_some(request.signer);
        Self {
            tid: request.tid,
            csr,
            kind,
            addressee: request.addressee,
            requester: requester(request.signer, request.class),
            violations: csr.violations(policy, renewal_signer),
            now,
        }
    }

    /// A pending entry an administrator grants (C-15): its CSR verified again (`csr`), its
    /// violations as listed (C-10), a renewal if a renewal credential signed it.
    pub(crate) fn pending(
        entry: &'a Entry,
        csr: &'a VerifiedCsr,
        policy: &IssuancePolicy,
        now: Instant,
    ) -> Self {
        let (kind, subject) = entry
            .signer
            .clone()
            .unwrap_or((SignerKind::Untrusted, String::new()));
        let mut violations = csr.violations(policy, None);
        if entry.renames {
            violations.push(Violation::RenewalChangesNames);
        }
        Self {
            tid: &entry.transaction_id,
            csr,
            kind: if matches!(kind, SignerKind::Credential { .. }) {
                EnrollKind::Renewal
            } else {
                EnrollKind::Initial
            },
            addressee: Addressee::from_flag(entry.to_rollover),
            requester: Requester {
                kind,
                subject,
                key_fingerprint: entry
                    .signer_key
                    .as_deref()
                    .map(key_fingerprint)
                    .unwrap_or_default(),
            },
            violations,
            now,
        }
    }

    /// The request as the host reviews it at `stage` (C-10, amended).
    fn view(&self, stage: ReviewStage) -> RequestView<'_> {
        RequestView {
            stage,
            transaction_id: self.tid,
            renewal: self.kind == EnrollKind::Renewal,
            to_rollover: self.addressee.is_rollover(),
            requester: &self.requester,
            csr: self.csr,
            violations: &self.violations,
        }
    }

    /// Who issues it now: the rollover CA for a request addressed to it while there is one,
    /// else the active CA (a rollover activated meanwhile is the active CA).
    pub(crate) fn issuer(
        &self,
        active: &Arc<Generation>,
        rollover: Option<&Arc<Generation>>,
    ) -> Issuer {
        match (self.addressee, rollover) {
            (Addressee::Rollover, Some(rollover)) => Issuer {
                generation: Arc::clone(rollover),
                addressee: Addressee::Rollover,
            },
            _ => Issuer {
                generation: Arc::clone(active),
                addressee: Addressee::Active,
            },
        }
    }
}

/// Violations as one line of text.
pub(crate) fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subjectPublicKey bits of a stored CSR.
fn csr_key(csr_der: &[u8]) -> Option<Vec<u8>> {
    CertReq::from_der(csr_der)
        .ok()
        .map(|r| r.info.public_key.subject_public_key.raw_bytes().to_vec())
}

/// C-12/C-13 (amended): whether `key` is the key of the entry's signer or of its CSR.
pub(crate) fn bound_to(entry: &Entry, key: &[u8]) -> bool {
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
    /// C-14 before decrypting (C-6: from the cleartext signer and transactionID only): whether
    /// the signer (a renewal credential too) already holds [`MAX_PENDING_PER_KEY`] unissued
    /// entries and `tid` is not one of its own (a retransmission is still answered).
    pub(crate) fn over_key_quota(&self, signer: &Certificate, tid: &str) -> bool {
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

    /// PKCSReq / RenewalReq past S-26: C-9, C-10 … C-12. `request` is the envelope's part
    /// (signer, class, standing), `enrollment` what it asks for.
    pub(crate) fn enroll<R: CryptoRng + ?Sized>(
        &self,
        snap: &Snapshot,
        request: &Opened<'_>,
        enrollment: &Enrollment<'_>,
        rng: &mut R,
    ) -> Result<Delivery, Failure> {
        if self.config.grant == GrantMode::None {
            return Err(Failure::GrantNone);
        }
        let class = request.class;
        let sid = signer_id(request.signer);
        let issuer = enrollment.issuer(&snap.active, snap.rollover.as_ref());
        // C-10 (amended): the policy, then the host's review, without the lock.
        let policy = self.review(enrollment, ReviewStage::Arrival)?;
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
                if enrollment.kind == EnrollKind::Renewal && credential.is_none() {
                    return Err(Failure::RenewalNotAuthorized);
                }
                self.adopt_stored(&mut inner, enrollment.tid);
                let asked = Asked {
                    enrollment,
                    sid: sid.clone(),
                    signer_key: cert_key(request.signer),
                    signer: (
                        enrollment.requester.kind,
                        enrollment.requester.subject.clone(),
                    ),
                    credential,
                    standing: request.standing,
                    policy,
                    stored_rows,
                };
                self.decide(&mut inner, asked, &issuer, &mut allocated)
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
        let profile = auto_grant(
            &self.config,
            enrollment.addressee,
            request.standing,
            enrollment.csr,
        )
        .map_or(CertProfile::EndEntity, |(_, profile)| profile);
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
            } => {
                let grant = Grant {
                    id,
                    serial,
                    validity,
                    issuer: &issuer.generation,
                    csr: enrollment.csr,
                    policy,
                    profile,
                    entry: EntryOrigin::AutoGranted,
                };
                match self.issue(&grant, rng) {
                    Ok(der) => Ok(Delivery::Cert {
                        der,
                        newly_issued: true,
                        reason,
                    }),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// C-10 (amended): the host's review of `enrollment` at `stage`; the policy to issue it
    /// under.
    pub(crate) fn review(
        &self,
        enrollment: &Enrollment<'_>,
        stage: ReviewStage,
    ) -> Result<IssuancePolicy, EnrollError> {
        let policy = self.config.policy;
        let Some(host) = &self.host else {
            return Ok(policy);
        };
        match host.review(&enrollment.view(stage)) {
            Review::Reject(reason) => Err(EnrollError::HostRejected(reason)),
            Review::Narrow(n) => Ok(policy.narrowed(&n)),
            _ => Ok(policy),
        }
    }

    /// C-9 steps 2 … 7 and C-12, under the lock.
    fn decide(
        &self,
        inner: &mut super::state::Inner,
        asked: Asked<'_>,
        issuer: &Issuer,
        allocated: &mut super::Allocated,
    ) -> Decision {
        let Asked {
            enrollment,
            sid,
            signer_key,
            signer,
            credential,
            standing,
            policy,
            stored_rows,
        } = asked;
        let Enrollment {
            tid,
            csr,
            addressee,
            ref violations,
            now,
            ..
        } = *enrollment;
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
        // C-14: a signer holds a few unissued entries at most, a renewal credential too (the
        // signer key is cleartext: also checked before decrypting, C-6).
        // A new transaction of the same key in place of its own entry adds nothing.
        if standing != Standing::Ra
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
        let by_ra = auto_grant(&self.config, addressee, standing, csr).filter(|_| clean);
        granted = granted.or(by_ra.map(|(reason, _)| reason));
        if granted.is_none() && self.config.grant == GrantMode::Auto {
            if !clean {
                return Decision::Failure(Failure::OutsidePolicy(violations.clone()));
            }
            granted = Some("granted: grant auto");
        }
        let validity = if granted.is_some() {
            match issued_validity(&self.config, issuer, credential, &policy, now) {
                Ok(v) => Some(v),
                Err(e) => return Decision::Failure(Failure::Csr(e)),
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
            to_rollover: addressee.is_rollover(),
            rollover_serial: addressee
                .is_rollover()
                .then(|| inner.ca.rollover.as_ref().and_then(|g| g.serial()))
                .flatten(),
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
                        list(violations)
                    )
                })
            }
        }
    }
}

/// T-7, or C-11 for a request addressed to the rollover CA, at the grant instant; `signer`
/// is the renewal credential's validity (C-11).
pub(crate) fn issued_validity(
    config: &super::CaConfig,
    issuer: &Issuer,
    signer: Option<Validity>,
    policy: &IssuancePolicy,
    now: Instant,
) -> Result<Validity, IssueError> {
    let ca = &issuer.generation.ca;
    let validity = if issuer.addressee.is_rollover() {
        rollover_identity_validity_for(
            now,
            ca,
            config.lifetime_certificate,
            signer,
            config.rollover_id_validity,
        )
    } else {
        identity_validity(now, ca, config.lifetime_certificate)
    }?;
    // C-10 (amended): the policy's maximum validity.
    match policy.max_validity {
        Some(max) if validity.span() > max => {
            // Cannot overflow: nb + max < na.
            Ok(Validity::starting_at(validity.not_before(), max).unwrap_or(validity))
        }
        _ => Ok(validity),
    }
}
