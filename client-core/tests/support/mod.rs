//! A test-only SCEP CA answering in process (scep-proto codec, ca-core issuance).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::OnceLock;

use ca_core::issue::{
    CaCertParams, CaKey, IdentityParams, RolloverCaParams, VerifiedCsr, identity_certificate,
    identity_validity, rollover_ca_certificate, self_signed_ca_certificate,
};
use client_core::{
    AutoEnroll, Event, HttpReply, Instant, Percent, TransportError, Trustpoint, TrustpointConfig,
};
use der::Encode;
use pki_timers::Duration;
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::PrivateKey;
use scep_proto::{
    CaCerts, CertRepBuilder, CertRepContent, Certificate, CertsOnly, ClientRequest, FailInfo,
    MessageType, NextCaCerts, Nonce, PkiMessage, Profile, RequestBody, ScepRequest, Signer,
    TransactionId,
};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Seed CA validity start: 2015-10-09T12:14:16Z.
pub const T0: u64 = 1_444_392_856;

pub fn at(secs: u64) -> Instant {
    Instant::from_unix(secs)
}

/// A few 1024-bit keys, generated once per test binary.
pub fn keys() -> &'static Vec<PrivateKey> {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut r = rng(42);
        (0..4)
            .map(|_| PrivateKey::generate(1024, &mut r).unwrap())
            .collect()
    })
}

pub struct CaPair {
    pub ca: CaKey,
    pub cert: Certificate,
    pub key: PrivateKey,
}

impl CaPair {
    fn new(ca: CaKey, key: PrivateKey) -> Self {
        let cert = ca.certificate().clone();
        Self { ca, cert, key }
    }
    pub fn not_after(&self) -> u64 {
        self.ca.validity().not_after().unix()
    }
}

/// How the CA misbehaves on the next PKIOperation answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Failure,
    Garbage,
    Http500,
    WrongContentType,
    WrongNonce,
    WrongTransactionId,
    /// SUCCESS holding only the CA certificate (no cert for the request key).
    WrongKey,
    /// CertRep signed by an impostor CA with the same subject.
    BadSignature,
    /// Issued by an impostor CA with the same subject.
    ForeignIssuer,
    Down,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub message_type: MessageType,
    pub transaction_id: TransactionId,
    pub nonce: Nonce,
    pub to_rollover: bool,
    pub signer_self_signed: bool,
    /// The CSR's DER in a PKCSReq or RenewalReq.
    pub csr: Option<Vec<u8>>,
}

pub struct TestCa {
    pub active: CaPair,
    pub rollover: Option<CaPair>,
    pub impostor: CaPair,
    /// An RA certificate (issued by the active CA) and key; when set, GetCACert answers the
    /// CA-RA chain and the RA decrypts requests and signs replies.
    pub ra: Option<(Certificate, PrivateKey)>,
    pub caps: String,
    /// PENDING answers before granting, per transaction.
    pub pending: u32,
    pub mode: Mode,
    /// How many answers `mode` applies to (then Normal).
    pub mode_count: u32,
    pub now: Instant,
    pub lifetime: Duration,
    pub seen: Vec<Seen>,
    pub ops: Vec<&'static str>,
    pub last_csr: Vec<u8>,
    /// Per PKIOperation: whether it was addressed to the RA.
    pub to_ra: Vec<bool>,
    /// Answer PENDING whatever the count (hold the grant).
    pub hold: bool,
    waiting: HashMap<String, (Vec<u8>, bool, u32)>,
    serial: u64,
    rng: StdRng,
}

impl TestCa {
    pub fn new(not_before: u64, ca_days: u64) -> Self {
        let mut r = rng(7);
        let subject = "CN=Test CA,O=scep-rs".parse().unwrap();
        let mut p = CaCertParams::new(subject, at(not_before));
        p.lifetime = Duration::from_days(ca_days);
        let ca = self_signed_ca_certificate(&p, keys()[0].clone(), &mut r).unwrap();
        let mut p2 = CaCertParams::new("CN=Test CA,O=scep-rs".parse().unwrap(), at(not_before));
        p2.lifetime = Duration::from_days(ca_days);
        let imp = self_signed_ca_certificate(&p2, keys()[3].clone(), &mut r).unwrap();
        Self {
            active: CaPair::new(ca, keys()[0].clone()),
            rollover: None,
            impostor: CaPair::new(imp, keys()[3].clone()),
            ra: None,
            caps: String::from(
                "GetNextCACert\nPOSTPKIOperation\nRenewal\nSHA-256\nAES\nSCEPStandard\n",
            ),
            pending: 0,
            mode: Mode::Normal,
            mode_count: u32::MAX,
            now: at(not_before),
            lifetime: Duration::from_days(365),
            seen: Vec::new(),
            ops: Vec::new(),
            last_csr: Vec::new(),
            to_ra: Vec::new(),
            hold: false,
            waiting: HashMap::new(),
            serial: 100,
            rng: r,
        }
    }

    /// Makes the rollover CA (T-6: starts at the active CA's notAfter).
    pub fn make_rollover(&mut self, days: u64) {
        let mut p = RolloverCaParams::new(2);
        p.lifetime = Duration::from_days(days);
        let ca =
            rollover_ca_certificate(&self.active.ca, &p, keys()[1].clone(), &mut self.rng).unwrap();
        self.rollover = Some(CaPair::new(ca, keys()[1].clone()));
    }

    /// Issues an RA certificate (keyUsage digitalSignature + keyEncipherment) for key 2.
    pub fn make_ra(&mut self) {
        let key = keys()[2].clone();
        let csr = test_csr(&key, "CN=Test RA,O=scep-rs");
        let v = VerifiedCsr::from_der(&csr, false).unwrap();
        let validity = identity_validity(self.now, &self.active.ca, self.lifetime).unwrap();
        let cert = identity_certificate(
            &self.active.ca,
            &v,
            &IdentityParams::new(50, validity),
            &mut self.rng,
        )
        .unwrap();
        self.ra = Some((cert, key));
    }

    /// The rollover becomes active (the CA side of K-10).
    pub fn activate(&mut self) {
        if let Some(r) = self.rollover.take() {
            self.active = r;
        }
    }

    pub fn fingerprint_sha256(&self) -> String {
        use sha2::Digest;
        let d = sha2::Sha256::digest(self.active.cert.to_der().unwrap());
        d.iter().map(|b| format!("{b:02X}:")).collect()
    }

    fn reply(ct: &str, body: Vec<u8>) -> HttpReply {
        HttpReply {
            status: 200,
            content_type: Some(ct.to_string()),
            body,
        }
    }

    pub fn handle(&mut self, req: &ClientRequest) -> Result<HttpReply, TransportError> {
        let method = match req.method {
            scep_proto::Method::Get => "GET",
            _ => "POST",
        };
        self.handle_raw(method, &req.target, &req.body)
    }

    /// One HTTP exchange from its request line parts and body.
    pub fn handle_raw(
        &mut self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Result<HttpReply, TransportError> {
        let parsed = ScepRequest::parse(method, target, body).expect("client request");
        match parsed {
            ScepRequest::GetCaCert { .. } => {
                self.ops.push("GetCACert");
                if let Some((ra, _)) = &self.ra {
                    let chain = CaCerts::Chain(vec![ra.clone(), self.active.cert.clone()]);
                    return Ok(Self::reply(
                        CaCerts::CONTENT_TYPE_CA_RA,
                        chain.to_der().unwrap(),
                    ));
                }
                Ok(Self::reply(
                    CaCerts::CONTENT_TYPE_CA,
                    self.active.cert.to_der().unwrap(),
                ))
            }
            ScepRequest::GetCaCaps { .. } => {
                self.ops.push("GetCACaps");
                Ok(Self::reply("text/plain", self.caps.clone().into_bytes()))
            }
            ScepRequest::GetNextCaCert { .. } => {
                self.ops.push("GetNextCACert");
                match &self.rollover {
                    None => Ok(HttpReply {
                        status: 404,
                        content_type: None,
                        body: Vec::new(),
                    }),
                    Some(r) => {
                        let body = NextCaCerts::build(
                            std::slice::from_ref(&r.cert),
                            Signer {
                                cert: &self.active.cert,
                                key: &self.active.key,
                            },
                            scep_proto::DigestAlg::Sha256,
                            None,
                            &mut self.rng,
                        )
                        .unwrap();
                        Ok(Self::reply(NextCaCerts::CONTENT_TYPE, body))
                    }
                }
            }
            ScepRequest::PkiOperation { message, .. } => {
                self.ops.push("PKIOperation");
                self.pki(&message)
            }
            _ => panic!("unexpected request"),
        }
    }

    fn pki(&mut self, message: &[u8]) -> Result<HttpReply, TransportError> {
        let mode = if self.mode_count > 0 {
            self.mode_count = self.mode_count.saturating_sub(1);
            self.mode
        } else {
            Mode::Normal
        };
        if mode == Mode::Down {
            return Err(TransportError::Unavailable);
        }
        if mode == Mode::Http500 {
            return Ok(HttpReply {
                status: 500,
                content_type: None,
                body: Vec::new(),
            });
        }
        let verified = PkiMessage::from_der(message, &Profile::STRICT)
            .unwrap()
            .verify(None)
            .unwrap();
        let env = verified.envelope().unwrap().unwrap();
        let to_rollover = self
            .rollover
            .as_ref()
            .is_some_and(|r| env.is_addressed_to(&r.cert));
        let issuer = if to_rollover {
            self.rollover.as_ref().unwrap()
        } else {
            assert!(
                env.is_addressed_to(&self.active.cert)
                    || self
                        .ra
                        .as_ref()
                        .is_some_and(|(ra, _)| env.is_addressed_to(ra)),
                "addressed to an unknown CA"
            );
            &self.active
        };
        let via_ra = self
            .ra
            .as_ref()
            .filter(|(ra, _)| env.is_addressed_to(ra))
            .map(|(c, k)| (c.clone(), k.clone()));
        let request = match &via_ra {
            Some((_, k)) => verified.open_request(k, &mut self.rng).unwrap(),
            None => verified.open_request(&issuer.key, &mut self.rng).unwrap(),
        };
        self.to_ra.push(via_ra.is_some());
        let signer = &request.signer;
        let signer_self_signed =
            signer.tbs_certificate().issuer() == signer.tbs_certificate().subject();
        self.seen.push(Seen {
            message_type: request.attributes.message_type,
            transaction_id: request.attributes.transaction_id.clone(),
            nonce: request.attributes.sender_nonce,
            to_rollover,
            signer_self_signed,
            csr: match &request.body {
                RequestBody::PkcsReq(c) | RequestBody::RenewalReq(c) => Some(c.to_der().to_vec()),
                _ => None,
            },
        });
        let tid = request.attributes.transaction_id.as_str().to_string();
        let csr = match &request.body {
            RequestBody::PkcsReq(c) | RequestBody::RenewalReq(c) => {
                let entry = self.waiting.entry(tid.clone()).or_insert((
                    c.to_der().to_vec(),
                    to_rollover,
                    self.pending,
                ));
                entry.0 = c.to_der().to_vec();
                self.last_csr = c.to_der().to_vec();
                entry.clone()
            }
            RequestBody::CertPoll(_) => self.waiting.get(&tid).cloned().expect("poll for unknown"),
            _ => panic!("unexpected body"),
        };
        let mut b = CertRepBuilder::reply_to(&request, Nonce::random(&mut self.rng));
        if mode == Mode::WrongNonce {
            b.recipient_nonce = Nonce::random(&mut self.rng);
        }
        if mode == Mode::WrongTransactionId {
            b.transaction_id = TransactionId::random(&mut self.rng);
        }
        let (sign_cert, sign_key) = if mode == Mode::BadSignature {
            (&self.impostor.cert, &self.impostor.key)
        } else if let Some((c, k)) = &via_ra {
            (c, k)
        } else {
            (&issuer.cert, &issuer.key)
        };
        let issuer = if to_rollover {
            self.rollover.as_ref().unwrap()
        } else {
            &self.active
        };
        let content_certs;
        let content = if mode == Mode::Failure {
            CertRepContent::Failure {
                fail_info: FailInfo::BadRequest,
                text: Some("refused".into()),
            }
        } else if self.hold {
            CertRepContent::Pending
        } else if csr.2 > 0 {
            self.waiting.get_mut(&tid).unwrap().2 -= 1;
            CertRepContent::Pending
        } else {
            let issuing = if mode == Mode::ForeignIssuer {
                &self.impostor
            } else {
                issuer
            };
            let v = VerifiedCsr::from_der(&csr.0, false).unwrap();
            let validity = identity_validity(self.now, &issuing.ca, self.lifetime).unwrap();
            self.serial += 1;
            let cert = identity_certificate(
                &issuing.ca,
                &v,
                &IdentityParams::new(self.serial, validity),
                &mut self.rng,
            )
            .unwrap();
            let certs = if mode == Mode::WrongKey {
                vec![issuer.cert.clone()]
            } else {
                vec![cert]
            };
            content_certs = CertsOnly::new(certs);
            CertRepContent::Success {
                certs: &content_certs,
                recipient: &request.signer,
            }
        };
        let der = b
            .build(
                &content,
                Signer {
                    cert: sign_cert,
                    key: sign_key,
                },
                &mut self.rng,
            )
            .unwrap();
        if mode == Mode::Garbage {
            return Ok(Self::reply(
                "application/x-pki-message",
                vec![0x30, 0x03, 1, 2, 3],
            ));
        }
        if mode == Mode::WrongContentType {
            return Ok(Self::reply("text/html", der));
        }
        Ok(Self::reply("application/x-pki-message", der))
    }
}

/// A client configuration for the test CA: 1024-bit keys, auto-enroll at `percent`.
pub fn config(percent: Option<u32>) -> TrustpointConfig {
    let mut c = TrustpointConfig::default();
    c.name = "tp".into();
    c.subject = "CN=router.example,O=scep-rs".into();
    c.challenge_password = Some("secret".into());
    c.key_bits = 1024;
    c.auto_enroll = percent.map(|p| AutoEnroll::new(Percent::new(p).unwrap()));
    c
}

/// Sends every request the trustpoint has now to the CA, answering in process.
pub fn pump(tp: &mut Trustpoint, ca: &mut TestCa, now: Instant, r: &mut StdRng) -> usize {
    let mut n = 0;
    while let Some(req) = tp.poll_request(now, r) {
        ca.now = now;
        let reply = ca.handle(&req);
        tp.handle_response(reply, now, r);
        n += 1;
    }
    n
}

pub fn events(tp: &mut Trustpoint) -> Vec<Event> {
    std::iter::from_fn(|| tp.poll_event()).collect()
}

/// Authenticated trustpoint (fingerprint configured), authoritative time at `now`.
pub fn authenticated(
    ca: &mut TestCa,
    percent: Option<u32>,
    now: Instant,
    r: &mut StdRng,
) -> Trustpoint {
    let mut c = config(percent);
    c.ca_fingerprint = Some(ca.fingerprint_sha256());
    let mut tp = Trustpoint::new(c).unwrap();
    tp.set_authoritative_time(true, now);
    tp.authenticate(now).unwrap();
    pump(&mut tp, ca, now, r);
    let ev = events(&mut tp);
    assert!(ev.contains(&Event::Authenticated), "{ev:?}");
    tp
}

/// Fires timers due at `now` and exchanges until quiet.
pub fn step(tp: &mut Trustpoint, ca: &mut TestCa, now: Instant, r: &mut StdRng) {
    tp.handle_timeout(now);
    pump(tp, ca, now, r);
}

/// A PKCS #10 request with keyUsage digitalSignature + keyEncipherment (test RA).
pub fn test_csr(key: &PrivateKey, subject: &str) -> Vec<u8> {
    use der::asn1::{Any, BitString, OctetString, SetOfVec};
    use x509_cert::attr::Attribute;
    use x509_cert::ext::Extension;
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
    use x509_cert::spki::AlgorithmIdentifierOwned;
    let spki = key.public_key_info().unwrap();
    let ku = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
    let ext = Extension {
        extn_id: <KeyUsage as der::oid::AssociatedOid>::OID,
        critical: true,
        extn_value: OctetString::new(ku.to_der().unwrap()).unwrap(),
    };
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute::try_from(ExtensionReq(vec![ext])).unwrap())
        .unwrap();
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.parse().unwrap(),
        public_key: spki,
        attributes,
    };
    let sig = key
        .sign(
            scep_proto::DigestAlg::Sha256,
            &info.to_der().unwrap(),
            &mut rng(5),
        )
        .unwrap();
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: "1.2.840.113549.1.1.11".parse().unwrap(),
            parameters: Some(Any::null()),
        },
        signature: BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}
