//! The request counts behind ca-core's C-14 limits when several instances share the
//! database, asked on every enrolment: the open rows of one requester key (the per-key
//! quota; a lookup in the partial index of migration 2) and the rows of the whole table
//! (`max_requests`; the sum of the 16 slots migration 2's triggers keep, not a count(*)
//! that would read the whole table).

use ca_core::StoreError;

use crate::PgStore;
use crate::error::db_error;
use crate::records::{from_db, to_db};

impl PgStore {
    pub(crate) fn op_count_open_requests(&self, requester_key: &[u8]) -> Result<u64, StoreError> {
        let rows = self.rows(
            None,
            "SELECT count(*) FROM scep_request WHERE open AND requester_key = $1",
            &[&requester_key],
        )?;
        Ok(rows.first().map_or(0, |r| from_db(r.get(0))))
    }

    /// T-15: every row created at or before `created_until` (by the index on `created`).
    pub(crate) fn op_purge_requests(&self, created_until: u64) -> Result<u64, StoreError> {
        let mut c = self.conn(None)?;
        let st = c
            .stmt("DELETE FROM scep_request WHERE created <= $1")
            .map_err(db_error(None))?;
        c.client
            .execute(&st, &[&to_db(created_until)])
            .map_err(db_error(None))
    }

    pub(crate) fn op_count_requests(&self) -> Result<u64, StoreError> {
        let rows = self.rows(
            None,
            "SELECT COALESCE(sum(entries), 0)::bigint FROM scep_request_count",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| from_db(r.get(0))))
    }
}
