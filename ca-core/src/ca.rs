//! The certificate server: a sans-IO state machine over a [`Store`] (SPEC §3, C-1 … C-28).
//!
//! The host feeds it HTTP requests ([`Ca::handle`]), wakes it at [`Ca::poll_timeout`]
//! ([`Ca::handle_timeout`]) and calls the admin operations. Time and randomness are arguments;
//! the store is the only I/O.
//!
//! Locking: one mutex guards the counters, the request table and the store writes. Request
//! handling takes snapshots of the CA keys (`Arc`s) under it and does every RSA operation of
//! a request (signature check, decryption, certificate signing, CertRep signing and
//! encryption) with the lock released. Admin and timer operations are rare and may sign
//! (CRL, rollover certificate) while holding it.
//!
//! Laid out along a request's life: `handle` (dispatch, CertPoll and GetCert, the CertRep
//! replies), `enroll` (signer class, grant decision, issuance and its record), `timers`
//! (`poll_timeout`/`handle_timeout`), `admin` (operator commands), `state` (what the CA holds
//! in memory) and `records` (how it is written to the store).

mod admin;
mod config;
mod enroll;
mod error;
mod handle;
mod import;
mod next_ca;
mod otp;
mod quota;
mod ra;
pub(crate) mod records;
mod shared;
mod state;
mod status;
mod table;
mod tid;
mod timers;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pki_timers::{Instant, TimerTable};
use rand::CryptoRng;
use scep_proto::DigestAlg;
use zeroize::Zeroizing;

pub use self::admin::{PendingRequest, RequestSelector, RequestStatus};
pub use self::config::{CaConfig, DatabaseLevel, GrantMode};
pub use self::error::{CaError, CaState, ConfigError};
pub use self::ra::GrantAutoRollover;
pub use self::status::StatusReport;
pub use self::timers::CaEvent;

use self::records::decode_counter;
use self::state::{CaRecord, CrlRecord, Entry, Generation, Inner, decode_revoked};
use self::timers::rearm;
use crate::archive::{ArchiveGeneration, ArchiveParams};
use crate::host::CaHost;
use crate::issue::{
    CaCertParams, CaKey, CrlParams, RevokedSerial, SignatureConfig, certificate_revocation_list,
    generate_key, self_signed_ca_certificate,
};
use crate::storage::{Conflict, Counter, RecordFamily, RecordKey, Store, StoreError};

/// The certificate server. `Send + Sync`: share it (e.g. in an `Arc`) between the threads
/// of an HTTP server.
pub struct Ca<S: Store> {
    config: CaConfig,
    store: S,
    inner: Mutex<Inner>,
    /// S-33: the GetNextCACert answer, signed once per rollover.
    next_ca: next_ca::NextCaCache,
    /// This instance's id for the store's timer lease (random per open).
    instance: u64,
    host: Option<Arc<dyn CaHost>>,
}

impl<S: Store> core::fmt::Debug for Ca<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ca")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("host", &self.host.is_some())
            .finish_non_exhaustive()
    }
}

/// Counter values taken from the store ([`Ca::allocate`]) and not used yet.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Allocated {
    pub(crate) request_id: Option<u64>,
    pub(crate) serial: Option<u64>,
}

/// What a request needs of the CA, copied under the lock.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) state: CaState,
    pub(crate) active: Arc<Generation>,
    pub(crate) rollover: Option<Arc<Generation>>,
}

impl<S: Store> Ca<S> {
    /// Opens the CA kept in `store`, or creates it on first start (C-1): a `key_bits` RSA
    /// key, the self-signed CA certificate with serial 1 valid `[now, now + L_ca]`, the first
    /// CRL, the key archive (C-19, if `archive_password` is set), and in RA mode
    /// (`ra_subject`) the RA key and certificate; an existing CA without an RA gets one here
    /// when `ra_subject` is set and the time is authoritative. Timers are armed when
    /// `authoritative_time` is true (T-12).
    ///
    /// Several instances may start on one empty shared store at once: exactly one CA is
    /// made, and every instance opens it (the others' keys are discarded; the serials they
    /// drew stay unused, so the CA certificate's serial is then the winner's, not always 1).
    ///
    /// # Errors
    /// [`CaError::Config`] for a bad configuration or an `issuer_name` that differs from the
    /// stored CA's (C-2); [`CaError::NoAuthoritativeTime`] when the CA must be created
    /// without authoritative time; storage, corrupt-record and issuance errors.
    pub fn open<R: CryptoRng + ?Sized>(
        config: CaConfig,
        store: S,
        now: Instant,
        authoritative_time: bool,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        config.validate()?;
        let issuer = config.issuer()?;
        let shared_seen = store.shared_version().map_err(CaError::storage)?;
        // C-1: of several instances creating the CA at once, the one whose CA record is
        // stored first (compare-and-swap) made it; the others lose that write having stored
        // nothing else, read the CA record again and open the winner's CA.
        let mut attempts = 1..3;
        let (ca, ca_version, crl) = loop {
            match load_or_create(&config, &store, &issuer, now, authoritative_time, rng) {
                Err(CaError::Storage(StoreError::Conflict(Conflict::CaState { .. })))
                    if attempts.next().is_some() => {}
                result => break result?,
            }
        };
        let last_serial = read_counter(&store, RecordKey::SerialCounter)?;
        let mut requests = state::RequestTable::default();
        for id in store
            .list(RecordFamily::Request)
            .map_err(CaError::storage)?
        {
            if let Some(b) = store
                .get(&RecordKey::Request(id))
                .map_err(CaError::storage)?
            {
                requests.insert(id, Entry::decode(id, &b)?);
            }
        }
        let otps = otp::load(&store, rng)?;
        let mut revoked = BTreeMap::new();
        for serial in store
            .list(RecordFamily::Revoked)
            .map_err(CaError::storage)?
        {
            if let Some(b) = store
                .get(&RecordKey::Revoked(serial))
                .map_err(CaError::storage)?
            {
                revoked.insert(serial, decode_revoked(serial, &b)?);
            }
        }
        let crl = match crl {
            Some(crl) => crl,
            // The CA record without a CRL: its creator stopped (or is still running) between
            // the CA record and the CRL, maybe before the archive written between them. Any
            // instance completes it: the archive if missing (C-19), the CRL once (swap).
            None if authoritative_time => {
                archive_if_missing(&config, &store, &ca.active.ca, rng)?;
                first_crl(&config, &store, &ca.active.ca, None, &revoked, now, rng)?
            }
            None => {
                return Err(CaError::CorruptRecord {
                    key: RecordKey::Crl,
                });
            }
        };
        let last_request = read_counter(&store, RecordKey::RequestCounter)?
            .max(requests.keys().next_back().copied().unwrap_or(0));
        let last_otp = otps.last_id().unwrap_or(0);
        let mut timers = TimerTable::new();
        timers.set_authoritative(authoritative_time);
        let mut inner = Inner {
            ca,
            last_serial,
            last_request,
            last_otp,
            crl,
            revoked,
            requests,
            otps,
            timers,
            ca_version,
            shared_seen,
            refresh_failed: false,
        };
        rearm(&config, &mut inner);
        let ca = Self {
            config,
            store,
            inner: Mutex::new(inner),
            next_ca: next_ca::NextCaCache::default(),
            instance: rng.next_u64(),
            host: None,
        };
        // RA mode asked of a CA that has none (created before, or imported): issue it now.
        if authoritative_time
            && ca.config.ra_subject.is_some()
            && ca.state().is_operational()
            && ca.ra_certificate_der().is_none()
        {
            ca.create_ra(now, rng)?;
        }
        Ok(ca)
    }

    /// Installs the host's review and audit ([`crate::host`]): every enrolment request is
    /// reviewed by `host`, and every PKIOperation decision reported to it.
    #[must_use]
    pub fn with_host(mut self, host: Arc<dyn CaHost>) -> Self {
        self.host = Some(host);
        self
    }

    /// The configuration the CA runs with.
    #[must_use]
    pub fn config(&self) -> &CaConfig {
        &self.config
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Closes this instance and gives the store back (e.g. to reopen the CA from it): the
    /// store's timer lease, if this instance holds it, is released (best effort), so other
    /// instances on the store run the timers at once.
    #[must_use]
    pub fn into_store(self) -> S {
        let _ = self.store.release_lease(self.instance);
        self.store
    }

    /// The lifecycle state (C-4).
    #[must_use]
    pub fn state(&self) -> CaState {
        self.lock().ca.state
    }

    /// DER of the active CA certificate (what GetCACert serves, S-31).
    #[must_use]
    pub fn ca_certificate_der(&self) -> Vec<u8> {
        self.lock().ca.active.der.clone()
    }

    /// DER of the rollover CA certificate, if one exists (C-22).
    #[must_use]
    pub fn rollover_certificate_der(&self) -> Option<Vec<u8>> {
        self.lock().ca.rollover.as_ref().map(|g| g.der.clone())
    }

    /// DER of the current CRL (C-21).
    #[must_use]
    pub fn crl_der(&self) -> Vec<u8> {
        self.lock().crl.der.clone()
    }

    /// The last serial handed out (C-3).
    #[must_use]
    pub fn last_serial(&self) -> u64 {
        self.lock().last_serial
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            state: inner.ca.state,
            active: Arc::clone(&inner.ca.active),
            rollover: inner.ca.rollover.clone(),
        }
    }

    /// S-27: the digest of a CertRep answering a request signed with `request`: the same,
    /// except that SHA-1 (and MD5) are answered with SHA-256 unless `legacy_algorithms` is on.
    pub(crate) fn reply_digest(&self, request: DigestAlg) -> DigestAlg {
        if (request == DigestAlg::Sha1 || request.is_legacy()) && !self.config.legacy_algorithms {
            DigestAlg::Sha256
        } else {
            request
        }
    }

    pub(crate) fn signature(&self) -> SignatureConfig {
        SignatureConfig::new(self.config.hash).with_legacy_algorithms(self.config.legacy_algorithms)
    }

    /// C-3, C-20: the next serial from the store's counter (shared by every instance),
    /// durable before it is used.
    pub(crate) fn alloc_serial(&self, inner: &mut Inner) -> Result<u64, CaError> {
        let next = self.allocate(&[Counter::Serial])?;
        inner.last_serial = inner.last_serial.max(next.serial.unwrap_or(0));
        next.serial.ok_or(CaError::CounterExhausted)
    }

    /// C-3, C-14: fresh values of the store's counters (durable before use; one store call,
    /// so one durable write, for both). Called without the CA's lock held.
    pub(crate) fn allocate(&self, counters: &[Counter]) -> Result<Allocated, CaError> {
        let values = self.store.allocate(counters).map_err(|e| match e {
            StoreError::Conflict(Conflict::CounterExhausted { .. }) => CaError::CounterExhausted,
            e => CaError::storage(e),
        })?;
        let mut out = Allocated::default();
        for (counter, value) in counters.iter().zip(values) {
            match counter {
                Counter::Serial => out.serial = Some(value),
                Counter::RequestId => out.request_id = Some(value),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Writes a request entry (a pending one, or one changing state) as a request-table row.
    pub(crate) fn put_entry(&self, entry: &Entry) -> Result<(), CaError> {
        self.store
            .put_request(&entry.row(), None)
            .map_err(CaError::storage)
    }

    /// Writes the CA record if the store still holds the version this instance read
    /// (compare-and-swap): on a conflict nothing is written and the error is returned; the
    /// caller undoes its change and the next [`Ca::refresh`] reads the other instance's state.
    pub(crate) fn put_ca(&self, inner: &mut Inner) -> Result<(), CaError> {
        let version = self
            .store
            .swap_ca_state(inner.ca_version, &inner.ca.encode()?)
            .map_err(CaError::storage)?;
        inner.ca_version = Some(version);
        Ok(())
    }

    /// C-21/T-8: a new CRL from the active key, number + 1, stored, timer re-armed.
    pub(crate) fn regenerate_crl<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut Inner,
        now: Instant,
        rng: &mut R,
    ) -> Result<u64, CaError> {
        let number = inner
            .crl
            .number
            .checked_add(1)
            .ok_or(CaError::CounterExhausted)?;
        let crl = make_crl(
            &self.config,
            &inner.ca.active.ca,
            &inner.revoked,
            number,
            now,
            rng,
        )?;
        // Compare-and-swap on the number: one instance's CRL per number.
        self.store
            .swap_crl(Some(inner.crl.number), number, &crl.encode())
            .map_err(CaError::storage)?;
        inner.crl = crl;
        rearm(&self.config, inner);
        Ok(number)
    }
}

fn read_counter<S: Store>(store: &S, key: RecordKey) -> Result<u64, CaError> {
    match store.get(&key).map_err(CaError::storage)? {
        Some(b) => decode_counter(&key, &b),
        None => Ok(0),
    }
}

/// The CA record (with its version) and the CRL the store holds (`None`: the CA record was
/// stored, its first CRL not yet), or a new CA made and stored (C-1) when there is none.
///
/// # Errors
/// [`Conflict::CaState`] (as [`CaError::Storage`]) when another instance stored its CA
/// record first: nothing else was written, and the caller reads the store again.
fn load_or_create<S: Store, R: CryptoRng + ?Sized>(
    config: &CaConfig,
    store: &S,
    issuer: &x509_cert::name::Name,
    now: Instant,
    authoritative_time: bool,
    rng: &mut R,
) -> Result<(CaRecord, Option<u64>, Option<CrlRecord>), CaError> {
    let passphrase = config.key_passphrase.as_deref();
    let Some(stored) = store.ca_state().map_err(CaError::storage)? else {
        if !authoritative_time {
            return Err(CaError::NoAuthoritativeTime);
        }
        let (record, version, crl) = create(config, store, issuer.clone(), now, rng)?;
        return Ok((record, Some(version), Some(crl)));
    };
    let mut version = Some(stored.version);
    let mut ca = CaRecord::decode(&Zeroizing::new(stored.bytes), passphrase)?;
    if !scep_proto::names_match(ca.active.ca.subject(), issuer) {
        return Err(ConfigError::IssuerNameChanged.into());
    }
    if let Some(passphrase) = passphrase
        && ca.needs_sealing(Some(passphrase))
    {
        ca.seal(passphrase, rng)?;
        version = Some(
            store
                .swap_ca_state(version, &ca.encode()?)
                .map_err(CaError::storage)?,
        );
    }
    let crl = match store.get(&RecordKey::Crl).map_err(CaError::storage)? {
        Some(b) => Some(CrlRecord::decode(&b)?),
        None => None,
    };
    Ok((ca, version, crl))
}

/// C-1: the first key and certificate (and RA), then the CA record, by compare-and-swap on
/// "no CA yet": the one write that decides, among instances creating the CA at once, whose
/// CA it is. Before it, a creator only takes serials (they stay used, C-3); after it, the
/// winner writes the archive and the first CRL, each once. A crash before the CA record
/// leaves no CA; one after it leaves a CA whose first CRL the next opening makes.
/// Returns the record, its version and the CRL.
fn create<S: Store, R: CryptoRng + ?Sized>(
    config: &CaConfig,
    store: &S,
    issuer: x509_cert::name::Name,
    now: Instant,
    rng: &mut R,
) -> Result<(CaRecord, u64, CrlRecord), CaError> {
    // C-3: serials from the store's counter, durable before they are signed.
    let next_serial = || {
        store
            .allocate(&[Counter::Serial])
            .map_err(|e| match e {
                StoreError::Conflict(Conflict::CounterExhausted { .. }) => {
                    CaError::CounterExhausted
                }
                e => CaError::storage(e),
            })?
            .first()
            .copied()
            .ok_or(CaError::CounterExhausted)
    };
    let serial = next_serial()?;
    let key = generate_key(config.key_bits, rng).map_err(CaError::Issue)?;
    let mut params = CaCertParams::new(issuer, now);
    params.serial = serial;
    params.lifetime = config.lifetime_ca_certificate;
    params.signature =
        SignatureConfig::new(config.hash).with_legacy_algorithms(config.legacy_algorithms);
    let ca = self_signed_ca_certificate(&params, key, rng).map_err(CaError::Issue)?;
    // RA mode (S-7): the RA takes the next serial.
    let ra = ra::creation_ra(config, &ca, next_serial, now, rng)?;
    // Everything that can fail but the store is done before the CA record is written.
    let archived = archive_file(config, &ca, ArchiveGeneration::Creation, rng)?;
    // Older versions wrote the CRL before the CA record: a creation of theirs cut short may
    // have left one, whose number the first CRL follows.
    let leftover = match store.get(&RecordKey::Crl).map_err(CaError::storage)? {
        Some(bytes) => Some(CrlRecord::decode(&bytes)?.number),
        None => None,
    };
    let record = CaRecord {
        state: CaState::Active,
        active: Arc::new(Generation::new(ca, config.key_passphrase.as_deref(), rng)?.with_ra(ra)),
        rollover: None,
        rollover_counter: 0,
        shadow_suppressed: false,
    };
    let version = store
        .swap_ca_state(None, &record.encode()?)
        .map_err(CaError::storage)?;
    // This instance's CA is the CA from here on.
    if let Some(file) = archived {
        store
            .put(&file.record_key(), file.contents())
            .map_err(CaError::storage)?;
    }
    let crl = first_crl(
        config,
        store,
        &record.active.ca,
        leftover,
        &BTreeMap::new(),
        now,
        rng,
    )?;
    Ok((record, version, crl))
}

/// C-1, C-21: the CA's first CRL, signed by `ca`: number 1, or one more than `after` (a CRL
/// left by a creation cut short), stored by compare-and-swap. If another instance of the
/// same CA stored it first, that one is read and returned instead.
fn first_crl<S: Store, R: CryptoRng + ?Sized>(
    config: &CaConfig,
    store: &S,
    ca: &CaKey,
    after: Option<u64>,
    revoked: &BTreeMap<u64, state::Revocation>,
    now: Instant,
    rng: &mut R,
) -> Result<CrlRecord, CaError> {
    let number = after
        .map_or(Some(1), |n| n.checked_add(1))
        .ok_or(CaError::CounterExhausted)?;
    let crl = make_crl(config, ca, revoked, number, now, rng)?;
    match store.swap_crl(after, number, &crl.encode()) {
        Ok(()) => Ok(crl),
        Err(StoreError::Conflict(Conflict::CrlNumber { .. })) => {
            match store.get(&RecordKey::Crl).map_err(CaError::storage)? {
                Some(bytes) => CrlRecord::decode(&bytes),
                None => Err(CaError::CorruptRecord {
                    key: RecordKey::Crl,
                }),
            }
        }
        Err(e) => Err(CaError::storage(e)),
    }
}

/// C-19 for a creation cut short after its CA record: the creation archive of `ca`, unless
/// the store holds it already (its creator got that far).
fn archive_if_missing<S: Store, R: CryptoRng + ?Sized>(
    config: &CaConfig,
    store: &S,
    ca: &CaKey,
    rng: &mut R,
) -> Result<(), CaError> {
    if let Some(file) = archive_file(config, ca, ArchiveGeneration::Creation, rng)?
        && store
            .get(&file.record_key())
            .map_err(CaError::storage)?
            .is_none()
    {
        store
            .put(&file.record_key(), file.contents())
            .map_err(CaError::storage)?;
    }
    Ok(())
}

/// C-19: the archive of `ca`, not stored yet; `None` without an archive password.
pub(crate) fn archive_file<R: CryptoRng + ?Sized>(
    config: &CaConfig,
    ca: &CaKey,
    generation: ArchiveGeneration,
    rng: &mut R,
) -> Result<Option<crate::archive::ArchiveFile>, CaError> {
    let Some(password) = &config.archive_password else {
        return Ok(None);
    };
    let params = ArchiveParams {
        format: config.archive_format,
        ..ArchiveParams::default()
    };
    params
        .export(
            &config.name,
            generation,
            ca.key(),
            ca.certificate(),
            password.as_bytes(),
            rng,
        )
        .map(Some)
        .map_err(CaError::Archive)
}

fn make_crl<R: CryptoRng + ?Sized>(
    config: &CaConfig,
    ca: &CaKey,
    revoked: &BTreeMap<u64, state::Revocation>,
    number: u64,
    now: Instant,
    rng: &mut R,
) -> Result<CrlRecord, CaError> {
    let mut params = CrlParams::new(now, number);
    params.lifetime = config.lifetime_crl;
    params.signature =
        SignatureConfig::new(config.hash).with_legacy_algorithms(config.legacy_algorithms);
    params.revoked = revoked
        .iter()
        // C-21: only certificates that have not expired (when the CA knows the expiry).
        .filter(|(_, r)| r.not_after.is_none_or(|na| na > now))
        .map(|(&serial, r)| RevokedSerial {
            serial,
            revoked_at: r.revoked_at,
        })
        .collect();
    let list = certificate_revocation_list(ca, &params, rng).map_err(CaError::Issue)?;
    let window = pki_timers::crl_window(now, config.lifetime_crl);
    CrlRecord::new(number, window.this_update, window.next_update, list)
}
