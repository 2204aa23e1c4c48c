//! Certificate and CRL issuance: the CA certificate (C-1), the rollover CA certificate (C-22),
//! identity certificates from a proof-checked CSR (C-10, S-26), the CRL (C-21) and the IOS
//! fingerprint (C-28).
//!
//! Everything here is a pure function: time, serial numbers and randomness (RSA blinding, key
//! generation) are arguments. The CA allocates serials durably before it calls in (C-20).

mod cert;
mod crl;
mod csr;
mod error;
mod fingerprint;
mod hash;
mod key;
mod time;

pub use self::{
    cert::{
        CaCertParams, IdentityParams, RolloverCaParams, identity_certificate, identity_validity,
        rollover_ca_certificate, rollover_identity_validity_for, self_signed_ca_certificate,
    },
    crl::{CrlParams, RevokedSerial, certificate_revocation_list},
    csr::VerifiedCsr,
    error::IssueError,
    fingerprint::md5_fingerprint,
    hash::{HashAlgorithm, SignatureConfig},
    key::{
        CaKey, MAX_RSA_BITS, MIN_RSA_BITS, RsaKey, certificate_serial, generate_rsa_key,
        key_identifier,
    },
    time::{certificate_validity, from_x509_time, to_x509_time},
};
