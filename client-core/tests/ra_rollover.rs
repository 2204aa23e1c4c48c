//! K-2, K-10 against an RA-mode ca-core CA (S-7, S-33, C-25): the client enrols through the
//! RA, follows the CA rollover, keeps the rollover RA that GetNextCACert carried (also in its
//! saved record), and after the activation addresses the new RA, never the old one (the CA
//! dropped it with the old key).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ca_core::{Ca, CaConfig, GrantMode, MemoryStore as CaStore};
use client_core::der::Decode as _;
use client_core::rand::SeedableRng as _;
use client_core::rand::rngs::StdRng;
use client_core::{
    Agent, Clock, Duration, Enrollment, Event, HttpReply, InProcess, Instant, MemoryStore,
    StopHandle,
};
use scep_proto::{Certificate, PkiMessage, Profile};

/// A virtual clock shared by the CA and the client: `sleep` advances it.
#[derive(Clone)]
struct VClock(Arc<AtomicU64>);

impl VClock {
    fn at(&self) -> Instant {
        Instant::from_unix(self.0.load(Ordering::SeqCst))
    }
}

impl Clock for VClock {
    fn now(&mut self) -> Instant {
        self.at()
    }
    fn sleep(&mut self, d: Duration, _stop: &StopHandle) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

/// Which certificate a PKIOperation was encrypted to, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Addressed {
    Ca(Vec<u8>),
    Ra(Vec<u8>),
    Other,
}

type Log = Arc<Mutex<Vec<(Instant, Addressed)>>>;

/// An in-process transport to `ca` that runs its timers on `clock` and logs where each
/// PKIOperation was encrypted to.
fn in_process(
    ca: &Arc<Ca<CaStore>>,
    clock: &VClock,
    log: &Log,
    seed: u64,
) -> InProcess<
    impl FnMut(&client_core::ClientRequest) -> Result<HttpReply, client_core::TransportError>
    + Send
    + use<>,
> {
    let (ca, clock, log) = (ca.clone(), clock.clone(), log.clone());
    InProcess::new(move |req: &client_core::ClientRequest| {
        let mut rng = StdRng::seed_from_u64(clock.at().unix() ^ seed);
        while ca.poll_timeout().is_some_and(|w| w <= clock.at()) {
            ca.handle_timeout(clock.at(), &mut rng).unwrap();
        }
        if req.target.contains("operation=PKIOperation") && !req.body.is_empty() {
            let msg = PkiMessage::from_der(&req.body, &Profile::STRICT).unwrap();
            let env = msg.verify(None).unwrap().envelope().unwrap().unwrap();
            let to = published(&ca)
                .into_iter()
                .find(|(_, c)| env.is_addressed_to(c))
                .map_or(Addressed::Other, |(a, _)| a);
            log.lock().unwrap().push((clock.at(), to));
        }
        let method = match req.method {
            client_core::Method::Get => "GET",
            _ => "POST",
        };
        let a = ca.handle(method, &req.target, &req.body, clock.at(), &mut rng);
        Ok(HttpReply {
            status: a.status,
            content_type: Some(a.content_type.to_owned()),
            body: a.body,
        })
    })
}

/// The certificates an RA-mode CA publishes now and, during a rollover, next.
fn published(ca: &Ca<CaStore>) -> Vec<(Addressed, Certificate)> {
    let mut out = Vec::new();
    let pairs = [
        (Some(ca.ca_certificate_der()), ca.ra_certificate_der()),
        (
            ca.rollover_certificate_der(),
            ca.rollover_ra_certificate_der(),
        ),
    ];
    for (c, r) in pairs {
        if let Some(c) = c {
            out.push((Addressed::Ca(c.clone()), Certificate::from_der(&c).unwrap()));
        }
        if let Some(r) = r {
            out.push((Addressed::Ra(r.clone()), Certificate::from_der(&r).unwrap()));
        }
    }
    out
}

#[test]
fn k02_k10_client_enrols_through_the_ra_and_switches_to_the_rollover_ra_at_activation() {
    let clock = VClock(Arc::new(AtomicU64::new(1_800_000_000)));
    let mut config = CaConfig::default();
    config.grant = GrantMode::Auto;
    config.key_bits = 1024;
    config.ra_subject = Some("CN=ROOTCA-RA".to_owned());
    config.lifetime_ca_certificate = Duration::from_days(400);
    config.auto_rollover = Some(pki_timers::Overlap::new(30, 0, 0).unwrap());
    let mut rng = StdRng::seed_from_u64(1);
    let ca = Arc::new(Ca::open(config, CaStore::new(), clock.at(), true, &mut rng).unwrap());
    let first_ra = ca.ra_certificate_der().unwrap();
    let first_ca = ca.ca_certificate_der();
    let log: Log = Arc::default();

    let transport = in_process(&ca, &clock, &log, 0);
    let enrolled = Enrollment::with_transport(transport, "/scep", "CN=behind-ra")
        .trust_on_first_use()
        .key_bits(1024)
        .clock(clock.clone())
        .store(MemoryStore::new())
        .run()
        .unwrap();
    // K-2, K-5: the initial enrolment went to the RA.
    assert_eq!(
        log.lock().unwrap().first().map(|(_, a)| a.clone()),
        Some(Addressed::Ra(first_ra.clone()))
    );
    let transport = in_process(&ca, &clock, &log, 7);
    let mut agent =
        Agent::from_trustpoint(enrolled.into_trustpoint(), transport, MemoryStore::new())
            .unwrap()
            .with_clock(clock.clone());
    let mut events = Vec::new();
    let mut activated_at = None;
    agent
        .run(|e, tp| {
            events.push(e.clone());
            if *e == Event::RolloverCaInstalled {
                // The saved record carries the rollover RA and reads back the same.
                let bytes = tp.to_bytes().unwrap();
                let next_ra = ca.rollover_ra_certificate_der().unwrap();
                assert!(
                    bytes
                        .windows(next_ra.len())
                        .any(|w| w == next_ra.as_slice())
                );
                let back = client_core::Trustpoint::from_bytes(&bytes).unwrap();
                assert_eq!(back.to_bytes().unwrap(), bytes);
            }
            if *e == Event::RolloverActivated {
                activated_at = Some(clock.at());
            }
            if activated_at.is_some() && *e == Event::Renewed {
                ControlFlow::Break(())
            } else if matches!(e, Event::Rejected { .. } | Event::NeedsManualRenewal) {
                panic!("stopped: {events:?}");
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    let activated_at = activated_at.unwrap();
    // The CA switched: its RA now is the former rollover RA, not the first one.
    assert_ne!(ca.ca_certificate_der(), first_ca);
    assert_ne!(ca.ra_certificate_der().unwrap(), first_ra);
    let log = log.lock().unwrap().clone();
    assert!(log.iter().all(|(_, a)| *a != Addressed::Other), "{log:?}");
    // After the activation: nothing addressed to the old RA (or the old CA); the renewal went
    // to the CA that is active now.
    let after: Vec<&Addressed> = log
        .iter()
        .filter(|(at, _)| *at >= activated_at)
        .map(|(_, a)| a)
        .collect();
    assert!(!after.is_empty(), "{log:?}");
    assert!(
        after
            .iter()
            .all(|a| **a != Addressed::Ra(first_ra.clone())
                && **a != Addressed::Ca(first_ca.clone())),
        "{log:?}"
    );
    // Everything after the activation went to the new RA (the former rollover RA).
    let new_ra = Addressed::Ra(ca.ra_certificate_der().unwrap());
    assert!(after.iter().all(|a| **a == new_ra), "{log:?}");
}
