//! The issuance and its record (C-10, C-18, C-20): the certificate signed outside the lock,
//! then recorded durably before it is handed out.

use der::Encode;
use pki_timers::Validity;
use rand::CryptoRng;

use crate::DatabaseLevel;
use crate::ca::Ca;
use crate::ca::error::EnrollError;
use crate::ca::state::{EntryState, Generation, Inner, encode_issued_name};
use crate::issue::{IdentityParams, IssueError, VerifiedCsr, identity_certificate};
use crate::policy::IssuancePolicy;
use crate::storage::{Issuance, Store};

/// What kind of certificate a grant issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertProfile {
    /// An identity certificate (`cA` false).
    EndEntity,
    /// A subordinate CA's certificate (C-9 step 5, `grant_auto_rollover ca_cert`): the CSR's
    /// basicConstraints are honoured.
    SubordinateCa,
}

/// Where a granted entry lives until its issuance is recorded, hence what a failure does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryOrigin {
    /// Stored as pending (an administrator's grant): it goes back to pending.
    Pending,
    /// Granted on arrival, never stored: it is forgotten.
    AutoGranted,
}

/// A granted enrolment, ready to be signed and recorded (C-10, C-18, C-20).
pub(crate) struct Grant<'a> {
    /// Its request table entry.
    pub(crate) id: u64,
    /// The serial taken for it from the store's counter (C-3).
    pub(crate) serial: u64,
    /// T-7 or C-11, capped by the policy.
    pub(crate) validity: Validity,
    /// The CA generation that signs.
    pub(crate) issuer: &'a Generation,
    /// The request.
    pub(crate) csr: &'a VerifiedCsr,
    /// The policy it is issued under (the host may have narrowed it).
    pub(crate) policy: IssuancePolicy,
    /// Identity or subordinate CA certificate.
    pub(crate) profile: CertProfile,
    /// Pending in the store or granted on arrival.
    pub(crate) entry: EntryOrigin,
}

impl<S: Store> Ca<S> {
    /// C-10: signs outside the lock, then records durably before the certificate is
    /// returned (C-20). On failure a [`EntryOrigin::Pending`] entry goes back to pending; an
    /// auto-granted one (never stored) is forgotten.
    pub(crate) fn issue<R: CryptoRng + ?Sized>(
        &self,
        grant: &Grant<'_>,
        rng: &mut R,
    ) -> Result<Vec<u8>, EnrollError> {
        let Grant {
            id,
            serial,
            validity,
            issuer,
            csr,
            policy,
            profile,
            entry: origin,
        } = *grant;
        let mut params = IdentityParams::new(serial, validity);
        params.signature = self.signature();
        params.allow_ca = profile == CertProfile::SubordinateCa;
        params.policy = policy;
        let signed = identity_certificate(&issuer.ca, csr, &params, rng);
        let mut inner = self.lock();
        let cert = match signed.and_then(|c| c.to_der().map_err(IssueError::Encoding)) {
            Ok(der) => der,
            Err(e) => {
                forget_or_restore(&mut inner, id, origin);
                return Err(EnrollError::Issue(e));
            }
        };
        let Some(entry) = inner.requests.get(&id).cloned() else {
            return Err(EnrollError::Vanished { id });
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
            Err(e) => {
                forget_or_restore(&mut inner, id, origin);
                Err(EnrollError::Store(e))
            }
        }
    }
}

fn forget_or_restore(inner: &mut Inner, id: u64, origin: EntryOrigin) {
    if origin == EntryOrigin::Pending {
        if let Some(e) = inner.requests.get_mut(&id) {
            e.state = EntryState::Pending;
        }
    } else {
        inner.requests.remove(&id);
    }
}
