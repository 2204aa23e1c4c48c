//! The key-value view of the store (`get`, `put`, `remove`, `list`, `list_archives`): each
//! record key reads and writes its typed table, so the two views are one set of records.

use ca_core::{
    StoreError,
    storage::{Conflict, RecordFamily, RecordKey},
};
use postgres::types::ToSql;

use crate::PgStore;
use crate::error::{col, db_error, unique_violation};
use crate::records::{
    check_key, counter_name, counter_of, crl_number, decode_counter, encode_counter, from_db,
    request_columns, to_db,
};

/// Bumps the shared version in the same statement when the CTE `w` wrote a row.
macro_rules! bump_if {
    ($w:literal) => {
        concat!(
            " UPDATE scep_meta SET shared_version = shared_version + 1 WHERE EXISTS (SELECT 1 FROM ",
            $w,
            ")"
        )
    };
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgStore {
    /// Runs one prepared statement; the rows it returns.
    pub(crate) fn rows(
        &self,
        key: Option<&RecordKey>,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let mut c = self.conn(key)?;
        let st = c.stmt(sql).map_err(db_error(key))?;
        c.client.query(&st, params).map_err(db_error(key))
    }

    /// Runs one prepared statement; the first column of its first row, if any.
    fn bytes(
        &self,
        key: &RecordKey,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.rows(Some(key), sql, params)?;
        match rows.first() {
            Some(r) => col(r, 0, Some(key)),
            None => Ok(None),
        }
    }

    fn write(
        &self,
        key: &RecordKey,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<(), StoreError> {
        self.rows(Some(key), sql, params).map(drop)
    }

    pub(crate) fn kv_get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        if let Some(counter) = counter_of(key) {
            let rows = self.rows(
                Some(key),
                "SELECT value FROM scep_counter WHERE name = $1",
                &[&counter_name(counter)],
            )?;
            return rows
                .first()
                .map(|r| col(r, 0, Some(key)).map(|v| encode_counter(from_db(v))))
                .transpose();
        }
        match key {
            RecordKey::CaState => self.bytes(key, "SELECT value FROM scep_ca_state", &[]),
            RecordKey::Crl => self.bytes(key, "SELECT value FROM scep_crl", &[]),
            RecordKey::Request(n) => self.bytes(
                key,
                "SELECT body FROM scep_request WHERE id = $1",
                &[&to_db(*n)],
            ),
            RecordKey::IssuedName(n) => self.bytes(
                key,
                "SELECT name FROM scep_issued WHERE serial = $1",
                &[&to_db(*n)],
            ),
            RecordKey::IssuedCert(n) => self.bytes(
                key,
                "SELECT cert FROM scep_issued WHERE serial = $1",
                &[&to_db(*n)],
            ),
            RecordKey::Revoked(n) => self.bytes(
                key,
                "SELECT record FROM scep_revoked WHERE serial = $1",
                &[&to_db(*n)],
            ),
            RecordKey::OneTimePassword(n) => self.bytes(
                key,
                "SELECT record FROM scep_otp WHERE id = $1",
                &[&to_db(*n)],
            ),
            RecordKey::Archive(name) => self.bytes(
                key,
                "SELECT value FROM scep_archive WHERE name = $1",
                &[name],
            ),
            _ => Err(StoreError::InvalidKey { key: key.clone() }),
        }
    }

    pub(crate) fn kv_put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        if let Some(counter) = counter_of(key) {
            let v =
                decode_counter(value).ok_or_else(|| StoreError::Corrupt { key: key.clone() })?;
            return self.write(
                key,
                "INSERT INTO scep_counter (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&counter_name(counter), &to_db(v)],
            );
        }
        match key {
            RecordKey::CaState => self.write(
                key,
                concat!(
                    "WITH w AS (INSERT INTO scep_ca_state (singleton, version, value)
                       SELECT true, shared_version + 1, $1 FROM scep_meta
                     ON CONFLICT (singleton) DO UPDATE
                       SET value = EXCLUDED.value, version = scep_ca_state.version + 1
                     RETURNING 1)",
                    bump_if!("w")
                ),
                &[&value],
            ),
            RecordKey::Crl => {
                let number = crl_number(value).map(to_db);
                self.write(
                    key,
                    concat!(
                        "WITH w AS (INSERT INTO scep_crl (singleton, number, value) VALUES (true, $1, $2)
                         ON CONFLICT (singleton) DO UPDATE
                           SET value = EXCLUDED.value,
                               number = COALESCE(EXCLUDED.number, scep_crl.number)
                         RETURNING 1)",
                        bump_if!("w")
                    ),
                    &[&number, &value],
                )
            }
            RecordKey::Request(n) => self.put_request_body(key, *n, value),
            RecordKey::IssuedName(n) => self.write(
                key,
                "INSERT INTO scep_issued (serial, name) VALUES ($1, $2)
                 ON CONFLICT (serial) DO UPDATE SET name = EXCLUDED.name",
                &[&to_db(*n), &value],
            ),
            RecordKey::IssuedCert(n) => self.write(
                key,
                "INSERT INTO scep_issued (serial, cert) VALUES ($1, $2)
                 ON CONFLICT (serial) DO UPDATE SET cert = EXCLUDED.cert",
                &[&to_db(*n), &value],
            ),
            RecordKey::Revoked(n) => self.write(
                key,
                concat!(
                    "WITH w AS (INSERT INTO scep_revoked (serial, record) VALUES ($1, $2)
                     ON CONFLICT (serial) DO UPDATE SET record = EXCLUDED.record RETURNING 1)",
                    bump_if!("w")
                ),
                &[&to_db(*n), &value],
            ),
            RecordKey::OneTimePassword(n) => self.write(
                key,
                concat!(
                    "WITH w AS (INSERT INTO scep_otp (id, record) VALUES ($1, $2)
                     ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record RETURNING 1)",
                    bump_if!("w")
                ),
                &[&to_db(*n), &value],
            ),
            RecordKey::Archive(name) => self.write(
                key,
                "INSERT INTO scep_archive (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[name, &value],
            ),
            _ => Err(StoreError::InvalidKey { key: key.clone() }),
        }
    }

    /// A request entry written through `put`: its indexed columns come from the entry's bytes
    /// when they are ca-core's encoding; otherwise an existing row keeps its columns and a new
    /// one has none (no transactionID: `find_request` does not find it).
    fn put_request_body(&self, key: &RecordKey, id: u64, value: &[u8]) -> Result<(), StoreError> {
        let result = match request_columns(value) {
            Some((tid, requester, open, created)) => self.write(
                key,
                "INSERT INTO scep_request (id, transaction_id, requester_key, open, created, body)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
                   requester_key = EXCLUDED.requester_key, open = EXCLUDED.open,
                   created = EXCLUDED.created, body = EXCLUDED.body",
                &[&to_db(id), &tid, &requester, &open, &to_db(created), &value],
            ),
            None => self.write(
                key,
                "INSERT INTO scep_request (id, body) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                &[&to_db(id), &value],
            ),
        };
        match result {
            Err(StoreError::Io { source, .. })
                if unique_violation(&source) == Some("scep_request_transaction_id_key") =>
            {
                let holder = request_columns(value)
                    .and_then(|(tid, ..)| self.holder_of(&tid).ok().flatten())
                    .unwrap_or_default();
                Err(StoreError::Conflict(Conflict::TransactionId { holder }))
            }
            other => other,
        }
    }

    /// The id of the row holding `tid`, if any.
    pub(crate) fn holder_of(&self, tid: &str) -> Result<Option<u64>, StoreError> {
        let rows = self.rows(
            None,
            "SELECT id FROM scep_request WHERE transaction_id = $1",
            &[&tid],
        )?;
        rows.first()
            .map(|r| col(r, 0, None).map(from_db))
            .transpose()
    }

    pub(crate) fn kv_remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        check_key(key)?;
        if let Some(counter) = counter_of(key) {
            return self.write(
                key,
                "DELETE FROM scep_counter WHERE name = $1",
                &[&counter_name(counter)],
            );
        }
        match key {
            RecordKey::CaState => self.write(
                key,
                concat!(
                    "WITH w AS (DELETE FROM scep_ca_state RETURNING 1)",
                    bump_if!("w")
                ),
                &[],
            ),
            RecordKey::Crl => self.write(
                key,
                concat!(
                    "WITH w AS (DELETE FROM scep_crl RETURNING 1)",
                    bump_if!("w")
                ),
                &[],
            ),
            RecordKey::Request(n) => {
                self.write(key, "DELETE FROM scep_request WHERE id = $1", &[&to_db(*n)])
            }
            // The row goes when neither the name nor the certificate is left.
            RecordKey::IssuedName(n) => self.write(
                key,
                "WITH gone AS (DELETE FROM scep_issued WHERE serial = $1 AND cert IS NULL)
                 UPDATE scep_issued SET name = NULL WHERE serial = $1 AND cert IS NOT NULL",
                &[&to_db(*n)],
            ),
            RecordKey::IssuedCert(n) => self.write(
                key,
                "WITH gone AS (DELETE FROM scep_issued WHERE serial = $1 AND name IS NULL)
                 UPDATE scep_issued SET cert = NULL WHERE serial = $1 AND name IS NOT NULL",
                &[&to_db(*n)],
            ),
            RecordKey::Revoked(n) => self.write(
                key,
                concat!(
                    "WITH w AS (DELETE FROM scep_revoked WHERE serial = $1 RETURNING 1)",
                    bump_if!("w")
                ),
                &[&to_db(*n)],
            ),
            RecordKey::OneTimePassword(n) => self.write(
                key,
                concat!(
                    "WITH w AS (DELETE FROM scep_otp WHERE id = $1 RETURNING 1)",
                    bump_if!("w")
                ),
                &[&to_db(*n)],
            ),
            RecordKey::Archive(name) => {
                self.write(key, "DELETE FROM scep_archive WHERE name = $1", &[name])
            }
            _ => Err(StoreError::InvalidKey { key: key.clone() }),
        }
    }

    pub(crate) fn kv_list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        let sql = match family {
            RecordFamily::Request => "SELECT id FROM scep_request",
            RecordFamily::IssuedName => "SELECT serial FROM scep_issued WHERE name IS NOT NULL",
            RecordFamily::IssuedCert => "SELECT serial FROM scep_issued WHERE cert IS NOT NULL",
            RecordFamily::Revoked => "SELECT serial FROM scep_revoked",
            RecordFamily::OneTimePassword => "SELECT id FROM scep_otp",
            _ => return Ok(Vec::new()),
        };
        let rows = self.rows(None, sql, &[])?;
        let mut out = rows
            .iter()
            .map(|r| col(r, 0, None).map(from_db))
            .collect::<Result<Vec<u64>, _>>()?;
        out.sort_unstable();
        Ok(out)
    }

    pub(crate) fn kv_list_archives(&self) -> Result<Vec<String>, StoreError> {
        let rows = self.rows(
            None,
            "SELECT name FROM scep_archive ORDER BY name COLLATE \"C\"",
            &[],
        )?;
        rows.iter().map(|r| col(r, 0, None)).collect()
    }
}
