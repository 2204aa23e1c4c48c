//! Cheap counters for a host's metrics, read without decoding any stored request.

use super::Ca;
use super::state::EntryState;
use crate::storage::Store;

impl<S: Store> Ca<S> {
    /// How many requests wait for an administrator's grant or reject (C-14). Unlike
    /// [`Ca::list_pending`] it decodes no CSR, so a metrics scrape holds the CA's lock only
    /// for a walk over the request table.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.lock()
            .requests
            .values()
            .filter(|e| e.state == EntryState::Pending)
            .count()
    }
}
