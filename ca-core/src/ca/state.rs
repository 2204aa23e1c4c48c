//! The CA's in-memory state and its records (see [`super::records`] for the encoding).

use std::collections::BTreeMap;
use std::sync::Arc;

use der::{Decode, Encode};
use pki_timers::{CaTimer, Instant, TimerTable, Validity};
use rand::CryptoRng;
use scep_proto::{Certificate, IssuerAndSerialNumber, Signer};
use x509_cert::crl::CertificateList;
use zeroize::Zeroizing;

use super::error::{CaError, CaState};
use super::records::{Fields, Writer, decode_key, encode_key};
use crate::archive::DEFAULT_PBKDF2_ITERATIONS;
use crate::host::SignerKind;
use crate::issue::CaKey;
use crate::storage::RecordKey;

pub(crate) use super::table::RequestTable;

/// One CA key with its certificate and the certificate's DER (what GetCACert sends), shared
/// read-only with request threads.
pub(crate) struct Generation {
    pub(crate) ca: CaKey,
    pub(crate) der: Vec<u8>,
    /// The key as stored when a key passphrase is configured: encrypted PKCS#8 DER (PBES2,
    /// as the C-19 archive), made once so rewriting the CA record needs no new encryption.
    pub(crate) sealed: Option<Vec<u8>>,
    /// This generation's RA, in RA mode (S-7, see [`super::ra`]).
    pub(crate) ra: Option<super::ra::RaKey>,
}

impl Generation {
    /// `ca`, its key encrypted under `passphrase` if one is given (salt and IV from `rng`).
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        ca: CaKey,
        passphrase: Option<&str>,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        let der = ca.certificate_der().map_err(CaError::Issue)?;
        let sealed = passphrase
            .map(|p| {
                ca.key()
                    .to_encrypted_pkcs8_der(p.as_bytes(), DEFAULT_PBKDF2_ITERATIONS, rng)
                    .map_err(|_| invalid_key())
            })
            .transpose()?;
        Ok(Self {
            ca,
            der,
            sealed,
            ra: None,
        })
    }

    /// The CA certificate.
    pub(crate) fn cert(&self) -> &Certificate {
        self.ca.certificate()
    }

    pub(crate) fn signer(&self) -> Signer<'_> {
        Signer {
            cert: self.ca.certificate(),
            key: self.ca.key(),
        }
    }

    pub(crate) fn validity(&self) -> Validity {
        self.ca.validity()
    }

    /// The serial of its certificate (`None` for one that does not fit a `u64`: an imported
    /// CA's; every rollover certificate's serial comes from the CA's own counter, C-3).
    pub(crate) fn serial(&self) -> Option<u64> {
        crate::issue::certificate_serial(self.ca.certificate()).ok()
    }

    /// Reads one generation of the CA record: `<prefix>_key_encrypted` (needs `passphrase`)
    /// or `<prefix>_key` (plain PKCS#8), and `<prefix>_cert`. `None` if neither key field is
    /// there.
    fn decode(
        f: &Fields,
        prefix: &str,
        passphrase: Option<&str>,
        rk: &RecordKey,
    ) -> Result<Option<Self>, CaError> {
        let corrupt = || CaError::CorruptRecord { key: rk.clone() };
        let Some(super::records::StoredKey { key, sealed }) =
            decode_key(f, &format!("{prefix}_key"), passphrase)?
        else {
            return Ok(None);
        };
        let cert =
            Certificate::from_der(&f.bytes(&format!("{prefix}_cert"))?).map_err(|_| corrupt())?;
        let ca = CaKey::new(key, cert).map_err(|_| corrupt())?;
        let der = ca.certificate_der().map_err(CaError::Issue)?;
        let ra = super::ra::RaKey::decode(f, prefix, passphrase, rk)?;
        Ok(Some(Self {
            ca,
            der,
            sealed,
            ra,
        }))
    }

    /// Writes this generation's fields: the encrypted key if there is one, else the plain
    /// PKCS#8 (written straight from its zeroising buffer).
    fn encode(&self, w: Writer, prefix: &str) -> Result<Writer, CaError> {
        let w = encode_key(
            w,
            &format!("{prefix}_key"),
            self.ca.key(),
            self.sealed.as_deref(),
        )?;
        let w = w.bytes(&format!("{prefix}_cert"), &self.der);
        super::ra::encode_ra(self.ra.as_ref(), w, prefix)
    }

    /// Whether the key (or the RA key) is stored in clear.
    fn is_plain(&self) -> bool {
        self.sealed.is_none() || self.ra.as_ref().is_some_and(super::ra::RaKey::is_plain)
    }
}

fn invalid_key() -> CaError {
    CaError::Issue(crate::issue::IssueError::InvalidPrivateKey)
}

/// The persistent part of the CA itself ([`RecordKey::CaState`]).
pub(crate) struct CaRecord {
    pub(crate) state: CaState,
    pub(crate) active: Arc<Generation>,
    pub(crate) rollover: Option<Arc<Generation>>,
    /// Rollover generations made so far (C-19 archive counter).
    pub(crate) rollover_counter: u32,
    /// C-24/Q-8: automatic shadow generation is off after a cancel.
    pub(crate) shadow_suppressed: bool,
}

impl CaRecord {
    const KIND: &'static str = "scep-rs-ca";

    /// The record's bytes; without a passphrase they hold the keys in clear, so the buffer
    /// is wiped when dropped.
    pub(crate) fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CaError> {
        let state = match self.state {
            CaState::Active => "active",
            CaState::ActiveWithRollover => "active-with-rollover",
            CaState::Expired => "expired",
        };
        // Room for two generations of the largest keys and certificates, in hex.
        let mut w = Writer::with_capacity(Self::KIND, 64 * 1024)
            .text("state", state)
            .num("rollover_counter", u64::from(self.rollover_counter))
            .flag("shadow_suppressed", self.shadow_suppressed);
        w = self.active.encode(w, "active")?;
        if let Some(r) = &self.rollover {
            w = r.encode(w, "rollover")?;
        }
        Ok(Zeroizing::new(w.finish()))
    }

    /// Reads the record; keys stored encrypted need `passphrase`.
    ///
    /// # Errors
    /// [`CaError::KeyPassphraseRequired`], [`CaError::WrongKeyPassphrase`],
    /// [`CaError::CorruptRecord`].
    pub(crate) fn decode(bytes: &[u8], passphrase: Option<&str>) -> Result<Self, CaError> {
        let rk = RecordKey::CaState;
        let f = Fields::parse(&rk, Self::KIND, bytes)?;
        let corrupt = || CaError::CorruptRecord { key: rk.clone() };
        let state = match f.text("state")? {
            "active" => CaState::Active,
            "active-with-rollover" => CaState::ActiveWithRollover,
            "expired" => CaState::Expired,
            _ => return Err(corrupt()),
        };
        let active = Generation::decode(&f, "active", passphrase, &rk)?.ok_or_else(corrupt)?;
        let rollover = match Generation::decode(&f, "rollover", passphrase, &rk)? {
            Some(g) => Some(Arc::new(g)),
            None if f.opt_text("rollover_cert").is_some() => return Err(corrupt()),
            None => None,
        };
        Ok(Self {
            state,
            active: Arc::new(active),
            rollover,
            rollover_counter: u32::try_from(f.num("rollover_counter")?).map_err(|_| corrupt())?,
            shadow_suppressed: f.flag("shadow_suppressed")?,
        })
    }

    /// Whether a key is stored in clear although `passphrase` is configured.
    pub(crate) fn needs_sealing(&self, passphrase: Option<&str>) -> bool {
        passphrase.is_some()
            && (self.active.is_plain() || self.rollover.as_ref().is_some_and(|r| r.is_plain()))
    }

    /// Encrypts every key under `passphrase` (a store written without one, first opened with
    /// one).
    pub(crate) fn seal<R: CryptoRng + ?Sized>(
        &mut self,
        passphrase: &str,
        rng: &mut R,
    ) -> Result<(), CaError> {
        self.active = Arc::new(self.active.sealed_copy(passphrase, rng)?);
        if let Some(r) = &self.rollover {
            self.rollover = Some(Arc::new(r.sealed_copy(passphrase, rng)?));
        }
        Ok(())
    }
}

/// The current CRL ([`RecordKey::Crl`]).
#[derive(Clone)]
pub(crate) struct CrlRecord {
    pub(crate) number: u64,
    pub(crate) this_update: Instant,
    pub(crate) next_update: Instant,
    pub(crate) der: Vec<u8>,
    pub(crate) parsed: CertificateList,
}

impl CrlRecord {
    const KIND: &'static str = "scep-rs-crl";

    pub(crate) fn new(
        number: u64,
        this_update: Instant,
        next_update: Instant,
        parsed: CertificateList,
    ) -> Result<Self, CaError> {
        let der = parsed.to_der().map_err(|_| CaError::CertificateEncoding)?;
        Ok(Self {
            number,
            this_update,
            next_update,
            der,
            parsed,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        Writer::new(Self::KIND)
            .num("number", self.number)
            .num("this_update", self.this_update.unix())
            .num("next_update", self.next_update.unix())
            .bytes("der", &self.der)
            .finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CaError> {
        let rk = RecordKey::Crl;
        let f = Fields::parse(&rk, Self::KIND, bytes)?;
        let der = f.bytes("der")?;
        let parsed = CertificateList::from_der(&der)
            .map_err(|_| CaError::CorruptRecord { key: rk.clone() })?;
        Ok(Self {
            number: f.num("number")?,
            this_update: f.instant("this_update")?,
            next_update: f.instant("next_update")?,
            der,
            parsed,
        })
    }
}

/// Where a request table entry stands (C-12 … C-16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryState {
    /// Waiting for the administrator.
    Pending,
    /// Granted; being signed right now (never stored: a crash drops it, the serial stays used).
    Issuing,
    /// Issued: the certificate is kept for re-delivery (C-12, C-13) until the purge.
    Issued { serial: u64, cert: Vec<u8> },
    /// Rejected by the administrator (or by a rollover cancel, C-24).
    Rejected,
}

/// One request table entry ([`RecordKey::Request`]).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) transaction_id: String,
    pub(crate) created: Instant,
    pub(crate) state: EntryState,
    /// DER of the signer's IssuerAndSerialNumber (C-12 "same signer").
    pub(crate) signer_id: Vec<u8>,
    /// The signer's subjectPublicKey (C-12/C-13 amended: the requester's key); absent in
    /// records written before it was kept.
    pub(crate) signer_key: Option<Vec<u8>>,
    /// The signer's class and subject (C-14 listing, host review); absent in older records.
    pub(crate) signer: Option<(SignerKind, String)>,
    /// A renewal asking for names other than its signer's (C-10 amended).
    pub(crate) renames: bool,
    /// The CSR as received.
    pub(crate) csr: Vec<u8>,
    /// The request was addressed to the rollover CA (C-6, C-24).
    pub(crate) to_rollover: bool,
    /// The serial of the rollover CA certificate it was addressed to (C-24: once that
    /// rollover is cancelled, the request is never issued); absent for a request to the
    /// active CA and in records written before it was kept.
    pub(crate) rollover_serial: Option<u64>,
    /// The signer's validity if it is a certificate of this CA (C-11 Balance).
    pub(crate) signer_validity: Option<Validity>,
}

impl Entry {
    const KIND: &'static str = "scep-rs-request";

    /// The entry as a request-table row: its encoding and the columns a store indexes.
    pub(crate) fn row(&self) -> crate::storage::RequestRow {
        crate::storage::RequestRow {
            id: self.id,
            transaction_id: self.transaction_id.clone(),
            requester_key: self.signer_key.clone().unwrap_or_default(),
            open: matches!(self.state, EntryState::Pending | EntryState::Issuing),
            created: self.created.unix(),
            body: self.encode(),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(Self::KIND)
            .text("transaction_id", &self.transaction_id)
            .num("created", self.created.unix())
            .bytes("signer_id", &self.signer_id)
            .bytes("csr", &self.csr)
            .flag("to_rollover", self.to_rollover);
        if let Some(k) = &self.signer_key {
            w = w.bytes("signer_key", k);
        }
        if let Some((kind, subject)) = &self.signer {
            let kind = match kind {
                SignerKind::Credential { serial } => format!("credential:{serial}"),
                SignerKind::Untrusted => "untrusted".to_owned(),
                _ => "self-signed".to_owned(),
            };
            w = w.text("signer_kind", &kind).text("signer_subject", subject);
        }
        if self.renames {
            w = w.flag("renames", true);
        }
        if let Some(serial) = self.rollover_serial {
            w = w.num("rollover_serial", serial);
        }
        if let Some(v) = self.signer_validity {
            w = w
                .num("signer_not_before", v.not_before().unix())
                .num("signer_not_after", v.not_after().unix());
        }
        w = match &self.state {
            // An in-flight entry is stored as pending: after a crash the admin sees it.
            EntryState::Pending | EntryState::Issuing => w.text("state", "pending"),
            EntryState::Rejected => w.text("state", "rejected"),
            EntryState::Issued { serial, cert } => w
                .text("state", "issued")
                .num("serial", *serial)
                .bytes("cert", cert),
        };
        w.finish()
    }

    pub(crate) fn decode(id: u64, bytes: &[u8]) -> Result<Self, CaError> {
        let rk = RecordKey::Request(id);
        let f = Fields::parse(&rk, Self::KIND, bytes)?;
        let corrupt = || CaError::CorruptRecord { key: rk.clone() };
        let state = match f.text("state")? {
            "pending" => EntryState::Pending,
            "rejected" => EntryState::Rejected,
            "issued" => EntryState::Issued {
                serial: f.num("serial")?,
                cert: f.bytes("cert")?,
            },
            _ => return Err(corrupt()),
        };
        let signer_validity = match (
            f.opt_num("signer_not_before")?,
            f.opt_num("signer_not_after")?,
        ) {
            (Some(nb), Some(na)) => Some(
                Validity::new(Instant::from_unix(nb), Instant::from_unix(na))
                    .map_err(|_| corrupt())?,
            ),
            _ => None,
        };
        Ok(Self {
            id,
            transaction_id: f.text("transaction_id")?.to_owned(),
            created: f.instant("created")?,
            state,
            signer_id: f.bytes("signer_id")?,
            signer_key: f.opt_bytes("signer_key")?,
            renames: f.opt_text("renames") == Some("1"),
            signer: match (f.opt_text("signer_kind"), f.opt_text("signer_subject")) {
                (Some(kind), Some(subject)) => {
                    let kind = match kind.split_once(':') {
                        Some(("credential", n)) => SignerKind::Credential {
                            serial: n.parse().map_err(|_| corrupt())?,
                        },
                        None if kind == "untrusted" => SignerKind::Untrusted,
                        None if kind == "self-signed" => SignerKind::SelfSigned,
                        _ => return Err(corrupt()),
                    };
                    Some((kind, subject.to_owned()))
                }
                _ => None,
            },
            csr: f.bytes("csr")?,
            to_rollover: f.flag("to_rollover")?,
            rollover_serial: f.opt_num("rollover_serial")?,
            signer_validity,
        })
    }
}

/// A revoked serial ([`RecordKey::Revoked`]): when, and the certificate's notAfter if the CA
/// knows it (then the CRL stops listing it after expiry, C-21).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Revocation {
    pub(crate) revoked_at: Instant,
    pub(crate) not_after: Option<Instant>,
}

pub(crate) fn encode_revoked(r: &Revocation) -> Vec<u8> {
    let w = Writer::new("scep-rs-revoked").num("revoked_at", r.revoked_at.unix());
    match r.not_after {
        Some(na) => w.num("not_after", na.unix()),
        None => w,
    }
    .finish()
}

pub(crate) fn decode_revoked(serial: u64, bytes: &[u8]) -> Result<Revocation, CaError> {
    let f = Fields::parse(&RecordKey::Revoked(serial), "scep-rs-revoked", bytes)?;
    Ok(Revocation {
        revoked_at: f.instant("revoked_at")?,
        not_after: f.opt_num("not_after")?.map(Instant::from_unix),
    })
}

/// The notAfter of an issued (serial, subject) record, if it has one.
pub(crate) fn issued_name_not_after(serial: u64, bytes: &[u8]) -> Option<Instant> {
    let f = Fields::parse(&RecordKey::IssuedName(serial), "scep-rs-issued", bytes).ok()?;
    f.opt_num("not_after")
        .ok()
        .flatten()
        .map(Instant::from_unix)
}

/// The (serial, subject) record of database level Names ([`RecordKey::IssuedName`]).
pub(crate) fn encode_issued_name(subject: &str, not_after: Instant) -> Vec<u8> {
    Writer::new("scep-rs-issued")
        .text("subject", subject)
        .num("not_after", not_after.unix())
        .finish()
}

/// DER of a certificate's IssuerAndSerialNumber (C-12 "same signer").
pub(crate) fn signer_id(cert: &Certificate) -> Vec<u8> {
    IssuerAndSerialNumber::of(cert).to_der().unwrap_or_default()
}

/// Everything behind the CA's lock.
pub(crate) struct Inner {
    pub(crate) ca: CaRecord,
    pub(crate) last_serial: u64,
    pub(crate) last_request: u64,
    pub(crate) last_otp: u64,
    pub(crate) crl: CrlRecord,
    pub(crate) revoked: BTreeMap<u64, Revocation>,
    pub(crate) requests: RequestTable,
    pub(crate) otps: super::otp::OtpTable,
    pub(crate) timers: TimerTable<CaTimer>,
    /// The store's version of the CA record this instance holds (compare-and-swap).
    pub(crate) ca_version: Option<u64>,
    /// The store's shared version when this instance last read what it caches.
    pub(crate) shared_seen: u64,
    /// The last refresh from the store failed: a revocation made by another instance may be
    /// unseen, so no certificate counts as a renewal credential (C-8, fail closed).
    pub(crate) refresh_failed: bool,
}

impl Inner {
    pub(crate) fn find_transaction(&self, tid: &str) -> Option<&Entry> {
        self.requests.find_transaction(tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::{
        CaCertParams, CrlParams, certificate_revocation_list, generate_key,
        self_signed_ca_certificate,
    };
    use rand::SeedableRng;
    use std::str::FromStr;

    fn generation(seed: u64) -> Generation {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let key = generate_key(1024, &mut rng).unwrap();
        let name = x509_cert::name::Name::from_str("CN=ROOTCA").unwrap();
        let params = CaCertParams::new(name, Instant::from_unix(1_767_225_600));
        let ca = self_signed_ca_certificate(&params, key, &mut rng).unwrap();
        Generation::new(ca, None, &mut rng).unwrap()
    }

    #[test]
    fn ca_record_round_trips() {
        let active = Arc::new(generation(1));
        for rollover in [None, Some(Arc::new(generation(2)))] {
            let record = CaRecord {
                state: CaState::ActiveWithRollover,
                active: Arc::clone(&active),
                rollover,
                rollover_counter: 3,
                shadow_suppressed: true,
            };
            let bytes = record.encode().unwrap();
            let back = CaRecord::decode(&bytes, None).unwrap();
            assert_eq!(back.encode().unwrap(), bytes);
            assert_eq!(back.active.der, active.der);
            assert_eq!(back.state, CaState::ActiveWithRollover);
            assert_eq!(back.rollover_counter, 3);
            assert!(back.shadow_suppressed);
        }
        assert!(CaRecord::decode(b"scep-rs-ca v1\nstate=odd\n", None).is_err());
    }

    #[test]
    fn crl_record_round_trips() {
        let g = generation(1);
        let now = Instant::from_unix(1_767_225_600);
        let list = certificate_revocation_list(
            &g.ca,
            &CrlParams::new(now, 7),
            &mut rand::rngs::StdRng::seed_from_u64(3),
        )
        .unwrap();
        let record = CrlRecord::new(7, now, Instant::from_unix(now.unix() + 21_600), list).unwrap();
        let back = CrlRecord::decode(&record.encode()).unwrap();
        assert_eq!(back.encode(), record.encode());
        assert_eq!((back.number, back.next_update), (7, record.next_update));
    }

    #[test]
    fn request_entry_round_trips() {
        let validity = Validity::new(Instant::from_unix(10), Instant::from_unix(20)).unwrap();
        for state in [
            EntryState::Pending,
            EntryState::Rejected,
            EntryState::Issued {
                serial: 9,
                cert: vec![0x30, 0x00],
            },
        ] {
            let entry = Entry {
                id: 4,
                transaction_id: "abc+/=".to_owned(),
                created: Instant::from_unix(5),
                state: state.clone(),
                signer_id: vec![1, 2],
                signer_key: Some(vec![5, 6]),
                signer: Some((SignerKind::Credential { serial: 7 }, "CN=a".to_owned())),
                renames: true,
                csr: vec![3, 4],
                to_rollover: true,
                rollover_serial: Some(3),
                signer_validity: Some(validity),
            };
            let back = Entry::decode(4, &entry.encode()).unwrap();
            assert_eq!(back.encode(), entry.encode());
            assert_eq!(back.state, state);
            assert_eq!(back.rollover_serial, Some(3));
            assert_eq!(back.signer_validity, Some(validity));
        }
    }

    #[test]
    fn request_table_index_follows_inserts_and_removes() {
        let entry = |id: u64, tid: &str| Entry {
            id,
            transaction_id: tid.to_owned(),
            created: Instant::from_unix(0),
            state: EntryState::Pending,
            signer_id: vec![],
            signer_key: None,
            signer: None,
            renames: false,
            csr: vec![],
            to_rollover: false,
            rollover_serial: None,
            signer_validity: None,
        };
        let mut t = RequestTable::default();
        t.insert(1, entry(1, "A"));
        t.insert(2, entry(2, "B"));
        assert_eq!(t.find_transaction("A").map(|e| e.id), Some(1));
        t.insert(1, entry(1, "A"));
        assert_eq!(t.find_transaction("A").map(|e| e.id), Some(1));
        assert_eq!(t.remove(&1).map(|e| e.id), Some(1));
        assert!(t.find_transaction("A").is_none());
        t.insert(3, entry(3, "B"));
        t.remove(&2);
        assert_eq!(t.find_transaction("B").map(|e| e.id), Some(3));
        assert_eq!(t.len(), 1);
        // The arrival index follows too (T-15 purge without a scan).
        let at = |id: u64, secs: u64, state: EntryState| Entry {
            created: Instant::from_unix(secs),
            state,
            ..entry(id, &format!("T{id}"))
        };
        t.insert(4, at(4, 30, EntryState::Pending));
        t.insert(5, at(5, 10, EntryState::Issuing));
        t.insert(6, at(6, 20, EntryState::Rejected));
        assert_eq!(t.oldest_created(), Some(Instant::from_unix(0)));
        t.remove(&3);
        assert_eq!(t.oldest_created(), Some(Instant::from_unix(10)));
        assert_eq!(t.created_until(|c| c.unix() <= 20), vec![6]);
        assert_eq!(t.created_until(|c| c.unix() <= 99), vec![6, 4]);
        t.insert(5, at(5, 10, EntryState::Pending));
        assert_eq!(t.created_until(|c| c.unix() <= 10), vec![5]);
    }

    #[test]
    fn revoked_and_issued_name_round_trip() {
        for not_after in [None, Some(Instant::from_unix(88))] {
            let r = Revocation {
                revoked_at: Instant::from_unix(77),
                not_after,
            };
            assert_eq!(decode_revoked(5, &encode_revoked(&r)).unwrap(), r);
        }
        let name = encode_issued_name("CN=a", Instant::from_unix(66));
        assert_eq!(
            issued_name_not_after(3, &name),
            Some(Instant::from_unix(66))
        );
        assert!(decode_revoked(5, b"garbage").is_err());
    }
}
