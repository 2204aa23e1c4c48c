//! Certificate and CRL issuance: the CA certificate (C-1), the rollover CA certificate (C-22),
//! identity certificates from a proof-checked CSR (C-10, S-26), the CRL (C-21) and the IOS
//! fingerprint (C-28).
//!
//! Everything here is a pure function: time, serial numbers and randomness (RSA blinding, key
//! generation) are arguments. The CA allocates serials durably before it calls in (C-20).
//!
//! [`crate::Ca`] uses this toolkit for everything it signs; it is public so that a tool or a
//! test can issue or check a certificate the same way without running a CA (the CA's own
//! [`VerifiedCsr`] also reaches the host's review, [`crate::host::RequestView`]).

mod cert;
mod crl;
mod csr;
mod error;
mod fingerprint;
mod key;
mod signature;
mod time;

pub(crate) use self::cert::ra_certificate;
pub(crate) use self::csr::CsrSummary;
pub(crate) use self::key::generate_key;
pub use self::{
    cert::{
        CaCertParams, IdentityParams, RolloverCaParams, identity_certificate, identity_validity,
        rollover_ca_certificate, rollover_identity_validity_for, self_signed_ca_certificate,
    },
    crl::{CrlParams, RevokedSerial, certificate_revocation_list},
    csr::VerifiedCsr,
    error::IssueError,
    fingerprint::md5_fingerprint,
    key::{CaKey, certificate_serial, key_identifier},
    signature::SignatureConfig,
    time::to_x509_time,
};
