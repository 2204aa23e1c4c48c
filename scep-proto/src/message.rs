//! pkiMessage requests (RFC 8894 §3.2 and §3.3; SPEC S-17 … S-22): two-step opening and
//! builders.

use crate::ident::Certificate;
use der::{Decode, Encode, Sequence};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

use crate::algorithms::{ContentCipher, DigestAlg, KeyTransport, Profile};
use crate::attrs::{MessageType, Nonce, ScepAttributes, TransactionId};
use crate::enveloped::{Envelope, build_enveloped};
use crate::error::{Argument, Error, Layer, Result};
use crate::ident::CertId;
use crate::oid;
use crate::signed::{ParsedSigned, SignedContent, Signer, build_signed};

use crate::ident::IssuerAndSerialNumber;

/// CertPoll messageData (RFC 8894 §3.3.3; S-21).
///
/// ```text
/// IssuerAndSubject ::= SEQUENCE {
///     issuer Name,
///     subject Name }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct IssuerAndSubject {
    /// Subject DN of the CA certificate the request targets.
    pub issuer: Name,
    /// Subject DN of the CSR being polled for.
    pub subject: Name,
}

/// A PKCS #10 certification request (RFC 2986) as received: DER plus the parsed form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    der: Vec<u8>,
    req: CertReq,
}

impl Csr {
    /// Parses PKCS #10 (BER accepted; the bytes are kept as received).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let normalized = crate::ber::to_der(der, Layer::MessageData)?;
        let req =
            CertReq::from_der(&normalized).map_err(|e| Error::malformed(Layer::MessageData, &e))?;
        Ok(Self {
            der: der.to_vec(),
            req,
        })
    }

    /// The DER bytes exactly as received.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed request.
    pub fn cert_req(&self) -> &CertReq {
        &self.req
    }
}

/// The messageData of a request, by messageType (S-21).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBody {
    /// PKCSReq (19): initial enrolment or IOS-style renewal.
    PkcsReq(Csr),
    /// RenewalReq (17).
    RenewalReq(Csr),
    /// CertPoll (20).
    CertPoll(IssuerAndSubject),
    /// GetCert (21).
    GetCert(IssuerAndSerialNumber),
    /// GetCRL (22).
    GetCrl(IssuerAndSerialNumber),
    /// Any other messageType: the decrypted bytes, unparsed.
    Unknown(u32, Vec<u8>),
}

impl RequestBody {
    /// The messageType this body travels with.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::PkcsReq(_) => MessageType::PkcsReq,
            Self::RenewalReq(_) => MessageType::RenewalReq,
            Self::CertPoll(_) => MessageType::CertPoll,
            Self::GetCert(_) => MessageType::GetCert,
            Self::GetCrl(_) => MessageType::GetCrl,
            Self::Unknown(n, _) => MessageType::from_code(*n),
        }
    }

    /// Parses decrypted messageData for `message_type` (S-21; BER accepted).
    pub fn from_der(message_type: MessageType, input: &[u8]) -> Result<Self> {
        let m = |e: der::Error| Error::malformed(Layer::MessageData, &e);
        if let MessageType::PkcsReq | MessageType::RenewalReq = message_type {
            let csr = Csr::from_der(input)?;
            return Ok(match message_type {
                MessageType::RenewalReq => Self::RenewalReq(csr),
                _ => Self::PkcsReq(csr),
            });
        }
        let der = &*crate::ber::to_der(input, Layer::MessageData)?;
        Ok(match message_type {
            MessageType::PkcsReq | MessageType::RenewalReq => {
                return Err(Error::UnexpectedContentType {
                    layer: Layer::MessageData,
                });
            }
            MessageType::CertPoll => Self::CertPoll(IssuerAndSubject::from_der(der).map_err(m)?),
            MessageType::GetCert => Self::GetCert(IssuerAndSerialNumber::from_der(der).map_err(m)?),
            MessageType::GetCrl => Self::GetCrl(IssuerAndSerialNumber::from_der(der).map_err(m)?),
            MessageType::CertRep => {
                return Err(Error::UnexpectedContentType {
                    layer: Layer::MessageData,
                });
            }
            MessageType::Unknown(n) => Self::Unknown(n, input.to_vec()),
        })
    }

    /// The messageData DER.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        let e = |_| Error::Encode {
            layer: Layer::MessageData,
        };
        match self {
            Self::PkcsReq(c) | Self::RenewalReq(c) => Ok(c.der.clone()),
            Self::CertPoll(x) => x.to_der().map_err(e),
            Self::GetCert(x) | Self::GetCrl(x) => x.to_der().map_err(e),
            Self::Unknown(_, b) => Ok(b.clone()),
        }
    }
}

/// Step one of opening: a pkiMessage whose outer SignedData and attributes are parsed and
/// typed, but whose signature is not yet checked (S-17, S-18).
#[derive(Clone, Debug)]
pub struct PkiMessage {
    signed: ParsedSigned,
    attrs: ScepAttributes,
    profile: Profile,
}

impl PkiMessage {
    /// Parses a pkiMessage (BER accepted, S-40). No signature check, no decryption.
    pub fn from_der(input: &[u8], profile: &Profile) -> Result<Self> {
        let signed = ParsedSigned::from_der(input, profile)?;
        if signed.content_type != oid::ID_DATA {
            return Err(Error::UnexpectedContentType {
                layer: Layer::EncapsulatedContent,
            });
        }
        let attrs = signed.attrs.scep()?;
        Ok(Self {
            signed,
            attrs,
            profile: *profile,
        })
    }

    /// The typed SCEP attributes (unauthenticated until [`PkiMessage::verify`]).
    pub fn attributes(&self) -> &ScepAttributes {
        &self.attrs
    }

    /// `messageType`.
    pub fn message_type(&self) -> MessageType {
        self.attrs.message_type
    }

    /// `transactionID`.
    pub fn transaction_id(&self) -> &TransactionId {
        &self.attrs.transaction_id
    }

    /// `senderNonce`.
    pub fn sender_nonce(&self) -> Nonce {
        self.attrs.sender_nonce
    }

    /// The SignerInfo's digest algorithm.
    pub fn digest(&self) -> DigestAlg {
        self.signed.digest
    }

    /// The SignerInfo's `sid`.
    pub fn signer_id(&self) -> &CertId {
        &self.signed.sid
    }

    /// The certificates carried in `certificates`.
    pub fn certificates(&self) -> &[Certificate] {
        &self.signed.certificates
    }

    /// The eContent octets (the DER of the pkcsPKIEnvelope); `None` if absent.
    pub fn content(&self) -> Option<&[u8]> {
        self.signed.content.as_deref()
    }

    /// Checks the signature (S-19) with the certificate named by `sid`.
    ///
    /// With `Some(signer)` only that certificate's key is used, and `sid` must name it
    /// ([`Error::SignerNotFound`] otherwise): a client verifying a CertRep passes the CA or RA
    /// certificate it pinned, and a certificate the CertRep carries never stands in for it
    /// (K-17). With `None` the certificate `sid` names among `certificates` is used (a CA
    /// reading a request signed by the requester's own certificate, C-8).
    pub fn verify(self, signer: Option<&Certificate>) -> Result<VerifiedMessage> {
        let cert = self.signed.verify(signer)?;
        Ok(VerifiedMessage {
            msg: self,
            signer: cert,
        })
    }
}

/// A pkiMessage whose signature verified; ready for step two (decryption).
#[derive(Clone, Debug)]
pub struct VerifiedMessage {
    msg: PkiMessage,
    signer: Certificate,
}

impl VerifiedMessage {
    /// The certificate that signed the message.
    pub fn signer(&self) -> &Certificate {
        &self.signer
    }

    /// The parsed message (attributes, digest, certificates …).
    pub fn message(&self) -> &PkiMessage {
        &self.msg
    }

    /// The typed SCEP attributes.
    pub fn attributes(&self) -> &ScepAttributes {
        &self.msg.attrs
    }

    /// The pkcsPKIEnvelope; `None` when eContent is absent or empty (FAILURE/PENDING, S-29).
    pub fn envelope(&self) -> Result<Option<Envelope>> {
        match self.msg.content() {
            None | Some([]) => Ok(None),
            Some(c) => Envelope::from_der(c, &self.msg.profile).map(Some),
        }
    }

    /// Decrypts the envelope with `key` (the key of the certificate its RecipientInfo names)
    /// and parses the messageData (S-21).
    pub fn open_request<R: rand::CryptoRng + ?Sized>(
        &self,
        key: &crate::key::PrivateKey,
        rng: &mut R,
    ) -> Result<Request> {
        let envelope = self.envelope()?.ok_or(Error::Missing {
            layer: Layer::SignedData,
            field: crate::error::Field::EContent,
        })?;
        let plaintext = envelope.decrypt(key, rng)?;
        let body = RequestBody::from_der(self.msg.message_type(), &plaintext)?;
        let first = envelope.recipients().first();
        Ok(Request {
            attributes: self.msg.attrs.clone(),
            digest: self.msg.digest(),
            cipher: envelope.cipher(),
            key_transport: first.map_or(KeyTransport::RsaPkcs1v15, |r| r.key_transport),
            recipient: first.map(|r| r.id.clone()),
            signer: self.signer.clone(),
            body,
        })
    }
}

/// A fully opened request: verified, decrypted, messageData parsed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Request {
    /// Typed SCEP attributes (messageType, transactionID, senderNonce …).
    pub attributes: ScepAttributes,
    /// Digest the client signed with (a CertRep mirrors it, S-27).
    pub digest: DigestAlg,
    /// Content encryption the client used (a CertRep mirrors it, S-28).
    pub cipher: ContentCipher,
    /// Key transport the client used.
    pub key_transport: KeyTransport,
    /// The RecipientInfo identifier (which CA/RA certificate it was encrypted to).
    pub recipient: Option<CertId>,
    /// The signer certificate (recipient of the CertRep envelope).
    pub signer: Certificate,
    /// The messageData.
    pub body: RequestBody,
}

/// Parameters of a request pkiMessage; finish with [`RequestBuilder::build`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RequestBuilder {
    /// `transactionID` (S-23).
    pub transaction_id: TransactionId,
    /// `senderNonce` (S-24).
    pub sender_nonce: Nonce,
    /// Digest for messageDigest and the signature (default SHA-256).
    pub digest: DigestAlg,
    /// Content encryption (default AES-128-CBC).
    pub cipher: ContentCipher,
    /// Key transport (default RSA PKCS #1 v1.5).
    pub key_transport: KeyTransport,
    /// `signingTime` in Unix seconds; `None` leaves it out. Never read from a clock here.
    pub signing_time: Option<u64>,
}

impl RequestBuilder {
    /// A builder with the defaults above.
    pub fn new(transaction_id: TransactionId, sender_nonce: Nonce) -> Self {
        Self {
            transaction_id,
            sender_nonce,
            digest: DigestAlg::Sha256,
            cipher: ContentCipher::Aes128,
            key_transport: KeyTransport::RsaPkcs1v15,
            signing_time: None,
        }
    }

    /// Encrypts `body` to `recipient` (the CA or RA certificate), signs with `signer`, and
    /// returns the DER pkiMessage. All randomness (content key, IV, RSA padding) comes from
    /// `rng`.
    pub fn build<R: rand::CryptoRng + ?Sized>(
        self,
        body: &RequestBody,
        signer: Signer<'_>,
        recipient: &Certificate,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let message_type = body.message_type();
        if message_type == MessageType::CertRep {
            return Err(Error::InvalidArgument(Argument::MessageType));
        }
        let plaintext = body.to_der()?;
        let envelope =
            build_enveloped(&plaintext, recipient, self.cipher, self.key_transport, rng)?;
        let attrs = ScepAttributes {
            message_type,
            transaction_id: self.transaction_id,
            sender_nonce: self.sender_nonce,
            recipient_nonce: None,
            pki_status: None,
            fail_info: None,
            fail_info_text: None,
            signing_time: self.signing_time,
        };
        build_signed(
            SignedContent {
                content: Some(&envelope),
                extra_attrs: crate::attrs::scep_attributes(&attrs)?,
                digest: self.digest,
                signing_time: self.signing_time,
                extra_certs: &[],
            },
            signer,
            rng,
        )
    }
}
