//! Admin operations (C-14, C-15, C-22 … C-24) and timers (C-16, C-21, C-22, C-25).

use std::sync::Arc;

use pki_timers::{CaTimer, Instant, TimerListing, Validity};
use rand::CryptoRng;

use super::enroll::{issued_validity, key_fingerprint};
use super::error::{CaError, CaState, Failure};
use super::state::{EntryState, Generation};
use super::{Ca, rearm};
use crate::archive::ArchiveGeneration;
use crate::host::{RequestView, Requester, ReviewStage, SignerKind};
use crate::issue::{CsrSummary, RolloverCaParams, VerifiedCsr, generate_key, md5_fingerprint};
use crate::policy::Violation;
use crate::storage::{RecordKey, Store};

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

/// What the CA did in [`Ca::on_timer`] or a rollover operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaEvent {
    /// A new CRL (C-21).
    CrlUpdated {
        /// Its cRLNumber.
        number: u64,
        /// Its nextUpdate.
        next_update: Instant,
    },
    /// A rollover CA certificate was generated (C-22).
    RolloverGenerated {
        /// Its serial.
        serial: u64,
        /// Its notAfter.
        not_after: Instant,
    },
    /// The rollover CA became the active CA (C-25).
    RolloverActivated {
        /// The new active CA's serial.
        serial: u64,
    },
    /// The CA certificate expired without a rollover (C-25).
    Expired,
    /// The rollover was cancelled (C-24).
    RolloverCancelled {
        /// Pending requests to it that were rejected.
        rejected: usize,
        /// Certificates it issued that are now useless (their holders must re-enrol).
        issued: usize,
    },
    /// Request table entries purged at `created + L_req` (C-16).
    RequestsPurged {
        /// How many.
        count: usize,
    },
    /// One-time passwords deleted at their expiry.
    OneTimePasswordsPurged {
        /// How many.
        count: usize,
    },
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
    /// # Errors
    /// [`CaError::UnknownRequest`], [`CaError::NotPending`]; [`CaError::Issue`] when T-7
    /// gives nothing (issuing CA expired) or the policy leaves no name to issue;
    /// [`CaError::HostRejected`] when the host's review refuses it; [`CaError::Storage`].
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
            // C-10 (amended): the host reviews the grant, without the lock.
            let csr = VerifiedCsr::from_der(&entry.csr, true).map_err(CaError::Issue)?;
            let (kind, subject) = entry
                .signer
                .clone()
                .unwrap_or((SignerKind::Untrusted, String::new()));
            let requester = Requester {
                kind,
                subject,
                key_fingerprint: entry
                    .signer_key
                    .as_deref()
                    .map(key_fingerprint)
                    .unwrap_or_default(),
            };
            let mut violations = csr.violations(&self.config.policy, None);
            if entry.renames {
                violations.push(Violation::RenewalChangesNames);
            }
            let policy = self
                .review(&RequestView {
                    stage: ReviewStage::AdminGrant,
                    transaction_id: &entry.transaction_id,
                    renewal: matches!(kind, SignerKind::Credential { .. }),
                    to_rollover: entry.to_rollover,
                    requester: &requester,
                    csr: &csr,
                    violations: &violations,
                })
                .map_err(|f| match f {
                    Failure::HostRejected(reason) => CaError::HostRejected { reason },
                    f => failure_error(f),
                })?;
            let (serial, validity, issuer) = {
                let mut inner = self.lock();
                if inner.requests.get(&id).map(|e| &e.state) != Some(&EntryState::Pending) {
                    continue;
                }
                let issuer: Arc<Generation> = match (&inner.ca.rollover, entry.to_rollover) {
                    (Some(r), true) => Arc::clone(r),
                    _ => Arc::clone(&inner.ca.active),
                };
                let to_rollover = entry.to_rollover && inner.ca.rollover.is_some();
                let validity = issued_validity(
                    &self.config,
                    &issuer,
                    to_rollover,
                    entry.signer_validity,
                    &policy,
                    now,
                )
                .map_err(failure_error)?;
                let serial = self.alloc_serial(&mut inner)?;
                if let Some(e) = inner.requests.get_mut(&id) {
                    e.state = EntryState::Issuing;
                }
                (serial, validity, issuer)
            };
            match self.issue(
                id,
                serial,
                validity,
                &issuer,
                &csr,
                (true, false),
                &policy,
                rng,
            ) {
                Ok(_) => serials.push(serial),
                Err(f) => return Err(failure_error(f)),
            }
        }
        Ok(serials)
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
        if serial == 0 || serial > inner.last_serial {
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
    fn known_not_after(&self, inner: &super::state::Inner, serial: u64) -> Option<Instant> {
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
        self.generate_rollover(&mut inner, key, rng)
    }

    fn generate_rollover<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut super::state::Inner,
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
        let mut inner = self.lock();
        if inner.ca.rollover.is_none() {
            return Err(CaError::NoRollover);
        }
        let mut rejected = 0usize;
        let mut issued = 0usize;
        let entries: Vec<_> = inner
            .requests
            .values()
            .filter(|e| e.to_rollover)
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
        Ok(CaEvent::RolloverCancelled { rejected, issued })
    }

    /// Fires every due timer in chronological order (T-12: none without authoritative
    /// time): CRL update (C-21), shadow generation (C-22), expiry or activation (C-25), then
    /// the request purge (C-16) and the one-time password purge. Early calls do nothing.
    ///
    /// # Errors
    /// The first failing step's error; the timers not yet fired stay due.
    pub fn on_timer<R: CryptoRng + ?Sized>(
        &self,
        now: Instant,
        rng: &mut R,
    ) -> Result<Vec<CaEvent>, CaError> {
        let mut events = Vec::new();
        let mut inner = self.lock();
        // Store v2: the state other instances wrote first; then the timers run only in the
        // instance holding the store's lease (the others pick up its results).
        self.refresh(&mut inner, rng)?;
        if inner.timers.is_authoritative() && !self.hold_lease(now)? {
            // T-15: the lease holder purges the store; this instance forgets the same entries.
            self.forget_purged(&mut inner, now);
            return Ok(events);
        }
        // Each firing moves its timer past `now` or disarms it; the bound only guards
        // against a livelock.
        for _ in 0..16 {
            let Some((timer, _at)) = inner.timers.pop_due(now) else {
                break;
            };
            let result = match timer {
                CaTimer::CrlUpdate => {
                    self.regenerate_crl(&mut inner, now, rng)
                        .map(|number| CaEvent::CrlUpdated {
                            number,
                            next_update: inner.crl.next_update,
                        })
                }
                CaTimer::ShadowGeneration => {
                    // The new key is made without the lock (request threads keep running);
                    // the state is checked again when it is installed.
                    drop(inner);
                    let key = generate_key(self.config.key_bits, rng);
                    inner = self.lock();
                    key.map_err(CaError::Issue)
                        .and_then(|key| self.generate_rollover(&mut inner, key, rng))
                }
                CaTimer::CertExpire => self.expire(&mut inner, now, rng),
            };
            match result {
                Ok(event) => events.push(event),
                Err(e) => {
                    rearm(&self.config, &mut inner);
                    return Err(e);
                }
            }
        }
        if inner.timers.is_authoritative() {
            let count = self.purge_requests(&mut inner, now)?;
            if count > 0 {
                events.push(CaEvent::RequestsPurged { count });
            }
            self.purge_otps(&mut inner, now, &mut events)?;
        }
        Ok(events)
    }

    /// C-25: activate the rollover, or expire.
    fn expire<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut super::state::Inner,
        now: Instant,
        rng: &mut R,
    ) -> Result<CaEvent, CaError> {
        let Some(next) = inner.ca.rollover.clone() else {
            inner.ca.state = CaState::Expired;
            self.put_ca(inner)?;
            rearm(&self.config, inner);
            return Ok(CaEvent::Expired);
        };
        let old_active = Arc::clone(&inner.ca.active);
        inner.ca.active = Arc::clone(&next);
        inner.ca.rollover = None;
        inner.ca.state = CaState::Active;
        if let Err(e) = self.put_ca(inner) {
            inner.ca.active = old_active;
            inner.ca.rollover = Some(next);
            inner.ca.state = CaState::ActiveWithRollover;
            return Err(e);
        }
        // The old key is gone from the store (it was archived at its creation, C-19); the
        // CRL is re-signed with the new key.
        self.regenerate_crl(inner, now, rng)?;
        let serial = crate::issue::certificate_serial(next.ca.certificate()).unwrap_or(0);
        Ok(CaEvent::RolloverActivated { serial })
    }

    /// T-16: the armed CA timers as IOS prints them (group `CS Timers`).
    #[must_use]
    pub fn timer_listing(&self, now: Instant) -> TimerListing {
        let inner = self.lock();
        let mut listing = TimerListing::new("CS Timers");
        for (timer, at) in inner.timers.entries() {
            listing.push_instant(timer.label(), at, now);
        }
        listing
    }
}

fn failure_error(f: Failure) -> CaError {
    match f {
        Failure::Csr(e) => CaError::Issue(e),
        _ => CaError::Storage(crate::storage::StoreError::Unavailable),
    }
}
