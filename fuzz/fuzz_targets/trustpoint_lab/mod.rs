//! A small in-process SCEP CA for the trustpoint targets: it drives a client-core trustpoint
//! into each state that waits for an answer and keeps it as bytes (the persistence format), so
//! each fuzz input starts from a real state. Built once per process.
// Shared by two targets, each using part of it.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use client_core::{
    AutoEnroll, HttpReply, Instant, KeySource, Percent, Trustpoint, TrustpointConfig,
};
use der::{Decode, Encode};
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{
    CertRepBuilder, CertRepContent, Certificate, CertsOnly, ClientRequest, DigestAlg, Method,
    NextCaCerts, Nonce, PkiMessage, PrivateKey, Profile, ScepRequest, SelfSigned, Signer,
};

/// The lab's clock origin (2023-11-14T22:13:20Z).
pub const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

/// The capabilities the lab CA advertises.
pub const CAPS: &str = "GetNextCACert\nPOSTPKIOperation\nRenewal\nSHA-256\nAES\nSCEPStandard\n";

/// A certificate and its key.
pub struct Pair {
    pub cert: Certificate,
    pub key: PrivateKey,
}

impl Pair {
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            cert: &self.cert,
            key: &self.key,
        }
    }
}

/// One state a trustpoint waits for an answer in, saved.
pub struct Saved {
    pub name: &'static str,
    /// The record (`Trustpoint::to_bytes`); the request is sent again after a restore.
    pub record: Vec<u8>,
    /// The instant the request goes out.
    pub now: u64,
}

/// The lab: CA, rollover CA, an impostor, the client's one key and the saved states.
pub struct Lab {
    pub ca: Pair,
    pub rollover: Pair,
    /// A man in the middle's own self-signed certificate and key (other issuer and serial).
    pub mallory: Pair,
    /// The key every trustpoint of the lab uses (its key source).
    pub client_key: PrivateKey,
    /// A certificate for `client_key` issued by the CA.
    pub issued: Certificate,
    pub states: Vec<Saved>,
}

/// Hands out the lab's client key: no RSA key generation while fuzzing.
struct FixedKey(PrivateKey);

impl KeySource for FixedKey {
    fn next_key(&self, _bits: u32) -> Option<PrivateKey> {
        Some(self.0.clone())
    }
}

pub fn at(secs: u64) -> Instant {
    Instant::from_unix(secs)
}

fn self_signed(
    subject: &str,
    serial: u8,
    nb: u64,
    na: u64,
    key: &PrivateKey,
    r: &mut StdRng,
) -> Certificate {
    SelfSigned::new(subject.parse().expect("name"), vec![serial], nb, na)
        .build(key, r)
        .expect("self-signed certificate")
}

/// A certificate for `subject_key` named like `issuer`, re-signed by `issuer`'s key: what a CA
/// issues, as far as a client checks (K-17: key, issuer name, signature).
fn issue(
    issuer: &Pair,
    subject_key: &PrivateKey,
    serial: u8,
    nb: u64,
    na: u64,
    r: &mut StdRng,
) -> Certificate {
    let subject = issuer.cert.tbs_certificate().subject().to_string();
    let template = self_signed(&subject, serial, nb, na, subject_key, r);
    let tbs = template.tbs_certificate().to_der().expect("tbs");
    let alg = template.signature_algorithm().to_der().expect("alg");
    let sig = issuer
        .key
        .sign(DigestAlg::Sha256, &tbs, r)
        .expect("signature");
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    let mut body = tbs;
    body.extend_from_slice(&alg);
    body.extend(tlv(0x03, &bits));
    Certificate::from_der(&tlv(0x30, &body)).expect("issued certificate")
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

pub fn fingerprint(cert: &Certificate) -> String {
    DigestAlg::Sha256
        .digest(&cert.to_der().expect("der"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The lab's trustpoint configuration.
pub fn config(auto_enroll: bool, fingerprint: Option<String>) -> TrustpointConfig {
    let mut c = TrustpointConfig::default();
    c.name = "fuzz".into();
    c.subject = "CN=fuzz client,O=scep-rs".into();
    c.challenge_password = Some("secret".into());
    c.key_bits = 1024;
    c.ca_fingerprint = fingerprint;
    c.auto_enroll = auto_enroll.then(|| AutoEnroll::new(Percent::new(80).expect("percent")));
    c
}

fn reply(content_type: &str, body: Vec<u8>) -> HttpReply {
    HttpReply {
        status: 200,
        content_type: Some(content_type.into()),
        body,
    }
}

/// What the lab CA answers to a PKIOperation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    Pending,
    /// A certificate for 100 days (RENEW follows).
    Issue,
    /// A certificate up to the CA's notAfter (SHADOW follows).
    IssueToCaEnd,
}

impl Lab {
    pub fn get() -> &'static Lab {
        static LAB: OnceLock<Lab> = OnceLock::new();
        LAB.get_or_init(Lab::new)
    }

    /// A trustpoint restored from `record`, with the lab's key source.
    pub fn restore(&self, record: &[u8]) -> Trustpoint {
        let mut tp = Trustpoint::from_bytes(record).expect("lab record");
        tp.set_key_source(Arc::new(FixedKey(self.client_key.clone())));
        tp
    }

    fn new() -> Lab {
        let mut r = StdRng::seed_from_u64(0x5ce9);
        let key = |r: &mut StdRng| PrivateKey::generate(1024, r).expect("key");
        let (ca_key, roll_key, mal_key, client_key) =
            (key(&mut r), key(&mut r), key(&mut r), key(&mut r));
        let ca_subject = "CN=Fuzz CA,O=scep-rs";
        let ca = Pair {
            cert: self_signed(ca_subject, 1, T0 - DAY, T0 + 400 * DAY, &ca_key, &mut r),
            key: ca_key,
        };
        let rollover = Pair {
            cert: self_signed(
                ca_subject,
                2,
                T0 + 400 * DAY,
                T0 + 800 * DAY,
                &roll_key,
                &mut r,
            ),
            key: roll_key,
        };
        let mallory = Pair {
            cert: self_signed(
                "CN=Mallory,O=man in the middle",
                77,
                T0 - DAY,
                T0 + 800 * DAY,
                &mal_key,
                &mut r,
            ),
            key: mal_key,
        };
        let issued = issue(&ca, &client_key, 50, T0, T0 + 100 * DAY, &mut r);
        let mut lab = Lab {
            ca,
            rollover,
            mallory,
            client_key,
            issued,
            states: Vec::new(),
        };
        lab.states = lab.make_states(&mut r);
        lab
    }

    /// The lab CA's answer to `req` (PKIOperation: `grant`).
    fn answer(&self, req: &ClientRequest, grant: Grant, r: &mut StdRng) -> HttpReply {
        let method = if req.method == Method::Get {
            "GET"
        } else {
            "POST"
        };
        match ScepRequest::parse(method, &req.target, &req.body).expect("lab request") {
            ScepRequest::GetCaCert { .. } => reply(
                scep_proto::CaCerts::CONTENT_TYPE_CA,
                self.ca.cert.to_der().expect("der"),
            ),
            ScepRequest::GetCaCaps { .. } => reply("text/plain", CAPS.as_bytes().to_vec()),
            ScepRequest::GetNextCaCert { .. } => reply(
                NextCaCerts::CONTENT_TYPE,
                NextCaCerts::build(
                    std::slice::from_ref(&self.rollover.cert),
                    self.ca.signer(),
                    DigestAlg::Sha256,
                    None,
                    r,
                )
                .expect("GetNextCACert"),
            ),
            ScepRequest::PkiOperation { message, .. } => {
                let v = PkiMessage::from_der(&message, &Profile::STRICT)
                    .and_then(|m| m.verify(None))
                    .expect("lab pkiMessage");
                let env = v.envelope().expect("envelope").expect("envelope");
                let issuer = if env.is_addressed_to(&self.rollover.cert) {
                    &self.rollover
                } else {
                    &self.ca
                };
                let request = v.open_request(&issuer.key, r).expect("lab request");
                let b = CertRepBuilder::reply_to(&request, Nonce::random(r));
                let issued;
                let content = match (&request.body, grant) {
                    (_, Grant::Pending) => CertRepContent::Pending,
                    (_, Grant::Issue | Grant::IssueToCaEnd) => {
                        let na = if grant == Grant::Issue {
                            T0 + 100 * DAY
                        } else {
                            scep_proto::CertValidity::of(&issuer.cert).not_after
                        };
                        let cert = issue(issuer, &self.client_key, 60, T0, na, r);
                        issued = CertsOnly::new(vec![cert]);
                        CertRepContent::Success {
                            certs: &issued,
                            recipient: &request.signer,
                        }
                    }
                };
                let body = b.build(&content, issuer.signer(), r).expect("CertRep");
                reply("application/x-pki-message", body)
            }
            _ => panic!("unexpected lab request"),
        }
    }

    /// Exchanges with the lab CA until the trustpoint is quiet.
    fn pump(&self, tp: &mut Trustpoint, now: u64, grant: Grant, r: &mut StdRng) {
        tp.handle_timeout(at(now));
        while let Some(req) = tp.poll_request(at(now), r) {
            let reply = self.answer(&req, grant, r);
            tp.handle_response(Ok(reply), at(now), r);
            tp.handle_timeout(at(now));
        }
        while tp.poll_event().is_some() {}
    }

    /// Saves `tp` once its next request is built (the restore sends it again).
    fn save(
        name: &'static str,
        tp: &mut Trustpoint,
        now: u64,
        r: &mut StdRng,
        out: &mut Vec<Saved>,
    ) -> ClientRequest {
        let req = tp.poll_request(at(now), r);
        let req = req.unwrap_or_else(|| panic!("{name}: a request to answer"));
        while tp.poll_event().is_some() {}
        out.push(Saved {
            name,
            record: tp.to_bytes().expect("record"),
            now,
        });
        req
    }

    fn make_states(&self, r: &mut StdRng) -> Vec<Saved> {
        let mut out = Vec::new();
        let now = T0 + 60;
        let fresh = |auto: bool, fp: Option<String>| {
            let mut tp = Trustpoint::new(config(auto, fp)).expect("config");
            tp.set_key_source(Arc::new(FixedKey(self.client_key.clone())));
            tp.set_authoritative_time(true, at(now));
            tp.authenticate(at(now)).expect("authenticate");
            tp
        };
        let fp = Some(fingerprint(&self.ca.cert));

        // K-2 with a fingerprint, and with host approval.
        Self::save(
            "AwaitingCaCert",
            &mut fresh(true, fp.clone()),
            now,
            r,
            &mut out,
        );
        Self::save(
            "AwaitingCaCert/approval",
            &mut fresh(false, None),
            now,
            r,
            &mut out,
        );

        // GetCACaps after the CA certificate.
        let mut tp = fresh(true, fp.clone());
        let req = tp.poll_request(at(now), r).expect("GetCACert");
        tp.handle_response(Ok(self.answer(&req, Grant::Issue, r)), at(now), r);
        Self::save("AwaitingCaCaps", &mut tp, now, r, &mut out);

        // K-5 initial enrolment: the PKCSReq, then the CertPoll after PENDING.
        let mut tp = fresh(true, fp.clone());
        self.pump(&mut tp, now, Grant::Pending, r);
        let Some(poll) = tp.poll_timeout() else {
            panic!("POLL armed")
        };
        tp.handle_timeout(poll);
        Self::save(
            "AwaitingCertRep/CertPoll",
            &mut tp,
            poll.unix(),
            r,
            &mut out,
        );
        let mut tp = fresh(true, fp.clone());
        let req = tp.poll_request(at(now), r).expect("GetCACert");
        tp.handle_response(Ok(self.answer(&req, Grant::Issue, r)), at(now), r);
        let req = tp.poll_request(at(now), r).expect("GetCACaps");
        tp.handle_response(Ok(self.answer(&req, Grant::Issue, r)), at(now), r);
        tp.handle_timeout(at(now));
        Self::save("AwaitingCertRep/PKCSReq", &mut tp, now, r, &mut out);

        // K-6 RENEW signed by the identity (Renewal advertised).
        let mut tp = fresh(true, fp.clone());
        self.pump(&mut tp, now, Grant::Issue, r);
        assert!(tp.identity_cert().is_some(), "enrolled");
        let renew = tp.poll_timeout().expect("RENEW armed");
        tp.handle_timeout(renew);
        Self::save(
            "AwaitingCertRep/renewal",
            &mut tp,
            renew.unix(),
            r,
            &mut out,
        );

        // K-9 CA-only SHADOW: GetNextCACert.
        let mut tp = fresh(false, fp.clone());
        self.pump(&mut tp, now, Grant::Issue, r);
        let shadow = tp.poll_timeout().expect("SHADOW armed");
        tp.handle_timeout(shadow);
        Self::save("AwaitingNextCaCert", &mut tp, shadow.unix(), r, &mut out);

        // K-8 SHADOW: the identity reaches the CA's expiry: GetNextCACert, then the request
        // to the rollover CA.
        let mut tp = fresh(true, fp.clone());
        self.pump(&mut tp, now, Grant::IssueToCaEnd, r);
        let shadow = tp.poll_timeout().expect("SHADOW armed");
        tp.handle_timeout(shadow);
        let req = Self::save(
            "AwaitingNextCaCert/shadow",
            &mut tp,
            shadow.unix(),
            r,
            &mut out,
        );
        tp.handle_response(Ok(self.answer(&req, Grant::Issue, r)), shadow, r);
        assert!(tp.rollover_ca_cert().is_some(), "rollover CA stored");
        Self::save(
            "AwaitingCertRep/shadow",
            &mut tp,
            shadow.unix(),
            r,
            &mut out,
        );

        // K-15 manual enrol of an enrolled trustpoint.
        let mut tp = fresh(true, fp);
        self.pump(&mut tp, now, Grant::Issue, r);
        tp.enroll(at(now + DAY), Some(true)).expect("manual enrol");
        Self::save(
            "AwaitingCertRep/manual-regenerate",
            &mut tp,
            now + DAY,
            r,
            &mut out,
        );
        out
    }
}
