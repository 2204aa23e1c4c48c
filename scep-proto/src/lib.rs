#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Decoders see attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod algorithms;
mod attrs;
mod cert_rep;
mod certs_only;
mod der_seam;
mod enveloped;
mod error;
mod ident;
mod message;
mod next_ca;
mod oid;
mod signed;
mod signer_cert;

pub use crate::algorithms::{ContentCipher, DigestAlg, KeyTransport, Profile};
pub use crate::attrs::{FailInfo, MessageType, Nonce, PkiStatus, ScepAttributes, TransactionId};
pub use crate::cert_rep::{CertRep, CertRepBuilder, CertRepContent, CertRepStatus};
pub use crate::certs_only::{CaCerts, CertsOnly};
pub use crate::enveloped::{Envelope, Recipient};
pub use crate::error::{
    AlgRole, Argument, AttrName, AttrProblem, DerProblem, Error, Field, Layer, LimitKind, Result,
};
pub use crate::ident::{CertId, Certificate, IssuerAndSerialNumber, Lenient, names_match};
pub use crate::message::{
    Csr, IssuerAndSubject, PkiMessage, Request, RequestBody, RequestBuilder, VerifiedMessage,
};
pub use crate::next_ca::NextCaCerts;
pub use crate::signed::{SignedMessage, Signer};
pub use crate::signer_cert::SelfSigned;

/// Object identifiers used by SCEP (S-13, S-14).
pub mod oids {
    pub use crate::oid::*;
}
