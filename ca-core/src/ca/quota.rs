//! C-14 limits on a store that several CA instances share: the per-key quota of unissued
//! entries ([`super::enroll::MAX_PENDING_PER_KEY`]) and `max_requests` count the store's
//! request table ([`Store::count_open_requests`], [`Store::count_requests`]), not only the
//! entries this instance made or looked up. On a store one instance has to itself the
//! instance's own table is the whole table, and is what is counted.
//!
//! The store is asked without the CA's lock, so requests decided at the same moment by
//! different instances may each miss the other's new entry. A pending entry is therefore
//! counted again once written, and withdrawn if the table is then over `max_requests`: of
//! entries written at once, at least the last one counted sees all the others, so the
//! entries kept never exceed the limit (those written at once may all be withdrawn; their
//! requesters are answered HTTP 503 and retry). Auto-granted issuances, recorded once
//! signed, and the per-key quota may pass their limit by the requests other instances are
//! deciding at that moment, never more.

use pki_timers::{Instant, purge_at};

use super::state::Inner;
use super::{Ca, CaError};
use crate::storage::{RecordKey, Store};

impl<S: Store> Ca<S> {
    /// The store's count of open entries signed by `key`, if the store is shared (asked
    /// without the lock; a store that cannot answer leaves the local count).
    pub(crate) fn stored_unissued(&self, key: &[u8]) -> Option<u64> {
        self.store.count_open_requests(key).ok().flatten()
    }

    /// T-15: removes the entries due for purge at `now` (except those being signed) from the
    /// store and the table; how many the store removed. A shared store removes every
    /// instance's due entries in one call ([`Store::purge_requests`]); one this instance has
    /// to itself, its entries one by one.
    pub(crate) fn purge_requests(&self, inner: &mut Inner, now: Instant) -> Result<usize, CaError> {
        let lifetime = self.config.lifetime_enrollment_request;
        let due = inner
            .requests
            .created_until(|created| purge_at(created, lifetime) <= now);
        // created + lifetime <= now, for every instance's rows.
        let until = now.unix().checked_sub(lifetime.as_secs());
        let shared = match until {
            Some(until) => self.store.purge_requests(until).map_err(CaError::storage)?,
            None => None,
        };
        if shared.is_none() {
            for id in &due {
                self.store
                    .remove(&RecordKey::Request(*id))
                    .map_err(CaError::storage)?;
            }
        }
        for id in &due {
            inner.requests.remove(id);
        }
        Ok(shared.map_or(due.len(), |n| usize::try_from(n).unwrap_or(usize::MAX)))
    }

    /// T-15 in an instance that does not hold the timer lease: the holder purges the store;
    /// this instance drops the same entries from its table (they would otherwise stay in
    /// its memory for good).
    pub(crate) fn forget_purged(&self, inner: &mut Inner, now: Instant) {
        let lifetime = self.config.lifetime_enrollment_request;
        for id in inner
            .requests
            .created_until(|created| purge_at(created, lifetime) <= now)
        {
            inner.requests.remove(&id);
        }
    }

    /// After pending entry `id` was written to a shared store: if the table now holds more
    /// than `max_requests`, removes the entry again and says so. A store that cannot count
    /// or remove now keeps the entry.
    pub(crate) fn withdraw_if_overfull(&self, id: u64) -> bool {
        let over = matches!(self.store.count_requests(), Ok(Some(n))
            if usize::try_from(n).unwrap_or(usize::MAX) > self.config.max_requests);
        over && self.store.remove(&RecordKey::Request(id)).is_ok()
    }
}

/// C-14: the entries signed by `key` that are not issued yet: this instance's count, or the
/// shared store's (`stored`) when that is more (this instance's entries being signed right
/// now are not in the store yet).
pub(crate) fn unissued(inner: &Inner, key: &[u8], stored: Option<u64>) -> usize {
    let local = inner.requests.unissued_of(key);
    stored.map_or(local, |n| {
        local.max(usize::try_from(n).unwrap_or(usize::MAX))
    })
}

/// `max_requests`: the entries of the request table. On a shared store its count
/// (`stored`): this instance's table holds only the entries it made or looked up, and keeps
/// those another instance purged until it looks again.
pub(crate) fn entries(inner: &Inner, stored: Option<u64>) -> usize {
    stored.map_or(inner.requests.len(), |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    })
}
