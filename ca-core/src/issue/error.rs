//! The one error type of the issuance module.

use der::oid::ObjectIdentifier;
use pki_timers::{Instant, TimerError};

use scep_proto::{DigestAlg, PrivateKey};

/// Why a certificate, CRL or key could not be made.
///
/// Grouped by cause: the request (peer data), the CA's own inputs and configuration, and the
/// cryptographic back end. The CA maps the request group to CertRep failInfo values:
/// [`IssueError::ProofOfPossession`] is badMessageCheck (S-26), the algorithm variants are
/// badAlg, [`IssueError::IssuingCaExpired`] and the other request errors are badRequest (C-10).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    // -- the certification request (peer data) --
    /// The CSR is not a DER PKCS#10 CertificationRequest.
    #[error("certification request is not valid DER PKCS#10")]
    MalformedRequest(#[source] der::Error),
    /// The CSR's key is not an RSA key (S-39: RSA only).
    #[error("certification request key algorithm {oid} is not rsaEncryption")]
    UnsupportedKeyAlgorithm {
        /// The SubjectPublicKeyInfo algorithm.
        oid: ObjectIdentifier,
    },
    /// An RSA public key that does not decode.
    #[error("RSA public key does not decode")]
    InvalidPublicKey,
    /// An RSA modulus outside 1024–4096 bits (S-39), in a CSR or asked of key generation.
    #[error("RSA key of {bits} bits is outside {min}-{max}", min = PrivateKey::MIN_BITS, max = PrivateKey::MAX_BITS)]
    KeySizeOutOfRange {
        /// The modulus length.
        bits: u32,
    },
    /// The CSR is signed with something other than RSA PKCS#1 v1.5 with a known digest.
    #[error("certification request signature algorithm {oid} is not supported")]
    UnsupportedSignatureAlgorithm {
        /// The signatureAlgorithm of the CSR.
        oid: ObjectIdentifier,
    },
    /// MD5 (in a CSR or as the configured hash) while `legacy_algorithms` is off (S-38).
    #[error("{hash} needs legacy algorithms to be enabled")]
    LegacyAlgorithmRefused {
        /// The refused digest.
        hash: DigestAlg,
    },
    /// The CSR is signed with RSASSA-PSS whose parameters are missing, malformed or outside
    /// the accepted policy (FAILURE badAlg).
    #[error("certification request RSASSA-PSS {problem}")]
    PssParameters {
        /// What is wrong with them.
        problem: scep_proto::PssProblem,
    },
    /// The CSR self-signature does not verify: no proof of possession (S-26).
    #[error("certification request signature does not verify (proof of possession failed)")]
    ProofOfPossession,
    /// The extensionRequest attribute is malformed: more than one, empty, or an extension
    /// repeated.
    #[error("certification request has a malformed extensionRequest attribute")]
    MalformedExtensionRequest,
    /// A requested extension the CA copies (SAN, keyUsage, extendedKeyUsage, basicConstraints)
    /// does not decode.
    #[error("requested extension {oid} does not decode")]
    InvalidRequestedExtension {
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// The CSR has an empty subject and no subjectAltName: the certificate would name no one
    /// (RFC 5280 4.1.2.6).
    #[error("certification request names no subject and no subjectAltName")]
    EmptySubject,

    // -- the CA's inputs and configuration --
    /// T-7 gives nothing: the issuing CA has expired by the issuance instant (C-10, FAILURE
    /// badRequest).
    #[error("issuing CA expired: cannot issue at {at}, CA notAfter {issuing_not_after}")]
    IssuingCaExpired {
        /// The would-be issuance instant.
        at: Instant,
        /// The issuing CA's notAfter.
        issuing_not_after: Instant,
    },
    /// The requested validity is not inside the issuing CA's validity (T-7: a certificate
    /// never outlives its issuer).
    #[error("validity is not inside the issuing CA's validity")]
    OutlivesIssuer,
    /// A lifetime out of its SPEC §3.1 range, or instants past `u64` seconds.
    #[error("timer arithmetic: {0}")]
    Timer(#[source] TimerError),
    /// Serial number zero: RFC 5280 serials are positive (C-3 starts at 1).
    #[error("serial number 0 is not allowed")]
    ZeroSerial,
    /// A certificate serial that is not a positive integer of at most 64 bits.
    #[error("certificate serial number is not a positive 64-bit integer")]
    SerialOutOfRange,
    /// An instant after 9999-12-31T23:59:59Z, which X.509 cannot encode.
    #[error("instant {at} cannot be encoded in X.509 (after year 9999)")]
    TimeOutOfRange {
        /// The instant.
        at: Instant,
    },
    /// The CA certificate's public key is not the CA private key's.
    #[error("CA certificate does not match the CA key")]
    KeyMismatch,
    /// A certificate handed in (the CA's own, or one to read) is unusable: empty validity, an
    /// extension that does not decode, or a CA certificate without cA=TRUE.
    #[error("certificate is unusable here")]
    InvalidCertificate,
    /// A private key that does not decode as an RSA PKCS#8 key.
    #[error("private key does not decode as RSA PKCS#8")]
    InvalidPrivateKey,

    // -- cryptographic back end --
    /// RSA key generation failed.
    #[error("RSA key generation failed")]
    KeyGeneration,
    /// The RSA signing operation failed.
    #[error("RSA signing failed")]
    Signing,
    /// Encoding something the CA builds failed (a size limit in the DER encoder).
    #[error("DER encoding failed")]
    Encoding(#[source] der::Error),
}

impl IssueError {
    /// Maps a `pki-timers` error: "nothing issuable" becomes [`IssueError::IssuingCaExpired`].
    pub(crate) fn from_timer(e: TimerError) -> Self {
        match e {
            TimerError::NotIssuable {
                at,
                issuing_not_after,
            } => Self::IssuingCaExpired {
                at,
                issuing_not_after,
            },
            other => Self::Timer(other),
        }
    }
}
