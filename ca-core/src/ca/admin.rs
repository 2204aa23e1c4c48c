//! Operator commands (C-14, C-15, C-22 … C-24): the request table, grant and reject, revocation,
//! rollover. Timers are in [`super::timers`].

use std::sync::Arc;

use pki_timers::{Instant, Validity};
use rand::CryptoRng;

use super::enroll::{CertProfile, Enrollment, EntryOrigin, Grant, issued_validity};
use super::error::{CaError, CaState};
use super::state::{Entry, EntryState, Generation, Inner};
use super::{Ca, CaEvent, rearm};
use crate::archive::ArchiveGeneration;
use crate::host::{ReviewStage, SignerKind};
use crate::issue::{CsrSummary, RolloverCaParams, VerifiedCsr, generate_key, md5_fingerprint};
use crate::policy::Violation;
use crate::storage::{RecordKey, Store};

/// C-8, C-15: refuses the grant of `entry` if it was signed by a renewal credential that
/// `inner` knows to be revoked. A renewal is only ever issued as one: a revoked certificate
/// renews nothing, and the request is not quietly turned into a new enrolment either (it
/// would carry the revoked device's names and the operator's approval of a renewal).
fn revoked_credential(inner: &Inner, entry: &Entry) -> Result<(), CaError> {
    match entry.signer {
        Some((SignerKind::Credential { serial }, _)) if inner.revoked.contains_key(&serial) => {
            Err(CaError::RenewalCredentialRevoked {
                id: entry.id,
                serial,
            })
        }
        _ => Ok(()),
    }
}

/// C-25: whether `entry`, a request to a rollover CA, was addressed to the rollover that has
/// since become the active CA `active`: its recorded serial is the active CA's, or, stored
/// without one (an older version), it arrived before the active CA's notBefore (the old
/// CA's notAfter, T-6).
fn addressed_to_active(entry: &Entry, active: &Generation) -> bool {
    entry.to_rollover
        && match entry.rollover_serial {
            Some(serial) => active.serial() == Some(serial),
            None => entry.created < active.validity().not_before(),
        }
}

/// Which request table entries an admin operation acts on (C-14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestSelector {
    /// One request id.
    Id(u64),
    /// Every entry the operation applies to.
    All,
}

/// The state of a request table entry as the admin sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestStatus {
    /// Waiting for grant or reject.
    Pending,
    /// Granted and being signed.
    Issuing,
    /// Issued (serial).
    Issued(u64),
    /// Rejected.
    Rejected,
}

/// One row of `list_pending` (C-14).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingRequest {
    /// Request id (from 1, never reused).
    pub id: u64,
    /// Its state.
    pub status: RequestStatus,
    /// MD5 of the CSR DER, 32 uppercase hex digits.
    pub fingerprint: String,
    /// The CSR subject (RFC 4514).
    pub subject: String,
    /// The transactionID.
    pub transaction_id: String,
    /// When it arrived.
    pub created: Instant,
    /// Addressed to the rollover CA.
    pub to_rollover: bool,
    /// The requested subjectAltNames as `type:value` (`dns:www.example`, `ip:192.0.2.1` …).
    pub subject_alt_names: Vec<String>,
    /// The requested extended key usages by name (`serverAuth` …; unknown ones dotted).
    pub extended_key_usages: Vec<String>,
    /// The RSA modulus size of the requested key.
    pub key_bits: u32,
    /// The signer's class (C-8), if recorded.
    pub signer: Option<SignerKind>,
    /// Where the request is outside the issuance policy (C-10): what a grant leaves out.
    pub violations: Vec<Violation>,
}

impl<S: Store> Ca<S> {
    /// C-14: the request table (every entry, not only pending ones), by id, with what each
    /// request asks for (C-10: names, usages, key size, signer class, policy violations).
    /// No signature is checked again while listing.
    #[must_use]
    pub fn list_pending(&self) -> Vec<PendingRequest> {
        self.sync_requests();
        let entries: Vec<_> = self.lock().requests.values().cloned().collect();
        entries
            .into_iter()
            .map(|e| {
                let summary = CsrSummary::of(&e.csr);
                let mut violations = CsrSummary::violations(&e.csr, &self.config.policy);
                if e.renames {
                    violations.push(Violation::RenewalChangesNames);
                }
                PendingRequest {
                    id: e.id,
                    status: match &e.state {
                        EntryState::Pending => RequestStatus::Pending,
                        EntryState::Issuing => RequestStatus::Issuing,
                        EntryState::Issued { serial, .. } => RequestStatus::Issued(*serial),
                        EntryState::Rejected => RequestStatus::Rejected,
                    },
                    fingerprint: md5_fingerprint(&e.csr).replace(' ', ""),
                    subject: summary
                        .as_ref()
                        .map(|s| s.subject.clone())
                        .unwrap_or_default(),
                    transaction_id: e.transaction_id.clone(),
                    created: e.created,
                    to_rollover: e.to_rollover,
                    subject_alt_names: summary
                        .as_ref()
                        .map(|s| s.subject_alt_names.clone())
                        .unwrap_or_default(),
                    extended_key_usages: summary
                        .as_ref()
                        .map(|s| s.extended_key_usages.clone())
                        .unwrap_or_default(),
                    key_bits: summary.as_ref().map_or(0, |s| s.key_bits),
                    signer: e.signer.as_ref().map(|(k, _)| *k),
                    violations,
                }
            })
            .collect()
    }

    /// How many requests wait for an administrator's grant or reject (C-14). Unlike
    /// [`Ca::list_pending`] it decodes no CSR, so a metrics scrape holds the CA's lock only
    /// for a walk over the request table.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.lock()
            .requests
            .values()
            .filter(|e| e.state == EntryState::Pending)
            .count()
    }

    fn select(&self, selector: RequestSelector) -> Result<Vec<u64>, CaError> {
        self.sync_requests();
        let inner = self.lock();
        match selector {
            RequestSelector::Id(id) => match inner.requests.get(&id) {
                None => Err(CaError::UnknownRequest { id }),
                Some(e) if e.state != EntryState::Pending => Err(CaError::NotPending { id }),
                Some(_) => Ok(vec![id]),
            },
            RequestSelector::All => Ok(inner
                .requests
                .values()
                .filter(|e| e.state == EntryState::Pending)
                .map(|e| e.id)
                .collect()),
        }
    }

    /// C-15: issue pending request(s) now (`t_issue` = `now`); the certificate is handed out
    /// on the next CertPoll. Returns the serials issued.
    ///
    /// A renewal is re-checked first (C-8 at grant time, with the revocations any instance
    /// made): if its signer has been revoked since the request arrived, nothing is issued for
    /// it and the grant stops with [`CaError::RenewalCredentialRevoked`], the request left
    /// pending for the operator to reject (with `All`, requests granted before it stay
    /// issued).
    ///
    /// # Errors
    /// [`CaError::UnknownRequest`] (also for a request removed while it was being signed),
    /// [`CaError::NotPending`]; [`CaError::RenewalCredentialRevoked`];
    /// [`CaError::RolloverCancelled`] for a request to a rollover CA that was cancelled (the
    /// request is rejected then, completing C-24); [`CaError::Issue`] when T-7 gives nothing (issuing CA
    /// expired) or the policy leaves no name to issue; [`CaError::HostRejected`] when the
    /// host's review refuses it; [`CaError::Storage`] with the store's own error.
    pub fn grant<R: CryptoRng + ?Sized>(
        &self,
        selector: RequestSelector,
        now: Instant,
        rng: &mut R,
    ) -> Result<Vec<u64>, CaError> {
        let mut serials = Vec::new();
        for id in self.select(selector)? {
            let Some(entry) = self.lock().requests.get(&id).cloned() else {
                continue;
            };
            if entry.state != EntryState::Pending {
                continue;
            }
            // C-8 at grant time: a renewal whose credential has been revoked since it arrived
            // is refused before the host is shown it as a renewal (and again below, under
            // the lock and after another refresh, in case the revocation lands during the
            // review, on any instance).
            {
                let mut inner = self.lock();
                self.refresh(&mut inner)?;
                revoked_credential(&inner, &entry)?;
                self.reject_if_rollover_cancelled(&mut inner, &entry)?;
            }
            // C-10 (amended): the host reviews the grant, without the lock.
            let csr = VerifiedCsr::from_der(&entry.csr, true).map_err(CaError::Issue)?;
            let enrollment = Enrollment::pending(&entry, &csr, &self.config.policy, now);
            let policy = self.review(&enrollment, ReviewStage::AdminGrant)?;
            let (serial, validity, issuer) = {
                let mut inner = self.lock();
                if inner.requests.get(&id).map(|e| &e.state) != Some(&EntryState::Pending) {
                    continue;
                }
                // What other instances made durable during the review counts too: a
                // revocation, a rollover cancel, a rejection or grant of this request. A
                // store that cannot tell fails the grant (closed).
                self.refresh(&mut inner)?;
                if !self.still_pending_in_store(&mut inner, id)? {
                    continue;
                }
                revoked_credential(&inner, &entry)?;
                self.reject_if_rollover_cancelled(&mut inner, &entry)?;
                // C-25: a request to a rollover that has become the active CA is issued by
                // it, not by a rollover generated since.
                let addressed_active = addressed_to_active(&entry, &inner.ca.active);
                let rollover = inner.ca.rollover.as_ref().filter(|_| !addressed_active);
                let issuer = enrollment.issuer(&inner.ca.active, rollover);
                let validity =
                    issued_validity(&self.config, &issuer, entry.signer_validity, &policy, now)
                        .map_err(CaError::Issue)?;
                let serial = self.alloc_serial(&mut inner)?;
                if let Some(e) = inner.requests.get_mut(&id) {
                    e.state = EntryState::Issuing;
                }
                (serial, validity, issuer)
            };
            let grant = Grant {
                id,
                serial,
                validity,
                issuer: &issuer.generation,
                csr: &csr,
                policy,
                profile: CertProfile::EndEntity,
                entry: EntryOrigin::Pending,
            };
            self.issue(&grant, rng)?;
            serials.push(serial);
        }
        Ok(serials)
    }

    /// Whether request `id` is still pending in the store (another instance may have
    /// rejected, granted or removed it); if not, the table takes the stored state.
    fn still_pending_in_store(&self, inner: &mut Inner, id: u64) -> Result<bool, CaError> {
        let stored = self
            .store
            .get(&RecordKey::Request(id))
            .map_err(CaError::storage)?;
        let Some(bytes) = stored else {
            inner.requests.remove(&id);
            return Ok(false);
        };
        let entry = Entry::decode(id, &bytes)?;
        if entry.state == EntryState::Pending {
            return Ok(true);
        }
        inner.requests.insert(id, entry);
        Ok(false)
    }

    /// C-24 completed at grant time: `entry` was addressed to a rollover CA that is neither
    /// the rollover nor (activated, C-25) the active CA any more — it was cancelled, and the
    /// cancel's rejection of the entry did not reach the store. The entry is rejected now and
    /// the grant fails; nothing is ever issued for it, under any key. An entry stored
    /// without the rollover's serial is judged by the CA's state and its arrival time.
    fn reject_if_rollover_cancelled(
        &self,
        inner: &mut Inner,
        entry: &Entry,
    ) -> Result<(), CaError> {
        match entry.rollover_serial {
            Some(addressed) => {
                let current = [Some(&inner.ca.active), inner.ca.rollover.as_ref()];
                if current
                    .into_iter()
                    .flatten()
                    .any(|g| g.serial() == Some(addressed))
                {
                    return Ok(());
                }
            }
            // Written without the serial (an older instance, or before the upgrade). With a
            // rollover standing it is taken as addressed to it; with none, it was addressed
            // either to the rollover that became the active CA (C-25: before that CA's
            // notBefore, the old CA's notAfter) or to one of the active CA's own, cancelled.
            None => {
                if !entry.to_rollover
                    || inner.ca.rollover.is_some()
                    || addressed_to_active(entry, &inner.ca.active)
                {
                    return Ok(());
                }
            }
        }
        let mut rejected = entry.clone();
        rejected.state = EntryState::Rejected;
        self.put_entry(&rejected)?;
        inner.requests.insert(rejected.id, rejected);
        Err(CaError::RolloverCancelled { id: entry.id })
    }

    /// C-15: reject pending request(s); the client learns it on its next CertPoll.
    ///
    /// # Errors
    /// [`CaError::UnknownRequest`], [`CaError::NotPending`], [`CaError::Storage`].
    pub fn reject(&self, selector: RequestSelector) -> Result<usize, CaError> {
        let ids = self.select(selector)?;
        let mut inner = self.lock();
        let mut count = 0usize;
        for id in ids {
            if let Some(mut e) = inner.requests.get(&id).cloned() {
                e.state = EntryState::Rejected;
                self.put_entry(&e)?;
                inner.requests.insert(id, e);
                count = count.saturating_add(1);
            }
        }
        Ok(count)
    }

    /// C-14: delete request table entries (any state for an id; `All` deletes everything).
    ///
    /// # Errors
    /// [`CaError::UnknownRequest`], [`CaError::Storage`].
    pub fn remove(&self, selector: RequestSelector) -> Result<usize, CaError> {
        let mut inner = self.lock();
        let ids: Vec<u64> = match selector {
            RequestSelector::Id(id) if inner.requests.contains_key(&id) => vec![id],
            RequestSelector::Id(id) => return Err(CaError::UnknownRequest { id }),
            RequestSelector::All => inner.requests.keys().copied().collect(),
        };
        for &id in &ids {
            self.store
                .remove(&RecordKey::Request(id))
                .map_err(CaError::storage)?;
            inner.requests.remove(&id);
        }
        Ok(ids.len())
    }

    /// C-14, T-8: revoke `serial` and regenerate the CRL at once. Returns the new cRLNumber.
    ///
    /// # Errors
    /// [`CaError::UnknownSerial`] for 0 or a serial above the last one handed out; storage
    /// and signing errors.
    pub fn revoke<R: CryptoRng + ?Sized>(
        &self,
        serial: u64,
        now: Instant,
        rng: &mut R,
    ) -> Result<u64, CaError> {
        let mut inner = self.lock();
        // Several instances (Store v2): another may have issued the serial, revoked others or
        // renewed the CRL since this one last looked; the store is the source of truth.
        self.refresh(&mut inner)?;
        let last = inner
            .last_serial
            .max(super::read_counter(&self.store, RecordKey::SerialCounter)?);
        if serial == 0 || serial > last {
            return Err(CaError::UnknownSerial { serial });
        }
        if !inner.revoked.contains_key(&serial) {
            let revocation = super::state::Revocation {
                revoked_at: now,
                not_after: self.known_not_after(&inner, serial),
            };
            // Another instance may have revoked it meanwhile: then its record stands.
            self.store
                .revoke(serial, &super::state::encode_revoked(&revocation))
                .map_err(CaError::storage)?;
            inner.revoked.insert(serial, revocation);
        }
        self.regenerate_crl(&mut inner, now, rng)
    }

    /// The notAfter of issued certificate `serial`, from the request table, the CA
    /// certificates or the Names record; `None` when the CA does not know it (Minimal level
    /// after the purge).
    fn known_not_after(&self, inner: &Inner, serial: u64) -> Option<Instant> {
        let from_table = inner.requests.values().find_map(|e| match &e.state {
            EntryState::Issued { serial: s, cert } if *s == serial => {
                <scep_proto::Certificate as der::Decode>::from_der(cert)
                    .ok()
                    .map(|c| scep_proto::CertValidity::of(&c))
                    .and_then(|v| Validity::from_unix(v.not_before, v.not_after).ok())
                    .map(|v| v.not_after())
            }
            _ => None,
        });
        let from_ca = [Some(&inner.ca.active), inner.ca.rollover.as_ref()]
            .into_iter()
            .flatten()
            .find(|g| crate::issue::certificate_serial(g.ca.certificate()).ok() == Some(serial))
            .map(|g| g.validity().not_after());
        from_table.or(from_ca).or_else(|| {
            self.store
                .get(&RecordKey::IssuedName(serial))
                .ok()
                .flatten()
                .and_then(|b| super::state::issued_name_not_after(serial, &b))
        })
    }

    /// C-22, C-23: generate the rollover CA now (whether or not `auto_rollover` is set).
    /// Its validity follows T-6 (`[active.na, active.na + L_ca]`), so `_now` only keeps the
    /// admin calls uniform.
    ///
    /// # Errors
    /// [`CaError::RolloverExists`]; [`CaError::NotOperational`]; key generation, signing,
    /// archive and storage errors.
    pub fn rollover<R: CryptoRng + ?Sized>(
        &self,
        _now: Instant,
        rng: &mut R,
    ) -> Result<CaEvent, CaError> {
        // Key generation is the slow part: done before taking the lock.
        let key = generate_key(self.config.key_bits, rng).map_err(CaError::Issue)?;
        let mut inner = self.lock();
        // Several instances: decide on the store's state, not on this instance's copy.
        self.refresh(&mut inner)?;
        self.generate_rollover(&mut inner, key, rng)
    }

    pub(crate) fn generate_rollover<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut Inner,
        key: scep_proto::PrivateKey,
        rng: &mut R,
    ) -> Result<CaEvent, CaError> {
        match inner.ca.state {
            CaState::Active => {}
            CaState::ActiveWithRollover => return Err(CaError::RolloverExists),
            state => return Err(CaError::NotOperational { state }),
        }
        let counter = inner
            .ca
            .rollover_counter
            .checked_add(1)
            .ok_or(CaError::CounterExhausted)?;
        let serial = self.alloc_serial(inner)?;
        let mut params = RolloverCaParams::new(serial);
        params.lifetime = self.config.lifetime_ca_certificate;
        params.signature = self.signature();
        let ca = crate::issue::rollover_ca_certificate(&inner.ca.active.ca, &params, key, rng)
            .map_err(CaError::Issue)?;
        // C-19: stored only once this rollover is the CA's (another instance's may win).
        let archived =
            super::archive_file(&self.config, &ca, ArchiveGeneration::Rollover(counter), rng)?;
        let not_after = ca.validity().not_after();
        // RA mode (S-33): the rollover CA's own RA.
        let ra = self.rollover_ra(inner, &ca, rng)?;
        let generation =
            Arc::new(Generation::new(ca, self.config.key_passphrase.as_deref(), rng)?.with_ra(ra));
        let before = (
            inner.ca.state,
            inner.ca.rollover.take(),
            inner.ca.rollover_counter,
            inner.ca.shadow_suppressed,
        );
        inner.ca.state = CaState::ActiveWithRollover;
        inner.ca.rollover = Some(generation);
        inner.ca.rollover_counter = counter;
        inner.ca.shadow_suppressed = false;
        if let Err(e) = self.put_ca(inner) {
            (
                inner.ca.state,
                inner.ca.rollover,
                inner.ca.rollover_counter,
                inner.ca.shadow_suppressed,
            ) = before;
            return Err(e);
        }
        rearm(&self.config, inner);
        if let Some(file) = archived {
            self.store
                .put(&file.record_key(), file.contents())
                .map_err(CaError::storage)?;
        }
        Ok(CaEvent::RolloverGenerated { serial, not_after })
    }

    /// C-24: delete the rollover CA; pending requests to it become Rejected; automatic shadow
    /// generation stays off until [`Ca::rollover`] runs.
    ///
    /// # Errors
    /// [`CaError::NoRollover`]; storage errors.
    pub fn rollover_cancel(&self, _now: Instant) -> Result<CaEvent, CaError> {
        // Several instances: the rollover may be another instance's, and its requests too.
        self.sync_requests();
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        if inner.ca.rollover.is_none() {
            return Err(CaError::NoRollover);
        }
        // The CA state first (compare-and-swap): if another instance changed it meanwhile,
        // nothing is rejected.
        let old = inner.ca.rollover.take();
        inner.ca.state = CaState::Active;
        inner.ca.shadow_suppressed = true;
        if let Err(e) = self.put_ca(&mut inner) {
            inner.ca.rollover = old;
            inner.ca.state = CaState::ActiveWithRollover;
            inner.ca.shadow_suppressed = false;
            return Err(e);
        }
        rearm(&self.config, &mut inner);
        let mut rejected = 0usize;
        let mut issued = 0usize;
        let entries: Vec<_> = inner
            .requests
            .values()
            .filter(|e| e.to_rollover && !addressed_to_active(e, &inner.ca.active))
            .cloned()
            .collect();
        for mut e in entries {
            match e.state {
                EntryState::Pending => {
                    e.state = EntryState::Rejected;
                    self.put_entry(&e)?;
                    inner.requests.insert(e.id, e);
                    rejected = rejected.saturating_add(1);
                }
                EntryState::Issued { .. } => issued = issued.saturating_add(1),
                _ => {}
            }
        }
        Ok(CaEvent::RolloverCancelled { rejected, issued })
    }
}
