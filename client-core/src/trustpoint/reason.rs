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

/// Something worth logging that by itself changes nothing the host must act on: carried by
/// `Event::Warning`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// An answer arrived while no request was outstanding; it was dropped.
    #[error("an answer arrived while no request was outstanding")]
    UnexpectedAnswer,
    /// A request could not be built; the attempt counts as failed (T-13).
    #[error("{0}")]
    RequestNotBuilt(RequestFailure),
    /// A PKIOperation answer failed K-14/K-17: a transport failure, CONNECT RETRY follows.
    #[error("{0}")]
    BadCertRep(ReplyProblem),
    /// GetNextCACert gave no usable rollover CA certificate (K-8 (1), K-9): retried, or for a
    /// manual SHADOW a RENEW instead (K-15).
    #[error("{0}")]
    NextCaCert(NextCaProblem),
    /// K-19: the identity reaches the CA's expiry but the CA does not advertise GetNextCACert,
    /// so the renewal goes to the active CA.
    #[error(
        "the identity reaches the CA's expiry but the CA does not advertise GetNextCACert: \
         renewing against the active CA"
    )]
    NoGetNextCaCert,
    /// K-2: certificates of a CA+RA GetCACert answer that are not RA certificates issued by the
    /// CA and valid now were ignored.
    #[error(
        "{count} certificate(s) of the GetCACert answer ignored: not an RA certificate issued by \
         the CA and valid now"
    )]
    IgnoredCertificates {
        /// How many.
        count: usize,
    },
}

/// Why a request could not be built (K-5, K-6, K-8 (3)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestFailure {
    /// No trusted CA certificate.
    #[error("the trustpoint is not authenticated")]
    NotAuthenticated,
    /// A SHADOW request without a stored rollover CA certificate.
    #[error("no rollover CA certificate is stored")]
    NoRolloverCa,
    /// The new key pair could not be generated.
    #[error("key generation failed")]
    KeyGeneration,
    /// The CSR could not be built or read back.
    #[error("cannot build the CSR")]
    Csr,
    /// The self-signed signer certificate could not be built.
    #[error("cannot build the signer certificate: {0}")]
    SignerCertificate(scep_proto::Error),
    /// The pkiMessage could not be built.
    #[error("cannot build the pkiMessage: {0}")]
    Message(scep_proto::Error),
}

/// Why a PKIOperation answer is not believed (K-14, K-17): each is a transport failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyProblem {
    /// No answer (the transport's error, as text).
    #[error("PKIOperation failed: {0}")]
    Transport(String),
    /// Another HTTP status than 200.
    #[error("PKIOperation answered HTTP {0}")]
    HttpStatus(u16),
    /// Not `application/x-pki-message`.
    #[error("PKIOperation answer has the wrong content type")]
    ContentType,
    /// The CertRep does not decode.
    #[error("CertRep undecodable: {0}")]
    Undecodable(scep_proto::Error),
    /// The CertRep's sid names no certificate this trustpoint expects to sign (the CA or RA it
    /// pinned), whatever the CertRep carries.
    #[error("CertRep signed by a certificate other than the CA's or the RA's")]
    UnexpectedSigner,
    /// The signature does not verify with the expected certificate.
    #[error("CertRep signature: {0}")]
    Signature(scep_proto::Error),
    /// The signed content cannot be read (attributes, envelope, certificates).
    #[error("CertRep unreadable: {0}")]
    Unreadable(scep_proto::Error),
    /// Another transactionID than the request's (S-24).
    #[error("CertRep transactionID mismatch")]
    TransactionId,
    /// A recipientNonce other than the last senderNonce (S-24).
    #[error("CertRep recipientNonce mismatch")]
    RecipientNonce,
    /// The request key cannot be encoded for the comparison.
    #[error("cannot encode the request key")]
    RequestKey,
    /// SUCCESS without a certificate for the request key.
    #[error("no issued certificate for the request key")]
    NoCertificateForKey,
    /// The issued certificate names another issuer than the addressed CA.
    #[error("issued certificate has another issuer")]
    ForeignIssuer,
    /// The issued certificate's signature does not verify with the addressed CA's key.
    #[error("issued certificate signature does not verify with the CA key")]
    IssuerSignature,
    /// A pkiStatus this client does not know.
    #[error("unknown CertRep status")]
    UnknownStatus,
}

impl ReplyProblem {
    /// Whether the answer was refused for DES or MD5 while `legacy_algorithms` is off
    /// (S-37, S-38).
    #[must_use]
    pub fn is_legacy_refusal(&self) -> bool {
        matches!(
            self,
            Self::Undecodable(e) | Self::Signature(e) | Self::Unreadable(e)
                if matches!(e, scep_proto::Error::LegacyAlgorithmDisabled { .. })
        )
    }
}

/// Why GetNextCACert gave no rollover CA certificate (K-8 (1), S-33).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NextCaProblem {
    /// No answer (the transport's error, as text).
    #[error("GetNextCACert failed: {0}")]
    Transport(String),
    /// Another HTTP status than 200.
    #[error("GetNextCACert answered HTTP {0}")]
    HttpStatus(u16),
    /// The answer does not decode or does not verify with the active CA.
    #[error("GetNextCACert answer rejected: {0}")]
    Rejected(scep_proto::Error),
    /// The answer holds no certificate that can succeed the active CA.
    #[error("GetNextCACert holds no rollover CA")]
    NoRolloverCa,
    /// The rollover CA certificate fails the checks K-2 applies to a CA certificate
    /// (self-signature, usable key, validity at the activation instant); the current CA is
    /// kept.
    #[error("GetNextCACert rollover CA refused: {0}")]
    InvalidRolloverCa(AuthFailure),
}
