//! The issuance and its record (C-10, C-18, C-20): the certificate signed outside the lock,
//! then recorded durably before it is handed out.

use der::Encode;
use pki_timers::Validity;
use rand::CryptoRng;

use crate::DatabaseLevel;
use crate::ca::Ca;
use crate::ca::error::Failure;
use crate::ca::state::{EntryState, Generation, encode_issued_name};
use crate::issue::{IdentityParams, VerifiedCsr, identity_certificate};
use crate::policy::IssuancePolicy;
use crate::storage::{Issuance, Store};

impl<S: Store> Ca<S> {
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
