//! The crate's one error type (STYLE "Errors"): grouped by cause, each variant naming the
//! layer and field, mapped to a SCEP failInfo in [`Error::fail_info`] (SPEC C-5, C-6).

use crate::attrs::FailInfo;

/// Everything that can go wrong while decoding, verifying, decrypting or building SCEP data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- peer data: structure -------------------------------------------------------------
    /// The bytes of a layer do not decode.
    #[error("{layer}: malformed encoding ({problem})")]
    Malformed {
        /// Where.
        layer: Layer,
        /// What kind of encoding fault.
        problem: DerProblem,
    },
    /// A ContentInfo or eContent carries a content type other than the one required here.
    #[error("{layer}: unexpected content type")]
    UnexpectedContentType {
        /// Where.
        layer: Layer,
    },
    /// A required field is absent.
    #[error("{layer}: {field} missing")]
    Missing {
        /// Where.
        layer: Layer,
        /// What.
        field: Field,
    },
    /// A field that must hold exactly one element holds none or several.
    #[error("{layer}: wrong number of {field}")]
    Count {
        /// Where.
        layer: Layer,
        /// What.
        field: Field,
    },
    /// A signed attribute is missing, repeated or has a bad value (S-13, S-18).
    #[error("attribute {attr}: {problem}")]
    Attribute {
        /// Which attribute.
        attr: AttrName,
        /// What is wrong with it.
        problem: AttrProblem,
    },
    /// An input budget of S-40 was exceeded.
    #[error("input limit exceeded: {0}")]
    Limit(LimitKind),

    // ----- peer data: algorithms ------------------------------------------------------------
    /// An algorithm this crate does not implement (S-37, S-38, S-17).
    #[error("{layer}: unsupported {role} algorithm")]
    UnsupportedAlgorithm {
        /// Where.
        layer: Layer,
        /// What the algorithm is for.
        role: AlgRole,
    },
    /// DES-CBC or MD5 while [`crate::Profile::legacy_algorithms`] is off.
    #[error("{layer}: legacy {role} algorithm refused by profile")]
    LegacyAlgorithmDisabled {
        /// Where.
        layer: Layer,
        /// What the algorithm is for.
        role: AlgRole,
    },
    /// RSASSA-PSS parameters that are missing, malformed or outside the accepted policy
    /// (see [`crate::SignatureScheme`]).
    #[error("{layer}: RSASSA-PSS {problem}")]
    PssParameters {
        /// Where.
        layer: Layer,
        /// What is wrong with them.
        problem: crate::PssProblem,
    },
    /// An RSA key outside 1024 … 4096 bits or not an RSA key at all (S-39).
    #[error("{layer}: unsupported key")]
    UnsupportedKey {
        /// Whose key.
        layer: Layer,
    },

    // ----- peer data: cryptographic checks --------------------------------------------------
    /// No certificate matches the SignerInfo's `sid` (S-17), or `sid` does not name the
    /// certificate the verifier expects (K-17).
    #[error("signer certificate not found")]
    SignerNotFound,
    /// The `messageDigest` attribute differs from the digest of the eContent octets (S-19).
    #[error("messageDigest does not match the content")]
    MessageDigestMismatch,
    /// The SignerInfo signature does not verify (S-19).
    #[error("signature does not verify")]
    SignatureInvalid,
    /// The RecipientInfo does not name the certificate offered for decryption (C-6).
    #[error("envelope is not addressed to this certificate")]
    RecipientMismatch,
    /// Content decryption failed (bad padding, wrong key, bad IV or length). A content key
    /// that does not unwrap ends here too, never earlier (no padding oracle, S-20).
    #[error("content decryption failed")]
    ContentDecryptionFailed,

    // ----- API misuse -----------------------------------------------------------------------
    /// A value handed to a builder or constructor is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(Argument),
    /// DER encoding failed while building the named layer.
    #[error("{layer}: encoding failed")]
    Encode {
        /// Which layer was being built.
        layer: Layer,
    },
    /// An RSA private-key or public-key operation failed while building.
    #[error("RSA operation failed while building {layer}")]
    Crypto {
        /// Which layer was being built.
        layer: Layer,
    },
    /// The password does not open an encrypted private key (or what it opens is not one).
    #[error("the password does not decrypt the private key")]
    KeyDecryptionFailed,
}

impl Error {
    /// The SCEP failInfo a CA answers with when a request fails with this error (C-5, C-6):
    /// unsupported or refused algorithms ⇒ badAlg; signature, digest and decryption failures ⇒
    /// badMessageCheck; anything undecodable or misaddressed ⇒ badRequest. `None` for errors
    /// that are our own fault (API misuse).
    pub fn fail_info(&self) -> Option<FailInfo> {
        match self {
            Self::Malformed { .. }
            | Self::UnexpectedContentType { .. }
            | Self::Missing { .. }
            | Self::Count { .. }
            | Self::Attribute { .. }
            | Self::Limit(_)
            | Self::RecipientMismatch => Some(FailInfo::BadRequest),
            Self::UnsupportedAlgorithm { .. }
            | Self::LegacyAlgorithmDisabled { .. }
            | Self::PssParameters { .. }
            | Self::UnsupportedKey { .. } => Some(FailInfo::BadAlg),
            Self::SignerNotFound
            | Self::MessageDigestMismatch
            | Self::SignatureInvalid
            | Self::ContentDecryptionFailed => Some(FailInfo::BadMessageCheck),
            Self::InvalidArgument(_)
            | Self::Encode { .. }
            | Self::Crypto { .. }
            | Self::KeyDecryptionFailed => None,
        }
    }

    pub(crate) fn malformed(layer: Layer, err: &der::Error) -> Self {
        Self::Malformed {
            layer,
            problem: DerProblem::from_der_error(err),
        }
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = core::result::Result<T, E>;

macro_rules! display_by_name {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(match self { $(Self::$v => $s),+ })
            }
        }
    };
}

/// The protocol layer an error refers to (S-40: errors name the failing layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layer {
    /// The raw input before any structure (size and depth budgets, BER normalisation).
    Input,
    /// The outer `ContentInfo`.
    ContentInfo,
    /// The `SignedData`.
    SignedData,
    /// `encapContentInfo` / `eContent`.
    EncapsulatedContent,
    /// The `certificates` set or one certificate in it.
    Certificates,
    /// The `SignerInfo`.
    SignerInfo,
    /// The signed attributes.
    SignedAttributes,
    /// The pkcsPKIEnvelope `EnvelopedData`.
    EnvelopedData,
    /// A `RecipientInfo`.
    RecipientInfo,
    /// `encryptedContentInfo` and its ciphertext.
    EncryptedContent,
    /// The decrypted messageData (S-21).
    MessageData,
    /// A degenerate certs-only `SignedData` (S-30).
    CertsOnly,
    /// A private key handed in by the caller.
    PrivateKey,
    /// A public key (a SubjectPublicKeyInfo) handed in by the caller.
    PublicKey,
}

display_by_name!(Layer {
    Input => "input",
    ContentInfo => "ContentInfo",
    SignedData => "SignedData",
    EncapsulatedContent => "encapContentInfo",
    Certificates => "certificates",
    SignerInfo => "SignerInfo",
    SignedAttributes => "signed attributes",
    EnvelopedData => "EnvelopedData",
    RecipientInfo => "RecipientInfo",
    EncryptedContent => "encryptedContentInfo",
    MessageData => "messageData",
    CertsOnly => "certs-only SignedData",
    PrivateKey => "private key",
    PublicKey => "public key",
});

/// A field inside a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `eContent`.
    EContent,
    /// `signerInfos`.
    SignerInfos,
    /// `signedAttrs`.
    SignedAttributes,
    /// `recipientInfos`.
    RecipientInfos,
    /// `encryptedContent`.
    EncryptedContent,
    /// The content-encryption IV parameter.
    Iv,
    /// `certificates`.
    Certificates,
}

display_by_name!(Field {
    EContent => "eContent",
    SignerInfos => "signerInfos",
    SignedAttributes => "signedAttrs",
    RecipientInfos => "recipientInfos",
    EncryptedContent => "encryptedContent",
    Iv => "IV",
    Certificates => "certificates",
});

/// The kind of encoding fault (a coarse view of `der`'s error kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerProblem {
    /// The input ends inside an element.
    Truncated,
    /// An element has an unexpected tag.
    Tag,
    /// A length is invalid or inconsistent.
    Length,
    /// Bytes follow the last element.
    TrailingData,
    /// An element's value is invalid for its type.
    Value,
}

impl DerProblem {
    fn from_der_error(err: &der::Error) -> Self {
        use der::ErrorKind as K;
        match err.kind() {
            K::Incomplete { .. } => Self::Truncated,
            K::TagUnexpected { .. } | K::TagUnknown { .. } | K::TagNumberInvalid => Self::Tag,
            K::Length { .. } | K::Overflow | K::Overlength | K::IndefiniteLength => Self::Length,
            K::TrailingData { .. } => Self::TrailingData,
            _ => Self::Value,
        }
    }
}

display_by_name!(DerProblem {
    Truncated => "truncated",
    Tag => "unexpected tag",
    Length => "bad length",
    TrailingData => "trailing data",
    Value => "bad value",
});

/// Names of the signed attributes of S-13/S-18.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrName {
    /// `contentType`.
    ContentType,
    /// `messageDigest`.
    MessageDigest,
    /// `signingTime`.
    SigningTime,
    /// `messageType`.
    MessageType,
    /// `pkiStatus`.
    PkiStatus,
    /// `failInfo`.
    FailInfo,
    /// `failInfoText`.
    FailInfoText,
    /// `senderNonce`.
    SenderNonce,
    /// `recipientNonce`.
    RecipientNonce,
    /// `transactionID`.
    TransactionId,
}

display_by_name!(AttrName {
    ContentType => "contentType",
    MessageDigest => "messageDigest",
    SigningTime => "signingTime",
    MessageType => "messageType",
    PkiStatus => "pkiStatus",
    FailInfo => "failInfo",
    FailInfoText => "failInfoText",
    SenderNonce => "senderNonce",
    RecipientNonce => "recipientNonce",
    TransactionId => "transactionID",
});

/// What is wrong with an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrProblem {
    /// Required but absent.
    Missing,
    /// Present more than once.
    Duplicate,
    /// Its SET holds zero or several values.
    ValueCount,
    /// The value has the wrong ASN.1 type or does not decode.
    Encoding,
    /// The value decodes but is out of range (unknown status, non-numeric type …).
    Value,
    /// A nonce that is not exactly 16 bytes (S-13).
    Size,
    /// Present where the rules forbid it (failInfo without FAILURE, S-12).
    Unexpected,
}

display_by_name!(AttrProblem {
    Missing => "missing",
    Duplicate => "repeated",
    ValueCount => "wrong number of values",
    Encoding => "bad encoding",
    Value => "bad value",
    Size => "wrong size",
    Unexpected => "not allowed here",
});

/// What an algorithm identifier is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlgRole {
    /// A message digest.
    Digest,
    /// The SignerInfo signature algorithm.
    Signature,
    /// Key transport of the content-encryption key.
    KeyTransport,
    /// Content encryption.
    ContentEncryption,
    /// A certificate's public key algorithm.
    PublicKey,
}

display_by_name!(AlgRole {
    Digest => "digest",
    Signature => "signature",
    KeyTransport => "key transport",
    ContentEncryption => "content encryption",
    PublicKey => "public key",
});

/// Which budget of S-40 was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitKind {
    /// Input larger than 256 KiB.
    InputSize,
    /// Nesting deeper than 32.
    Depth,
    /// More than 16 certificates in one SignedData.
    Certificates,
    /// More than 4 SignerInfos.
    SignerInfos,
    /// More than 64 signed attributes.
    Attributes,
    /// More than 4 RecipientInfos.
    RecipientInfos,
    /// More elements than the normaliser's budget ([`crate::Limits::max_elements`]).
    Elements,
}

display_by_name!(LimitKind {
    InputSize => "input size",
    Depth => "nesting depth",
    Certificates => "certificate count",
    SignerInfos => "SignerInfo count",
    Attributes => "attribute count",
    RecipientInfos => "RecipientInfo count",
    Elements => "element count",
});

/// An argument a builder or constructor refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Argument {
    /// A transactionID that is empty, longer than 128 characters or not printable (S-23).
    TransactionId,
    /// A nonce that is not 16 bytes.
    Nonce,
    /// A SUCCESS CertRep without a recipient certificate, or an empty certificate list.
    CertRepContent,
    /// A message type that cannot be built as a request.
    MessageType,
    /// A failInfoText on a non-FAILURE reply (S-12).
    FailInfoText,
    /// Certificate parameters (serial length, validity order or range).
    Certificate,
    /// A PBKDF2 iteration count below [`crate::PrivateKey::MIN_PBKDF2_ITERATIONS`].
    Pbkdf2Iterations,
}

display_by_name!(Argument {
    TransactionId => "transactionID",
    Nonce => "nonce",
    CertRepContent => "CertRep content",
    MessageType => "message type",
    FailInfoText => "failInfoText",
    Certificate => "certificate parameters",
    Pbkdf2Iterations => "PBKDF2 iteration count",
});
