#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Decoders see attacker-controlled bytes: no index or arithmetic that can panic outside tests.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod algorithms;
mod attrs;
mod ber;
mod caps;
mod cert;
mod cert_rep;
mod certs_only;
mod enveloped;
mod error;
mod http;
mod ident;
mod key;
mod limits;
mod message;
mod next_ca;
mod oid;
mod scheme;
mod signed;
mod signer_cert;

pub use crate::{
    algorithms::{ContentCipher, DigestAlg, KeyTransport, Profile},
    attrs::{FailInfo, MessageType, Nonce, PkiStatus, ScepAttributes, TransactionId},
    caps::{Capabilities, Capability, CapsProfile},
    cert::CertValidity,
    cert_rep::{CertRep, CertRepBuilder, CertRepContent, CertRepStatus},
    certs_only::{CaCerts, CertsOnly},
    enveloped::{Envelope, Recipient},
    error::{
        AlgRole, Argument, AttrName, AttrProblem, DerProblem, Error, Field, Layer, LimitKind,
        Result,
    },
    http::{
        ClientRequest, ContentType, ErrorStatus, HttpError, HttpLimits, HttpResponse, Method,
        Operation, RequestPart, ScepRequest, ScepResponse, decode_get_message, encode_get_message,
    },
    ident::{CertId, Certificate, IssuerAndSerialNumber, Lenient, names_match},
    key::{PrivateKey, PublicKey, RSA_BACKEND},
    limits::Limits,
    message::{
        Csr, IssuerAndSubject, PkiMessage, Request, RequestBody, RequestBuilder, VerifiedMessage,
    },
    next_ca::NextCaCerts,
    scheme::{PssParams, PssProblem, SignatureScheme},
    signed::{SignedMessage, Signer},
    signer_cert::SelfSigned,
};

// The BER normaliser's own entry points, public for the fuzz targets (fuzz/) only: the codecs
// above are the API.
#[doc(hidden)]
pub use crate::ber::{BerError, flatten_constructed_string, normalize_ber};

/// Object identifiers used by SCEP (S-13, S-14).
pub mod oids {
    pub use crate::oid::*;
}
