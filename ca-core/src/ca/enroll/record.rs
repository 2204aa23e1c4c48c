//! The record step of an issuance (C-10, C-18, C-20) and the request table as a cache of the
//! store's (Store v2: several instances may share one store).

use der::Encode;
use pki_timers::Validity;
use rand::CryptoRng;

use crate::DatabaseLevel;
use crate::ca::Ca;
use crate::ca::error::Failure;
use crate::ca::state::{Entry, EntryState, Generation, encode_issued_name};
use crate::issue::{IdentityParams, VerifiedCsr, identity_certificate};
use crate::policy::IssuancePolicy;
use crate::storage::{Issuance, Store};

impl<S: Store> Ca<S> {
    /// C-12/C-13 with several instances on one store: a transactionID this instance does not
    /// know may be held by an entry another instance wrote; if the store has one, it joins
    /// the table (the store is the source of truth, the table its cache).
    /// A pending entry is read again too: another instance may have granted or rejected it.
    pub(crate) fn adopt_stored(&self, inner: &mut crate::ca::state::Inner, tid: &str) {
        let known = inner.find_transaction(tid).map(|e| (e.id, e.state.clone()));
        if matches!(known, Some((_, ref state)) if *state != EntryState::Pending) {
            return;
        }
        let Ok(Some(row)) = self.store.find_request(tid) else {
            return;
        };
        let Ok(entry) = Entry::decode(row.id, &row.body) else {
            return;
        };
        match known {
            None if !inner.requests.contains_key(&row.id) => inner.requests.insert(row.id, entry),
            Some((id, _)) if id == row.id && entry.state != EntryState::Pending => {
                inner.requests.insert(row.id, entry);
            }
            _ => {}
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
        (persisted, allow_ca): (bool, bool),
        policy: &IssuancePolicy,
        rng: &mut R,
    ) -> Result<Vec<u8>, Failure> {
        let mut params = IdentityParams::new(serial, validity);
        params.signature = self.signature();
        params.allow_ca = allow_ca;
        params.policy = *policy;
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
        drop(inner);
        let mut issued = entry;
        issued.state = EntryState::Issued {
            serial,
            cert: cert.clone(),
        };
        // C-18, C-20: the entry, the (serial, subject) record and the certificate in one
        // atomic, durable write, made without the lock (the entry stays "issuing" meanwhile:
        // a retransmission is answered PENDING, the purge passes it by).
        let issuance = Issuance {
            request: issued.row(),
            replaces: None,
            serial,
            name: (self.config.database_level >= DatabaseLevel::Names)
                .then(|| encode_issued_name(&csr.subject().to_string(), validity.not_after())),
            cert: (self.config.database_level >= DatabaseLevel::Complete).then(|| cert.clone()),
        };
        let stored = self.store.record_issuance(&issuance);
        let mut inner = self.lock();
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
}

fn forget_or_restore(inner: &mut crate::ca::state::Inner, id: u64, persisted: bool) {
    if persisted {
        if let Some(e) = inner.requests.get_mut(&id) {
            e.state = EntryState::Pending;
        }
    } else {
        inner.requests.remove(&id);
    }
}
