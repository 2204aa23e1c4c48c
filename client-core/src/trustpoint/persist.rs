//! The trustpoint's byte form (issue 5, point 3).
//!
//! Format, version 4 — a length-prefixed binary record, integers big-endian (versions 1 to 3,
//! read too, lack the re-enrolment flag (off); versions 1 and 2 also the subjectAltName list
//! (none); version 1 also the jitter window, which gets the default):
//!
//! ```text
//! magic "SCEPTP" | version u8 = 4 | key protection u8 (0 plain PKCS #8, 1 PKCS #8
//!          EncryptedPrivateKeyInfo: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)
//! config   name str | path str | auto_enroll opt(percent u8, regenerate u8)
//!          | retry_period_secs u64 | retry_count u32 | subject str | challenge opt(str)
//!          | fingerprint opt(str) | renewal_message u8 | legacy u8 | key_bits u32 | backoff u8
//!          | jitter_secs u64 (version 2) | san count u32, then count × str
//!          (`dns:…`, `ip:…`, `email:…`; version 3) | reenroll_after_expiry u8 (version 4)
//! authoritative u8
//! chain    opt(ca cert | ra_encrypt opt(cert) | ra_sign opt(cert))
//! caps     str (GetCACaps text)
//! identity opt(cert | key) | rollover_ca opt(cert) | rollover_identity opt(cert | key)
//! timers   count u8, then count × (timer u8 | deadline u64 unix seconds)
//! state    tag u8 and its data (transaction: see `put_txn`; AwaitingCaCaps: refresh u8 |
//!          enrol u8)
//! wire     u8 (0 idle, 1 ready; an exchange on the wire is saved as "ready")
//! refresh  opt(u64 unix seconds): the deferred capability refresh (K-10a; version 2)
//! next_ra  only when the rollover CA has RA certificates (S-33; any version):
//!          ra_encrypt opt(cert) | ra_sign opt(cert)
//! ```
//!
//! `str` and `bytes` are a u32 length and the bytes; `opt(x)` is u8 0 (absent) or 1 and `x`;
//! `cert` is the DER certificate, `key` the PKCS #8 DER private key (encrypted with the
//! password when the record says so; everything else stays readable). Events are outputs and
//! are not saved: drain them before saving.

use der::{Decode, Encode};
use pki_timers::{Backoff, ClientTimer, Duration, Instant, Percent};
use scep_proto::PrivateKey;
use scep_proto::{Capabilities, Certificate, MessageType, Nonce, TransactionId};
use x509_cert::name::Name;

use super::{
    AutoEnroll, CaChain, Identity, Job, JobKind, RenewalMessage, State, Transaction, Trustpoint,
    TrustpointConfig, Wire,
};

const MAGIC: &[u8; 6] = b"SCEPTP";
const VERSION: u8 = 4;

/// Why bytes could not be restored or produced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Not a trustpoint record (magic or version).
    #[error("not a trustpoint record of a known version")]
    Format,
    /// The record ends early or holds a bad value.
    #[error("trustpoint record is corrupt at {0}")]
    Corrupt(&'static str),
    /// A key or certificate could not be encoded.
    #[error("cannot encode {0}")]
    Encode(&'static str),
    /// The record's keys are password-protected: use `from_bytes_encrypted`.
    #[error("the record's keys are encrypted: a password is needed")]
    PasswordRequired,
    /// The password does not decrypt the keys.
    #[error("wrong password for the record's keys")]
    WrongPassword,
    /// Fewer PBKDF2 iterations than [`PrivateKey::MIN_PBKDF2_ITERATIONS`].
    #[error("at least {min} PBKDF2 iterations are required", min = PrivateKey::MIN_PBKDF2_ITERATIONS)]
    Iterations,
}

/// How `to_bytes_encrypted` protects each key (salt and IV drawn from `rng` per key).
struct KeyCrypt<'a> {
    password: &'a [u8],
    iterations: u32,
    rng: &'a mut dyn rand::CryptoRng,
}

#[derive(Default)]
struct W<'a>(Vec<u8>, Option<KeyCrypt<'a>>);

impl W<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), PersistError> {
        self.u32(u32::try_from(b.len()).map_err(|_| PersistError::Encode("length"))?);
        self.0.extend_from_slice(b);
        Ok(())
    }
    fn str(&mut self, s: &str) -> Result<(), PersistError> {
        self.bytes(s.as_bytes())
    }
    fn flag(&mut self, b: bool) {
        self.u8(u8::from(b));
    }
    fn cert(&mut self, c: &Certificate) -> Result<(), PersistError> {
        let der = c
            .to_der()
            .map_err(|_| PersistError::Encode("certificate"))?;
        self.bytes(&der)
    }
    fn key(&mut self, k: &PrivateKey) -> Result<(), PersistError> {
        let Some(crypt) = &mut self.1 else {
            let doc = k
                .to_pkcs8_der()
                .map_err(|_| PersistError::Encode("private key"))?;
            return self.bytes(doc.as_bytes());
        };
        let der = k
            .to_encrypted_pkcs8_der(crypt.password, crypt.iterations, &mut crypt.rng)
            .map_err(|_| PersistError::Encode("encrypted private key"))?;
        self.bytes(&der)
    }
    fn opt_cert(&mut self, c: Option<&Certificate>) -> Result<(), PersistError> {
        self.flag(c.is_some());
        c.map_or(Ok(()), |c| self.cert(c))
    }
    fn opt_identity(&mut self, i: Option<&Identity>) -> Result<(), PersistError> {
        self.flag(i.is_some());
        if let Some(i) = i {
            self.cert(&i.cert)?;
            self.key(&i.key)?;
        }
        Ok(())
    }
    fn opt_str(&mut self, s: Option<&str>) -> Result<(), PersistError> {
        self.flag(s.is_some());
        s.map_or(Ok(()), |s| self.str(s))
    }
}

struct R<'a>(&'a [u8], Option<&'a [u8]>);

impl R<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], PersistError> {
        if self.0.len() < n {
            return Err(PersistError::Corrupt(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, PersistError> {
        self.take(1, what)?
            .first()
            .copied()
            .ok_or(PersistError::Corrupt(what))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, PersistError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes(
            b.try_into().map_err(|_| PersistError::Corrupt(what))?,
        ))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, PersistError> {
        let b = self.take(8, what)?;
        Ok(u64::from_be_bytes(
            b.try_into().map_err(|_| PersistError::Corrupt(what))?,
        ))
    }
    fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, PersistError> {
        let n = usize::try_from(self.u32(what)?).map_err(|_| PersistError::Corrupt(what))?;
        Ok(self.take(n, what)?.to_vec())
    }
    fn str(&mut self, what: &'static str) -> Result<String, PersistError> {
        String::from_utf8(self.bytes(what)?).map_err(|_| PersistError::Corrupt(what))
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, PersistError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PersistError::Corrupt(what)),
        }
    }
    fn cert(&mut self) -> Result<Certificate, PersistError> {
        Certificate::from_der(&self.bytes("certificate")?)
            .map_err(|_| PersistError::Corrupt("certificate"))
    }
    fn key(&mut self) -> Result<PrivateKey, PersistError> {
        let der = self.bytes("private key")?;
        let Some(password) = self.1 else {
            return PrivateKey::from_pkcs8_der(&der)
                .map_err(|_| PersistError::Corrupt("private key"));
        };
        PrivateKey::from_encrypted_pkcs8_der(&der, password).map_err(|e| match e {
            scep_proto::Error::Malformed { .. } => PersistError::Corrupt("encrypted private key"),
            _ => PersistError::WrongPassword,
        })
    }
    fn opt_cert(&mut self) -> Result<Option<Certificate>, PersistError> {
        if self.flag("option")? {
            Ok(Some(self.cert()?))
        } else {
            Ok(None)
        }
    }
    fn opt_identity(&mut self) -> Result<Option<Identity>, PersistError> {
        if self.flag("option")? {
            Ok(Some(Identity {
                cert: self.cert()?,
                key: self.key()?,
            }))
        } else {
            Ok(None)
        }
    }
    fn opt_str(&mut self, what: &'static str) -> Result<Option<String>, PersistError> {
        if self.flag(what)? {
            Ok(Some(self.str(what)?))
        } else {
            Ok(None)
        }
    }
}

fn timer_code(t: ClientTimer) -> u8 {
    match t {
        ClientTimer::Renew => 0,
        ClientTimer::Shadow => 1,
        ClientTimer::Poll => 2,
        ClientTimer::ConnectRetry => 3,
        ClientTimer::RolloverActivate => 4,
    }
}

fn timer_from(code: u8) -> Result<ClientTimer, PersistError> {
    Ok(match code {
        0 => ClientTimer::Renew,
        1 => ClientTimer::Shadow,
        2 => ClientTimer::Poll,
        3 => ClientTimer::ConnectRetry,
        4 => ClientTimer::RolloverActivate,
        _ => return Err(PersistError::Corrupt("timer")),
    })
}

fn put_job(w: &mut W<'_>, job: Job) {
    w.u8(match job.kind {
        JobKind::Initial => 0,
        JobKind::Renew => 1,
        JobKind::Shadow => 2,
        JobKind::CaOnlyShadow => 3,
    });
    w.flag(job.regenerate);
    w.flag(job.manual);
}

fn get_job(r: &mut R<'_>) -> Result<Job, PersistError> {
    let kind = match r.u8("job")? {
        0 => JobKind::Initial,
        1 => JobKind::Renew,
        2 => JobKind::Shadow,
        3 => JobKind::CaOnlyShadow,
        _ => return Err(PersistError::Corrupt("job")),
    };
    Ok(Job {
        kind,
        regenerate: r.flag("job")?,
        manual: r.flag("job")?,
    })
}

/// transaction: job | id str | messageType u32 | request key | signer cert | signer key |
/// recipient cert | verifier cert | CA cert | CSR bytes | subject (Name DER) bytes | polling u8
/// | poll opt(first PENDING u64 | attempt u32) | retries u32 | nonce opt(16 bytes)
fn put_txn(w: &mut W<'_>, t: &Transaction) -> Result<(), PersistError> {
    put_job(w, t.job);
    w.str(t.id.as_str())?;
    w.u32(t.message_type.code());
    w.key(&t.request_key)?;
    w.cert(&t.signer_cert)?;
    w.key(&t.signer_key)?;
    w.cert(&t.recipient)?;
    w.cert(&t.verifier)?;
    w.cert(&t.ca)?;
    w.bytes(&t.csr)?;
    w.bytes(
        &t.subject
            .to_der()
            .map_err(|_| PersistError::Encode("subject"))?,
    )?;
    w.flag(t.polling);
    w.flag(t.poll.is_some());
    if let Some((t0, k)) = t.poll {
        w.u64(t0.unix());
        w.u32(k);
    }
    w.u32(t.retries);
    w.flag(t.nonce.is_some());
    if let Some(n) = t.nonce {
        w.0.extend_from_slice(n.as_bytes());
    }
    Ok(())
}

fn get_txn(r: &mut R<'_>) -> Result<Box<Transaction>, PersistError> {
    let job = get_job(r)?;
    let id = TransactionId::new(r.str("transactionID")?)
        .map_err(|_| PersistError::Corrupt("transactionID"))?;
    let message_type = MessageType::from_code(r.u32("messageType")?);
    let request_key = r.key()?;
    let signer_cert = r.cert()?;
    let signer_key = r.key()?;
    let recipient = r.cert()?;
    let verifier = r.cert()?;
    let ca = r.cert()?;
    let csr = r.bytes("csr")?;
    let subject =
        Name::from_der(&r.bytes("subject")?).map_err(|_| PersistError::Corrupt("subject"))?;
    let polling = r.flag("polling")?;
    let poll = if r.flag("poll")? {
        Some((Instant::from_unix(r.u64("poll")?), r.u32("poll")?))
    } else {
        None
    };
    let retries = r.u32("retries")?;
    let nonce = if r.flag("nonce")? {
        Some(Nonce::from_slice(r.take(16, "nonce")?).map_err(|_| PersistError::Corrupt("nonce"))?)
    } else {
        None
    };
    Ok(Box::new(Transaction {
        job,
        id,
        message_type,
        request_key,
        signer_cert,
        signer_key,
        recipient,
        verifier,
        ca,
        csr,
        subject,
        polling,
        poll,
        retries,
        nonce,
    }))
}

fn put_config(w: &mut W<'_>, c: &TrustpointConfig) -> Result<(), PersistError> {
    w.str(&c.name)?;
    w.str(&c.path)?;
    w.flag(c.auto_enroll.is_some());
    if let Some(a) = c.auto_enroll {
        w.u8(a.percent.get());
        w.flag(a.regenerate);
    }
    w.u64(c.retry_period.as_secs());
    w.u32(c.retry_count);
    w.str(&c.subject)?;
    w.opt_str(c.challenge_password.as_deref())?;
    w.opt_str(c.ca_fingerprint.as_deref())?;
    w.u8(match c.renewal_message {
        RenewalMessage::PkcsReq => 0,
        RenewalMessage::RenewalReq => 1,
    });
    w.flag(c.legacy_algorithms);
    w.u32(c.key_bits);
    w.u8(match c.connect_retry {
        Backoff::Fixed => 0,
        Backoff::Doubling => 1,
    });
    w.u64(c.jitter.as_secs());
    w.u32(
        u32::try_from(c.subject_alt_names.len())
            .map_err(|_| PersistError::Encode("subjectAltName"))?,
    );
    for san in &c.subject_alt_names {
        w.str(&san.to_string())?;
    }
    w.flag(c.reenroll_after_expiry);
    Ok(())
}

fn get_config(r: &mut R<'_>, version: u8) -> Result<TrustpointConfig, PersistError> {
    let name = r.str("name")?;
    let path = r.str("path")?;
    let auto_enroll = if r.flag("auto_enroll")? {
        let percent = Percent::new(u32::from(r.u8("percent")?))
            .map_err(|_| PersistError::Corrupt("percent"))?;
        Some(AutoEnroll {
            percent,
            regenerate: r.flag("regenerate")?,
        })
    } else {
        None
    };
    let retry_period = Duration::from_secs(r.u64("retry_period")?);
    let retry_count = r.u32("retry_count")?;
    let subject = r.str("subject")?;
    let challenge_password = r.opt_str("challenge")?;
    let ca_fingerprint = r.opt_str("fingerprint")?;
    let renewal_message = match r.u8("renewal_message")? {
        0 => RenewalMessage::PkcsReq,
        1 => RenewalMessage::RenewalReq,
        _ => return Err(PersistError::Corrupt("renewal_message")),
    };
    let legacy_algorithms = r.flag("legacy")?;
    let key_bits = r.u32("key_bits")?;
    let connect_retry = match r.u8("backoff")? {
        0 => Backoff::Fixed,
        1 => Backoff::Doubling,
        _ => return Err(PersistError::Corrupt("backoff")),
    };
    let jitter = if version >= 2 {
        Duration::from_secs(r.u64("jitter")?)
    } else {
        TrustpointConfig::default().jitter
    };
    let mut subject_alt_names = Vec::new();
    if version >= 3 {
        for _ in 0..r.u32("subjectAltName count")? {
            subject_alt_names.push(
                r.str("subjectAltName")?
                    .parse()
                    .map_err(|_| PersistError::Corrupt("subjectAltName"))?,
            );
        }
    }
    let reenroll_after_expiry = version >= 4 && r.flag("reenroll_after_expiry")?;
    Ok(TrustpointConfig {
        name,
        path,
        auto_enroll,
        retry_period,
        retry_count,
        subject,
        challenge_password,
        subject_alt_names,
        ca_fingerprint,
        renewal_message,
        legacy_algorithms,
        key_bits,
        connect_retry,
        jitter,
        reenroll_after_expiry,
    })
}

fn put_chain(w: &mut W<'_>, c: &CaChain) -> Result<(), PersistError> {
    w.cert(&c.ca)?;
    w.opt_cert(c.ra_encrypt.as_ref())?;
    w.opt_cert(c.ra_sign.as_ref())
}

fn get_chain(r: &mut R<'_>) -> Result<CaChain, PersistError> {
    Ok(CaChain {
        ca: r.cert()?,
        ra_encrypt: r.opt_cert()?,
        ra_sign: r.opt_cert()?,
    })
}

impl Trustpoint {
    /// The whole trustpoint as bytes (format in this module's docs, version 4): configuration,
    /// keys, certificates active and rollover, capabilities, the transaction under way and the
    /// armed timers. Undrained events are not included.
    ///
    /// # Errors
    /// [`PersistError::Encode`] when a key or certificate cannot be encoded.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PersistError> {
        self.encode(W::default())
    }

    /// [`Trustpoint::to_bytes`] with every private key encrypted under `password` (PKCS #8
    /// EncryptedPrivateKeyInfo, PBES2 with PBKDF2-HMAC-SHA256 over `pbkdf2_iterations` and
    /// AES-256-CBC; salt and IV from `rng`).
    ///
    /// # Errors
    /// [`PersistError::Iterations`] below [`PrivateKey::MIN_PBKDF2_ITERATIONS`]; as
    /// `to_bytes`.
    pub fn to_bytes_encrypted<R: rand::CryptoRng + ?Sized>(
        &self,
        password: &[u8],
        pbkdf2_iterations: u32,
        mut rng: &mut R,
    ) -> Result<Vec<u8>, PersistError> {
        if pbkdf2_iterations < PrivateKey::MIN_PBKDF2_ITERATIONS {
            return Err(PersistError::Iterations);
        }
        self.encode(W(
            Vec::new(),
            Some(KeyCrypt {
                password,
                iterations: pbkdf2_iterations,
                rng: &mut rng,
            }),
        ))
    }

    fn encode(&self, mut w: W<'_>) -> Result<Vec<u8>, PersistError> {
        w.0.extend_from_slice(MAGIC);
        w.u8(VERSION);
        w.flag(w.1.is_some());
        put_config(&mut w, &self.config)?;
        w.flag(self.timers.is_authoritative());
        w.flag(self.chain.is_some());
        if let Some(c) = &self.chain {
            put_chain(&mut w, c)?;
        }
        w.str(&self.caps.to_text())?;
        w.opt_identity(self.identity.as_ref())?;
        w.opt_cert(self.rollover_ca.as_ref())?;
        w.opt_identity(self.rollover_identity.as_ref())?;
        let timers = self.timers.entries();
        w.u8(u8::try_from(timers.len()).map_err(|_| PersistError::Encode("timers"))?);
        for (t, at) in timers {
            w.u8(timer_code(t));
            w.u64(at.unix());
        }
        match &self.state {
            State::Unauthenticated => w.u8(0),
            State::AwaitingCaCert => w.u8(1),
            State::AwaitingCaApproval { chain } => {
                w.u8(2);
                put_chain(&mut w, chain)?;
            }
            State::AwaitingCaCaps { refresh, enrol } => {
                w.u8(3);
                w.flag(*refresh);
                w.flag(*enrol);
            }
            State::Authenticated => w.u8(4),
            State::AwaitingNextCaCert { job, retries } => {
                w.u8(5);
                put_job(&mut w, *job);
                w.u32(*retries);
            }
            State::PreparingRequest { job } => {
                w.u8(6);
                put_job(&mut w, *job);
            }
            State::AwaitingCertRep { txn } => {
                w.u8(7);
                put_txn(&mut w, txn)?;
            }
            State::Pending { txn } => {
                w.u8(8);
                put_txn(&mut w, txn)?;
            }
            State::Retrying { txn } => {
                w.u8(9);
                put_txn(&mut w, txn)?;
            }
            State::Enrolled => w.u8(10),
            State::RejectedNeedsManual => w.u8(11),
        }
        w.flag(self.wire != Wire::Idle);
        w.flag(self.caps_refresh_at.is_some());
        if let Some(at) = self.caps_refresh_at {
            w.u64(at.unix());
        }
        if self.rollover_ra.0.is_some() || self.rollover_ra.1.is_some() {
            w.opt_cert(self.rollover_ra.0.as_ref())?;
            w.opt_cert(self.rollover_ra.1.as_ref())?;
        }
        Ok(w.0)
    }

    /// Restores a trustpoint saved with [`Trustpoint::to_bytes`]. An exchange that was on the
    /// wire when saving is sent again (same transactionID, fresh senderNonce).
    ///
    /// # Errors
    /// [`PersistError::Format`] for another record or version, [`PersistError::Corrupt`] for
    /// a truncated or inconsistent one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PersistError> {
        Self::decode(R(bytes, None))
    }

    /// Restores a record written by [`Trustpoint::to_bytes_encrypted`] (a plain record is
    /// accepted too).
    ///
    /// # Errors
    /// [`PersistError::WrongPassword`]; as `from_bytes`.
    pub fn from_bytes_encrypted(bytes: &[u8], password: &[u8]) -> Result<Self, PersistError> {
        Self::decode(R(bytes, Some(password)))
    }

    fn decode(mut r: R<'_>) -> Result<Self, PersistError> {
        if r.take(6, "magic").map_err(|_| PersistError::Format)? != MAGIC {
            return Err(PersistError::Format);
        }
        let version = r.u8("version")?;
        if !(1..=VERSION).contains(&version) {
            return Err(PersistError::Format);
        }
        match (r.flag("key protection")?, r.1.is_some()) {
            (true, false) => return Err(PersistError::PasswordRequired),
            (false, true) => r.1 = None,
            _ => {}
        }
        let config = get_config(&mut r, version)?;
        let mut tp = Self::new(config).map_err(|_| PersistError::Corrupt("configuration"))?;
        tp.timers.set_authoritative(r.flag("authoritative")?);
        if r.flag("chain")? {
            tp.chain = Some(get_chain(&mut r)?);
        }
        tp.caps = Capabilities::parse(r.str("caps")?.as_bytes());
        tp.identity = r.opt_identity()?;
        tp.rollover_ca = r.opt_cert()?;
        tp.rollover_identity = r.opt_identity()?;
        for _ in 0..r.u8("timers")? {
            let t = timer_from(r.u8("timer")?)?;
            tp.timers.arm(t, Instant::from_unix(r.u64("timer")?));
        }
        tp.state = match r.u8("state")? {
            0 => State::Unauthenticated,
            1 => State::AwaitingCaCert,
            2 => State::AwaitingCaApproval {
                chain: Box::new(get_chain(&mut r)?),
            },
            3 => State::AwaitingCaCaps {
                refresh: r.flag("refresh")?,
                enrol: r.flag("enrol")?,
            },
            4 => State::Authenticated,
            5 => State::AwaitingNextCaCert {
                job: get_job(&mut r)?,
                retries: r.u32("retries")?,
            },
            6 => State::PreparingRequest {
                job: get_job(&mut r)?,
            },
            7 => State::AwaitingCertRep {
                txn: get_txn(&mut r)?,
            },
            8 => State::Pending {
                txn: get_txn(&mut r)?,
            },
            9 => State::Retrying {
                txn: get_txn(&mut r)?,
            },
            10 => State::Enrolled,
            11 => State::RejectedNeedsManual,
            _ => return Err(PersistError::Corrupt("state")),
        };
        tp.wire = if r.flag("wire")? {
            Wire::Ready
        } else {
            Wire::Idle
        };
        if version >= 2 && r.flag("refresh")? {
            tp.caps_refresh_at = Some(Instant::from_unix(r.u64("refresh")?));
        }
        if !r.0.is_empty() {
            tp.rollover_ra = (r.opt_cert()?, r.opt_cert()?);
        }
        if !r.0.is_empty() {
            return Err(PersistError::Corrupt("trailing bytes"));
        }
        Ok(tp)
    }
}
