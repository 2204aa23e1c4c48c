//! Why things went wrong, as types: what [`super::Event`] carries for the host to match on
//! and to log (`Display`).

/// Why authentication failed (K-2): carried by `Event::AuthenticationFailed`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// GetCACert got no answer (the transport's error, as text).
    #[error("GetCACert failed: {0}")]
    Transport(String),
    /// GetCACert answered another HTTP status than 200.
    #[error("GetCACert answered HTTP {0}")]
    HttpStatus(u16),
    /// The GetCACert answer does not decode.
    #[error("GetCACert answer undecodable: {0}")]
    Undecodable(scep_proto::Error),
    /// A CA+RA answer holds no certificate that is the CA's (self-signed, or the issuer of
    /// the others).
    #[error("no CA certificate found in the GetCACert answer")]
    NoCaCertificate,
    /// The CA certificate's public key is not usable (S-39).
    #[error("the CA certificate's key is not usable: {0}")]
    CaKey(scep_proto::Error),
    /// The CA certificate names itself as its issuer but its signature does not verify with
    /// its own key: it is corrupt or forged, whatever fingerprint it has.
    #[error(
        "the CA certificate's self-signature does not verify ({0}): the certificate is corrupt \
         or forged"
    )]
    CaSelfSignature(scep_proto::Error),
    /// The CA certificate is not valid at the time of authentication.
    #[error("the CA certificate is not valid now")]
    CaNotValidNow,
    /// The CA certificate cannot be re-encoded to compute its fingerprint.
    #[error("cannot encode the CA certificate")]
    CaEncoding,
    /// The CA certificate does not have the configured fingerprint.
    #[error("the CA certificate does not match the configured fingerprint")]
    FingerprintMismatch,
    /// The host refused the CA certificate (`approve_ca(false)`).
    #[error("the host refused the CA certificate")]
    RefusedByHost,
}
