//! Starting a CA from an existing key and certificate instead of generating them (C-1 for an
//! operator who already runs a CA).

use std::collections::BTreeMap;
use std::sync::Arc;

use pki_timers::Instant;
use rand::CryptoRng;

use super::error::{CaError, CaState, ConfigError};
use super::state::{CaRecord, CrlRecord, Generation};
use super::{Ca, CaConfig, archive_file, first_crl};
use crate::archive::ArchiveGeneration;
use crate::issue::{CaKey, IssueError, certificate_serial};
use crate::storage::{Conflict, Counter, RecordKey, Store, StoreError};

impl<S: Store> Ca<S> {
    /// Creates the CA in an empty `store` from an existing self-signed CA key and
    /// certificate, then opens it as [`Ca::open`] does. What [`Ca::open`] would generate on
    /// first start is written instead from `ca`: the CA record, the first CRL (number 1,
    /// signed with the imported key) and the key archive (C-19, if `archive_password` is set).
    /// As in a creation, the CA record is written by compare-and-swap expecting no CA, before
    /// the archive and the CRL: if another instance sharing the store created or imported a
    /// CA meanwhile, this import fails and writes nothing over that CA.
    ///
    /// The serial counter is raised ([`Store::raise_counter`]) to the largest of
    /// `last_serial`, the imported certificate's serial and the counter already in the store,
    /// so nothing this CA signs reuses a serial the operator says was handed out before
    /// (C-3), and a losing import never lowers what the winner allocated or raised.
    ///
    /// # Errors
    /// [`CaError::AlreadyExists`] when the store already holds a CA, or another instance
    /// stored one while this import ran; [`CaError::Config`] for
    /// a bad configuration or an `issuer_name` other than the certificate's subject;
    /// [`CaError::Issue`] ([`IssueError::InvalidCertificate`]) when the certificate is not
    /// self-signed; storage, signing and archive errors.
    pub fn import<R: CryptoRng + ?Sized>(
        config: CaConfig,
        store: S,
        ca: CaKey,
        last_serial: u64,
        now: Instant,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        config.validate()?;
        if store
            .get(&RecordKey::CaState)
            .map_err(CaError::storage)?
            .is_some()
        {
            return Err(CaError::AlreadyExists);
        }
        let tbs = ca.certificate().tbs_certificate();
        if !scep_proto::names_match(tbs.issuer(), tbs.subject()) {
            return Err(CaError::Issue(IssueError::InvalidCertificate));
        }
        if !scep_proto::names_match(ca.subject(), &config.issuer()?) {
            return Err(ConfigError::IssuerNameChanged.into());
        }
        let own_serial = certificate_serial(ca.certificate()).map_err(CaError::Issue)?;
        // C-3: raised before the CA record exists, so no instance signs a serial at or below
        // it; raised, never set: another instance creating or importing meanwhile may have
        // allocated serials (its CA's, its RA's) or raised the counter to its own floor, and
        // wins the CAS below then.
        store
            .raise_counter(Counter::Serial, last_serial.max(own_serial))
            .map_err(CaError::storage)?;
        // Everything that can fail but the store is done before the CA record is written.
        let archived = archive_file(&config, &ca, ArchiveGeneration::Creation, rng)?;
        let leftover = match store.get(&RecordKey::Crl).map_err(CaError::storage)? {
            Some(bytes) => Some(CrlRecord::decode(&bytes)?.number),
            None => None,
        };
        let record = CaRecord {
            state: CaState::Active,
            active: Arc::new(Generation::new(ca, config.key_passphrase.as_deref(), rng)?),
            rollover: None,
            rollover_counter: 0,
            shadow_suppressed: false,
        };
        // C-1: the CA record is swapped in expecting none, as a creation does, so that of
        // instances creating or importing at once exactly one CA wins; a loser writes
        // nothing more (not the archive, not the first CRL of the winner's CA).
        match store.swap_ca_state(None, &record.encode()?) {
            Ok(_) => {}
            Err(StoreError::Conflict(Conflict::CaState { current: Some(_) })) => {
                return Err(CaError::AlreadyExists);
            }
            Err(e) => return Err(CaError::storage(e)),
        }
        if let Some(file) = archived {
            store
                .put(&file.record_key(), file.contents())
                .map_err(CaError::storage)?;
        }
        first_crl(
            &config,
            &store,
            &record.active.ca,
            leftover,
            &BTreeMap::new(),
            now,
            rng,
        )?;
        Self::open(config, store, now, true, rng)
    }
}
