//! A trustpoint's `handle_response` in each state that waits for an answer (issue 13 item 8):
//! a man in the middle can answer anything. Never panics; an answer not signed by the CA (or
//! the rollover CA) never installs a certificate, never counts as PENDING or FAILURE (K-17) and
//! never replaces the pinned CA (K-2); every state reached can be saved and restored.
//!
//! Input: byte 0 picks the saved state (trustpoint_lab), byte 1 the answer's form, byte 2 the
//! CertRep status when the target signs one itself, the rest is the body (or what the signed
//! answer carries).
//! - byte 1, bits 0-1: 0 = HTTP 200 with the expected content type, 1 = 200 without one,
//!   2 = another status, 3 = no answer (transport error).
//! - bits 2-3: 0/1 = the rest is the body (1: GetCACert as CA+RA), 2 = a CertRep built and
//!   signed here around the rest, 3 = a GetNextCACert answer signed here, certificates from
//!   the rest.
//! - bits 4-5: who signs: 0/3 = the CA, 1 = the rollover CA, 2 = the man in the middle.
//! - bit 6: wrong transactionID; bit 7: wrong recipientNonce.
//! - byte 2 (CertRep): 0 = SUCCESS with the genuine certificate, 1 = SUCCESS with the
//!   certificates of the rest, 2 = PENDING, 3 = FAILURE (failInfo from the upper bits, text
//!   from the rest).
#![no_main]

mod trustpoint_lab;

use client_core::{Event, HttpReply, TransportError, Trustpoint};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;
use scep_proto::{
    CaCerts, CertRepBuilder, CertRepContent, Certificate, CertsOnly, ClientRequest, DigestAlg,
    FailInfo, NextCaCerts, Nonce, PkiMessage, Profile, TransactionId,
};
use trustpoint_lab::{Lab, Pair, at};

const FAIL_INFOS: [FailInfo; 5] = [
    FailInfo::BadAlg,
    FailInfo::BadMessageCheck,
    FailInfo::BadRequest,
    FailInfo::BadTime,
    FailInfo::BadCertId,
];

fn operation(req: &ClientRequest) -> &'static str {
    for op in ["GetCACert", "GetCACaps", "GetNextCACert", "PKIOperation"] {
        if req.target.contains(&format!("operation={op}")) {
            return op;
        }
    }
    "other"
}

/// Whether `body` is a pkiMessage or GetNextCACert answer that verifies with `signer`.
fn signed_by(body: &[u8], signer: &Certificate) -> bool {
    PkiMessage::from_der(body, &Profile::LEGACY)
        .and_then(|m| m.verify(Some(signer)))
        .is_ok()
        || NextCaCerts::from_der_verified(body, signer, &Profile::LEGACY).is_ok()
}

/// A CertRep for `req`, signed here with `signer`.
fn cert_rep(
    lab: &Lab,
    req: &ClientRequest,
    signer: &Pair,
    flags: u8,
    status: u8,
    rest: &[u8],
    r: &mut StdRng,
) -> Option<Vec<u8>> {
    let msg = PkiMessage::from_der(&req.body, &Profile::STRICT).ok()?;
    let requester = msg.clone().verify(None).ok()?.signer().clone();
    let tid = if flags & 0x40 != 0 {
        TransactionId::random(r)
    } else {
        msg.transaction_id().clone()
    };
    let nonce = if flags & 0x80 != 0 {
        Nonce::random(r)
    } else {
        msg.sender_nonce()
    };
    let b = CertRepBuilder::new(tid, Nonce::random(r), nonce);
    let certs = match status & 3 {
        0 => CertsOnly::new(vec![lab.issued.clone()]),
        _ => CertsOnly::from_der(rest).unwrap_or_else(|_| CertsOnly::new(Vec::new())),
    };
    let content = match status & 3 {
        0 | 1 => CertRepContent::Success {
            certs: &certs,
            recipient: &requester,
        },
        2 => CertRepContent::Pending,
        _ => CertRepContent::Failure {
            fail_info: FAIL_INFOS[usize::from(status >> 2) % FAIL_INFOS.len()],
            text: (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned()),
        },
    };
    b.build(&content, signer.signer(), r).ok()
}

/// A GetNextCACert answer signed here, certificates from `rest`.
fn next_ca(signer: &Pair, rest: &[u8], r: &mut StdRng) -> Option<Vec<u8>> {
    let certs = CertsOnly::from_der(rest).ok()?.certificates;
    NextCaCerts::build(&certs, signer.signer(), DigestAlg::Sha256, None, r).ok()
}

fn run(data: &[u8]) {
    let lab = Lab::get();
    let [pick, flags, status, rest @ ..] = data else {
        return;
    };
    let saved = &lab.states[usize::from(*pick) % lab.states.len()];
    let mut r = StdRng::seed_from_u64(u64::from(*pick));
    let now = at(saved.now);
    let mut tp = lab.restore(&saved.record);
    let Some(req) = tp.poll_request(now, &mut r) else {
        panic!("{}: the saved request is sent again", saved.name);
    };
    let op = operation(&req);
    let before_ca = tp.ca_cert().cloned();
    let before_identity = tp.identity_cert().cloned();
    let before_rollover = tp.rollover_ca_cert().cloned();
    let before_rollover_id = tp.rollover_identity_cert().cloned();

    let signer = match (flags >> 4) & 3 {
        1 => &lab.rollover,
        2 => &lab.mallory,
        _ => &lab.ca,
    };
    let body = match (flags >> 2) & 3 {
        2 => cert_rep(lab, &req, signer, *flags, *status, rest, &mut r),
        3 => next_ca(signer, rest, &mut r),
        _ => None,
    }
    .unwrap_or_else(|| rest.to_vec());
    let content_type = match op {
        "GetCACert" if flags & 4 != 0 => CaCerts::CONTENT_TYPE_CA_RA,
        "GetCACert" => CaCerts::CONTENT_TYPE_CA,
        "GetCACaps" => "text/plain",
        "GetNextCACert" => NextCaCerts::CONTENT_TYPE,
        _ => "application/x-pki-message",
    };
    let reply = match flags & 3 {
        0 => Ok(HttpReply {
            status: 200,
            content_type: Some(content_type.into()),
            body: body.clone(),
        }),
        1 => Ok(HttpReply {
            status: 200,
            content_type: None,
            body: body.clone(),
        }),
        2 => Ok(HttpReply {
            status: [404, 500, 503, 302][usize::from(*status) % 4],
            content_type: Some(content_type.into()),
            body: body.clone(),
        }),
        _ => Err(TransportError::Unavailable),
    };
    let answered = reply.is_ok();
    tp.handle_response(reply, now, &mut r);
    let events: Vec<Event> = std::iter::from_fn(|| tp.poll_event()).collect();

    // K-17: what the CA did not sign changes nothing that only the CA may change.
    let by_ca =
        answered && (signed_by(&body, &lab.ca.cert) || signed_by(&body, &lab.rollover.cert));
    if op == "PKIOperation" && !by_ca {
        for e in &events {
            assert!(
                !matches!(
                    e,
                    Event::Enrolled
                        | Event::Renewed
                        | Event::Pending
                        | Event::Rejected { .. }
                        | Event::RolloverIdentityInstalled
                ),
                "{}: believed an answer the CA did not sign: {e:?}",
                saved.name
            );
        }
        assert_eq!(
            tp.identity_cert(),
            before_identity.as_ref(),
            "{}",
            saved.name
        );
        assert_eq!(
            tp.rollover_identity_cert(),
            before_rollover_id.as_ref(),
            "{}",
            saved.name
        );
    }
    if op == "GetNextCACert" && !by_ca {
        assert_eq!(
            tp.rollover_ca_cert(),
            before_rollover.as_ref(),
            "{}",
            saved.name
        );
    }
    // K-2: with a fingerprint configured, only the pinned CA is ever trusted.
    if tp.config().ca_fingerprint.is_some() {
        if let Some(ca) = tp.ca_cert() {
            assert!(
                Some(ca) == before_ca.as_ref() || *ca == lab.ca.cert,
                "{}: trusts another CA",
                saved.name
            );
        }
    }

    // Whatever state this is, it saves and restores to itself.
    let bytes = tp.to_bytes().expect("a reachable state saves");
    let again = Trustpoint::from_bytes(&bytes).expect("a saved state restores");
    assert_eq!(
        again.to_bytes().expect("saves again"),
        bytes,
        "{}",
        saved.name
    );

    // And it keeps running: timers, the next request, the status listing.
    for _ in 0..2 {
        let Some(t) = tp.poll_timeout() else { break };
        tp.handle_timeout(t);
        let _ = tp.poll_request(t, &mut r);
        let _ = tp.timer_listing(t);
        while tp.poll_event().is_some() {}
    }
}

fuzz_target!(|data: &[u8]| run(data));
