//! Starting a CA from an existing key and certificate instead of generating them (C-1 for an
//! operator who already runs a CA).

use std::collections::BTreeMap;
use std::sync::Arc;

use pki_timers::Instant;
use rand::CryptoRng;

use super::error::{CaError, CaState, ConfigError};
use super::records::encode_counter;
use super::state::{CaRecord, Generation};
use super::{Ca, CaConfig, make_crl, read_counter};
use crate::archive::ArchiveGeneration;
use crate::issue::{CaKey, IssueError, certificate_serial};
use crate::storage::{RecordKey, Store};

impl<S: Store> Ca<S> {
    /// Creates the CA in an empty `store` from an existing self-signed CA key and
    /// certificate, then opens it as [`Ca::open`] does. What [`Ca::open`] would generate on
    /// first start is written instead from `ca`: the CA record, the first CRL (number 1,
    /// signed with the imported key) and the key archive (C-19, if `archive_password` is set).
    ///
    /// The serial counter starts at the largest of `last_serial`, the imported certificate's
    /// serial and any counter already in the store, so nothing this CA signs reuses a serial
    /// the operator says was handed out before (C-3).
    ///
    /// # Errors
    /// [`CaError::AlreadyExists`] when the store already holds a CA; [`CaError::Config`] for
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
        let counter = read_counter(&store, RecordKey::SerialCounter)?
            .max(last_serial)
            .max(own_serial);
        store
            .put(&RecordKey::SerialCounter, &encode_counter(counter))
            .map_err(CaError::storage)?;
        let crl = make_crl(&config, &ca, &BTreeMap::new(), 1, now, rng)?;
        store
            .put(&RecordKey::Crl, &crl.encode())
            .map_err(CaError::storage)?;
        super::archive(&config, &store, &ca, ArchiveGeneration::Creation, rng)?;
        // Written last, as in creation: a crash before this leaves no CA.
        let record = CaRecord {
            state: CaState::Active,
            active: Arc::new(Generation::new(ca, config.key_passphrase.as_deref(), rng)?),
            rollover: None,
            rollover_counter: 0,
            shadow_suppressed: false,
        };
        store
            .put(&RecordKey::CaState, &record.encode()?)
            .map_err(CaError::storage)?;
        Self::open(config, store, now, true, rng)
    }
}
