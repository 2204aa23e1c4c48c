//! A man in the middle between a trustpoint and its CA (issue 13 item 4): it sees every
//! request and answers what it likes, without the CA's keys.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use client_core::{HttpReply, Instant, Trustpoint};
use pki_timers::ClientTimer;
use rand::rngs::StdRng;
use scep_proto::{
    CertRepBuilder, CertRepContent, Certificate, CertsOnly, ClientRequest, FailInfo, Nonce,
    PkiMessage, PrivateKey, Profile, ScepRequest, SelfSigned, Signer,
};

use crate::support::{CaPair, T0, at, keys, test_csr};

const DAY: u64 = 86_400;

pub fn deadline(tp: &Trustpoint, t: ClientTimer) -> Option<u64> {
    tp.timers()
        .into_iter()
        .find(|(k, _)| *k == t)
        .map(|(_, at)| at.unix())
}

/// The man in the middle's signing identity: its own self-signed certificate, whose issuer and
/// serial are unlike the CA's (so the CertRep's sid names it, not the CA).
pub fn mallory(r: &mut StdRng) -> (Certificate, PrivateKey) {
    let key = keys()[3].clone();
    let cert = SelfSigned::new(
        "CN=Mallory,O=man in the middle".parse().unwrap(),
        vec![0x4d, 0x41, 0x4c],
        T0 - DAY,
        T0 + 3650 * DAY,
    )
    .build(&key, r)
    .unwrap();
    (cert, key)
}

/// The pkiMessage of a PKIOperation request as sent on the wire.
pub fn pki_message(req: &ClientRequest) -> PkiMessage {
    let method = match req.method {
        scep_proto::Method::Get => "GET",
        _ => "POST",
    };
    let Ok(ScepRequest::PkiOperation { message, .. }) =
        ScepRequest::parse(method, &req.target, &req.body)
    else {
        panic!("not a PKIOperation: {}", req.target);
    };
    PkiMessage::from_der(&message, &Profile::STRICT).unwrap()
}

/// What the forged CertRep says.
#[derive(Clone, Copy, Debug)]
pub enum Forged {
    /// SUCCESS holding the client's own current certificate (genuinely issued by the CA for
    /// the request key: a renewal without `regenerate` asks for exactly that key).
    Success,
    Pending,
    Failure,
}

/// Intercepts the next request (a PKIOperation) and answers it without the CA: a CertRep with
/// the request's transactionID and senderNonce (both cleartext on the wire), signed by
/// Mallory's key and carrying Mallory's certificate.
pub fn forge(tp: &mut Trustpoint, now: Instant, r: &mut StdRng, what: Forged) {
    let req = tp.poll_request(now, r).expect("a PKIOperation");
    let msg = pki_message(&req);
    // The requester's certificate travels in the request: public.
    let requester = msg.clone().verify(None).unwrap().signer().clone();
    let (cert, key) = mallory(r);
    let ca = tp.ca_cert().unwrap();
    assert_ne!(
        cert.tbs_certificate().issuer(),
        ca.tbs_certificate().issuer(),
        "the impostor must not reuse the CA's issuer"
    );
    assert_ne!(
        cert.tbs_certificate().serial_number(),
        ca.tbs_certificate().serial_number(),
        "the impostor must not reuse the CA's serial"
    );
    let builder = CertRepBuilder::new(
        msg.transaction_id().clone(),
        Nonce::random(r),
        msg.sender_nonce(),
    );
    let certs = CertsOnly::new(tp.identity_cert().into_iter().cloned().collect());
    let content = match what {
        Forged::Success => CertRepContent::Success {
            certs: &certs,
            recipient: &requester,
        },
        Forged::Pending => CertRepContent::Pending,
        Forged::Failure => CertRepContent::Failure {
            fail_info: FailInfo::BadRequest,
            text: Some("forged".into()),
        },
    };
    let body = builder
        .build(
            &content,
            Signer {
                cert: &cert,
                key: &key,
            },
            r,
        )
        .unwrap();
    assert!(
        PkiMessage::from_der(&body, &Profile::STRICT)
            .unwrap()
            .certificates()
            .contains(&cert),
        "the forged CertRep carries the impostor's certificate"
    );
    tp.handle_response(
        Ok(HttpReply {
            status: 200,
            content_type: Some("application/x-pki-message".into()),
            body,
        }),
        now,
        r,
    );
}

/// An RA certificate (keyUsage digitalSignature + keyEncipherment) for `key`, issued by
/// `issuer` and valid from `from` for `days`.
pub fn ra_cert(
    issuer: &CaPair,
    key: &PrivateKey,
    from: u64,
    days: u64,
    r: &mut StdRng,
) -> Certificate {
    use ca_core::issue::{IdentityParams, VerifiedCsr, identity_certificate, identity_validity};
    let csr = test_csr(key, "CN=Test RA,O=scep-rs");
    let v = VerifiedCsr::from_der(&csr, false).unwrap();
    let validity =
        identity_validity(at(from), &issuer.ca, pki_timers::Duration::from_days(days)).unwrap();
    identity_certificate(&issuer.ca, &v, &IdentityParams::new(77, validity), r).unwrap()
}

/// Answers the next request, which must be GetCACert, with `body` as `content_type`.
pub fn answer_get_ca_cert(
    tp: &mut Trustpoint,
    now: Instant,
    r: &mut StdRng,
    content_type: &str,
    body: Vec<u8>,
) {
    let req = tp.poll_request(now, r).expect("GetCACert");
    assert!(req.target.contains("GetCACert"), "{}", req.target);
    tp.handle_response(
        Ok(HttpReply {
            status: 200,
            content_type: Some(content_type.into()),
            body,
        }),
        now,
        r,
    );
}
