//! `Enrollment` and `Agent` against an in-process ca-core CA: the one-call enrolment, each
//! trap of issue 15 (silent wrong path, endless sleep, forgotten steps) as an API that makes it
//! impossible or a typed error at once, PENDING with the record saved, and resident renewal.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ca_core::{Ca, CaConfig, GrantMode, MemoryStore as CaStore, RequestSelector};
use client_core::der::Encode as _;
use client_core::rand::rngs::StdRng;
use client_core::rand::{SeedableRng as _, rngs::SysRng};
use client_core::{
    Agent, CaFingerprint, Clock, Duration, EnrollError, Enrolled, Enrollment, Event, FailInfo,
    FileStore, FingerprintAlg, HttpReply, InProcess, Instant, MemoryStore, StateName, StopHandle,
    TransportError, Trustpoint, TrustpointStore, pem,
};

fn rng() -> StdRng {
    StdRng::try_from_rng(&mut SysRng).unwrap()
}

/// A virtual clock shared by the CA and the client: `sleep` advances it.
#[derive(Clone)]
struct VClock(Arc<AtomicU64>);

impl VClock {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(client_core::clock::now().unix())))
    }
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

struct TestCa {
    ca: Arc<Ca<CaStore>>,
    clock: VClock,
    /// Every request-target the CA saw.
    targets: Arc<Mutex<Vec<String>>>,
}

impl TestCa {
    fn new(grant: GrantMode) -> Self {
        Self::with(grant, |_| {})
    }

    fn with(grant: GrantMode, tune: impl FnOnce(&mut CaConfig)) -> Self {
        let clock = VClock::new();
        let mut config = CaConfig::default();
        config.grant = grant;
        config.key_bits = 1024;
        tune(&mut config);
        let ca = Ca::open(config, CaStore::new(), clock.at(), true, &mut rng()).unwrap();
        Self {
            ca: Arc::new(ca),
            clock,
            targets: Arc::default(),
        }
    }

    fn der(&self) -> Vec<u8> {
        self.ca.ca_certificate_der()
    }

    /// An in-process transport to this CA.
    fn transport(
        &self,
    ) -> InProcess<
        impl FnMut(&client_core::ClientRequest) -> Result<HttpReply, TransportError> + Send + use<>,
    > {
        let (ca, clock, targets) = (self.ca.clone(), self.clock.clone(), self.targets.clone());
        InProcess::new(move |req: &client_core::ClientRequest| {
            targets.lock().unwrap().push(req.target.clone());
            let method = match req.method {
                client_core::Method::Get => "GET",
                _ => "POST",
            };
            // The CA's own timers (shadow CA generation, activation) run on the same clock.
            while ca.poll_timeout().is_some_and(|w| w <= clock.at()) {
                ca.handle_timeout(clock.at(), &mut rng()).unwrap();
            }
            let a = ca.handle(method, &req.target, &req.body, clock.at(), &mut rng());
            Ok(HttpReply {
                status: a.status,
                content_type: Some(a.content_type.to_owned()),
                body: a.body,
            })
        })
    }

    fn pki_operations(&self) -> usize {
        self.targets
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.contains("operation=PKIOperation"))
            .count()
    }

    /// This CA over HTTP on 127.0.0.1; returns the base `http://127.0.0.1:PORT`.
    fn serve_http(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (ca, clock, targets) = (self.ca.clone(), self.clock.clone(), self.targets.clone());
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let _ = serve_one(&ca, &clock, &targets, s);
            }
        });
        base
    }
}

fn serve_one(
    ca: &Ca<CaStore>,
    clock: &VClock,
    targets: &Mutex<Vec<String>>,
    mut s: TcpStream,
) -> std::io::Result<()> {
    let mut r = std::io::BufReader::new(s.try_clone()?);
    let (mut line, mut len) = (String::new(), 0);
    r.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let mut p = line.split(' ');
    let (method, target) = (p.next().unwrap(), p.next().unwrap());
    targets.lock().unwrap().push(target.to_owned());
    let a = ca.handle(method, target, &body, clock.at(), &mut rng());
    write!(
        s,
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        a.status,
        a.content_type,
        a.body.len()
    )?;
    s.write_all(&a.body)
}

fn spki(cert: &client_core::Certificate) -> Vec<u8> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

fn key_spki(key: &client_core::PrivateKey) -> Vec<u8> {
    key.public_key_info().unwrap().to_der().unwrap()
}

fn sha256(der: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Asserts the enrolment produced the client's own certificate from this CA.
fn assert_own(enrolled: &Enrolled, ca: &TestCa, subject: &str) {
    let cert = enrolled.certificate();
    assert_eq!(spki(cert), key_spki(enrolled.private_key()));
    assert_eq!(cert.tbs_certificate().subject().to_string(), subject);
    assert_eq!(enrolled.ca_certificate().to_der().unwrap(), ca.der());
    assert_ne!(cert.to_der().unwrap(), ca.der());
}

#[test]
fn k5_one_call_enrols_with_a_fingerprint_in_each_pasted_format() {
    let ca = TestCa::new(GrantMode::Auto);
    let der = ca.der();
    let md5 = CaFingerprint::of(&der, FingerprintAlg::Md5).to_hex();
    let ios_md5: Vec<String> = md5
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let sha1 = CaFingerprint::of(&der, FingerprintAlg::Sha1).to_hex();
    for (i, fp) in [
        ios_md5.join(" "),
        format!("sha1:{sha1}"),
        format!("SHA256 Fingerprint={}", sha256(&der)),
        sha256(&der).to_lowercase(),
    ]
    .into_iter()
    .enumerate()
    {
        let subject = format!("CN=device-{i},O=Example");
        let enrolled = Enrollment::with_transport(ca.transport(), "/scep", &subject)
            .ca_fingerprint(fp.parse().unwrap())
            .key_bits(1024)
            .store(MemoryStore::new())
            .clock(ca.clock.clone())
            .run()
            .unwrap_or_else(|e| panic!("{fp}: {e}"));
        assert_own(&enrolled, &ca, &subject);
        assert!(!enrolled.already_enrolled());
    }
}

#[test]
fn k2_trap_wrong_fingerprint_is_typed_and_nothing_is_requested() {
    let ca = TestCa::new(GrantMode::Auto);
    let other = CaFingerprint::of(b"another CA", FingerprintAlg::Sha256);
    let err = Enrollment::with_transport(ca.transport(), "/scep", "CN=d,O=Example")
        .ca_fingerprint(other.clone())
        .store(MemoryStore::new())
        .clock(ca.clock.clone())
        .run()
        .unwrap_err();
    match &err {
        EnrollError::FingerprintMismatch { expected, actual } => {
            assert_eq!(**expected, other);
            assert!(actual.as_ref().unwrap().sha256.matches(&ca.der()));
        }
        e => panic!("{e:?}"),
    }
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert_eq!(ca.pki_operations(), 0);
}

#[test]
fn k2_trap_no_ca_trust_and_no_store_are_refused_before_any_request() {
    let ca = TestCa::new(GrantMode::Auto);
    let e = Enrollment::with_transport(ca.transport(), "/scep", "CN=d")
        .store(MemoryStore::new())
        .run()
        .unwrap_err();
    assert!(matches!(e, EnrollError::NoCaTrust), "{e:?}");
    let e = Enrollment::with_transport(ca.transport(), "/scep", "CN=d")
        .trust_on_first_use()
        .run()
        .unwrap_err();
    assert!(matches!(e, EnrollError::NoStore), "{e:?}");
    let e = Enrollment::with_transport(ca.transport(), "/scep", "not a DN")
        .trust_on_first_use()
        .store(MemoryStore::new())
        .run()
        .unwrap_err();
    assert!(matches!(e, EnrollError::Config(_)), "{e:?}");
    assert!(ca.targets.lock().unwrap().is_empty());
}

#[test]
fn k2_approval_callback_sees_all_three_fingerprints_and_can_refuse() {
    let ca = TestCa::new(GrantMode::Auto);
    let der = ca.der();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let err = Enrollment::with_transport(ca.transport(), "/scep", "CN=d")
        .approve_ca(move |c| {
            *s.lock().unwrap() = Some(c.clone());
            false
        })
        .store(MemoryStore::new())
        .clock(ca.clock.clone())
        .run()
        .unwrap_err();
    assert!(matches!(err, EnrollError::CaRefused { .. }), "{err:?}");
    let c = seen.lock().unwrap().clone().unwrap();
    assert!(c.fingerprints.md5.matches(&der) && c.fingerprints.sha1.matches(&der));
    assert!(c.matches(&CaFingerprint::of(&der, FingerprintAlg::Sha256)));
    assert_eq!(ca.pki_operations(), 0);
}

#[test]
fn s1_trap_every_request_goes_to_the_url_path() {
    let ca = TestCa::new(GrantMode::Auto);
    let base = ca.serve_http();
    let dir = tempfile::tempdir().unwrap();
    let enrolled = Enrollment::new(&format!("{base}/custom/enrol"), "CN=path,O=Example")
        .trust_on_first_use()
        .key_bits(1024)
        .store_in(dir.path())
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    assert_own(&enrolled, &ca, "CN=path,O=Example");
    let targets = ca.targets.lock().unwrap().clone();
    assert!(targets.len() >= 3, "{targets:?}");
    assert!(
        targets.iter().all(|t| t.starts_with("/custom/enrol?")),
        "{targets:?}"
    );
    // The resident agent refuses a URL whose path is not the one the record sends to.
    let store = || FileStore::new(dir.path().join("trustpoint.bin"));
    let e = Agent::open(&format!("{base}/cgi-bin/pkiclient.exe"), store()).unwrap_err();
    assert!(matches!(e, EnrollError::PathMismatch { .. }), "{e:?}");
    assert!(Agent::open(&format!("{base}/custom/enrol"), store()).is_ok());
    let empty = tempfile::tempdir().unwrap();
    let e = Agent::open(
        &format!("{base}/custom/enrol"),
        FileStore::new(empty.path().join("trustpoint.bin")),
    )
    .unwrap_err();
    assert!(matches!(e, EnrollError::NotEnrolled), "{e:?}");
}

#[test]
fn k14_trap_unreachable_ca_names_host_and_os_error_at_once() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let err = Enrollment::new(&format!("http://127.0.0.1:{port}/scep"), "CN=d")
        .trust_on_first_use()
        .store_in(dir.path())
        .run()
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let text = err.to_string();
    assert!(matches!(err, EnrollError::Unreachable { .. }), "{err:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("os error"), "{text}");
    let err = Enrollment::new("ftp://ca.example/scep", "CN=d")
        .trust_on_first_use()
        .store_in(dir.path())
        .run()
        .unwrap_err();
    assert!(matches!(err, EnrollError::Transport(_)), "{err:?}");
}

#[test]
fn k12_trap_rejection_is_terminal_with_the_fail_info() {
    let ca = TestCa::new(GrantMode::None);
    let started = std::time::Instant::now();
    let err = Enrollment::with_transport(ca.transport(), "/scep", "CN=d")
        .trust_on_first_use()
        .key_bits(1024)
        .store(MemoryStore::new())
        .run()
        .unwrap_err();
    assert_eq!(err.fail_info(), Some(FailInfo::BadRequest), "{err:?}");
    assert!(err.to_string().contains("badRequest"), "{err}");
    // The real clock: a stop predicate that forgot Rejected would sleep for days.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn k14_trap_a_ca_that_never_answers_ends_at_the_deadline_with_the_reason() {
    let ca = TestCa::new(GrantMode::Auto);
    let mut inner = ca.transport();
    let transport = InProcess::new(move |req: &client_core::ClientRequest| {
        if req.target.contains("PKIOperation") {
            Err(TransportError::Unavailable)
        } else {
            client_core::Transport::send(&mut inner, req)
        }
    });
    let start = ca.clock.at();
    let err = Enrollment::with_transport(transport, "/scep", "CN=d")
        .trust_on_first_use()
        .key_bits(1024)
        .deadline(std::time::Duration::from_secs(600))
        .store(MemoryStore::new())
        .clock(ca.clock.clone())
        .run()
        .unwrap_err();
    match &err {
        EnrollError::Deadline {
            pending: false,
            last_problem: Some(p),
            ..
        } => assert!(p.contains("unavailable"), "{p}"),
        e => panic!("{e:?}"),
    }
    // Never slept past the deadline.
    assert!(ca.clock.at().unix() <= start.unix() + 600);
}

#[test]
fn k11_pending_waits_with_the_record_saved_and_resumes_the_same_transaction() {
    let ca = TestCa::new(GrantMode::Manual);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("trustpoint.bin");
    // The record is on disk, PENDING with its transaction, before every wait.
    let saved_while_pending = Arc::new(AtomicUsize::new(0));
    let (seen, path) = (saved_while_pending.clone(), store_path.clone());
    let err = Enrollment::with_transport(ca.transport(), "/scep", "CN=pending,O=Example")
        .trust_on_first_use()
        .key_bits(1024)
        .deadline(std::time::Duration::from_secs(300))
        .store_in(dir.path())
        .clock(ca.clock.clone())
        .on_event(|e, tp| {
            if *e == Event::Pending {
                assert!(tp.transaction_id().is_some() && tp.poll_timeout().is_some());
            }
        })
        .on_wait(move |tp, at| {
            assert_eq!(tp.state(), StateName::Pending);
            assert_eq!(Some(at), tp.poll_timeout());
            let stored = Trustpoint::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(stored.state(), StateName::Pending);
            assert_eq!(stored.transaction_id(), tp.transaction_id());
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .run()
        .unwrap_err();
    // One wait per poll of the T-10 schedule inside the 300 s deadline (the last cut short).
    assert!(saved_while_pending.load(Ordering::SeqCst) >= 2);
    let EnrollError::Deadline {
        pending: true,
        transaction_id: Some(id),
        next_attempt: Some(_),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(err.to_string().contains(id.as_str()), "{err}");
    let stored = Trustpoint::from_bytes(&std::fs::read(&store_path).unwrap()).unwrap();
    assert_eq!(stored.state(), StateName::Pending);
    assert_eq!(stored.transaction_id().unwrap().as_str(), id);
    let pending = ca.ca.list_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(&pending[0].transaction_id, id);
    // The administrator grants; a new process resumes and asks at once.
    ca.ca
        .grant(RequestSelector::All, ca.clock.at(), &mut rng())
        .unwrap();
    let ops_before = ca.pki_operations();
    let before = ca.clock.at();
    let enrolled = Enrollment::with_transport(ca.transport(), "/scep", "CN=pending,O=Example")
        .trust_on_first_use()
        .store_in(dir.path())
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    assert_own(&enrolled, &ca, "CN=pending,O=Example");
    assert_eq!(ca.pki_operations(), ops_before + 1, "one CertPoll");
    assert_eq!(ca.clock.at(), before, "asked at once, no wait");
    assert!(
        ca.ca
            .list_pending()
            .iter()
            .all(|p| p.status != ca_core::RequestStatus::Pending)
    );
    // A third run returns the stored identity without a request.
    let again = Enrollment::with_transport(ca.transport(), "/scep", "CN=pending,O=Example")
        .trust_on_first_use()
        .store(FileStore::new(&store_path))
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    assert!(again.already_enrolled());
    assert_eq!(ca.pki_operations(), ops_before + 1);
    // Another subject on the same store is refused.
    let e = Enrollment::with_transport(ca.transport(), "/scep", "CN=other")
        .trust_on_first_use()
        .store_in(dir.path())
        .run()
        .unwrap_err();
    assert!(
        matches!(e, EnrollError::StoredTrustpointDiffers { .. }),
        "{e:?}"
    );
}

#[test]
fn existing_key_from_pem_is_the_certificate_key_and_files_are_written() {
    let ca = TestCa::new(GrantMode::Auto);
    let key = client_core::PrivateKey::generate(1024, &mut rng()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("mine.pem");
    pem::write_private_key(&key_path, &key).unwrap();
    let given = pem::read_private_key(&key_path).unwrap();
    let enrolled = Enrollment::with_transport(ca.transport(), "/scep", "CN=own-key")
        .trust_on_first_use()
        .key(given)
        .store_in(dir.path())
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    assert_eq!(spki(enrolled.certificate()), key_spki(&key));
    let files = enrolled.write_pem_files(dir.path()).unwrap();
    let key_file = files.key.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let on_disk = pem::read_private_key(&key_file).unwrap();
    let cert =
        pem::certificate_from_pem(&std::fs::read_to_string(files.certificate.unwrap()).unwrap())
            .unwrap();
    assert_eq!(spki(&cert), key_spki(&on_disk));
    let chain = pem::certificates_from_pem(&std::fs::read_to_string(files.chain.unwrap()).unwrap())
        .unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].to_der().unwrap(), ca.der());
    assert!(files.next_ca.is_none());
}

#[test]
fn k3_agent_renews_on_its_own_and_refuses_a_trustpoint_that_never_would() {
    let ca = TestCa::new(GrantMode::Auto);
    let store = Arc::new(MemoryStore::new());
    let enrolled = Enrollment::with_transport(ca.transport(), "/scep", "CN=resident")
        .trust_on_first_use()
        .key_bits(1024)
        .store(SharedStore(store.clone()))
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    let first = enrolled.certificate().clone();
    let tp = enrolled.into_trustpoint();
    let mut agent = Agent::from_trustpoint(tp, ca.transport(), SharedStore(store.clone()))
        .unwrap()
        .with_clock(ca.clock.clone());
    let start = ca.clock.at();
    let mut events = Vec::new();
    agent
        .run(|e, _| {
            events.push(e.clone());
            if *e == Event::Renewed {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    let renewed = agent.trustpoint().identity_cert().unwrap().clone();
    assert_ne!(
        renewed.tbs_certificate().serial_number(),
        first.tbs_certificate().serial_number()
    );
    assert_eq!(
        renewed.tbs_certificate().subject(),
        first.tbs_certificate().subject()
    );
    // At 80 % of a 365-day certificate, not before.
    let waited = ca.clock.at().unix() - start.unix();
    assert!((290 * 86_400..=293 * 86_400).contains(&waited), "{waited}");
    // The record in the store is the renewed one.
    let saved = Trustpoint::from_bytes(&store.load().unwrap().unwrap()).unwrap();
    assert_eq!(saved.identity_cert().unwrap(), &renewed);
    // A manual renewal: a new certificate at once.
    let ev = agent
        .renew(Some(true), std::time::Duration::from_secs(600), |_, _| {})
        .unwrap();
    assert_eq!(ev, Event::Renewed);
    let manual = agent.trustpoint().identity_cert().unwrap();
    assert_ne!(spki(manual), spki(&renewed), "regenerated key");
    // auto-enroll off: run would never renew.
    let off = Enrollment::with_transport(ca.transport(), "/scep", "CN=manual-only")
        .trust_on_first_use()
        .key_bits(1024)
        .auto_enroll(None)
        .store(MemoryStore::new())
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    let mut agent =
        Agent::from_trustpoint(off.into_trustpoint(), ca.transport(), MemoryStore::new()).unwrap();
    let e = agent.run(|_, _| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(e, EnrollError::NoAutoEnroll), "{e:?}");
}

/// A store shared between the enrolment and the agent of one test.
struct SharedStore(Arc<MemoryStore>);

impl TrustpointStore for SharedStore {
    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.save(bytes)
    }
    fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
        self.0.load()
    }
}

#[test]
fn k18_trap_run_until_ends_on_a_terminal_event_its_predicate_forgot() {
    let ca = TestCa::new(GrantMode::None);
    let mut config = client_core::TrustpointConfig::default();
    config.path = "/scep".into();
    config.subject = "CN=forgetful".into();
    config.key_bits = 1024;
    config.ca_fingerprint = Some(CaFingerprint::of(&ca.der(), FingerprintAlg::Sha256).to_hex());
    let mut tp = Trustpoint::new(config).unwrap();
    let mut clock = ca.clock.clone();
    tp.set_authoritative_time(true, clock.at());
    tp.authenticate(clock.at()).unwrap();
    let mut transport = ca.transport();
    let mut r = rng();
    let mut tick = clock.clone();
    let ev = client_core::run_until(
        &mut tp,
        &mut transport,
        &mut r,
        || clock.now(),
        |d| tick.sleep(d, &StopHandle::new()),
        |e| matches!(e, Event::Authenticated),
    )
    .unwrap();
    assert_eq!(ev, Event::Authenticated);
    tp.enroll(ca.clock.at(), None).unwrap();
    let start = ca.clock.at();
    // A predicate that waits for `Enrolled` only: the CA's FAILURE ends the drive at once
    // (it used to sleep on the remaining timer, the CA's expiry years away).
    let err = client_core::run_until(
        &mut tp,
        &mut transport,
        &mut r,
        || ca.clock.at(),
        |d| {
            ca.clock.0.fetch_add(d.as_secs(), Ordering::SeqCst);
        },
        |e| matches!(e, Event::Enrolled),
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            client_core::DriveError::Terminal(Event::Rejected {
                fail_info: FailInfo::BadRequest,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(ca.clock.at(), start, "no sleep");
}

#[test]
fn k8_k10_agent_follows_the_ca_rollover_and_rewrites_the_files() {
    let ca = TestCa::with(GrantMode::Auto, |c| {
        c.lifetime_ca_certificate = Duration::from_days(400);
        c.auto_rollover = Some(pki_timers::Overlap::new(30, 0, 0).unwrap());
    });
    let dir = tempfile::tempdir().unwrap();
    let enrolled = Enrollment::with_transport(ca.transport(), "/scep", "CN=roller")
        .trust_on_first_use()
        .key_bits(1024)
        .store_in(dir.path())
        .clock(ca.clock.clone())
        .run()
        .unwrap();
    enrolled.write_pem_files(dir.path()).unwrap();
    let old_ca = ca.der();
    let mut agent = Agent::from_trustpoint(
        enrolled.into_trustpoint(),
        ca.transport(),
        FileStore::new(dir.path().join("trustpoint.bin")),
    )
    .unwrap()
    .with_clock(ca.clock.clone());
    let mut events = Vec::new();
    let mut next_ca_seen = false;
    agent
        .run(|e, tp| {
            events.push(e.clone());
            if e.is_success() || matches!(e, Event::RolloverCaInstalled | Event::RolloverActivated)
            {
                let files = client_core::write_identity_files(tp, dir.path()).unwrap();
                next_ca_seen |= files.next_ca.is_some();
            }
            if *e == Event::RolloverActivated {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    let order: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Warning(_)))
        .collect();
    assert!(order.contains(&&Event::Renewed), "{order:?}");
    let pos = |want: &Event| order.iter().position(|e| *e == want).unwrap();
    assert!(pos(&Event::RolloverCaInstalled) < pos(&Event::RolloverIdentityInstalled));
    assert!(pos(&Event::RolloverIdentityInstalled) < pos(&Event::RolloverActivated));
    assert!(
        next_ca_seen,
        "ca-next.pem was written while the rollover CA waited"
    );
    // After the activation: the new CA in ca.pem, no ca-next.pem, and the identity in
    // cert.pem is issued by the new CA for the key in key.pem.
    let new_ca =
        pem::certificate_from_pem(&std::fs::read_to_string(dir.path().join("ca.pem")).unwrap())
            .unwrap();
    assert_ne!(new_ca.to_der().unwrap(), old_ca);
    assert!(!dir.path().join("ca-next.pem").exists());
    let cert =
        pem::certificate_from_pem(&std::fs::read_to_string(dir.path().join("cert.pem")).unwrap())
            .unwrap();
    let key = pem::read_private_key(&dir.path().join("key.pem")).unwrap();
    assert_eq!(spki(&cert), key_spki(&key));
    let issuer_key = scep_proto::PublicKey::from_certificate(&new_ca).unwrap();
    issuer_key
        .verify_certificate(&cert, &scep_proto::Profile::STRICT)
        .unwrap();
}

#[test]
fn c10_subject_alt_names_reach_the_certificate_and_survive_the_record() {
    use client_core::SubjectAltName;
    use client_core::x509_cert::ext::pkix::SubjectAltName as SanExt;
    use client_core::x509_cert::ext::pkix::name::GeneralName;
    let ca = TestCa::new(GrantMode::Auto);
    let dir = tempfile::tempdir().unwrap();
    let sans: Vec<SubjectAltName> = [
        "dns:host.example.com",
        "ip:192.0.2.7",
        "email:ops@example.com",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut e = Enrollment::with_transport(ca.transport(), "/scep", "CN=host.example.com")
        .trust_on_first_use()
        .key_bits(1024)
        .store_in(dir.path())
        .clock(ca.clock.clone());
    for san in &sans {
        e = e.subject_alt_name(san.clone());
    }
    let enrolled = e.run().unwrap();
    let (_, ext) = enrolled
        .certificate()
        .tbs_certificate()
        .get_extension::<SanExt>()
        .unwrap()
        .expect("subjectAltName in the issued certificate");
    let names: Vec<String> = ext
        .0
        .iter()
        .map(|g| match g {
            GeneralName::DnsName(n) => format!("dns:{n}"),
            GeneralName::Rfc822Name(n) => format!("email:{n}"),
            GeneralName::IpAddress(o) => {
                let b: [u8; 4] = o.as_bytes().try_into().unwrap();
                format!("ip:{}", std::net::Ipv4Addr::from(b))
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "dns:host.example.com",
            "ip:192.0.2.7",
            "email:ops@example.com"
        ]
    );
    // The record keeps them: renewals ask for the same names.
    let stored =
        Trustpoint::from_bytes(&std::fs::read(dir.path().join("trustpoint.bin")).unwrap()).unwrap();
    assert_eq!(stored.config().subject_alt_names, sans);
    // The same store with other names is another identity: refused, not silently reused.
    let e = Enrollment::with_transport(ca.transport(), "/scep", "CN=host.example.com")
        .trust_on_first_use()
        .store_in(dir.path())
        .run()
        .unwrap_err();
    assert!(
        matches!(e, EnrollError::StoredTrustpointDiffers { .. }),
        "{e:?}"
    );
}
