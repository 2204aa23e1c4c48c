//! CertRep (RFC 8894 §3.3.2; SPEC S-27 … S-29): decode after verification, and build.

use crate::ident::Certificate;

use crate::algorithms::{ContentCipher, DigestAlg, KeyTransport};
use crate::attrs::{FailInfo, MessageType, Nonce, PkiStatus, ScepAttributes, TransactionId};
use crate::certs_only::CertsOnly;
use crate::enveloped::build_enveloped;
use crate::error::{Argument, AttrName, AttrProblem, Error, Field, Layer, Result};
use crate::message::VerifiedMessage;
use crate::signed::{SignedContent, Signer, build_signed};

/// What a CertRep says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertRepStatus {
    /// SUCCESS: the degenerate SignedData from the decrypted envelope (S-28).
    Success(CertsOnly),
    /// FAILURE with its failInfo and optional failInfoText (S-12).
    Failure {
        /// Why.
        fail_info: FailInfo,
        /// Optional human-readable text.
        text: Option<String>,
    },
    /// PENDING: poll later with CertPoll.
    Pending,
}

/// A verified (and, for SUCCESS, decrypted) CertRep.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertRep {
    /// `transactionID` (copied from the request).
    pub transaction_id: TransactionId,
    /// `senderNonce` of the CA.
    pub sender_nonce: Nonce,
    /// `recipientNonce` (must equal the request's senderNonce, S-24).
    pub recipient_nonce: Nonce,
    /// The CA's digest.
    pub digest: DigestAlg,
    /// The envelope's content encryption (SUCCESS only).
    pub cipher: Option<ContentCipher>,
    /// The certificate that signed the CertRep.
    pub signer: Certificate,
    /// Status and content.
    pub status: CertRepStatus,
}

impl VerifiedMessage {
    /// Reads a CertRep; for SUCCESS decrypts the envelope with `key` (the key of the request's
    /// signer certificate) and parses the certs-only content. FAILURE and PENDING need no key
    /// and accept eContent absent or empty (S-29).
    pub fn open_cert_rep<R: rand::CryptoRng + ?Sized>(
        &self,
        key: Option<&crate::key::PrivateKey>,
        rng: &mut R,
    ) -> Result<CertRep> {
        let a = self.attributes();
        if a.message_type != MessageType::CertRep {
            return Err(Error::Attribute {
                attr: AttrName::MessageType,
                problem: AttrProblem::Value,
            });
        }
        let missing = |attr| Error::Attribute {
            attr,
            problem: AttrProblem::Missing,
        };
        let recipient_nonce = a.recipient_nonce.ok_or(missing(AttrName::RecipientNonce))?;
        let (status, cipher) = match a.pki_status.ok_or(missing(AttrName::PkiStatus))? {
            PkiStatus::Success => {
                let env = self.envelope()?.ok_or(Error::Missing {
                    layer: Layer::SignedData,
                    field: Field::EContent,
                })?;
                let key = key.ok_or(Error::InvalidArgument(Argument::CertRepContent))?;
                let plain = env.decrypt(key, rng)?;
                (
                    CertRepStatus::Success(CertsOnly::from_der(&plain)?),
                    Some(env.cipher()),
                )
            }
            PkiStatus::Failure => (
                CertRepStatus::Failure {
                    fail_info: a.fail_info.ok_or(missing(AttrName::FailInfo))?,
                    text: a.fail_info_text.clone(),
                },
                None,
            ),
            PkiStatus::Pending => (CertRepStatus::Pending, None),
        };
        Ok(CertRep {
            transaction_id: a.transaction_id.clone(),
            sender_nonce: a.sender_nonce,
            recipient_nonce,
            digest: self.message().digest(),
            cipher,
            signer: self.signer().clone(),
            status,
        })
    }
}

/// What a CertRep to build says.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CertRepContent<'a> {
    /// SUCCESS: `certs` encrypted to `recipient` (the request signer's certificate, S-28).
    Success {
        /// Issued certificate first, optionally the CA chain; and/or CRLs (GetCRL, S-36).
        certs: &'a CertsOnly,
        /// Envelope recipient.
        recipient: &'a Certificate,
    },
    /// FAILURE with failInfo and optional failInfoText.
    Failure {
        /// Why.
        fail_info: FailInfo,
        /// Optional text (S-12).
        text: Option<String>,
    },
    /// PENDING.
    Pending,
}

/// Parameters of a CertRep (S-27); finish with [`CertRepBuilder::build`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertRepBuilder {
    /// `transactionID` copied from the request.
    pub transaction_id: TransactionId,
    /// Fresh `senderNonce`.
    pub sender_nonce: Nonce,
    /// The request's senderNonce (S-24).
    pub recipient_nonce: Nonce,
    /// Digest (mirror the request, S-27).
    pub digest: DigestAlg,
    /// Content encryption for SUCCESS (mirror the request, S-28).
    pub cipher: ContentCipher,
    /// Key transport for SUCCESS.
    pub key_transport: KeyTransport,
    /// `signingTime` in Unix seconds, or `None`.
    pub signing_time: Option<u64>,
    /// Extra certificates for the outer `certificates` (e.g. RA or chain), after the signer's.
    pub extra_certs: Vec<Certificate>,
}

impl CertRepBuilder {
    /// A builder answering a request with these identifiers; SHA-256 / AES-128 defaults.
    pub fn new(transaction_id: TransactionId, sender_nonce: Nonce, recipient_nonce: Nonce) -> Self {
        Self {
            transaction_id,
            sender_nonce,
            recipient_nonce,
            digest: DigestAlg::Sha256,
            cipher: ContentCipher::Aes128,
            key_transport: KeyTransport::RsaPkcs1v15,
            signing_time: None,
            extra_certs: Vec::new(),
        }
    }

    /// A builder that mirrors `request`'s identifiers, digest and cipher (S-27, S-28).
    pub fn reply_to(request: &crate::message::Request, sender_nonce: Nonce) -> Self {
        let mut b = Self::new(
            request.attributes.transaction_id.clone(),
            sender_nonce,
            request.attributes.sender_nonce,
        );
        b.digest = request.digest;
        b.cipher = request.cipher;
        b
    }

    /// Signs the CertRep with `signer` and returns its DER. FAILURE and PENDING carry an empty
    /// eContent (S-29).
    pub fn build<R: rand::CryptoRng + ?Sized>(
        self,
        content: &CertRepContent<'_>,
        signer: Signer<'_>,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let (status, fail_info, text, envelope) = match content {
            CertRepContent::Success { certs, recipient } => {
                let inner = certs.to_der()?;
                let env = build_enveloped(&inner, recipient, self.cipher, self.key_transport, rng)?;
                (PkiStatus::Success, None, None, env)
            }
            CertRepContent::Failure { fail_info, text } => (
                PkiStatus::Failure,
                Some(*fail_info),
                text.clone(),
                Vec::new(),
            ),
            CertRepContent::Pending => (PkiStatus::Pending, None, None, Vec::new()),
        };
        let attrs = ScepAttributes {
            message_type: MessageType::CertRep,
            transaction_id: self.transaction_id,
            sender_nonce: self.sender_nonce,
            recipient_nonce: Some(self.recipient_nonce),
            pki_status: Some(status),
            fail_info,
            fail_info_text: text,
            signing_time: self.signing_time,
        };
        build_signed(
            SignedContent {
                content: Some(&envelope),
                extra_attrs: crate::attrs::scep_attributes(&attrs)?,
                digest: self.digest,
                signing_time: self.signing_time,
                extra_certs: &self.extra_certs,
            },
            signer,
            rng,
        )
    }
}
