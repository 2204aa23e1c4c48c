//! Test code: shared helpers of the `ca_*` test binaries (a CA, clients, requests, replies).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ca_core::{Ca, CaConfig, GrantMode, MemoryStore, Store};
use der::{Decode, Encode, asn1::SetOfVec};
use pki_timers::Instant;
use rand::rngs::StdRng;
use scep_proto::{
    CertRep, CertRepStatus, Certificate, Csr, DigestAlg, FailInfo, HttpResponse, IssuerAndSubject,
    Nonce, PkiMessage, PrivateKey, Profile, RequestBody, RequestBuilder, SelfSigned, Signer,
    TransactionId,
};
use x509_cert::{attr::Attribute, request::CertReq};

#[allow(unused_imports, reason = "not every ca_* binary reads validities")]
pub(crate) use crate::issue_support::validity;
pub(crate) use crate::issue_support::{T0, csr_der, key, name, rng, sign_csr};

/// CA configuration for tests: 1024-bit CA keys (keygen is the test-time cost), Auto grant.
pub(crate) fn config() -> CaConfig {
    let mut c = CaConfig::default();
    c.key_bits = 1024;
    c.grant = GrantMode::Auto;
    c
}

pub(crate) fn open(config: CaConfig, seed: u64) -> Ca<MemoryStore> {
    Ca::open(config, MemoryStore::new(), T0, true, &mut rng(seed)).unwrap()
}

/// A client: an RSA key, a signer certificate and a CSR subject.
pub(crate) struct Client {
    pub(crate) key: PrivateKey,
    pub(crate) cert: Certificate,
    pub(crate) subject: String,
}

impl Client {
    /// Key `index` of the shared test keys with a self-signed signer certificate (S-22).
    pub(crate) fn new(index: usize, subject: &str) -> Self {
        let key = key(index);
        let cert = SelfSigned::new(
            name(subject),
            vec![0x01, u8::try_from(index).unwrap()],
            T0.unix() - 3600,
            T0.unix() + 4000 * 86_400,
        )
        .build(&key, &mut rng(99))
        .unwrap();
        Self {
            key,
            cert,
            subject: subject.to_owned(),
        }
    }

    /// The same key, now signing with `cert` (e.g. its issued certificate).
    pub(crate) fn with_cert(&self, cert_der: &[u8]) -> Self {
        Self {
            key: self.key.clone(),
            cert: Certificate::from_der(cert_der).unwrap(),
            subject: self.subject.clone(),
        }
    }

    pub(crate) fn csr(&self) -> Vec<u8> {
        csr_der(&self.key, name(&self.subject), vec![], DigestAlg::Sha256)
    }

    /// A CSR with a challengePassword attribute (S-25).
    pub(crate) fn csr_with_password(&self, password: &str) -> Vec<u8> {
        let csr = CertReq::from_der(&self.csr()).unwrap();
        let mut info = csr.info;
        let value = der::asn1::Utf8StringRef::new(password).unwrap();
        let mut values = SetOfVec::new();
        values
            .insert(der::asn1::Any::encode_from(&value).unwrap())
            .unwrap();
        info.attributes
            .insert(Attribute {
                oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.7"),
                values,
            })
            .unwrap();
        sign_csr(&self.key, info, DigestAlg::Sha256)
    }

    /// A pkiMessage with `body`, encrypted to `recipient_der`.
    pub(crate) fn message(
        &self,
        recipient_der: &[u8],
        body: &RequestBody,
        tid: &str,
        nonce: Nonce,
    ) -> Vec<u8> {
        let builder = RequestBuilder::new(TransactionId::new(tid).unwrap(), nonce);
        self.message_with(builder, recipient_der, body)
    }

    /// As [`Client::message`] with the builder's algorithms chosen by the caller.
    pub(crate) fn message_with(
        &self,
        builder: RequestBuilder,
        recipient_der: &[u8],
        body: &RequestBody,
    ) -> Vec<u8> {
        let recipient = Certificate::from_der(recipient_der).unwrap();
        builder
            .build(
                body,
                Signer {
                    cert: &self.cert,
                    key: &self.key,
                },
                &recipient,
                &mut rng(7),
            )
            .unwrap()
    }

    pub(crate) fn pkcs_req(&self, recipient_der: &[u8], csr: &[u8], tid: &str) -> Vec<u8> {
        let body = RequestBody::PkcsReq(Csr::from_der(csr).unwrap());
        self.message(recipient_der, &body, tid, Nonce([1; 16]))
    }

    pub(crate) fn renewal_req(&self, recipient_der: &[u8], csr: &[u8], tid: &str) -> Vec<u8> {
        let body = RequestBody::RenewalReq(Csr::from_der(csr).unwrap());
        self.message(recipient_der, &body, tid, Nonce([2; 16]))
    }

    pub(crate) fn cert_poll(&self, recipient_der: &[u8], tid: &str) -> Vec<u8> {
        let recipient = Certificate::from_der(recipient_der).unwrap();
        let body = RequestBody::CertPoll(IssuerAndSubject {
            issuer: recipient.tbs_certificate().subject().clone(),
            subject: name(&self.subject),
        });
        self.message(recipient_der, &body, tid, Nonce([3; 16]))
    }

    /// Opens a CertRep HTTP answer, verified with `ca_der`.
    pub(crate) fn open_rep(&self, resp: &HttpResponse, ca_der: &[u8]) -> CertRep {
        assert_eq!(
            resp.status,
            200,
            "body: {:?}",
            String::from_utf8_lossy(&resp.body)
        );
        assert_eq!(resp.content_type, "application/x-pki-message");
        let ca = Certificate::from_der(ca_der).unwrap();
        PkiMessage::from_der(&resp.body, &Profile::STRICT)
            .unwrap()
            .verify(Some(&ca))
            .unwrap()
            .open_cert_rep(Some(&self.key), &mut rng(5))
            .unwrap()
    }

    /// The issued certificate of a SUCCESS (the one with this client's key, S-28).
    pub(crate) fn issued(&self, rep: &CertRep) -> Vec<u8> {
        let CertRepStatus::Success(certs) = &rep.status else {
            panic!("expected SUCCESS, got {:?}", rep.status);
        };
        let spki = self.key.public_key_info().unwrap();
        certs.find_by_public_key(&spki).unwrap().to_der().unwrap()
    }
}

pub(crate) fn post<S: Store>(ca: &Ca<S>, msg: &[u8], now: Instant, r: &mut StdRng) -> HttpResponse {
    ca.handle("POST", "/scep?operation=PKIOperation", msg, now, r)
}

pub(crate) fn failure(rep: &CertRep) -> FailInfo {
    match &rep.status {
        CertRepStatus::Failure { fail_info, .. } => *fail_info,
        other => panic!("expected FAILURE, got {other:?}"),
    }
}

pub(crate) fn is_pending(rep: &CertRep) -> bool {
    matches!(rep.status, CertRepStatus::Pending)
}

pub(crate) fn parse_cert(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}

/// `carrier` (a pkiMessage signed by `signer`) with its eContent replaced by `env_der` and
/// re-signed by `signer`, so the outer layer verifies (S-19) and carries the carrier's
/// messageType, transactionID and senderNonce.
pub(crate) fn rewrap(carrier: &[u8], signer: &Client, env_der: &[u8]) -> Vec<u8> {
    let outer = cms::content_info::ContentInfo::from_der(carrier).unwrap();
    let mut sd: cms::signed_data::SignedData = outer.content.decode_as().unwrap();
    sd.encap_content_info.econtent = Some(
        der::Any::encode_from(&der::asn1::OctetString::new(env_der.to_vec()).unwrap()).unwrap(),
    );
    let mut signers = sd.signer_infos.0.into_vec();
    let si = &mut signers[0];
    let mut list = si.signed_attrs.take().unwrap().into_vec();
    for a in &mut list {
        if a.oid == scep_proto::oids::MESSAGE_DIGEST {
            let digest = DigestAlg::Sha256.digest(env_der);
            a.values = SetOfVec::try_from(vec![
                der::Any::encode_from(&der::asn1::OctetString::new(digest).unwrap()).unwrap(),
            ])
            .unwrap();
        }
    }
    let attrs = SetOfVec::try_from(list).unwrap();
    let signature = signer
        .key
        .sign(DigestAlg::Sha256, &attrs.to_der().unwrap(), &mut rng(3))
        .unwrap();
    si.signed_attrs = Some(attrs);
    si.signature = der::asn1::OctetString::new(signature).unwrap();
    sd.signer_infos = cms::signed_data::SignerInfos(SetOfVec::try_from(signers).unwrap());
    cms::content_info::ContentInfo {
        content_type: outer.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}
