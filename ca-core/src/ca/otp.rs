//! One-time enrolment passwords (C-9 step 3, C-14 `generate_otp`, Q-7), kept so that a reader
//! of the store learns none of them.
//!
//! A password is stored as a random 16-byte salt and SHA-256(salt ‖ password), never in clear;
//! the passwords themselves are 64 random bits, so a salted hash leaves nothing to guess
//! (a low-entropy secret would need a slow hash). A challengePassword is compared with every
//! unexpired password, each comparison in constant time and without stopping at the first
//! match, so the answer time does not say how much of a password was right. Expired passwords
//! are deleted by [`Ca::handle_timeout`] (with authoritative time, T-12) at their expiry, found from
//! an index by expiry, not by scanning every password.
//!
//! A record written by an older version (`password=` in clear) is read, hashed and rewritten
//! when the CA opens.

use std::collections::{BTreeMap, BTreeSet};

use pki_timers::Instant;
use rand::CryptoRng;
use scep_proto::DigestAlg;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::error::{CaError, ConfigError};
use super::records::{Fields, Writer, hex};
use super::{Ca, CaEvent};
use crate::storage::{RecordFamily, RecordKey, Store};

/// Length of the per-password salt.
const SALT_LEN: usize = 16;
/// Length of the stored SHA-256 digest.
const DIGEST_LEN: usize = 32;

/// A one-time enrolment password as stored ([`RecordKey::OneTimePassword`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Otp {
    salt: [u8; SALT_LEN],
    digest: [u8; DIGEST_LEN],
    pub(crate) expires: Instant,
}

/// What an OTP record holds: the stored form, or the clear password of an older version.
enum Decoded {
    Hashed(Otp),
    Clear {
        password: Zeroizing<String>,
        expires: Instant,
    },
}

impl Otp {
    const KIND: &'static str = "scep-rs-otp";

    /// The stored form of `password`, with a fresh salt from `rng`.
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        password: &str,
        expires: Instant,
        rng: &mut R,
    ) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self {
            digest: digest(&salt, password),
            salt,
            expires,
        }
    }

    /// Whether `candidate` is the password, compared in constant time.
    fn matches(&self, candidate: &str) -> subtle::Choice {
        digest(&self.salt, candidate).ct_eq(&self.digest)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        Writer::new(Self::KIND)
            .bytes("salt", &self.salt)
            .bytes("sha256", &self.digest)
            .num("expires", self.expires.unix())
            .finish()
    }

    fn decode(id: u64, bytes: &[u8]) -> Result<Decoded, CaError> {
        let key = RecordKey::OneTimePassword(id);
        let f = Fields::parse(&key, Self::KIND, bytes)?;
        let expires = f.instant("expires")?;
        if f.opt_text("sha256").is_none()
            && let Some(password) = f.opt_text("password")
        {
            return Ok(Decoded::Clear {
                password: Zeroizing::new(password.to_owned()),
                expires,
            });
        }
        let corrupt = || CaError::CorruptRecord { key: key.clone() };
        Ok(Decoded::Hashed(Self {
            salt: f.bytes("salt")?.try_into().map_err(|_| corrupt())?,
            digest: f.bytes("sha256")?.try_into().map_err(|_| corrupt())?,
            expires,
        }))
    }
}

fn digest(salt: &[u8; SALT_LEN], password: &str) -> [u8; DIGEST_LEN] {
    let mut input = Zeroizing::new(Vec::with_capacity(SALT_LEN.saturating_add(password.len())));
    input.extend_from_slice(salt);
    input.extend_from_slice(password.as_bytes());
    let mut out = [0u8; DIGEST_LEN];
    let sum = DigestAlg::Sha256.digest(&input);
    for (o, s) in out.iter_mut().zip(sum) {
        *o = s;
    }
    out
}

/// The one-time passwords by id, with an index by expiry.
#[derive(Default)]
pub(crate) struct OtpTable {
    by_id: BTreeMap<u64, Otp>,
    by_expiry: BTreeSet<(Instant, u64)>,
}

impl OtpTable {
    pub(crate) fn insert(&mut self, id: u64, otp: Otp) {
        self.by_expiry.insert((otp.expires, id));
        if let Some(old) = self.by_id.insert(id, otp) {
            self.by_expiry.remove(&(old.expires, id));
            if let Some(new) = self.by_id.get(&id) {
                self.by_expiry.insert((new.expires, id));
            }
        }
    }

    pub(crate) fn remove(&mut self, id: u64) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_expiry.remove(&(old.expires, id));
        }
    }

    /// The largest id in use.
    pub(crate) fn last_id(&self) -> Option<u64> {
        self.by_id.keys().next_back().copied()
    }

    /// C-9 step 3: the id of the unexpired password equal to `candidate`. Every unexpired
    /// password is compared, each in constant time.
    pub(crate) fn find(&self, candidate: &str, now: Instant) -> Option<u64> {
        let mut found = subtle::Choice::from(0);
        let mut id = 0u64;
        for (&(expires, otp_id), otp) in self
            .by_expiry
            .iter()
            .filter_map(|entry| self.by_id.get(&entry.1).map(|otp| (entry, otp)))
        {
            let hit = otp.matches(candidate) & subtle::Choice::from(u8::from(now < expires));
            let first = hit & !found;
            id.conditional_assign(&otp_id, first);
            found |= hit;
        }
        bool::from(found).then_some(id)
    }

    /// When the next password expires.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.by_expiry.first().map(|&(at, _)| at)
    }

    /// The ids of passwords expired at `now`, oldest first.
    fn expired(&self, now: Instant) -> Vec<u64> {
        self.by_expiry
            .iter()
            .take_while(|&&(at, _)| at <= now)
            .map(|&(_, id)| id)
            .collect()
    }
}

/// Reads every OTP record; clear ones (older versions) are hashed and rewritten.
pub(crate) fn load<S: Store, R: CryptoRng + ?Sized>(
    store: &S,
    rng: &mut R,
) -> Result<OtpTable, CaError> {
    let mut table = OtpTable::default();
    for id in store
        .list(RecordFamily::OneTimePassword)
        .map_err(CaError::storage)?
    {
        let key = RecordKey::OneTimePassword(id);
        let Some(bytes) = store.get(&key).map_err(CaError::storage)? else {
            continue;
        };
        let otp = match Otp::decode(id, &bytes)? {
            Decoded::Hashed(otp) => otp,
            Decoded::Clear { password, expires } => {
                let otp = Otp::new(&password, expires, rng);
                store.put(&key, &otp.encode()).map_err(CaError::storage)?;
                otp
            }
        };
        table.insert(id, otp);
    }
    Ok(table)
}

impl<S: Store> Ca<S> {
    /// C-14, Q-7: a one-time enrolment password valid for `minutes` (default
    /// `otp_default_minutes`): 16 uppercase hex characters from `rng`. The store keeps only a
    /// salted hash of it (see the crate README, "Secrets at rest"); it is deleted at expiry.
    ///
    /// # Errors
    /// [`ConfigError::OtpMinutes`] outside 1–1440; storage errors.
    pub fn generate_otp<R: CryptoRng + ?Sized>(
        &self,
        minutes: Option<u32>,
        now: Instant,
        rng: &mut R,
    ) -> Result<String, CaError> {
        let minutes = minutes.unwrap_or(self.config.otp_default_minutes);
        if !(1..=1440).contains(&minutes) {
            return Err(ConfigError::OtpMinutes { minutes }.into());
        }
        let mut bytes = Zeroizing::new([0u8; 8]);
        rng.fill_bytes(bytes.as_mut());
        let lower = Zeroizing::new(hex(bytes.as_ref()));
        let password = lower.to_ascii_uppercase();
        let expires = now.saturating_add(pki_timers::Duration::from_minutes(u64::from(minutes)));
        let otp = Otp::new(&password, expires, rng);
        // the id from the store's counter (unique across instances), taken unlocked.
        let id = self
            .store
            .allocate(&[crate::storage::Counter::OtpId])
            .map_err(CaError::storage)?
            .first()
            .copied()
            .ok_or(CaError::CounterExhausted)?;
        let mut inner = self.lock();
        self.store
            .put(&RecordKey::OneTimePassword(id), &otp.encode())
            .map_err(CaError::storage)?;
        inner.last_otp = inner.last_otp.max(id);
        inner.otps.insert(id, otp);
        Ok(password)
    }

    /// Deletes the passwords expired at `now`; called by [`Ca::handle_timeout`] with
    /// authoritative time.
    pub(crate) fn purge_otps(
        &self,
        inner: &mut super::state::Inner,
        now: Instant,
        events: &mut Vec<CaEvent>,
    ) -> Result<(), CaError> {
        let due = inner.otps.expired(now);
        for &id in &due {
            self.store
                .remove(&RecordKey::OneTimePassword(id))
                .map_err(CaError::storage)?;
            inner.otps.remove(id);
        }
        if !due.is_empty() {
            events.push(CaEvent::OneTimePasswordsPurged { count: due.len() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn q7_stored_form_round_trips_and_holds_no_password() {
        let otp = Otp::new("0123ABCD0123ABCD", Instant::from_unix(99), &mut rng());
        let bytes = otp.encode();
        assert!(!String::from_utf8_lossy(&bytes).contains("0123ABCD"));
        let Decoded::Hashed(back) = Otp::decode(1, &bytes).unwrap() else {
            panic!("hashed record read as clear");
        };
        assert_eq!(back, otp);
        assert!(bool::from(back.matches("0123ABCD0123ABCD")));
        assert!(!bool::from(back.matches("0123ABCD0123ABCE")));
        assert!(Otp::decode(1, b"scep-rs-otp v1\nsalt=00\nsha256=00\nexpires=1\n").is_err());
    }

    #[test]
    fn q7_clear_record_of_an_older_version_is_hashed_at_load() {
        let store = MemoryStore::new();
        let old = b"scep-rs-otp v1\npassword=FEEDFACE01234567\nexpires=500\n";
        store.put(&RecordKey::OneTimePassword(3), old).unwrap();
        let table = load(&store, &mut rng()).unwrap();
        let rewritten = store.get(&RecordKey::OneTimePassword(3)).unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&rewritten).contains("FEEDFACE"));
        assert_eq!(
            table.find("FEEDFACE01234567", Instant::from_unix(499)),
            Some(3)
        );
        assert_eq!(
            table.find("FEEDFACE01234567", Instant::from_unix(500)),
            None
        );
        assert_eq!(table.last_id(), Some(3));
    }

    #[test]
    fn q7_table_finds_the_first_match_and_indexes_expiry() {
        let mut t = OtpTable::default();
        let mut r = rng();
        t.insert(1, Otp::new("AAAA", Instant::from_unix(30), &mut r));
        t.insert(2, Otp::new("BBBB", Instant::from_unix(10), &mut r));
        t.insert(3, Otp::new("BBBB", Instant::from_unix(20), &mut r));
        assert_eq!(t.next_expiry(), Some(Instant::from_unix(10)));
        assert_eq!(t.find("BBBB", Instant::from_unix(5)), Some(2));
        assert_eq!(t.find("BBBB", Instant::from_unix(15)), Some(3));
        assert_eq!(t.find("CCCC", Instant::from_unix(5)), None);
        assert_eq!(t.expired(Instant::from_unix(20)), vec![2, 3]);
        t.remove(2);
        assert_eq!(t.next_expiry(), Some(Instant::from_unix(20)));
        t.insert(3, Otp::new("BBBB", Instant::from_unix(40), &mut r));
        assert_eq!(t.expired(Instant::from_unix(35)), vec![1]);
    }
}
