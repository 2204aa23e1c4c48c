//! One table of deadlines, keyed by a timer enum, that runs only on authoritative time (T-12).

use alloc::vec::Vec;

use crate::time::Instant;

/// The armed timers of one node (a CA or a trustpoint), keyed by `K` (e.g. [`crate::CaTimer`]
/// or [`crate::ClientTimer`]); at most one deadline per key.
///
/// T-12: without authoritative time no timer runs. Deadlines may be stored at any time, but
/// [`Self::next_deadline`] and [`Self::pop_due`] report nothing until
/// [`Self::set_authoritative`]`(true)`; from then on overdue timers fire at once, earliest
/// first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerTable<K> {
    entries: Vec<(K, Instant)>,
    authoritative: bool,
}

impl<K> Default for TimerTable<K> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            authoritative: false,
        }
    }
}

impl<K: Copy + Ord> TimerTable<K> {
    /// An empty table on a clock that is not (yet) authoritative.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the table whether the host's clock is authoritative (V-7).
    pub fn set_authoritative(&mut self, authoritative: bool) {
        self.authoritative = authoritative;
    }

    /// Whether timers may run.
    #[must_use]
    pub fn is_authoritative(&self) -> bool {
        self.authoritative
    }

    /// Arms `timer` at `at`, replacing any earlier deadline of the same timer.
    pub fn arm(&mut self, timer: K, at: Instant) {
        match self.entries.iter_mut().find(|(k, _)| *k == timer) {
            Some(entry) => entry.1 = at,
            None => self.entries.push((timer, at)),
        }
    }

    /// Disarms `timer`, returning its deadline if it was armed.
    pub fn cancel(&mut self, timer: K) -> Option<Instant> {
        let pos = self.entries.iter().position(|(k, _)| *k == timer)?;
        Some(self.entries.swap_remove(pos).1)
    }

    /// Disarms every timer.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The stored deadline of `timer`, authoritative or not.
    #[must_use]
    pub fn deadline(&self, timer: K) -> Option<Instant> {
        self.entries
            .iter()
            .find(|(k, _)| *k == timer)
            .map(|&(_, at)| at)
    }

    /// The earliest deadline (ties broken by the key's order), or `None` without authoritative
    /// time. This is what a host's `poll_timeout` returns.
    #[must_use]
    pub fn next_deadline(&self) -> Option<(K, Instant)> {
        if !self.authoritative {
            return None;
        }
        self.entries.iter().copied().min_by_key(|&(k, at)| (at, k))
    }

    /// Removes and returns the earliest timer due at `now` (deadline `≤ now`); call until it
    /// returns `None` to fire every overdue timer in chronological order. Calls before the
    /// deadline, or without authoritative time, return `None` and change nothing.
    pub fn pop_due(&mut self, now: Instant) -> Option<(K, Instant)> {
        let (timer, at) = self.next_deadline()?;
        if at > now {
            return None;
        }
        self.cancel(timer);
        Some((timer, at))
    }

    /// Every stored deadline, earliest first (for a timer listing).
    #[must_use]
    pub fn entries(&self) -> Vec<(K, Instant)> {
        let mut all = self.entries.clone();
        all.sort_by_key(|&(k, at)| (at, k));
        all
    }
}
