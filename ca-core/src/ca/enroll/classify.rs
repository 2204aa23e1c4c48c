//! C-8: how the CA sees the signer of a request, decided from the clear signer certificate
//! before anything is decrypted (C-6), and the request as it stands once opened.

use pki_timers::{Instant, Validity};
use scep_proto::{CertValidity, Certificate, Profile};

use super::Addressee;
use crate::ca::ra::Standing;
use crate::ca::state::Generation;
use crate::ca::{Ca, Snapshot};
use crate::host::{Requester, SignerKind};
use crate::issue::certificate_serial;
use crate::storage::Store;

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

/// C-8: how the CA sees the signer of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignerClass {
    /// Self-signed: a new enrolment.
    SelfSigned,
    /// Issued by the active CA, signature verified, in force now; revocation is checked
    /// under the lock.
    Credential { serial: u64, validity: Validity },
    /// Anything else: a new enrolment with an untrusted signer.
    Untrusted,
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
    crate::ca::records::hex(&scep_proto::DigestAlg::Sha256.digest(key))
}

/// The subjectPublicKey bits of a certificate: the requester's key (C-12, C-13).
pub(crate) fn cert_key(cert: &Certificate) -> Vec<u8> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

/// A request past C-6: outer signature verified, envelope decrypted, messageData parsed.
pub(crate) struct Opened<'a> {
    /// The transactionID.
    pub(crate) tid: &'a str,
    /// The signer certificate (the recipient of a SUCCESS envelope).
    pub(crate) signer: &'a Certificate,
    /// How the CA sees the signer (C-8), revocation applied.
    pub(crate) class: SignerClass,
    /// The CA certificate the envelope was addressed to (C-6).
    pub(crate) addressee: Addressee,
    /// How C-9 steps 5 and 6 see the signer.
    pub(crate) standing: Standing,
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
}
