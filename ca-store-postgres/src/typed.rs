//! The atomic operations of Store v2: each is one SQL statement, or one transaction, whose
//! conditions live in the database (a `WHERE`, a unique constraint), so any number of CA
//! instances on one database stay correct.

use ca_core::{
    StoreError,
    storage::{Conflict, Counter, Issuance, LeaseHeld, RecordKey, RequestRow, Versioned},
};
use postgres::GenericClient;

use crate::PgStore;
use crate::error::{PgError, col, db_error, violated};
use crate::pool::PgConn;
use crate::records::{counter_name, from_db, to_db};

/// The next value of a counter, in one statement; no row when the counter is missing or at
/// `u64::MAX` (stored as -1). `i64::MAX + 1` wraps to `i64::MIN`, which is 2^63 as a u64.
const BUMP: &str = "UPDATE scep_counter
     SET value = CASE WHEN value = 9223372036854775807 THEN -9223372036854775808 ELSE value + 1 END
     WHERE name = $1 AND value <> -1 RETURNING value";

/// Several counters in one statement, all or none: `$1` the distinct counter names, `$2` how
/// many values each gives, `$3` how many names. Updates nothing (no row) unless every counter
/// exists and stays below 2^63; the caller then takes the slow path.
const BUMP_MANY: &str = "WITH n AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS t(name, k)),
     ok AS (SELECT count(*) = $3 AS all_ok FROM scep_counter c JOIN n USING (name)
            WHERE c.value >= 0 AND c.value <= 9223372036854775807 - n.k)
     UPDATE scep_counter c SET value = c.value + n.k FROM n, ok
     WHERE ok.all_ok AND c.name = n.name RETURNING c.name, c.value";

/// Raises a counter, never lowers it (`Store::raise_counter`), in one statement: `$1` the
/// counter's name, `$2` the floor. Counters hold u64s bit for bit, so they are compared as
/// unsigned: flipping the sign bit (`# SIGN`) maps u64 order onto bigint order, GREATEST
/// picks in that order, and the second flip restores the bits. A missing row is created at
/// the floor or where a fresh counter starts (the largest id of its family, as in
/// [`PgStore::bump`]), whichever is larger; an existing one is raised under its row lock, so
/// a concurrent allocation is never lowered. The argument is the query giving the fresh
/// counter's start as `base`.
macro_rules! raise_counter_sql {
    ($base:literal) => {
        concat!(
            "INSERT INTO scep_counter (name, value)
               SELECT $1, GREATEST($2::bigint # (-9223372036854775807 - 1),
                                   b.base # (-9223372036854775807 - 1))
                          # (-9223372036854775807 - 1)
               FROM (",
            $base,
            ") AS b
             ON CONFLICT (name) DO UPDATE
               SET value = GREATEST(scep_counter.value # (-9223372036854775807 - 1),
                                    $2::bigint # (-9223372036854775807 - 1))
                           # (-9223372036854775807 - 1)
             RETURNING value"
        )
    };
}

/// [`raise_counter_sql`] for each counter's family.
const RAISE_SERIAL: &str = raise_counter_sql!("SELECT 0::bigint AS base");
const RAISE_REQUEST: &str =
    raise_counter_sql!("SELECT COALESCE(max(id), 0) AS base FROM scep_request");
const RAISE_OTP: &str = raise_counter_sql!("SELECT COALESCE(max(id), 0) AS base FROM scep_otp");

/// Inserts or replaces a request row by id.
const UPSERT_REQUEST: &str = "INSERT INTO scep_request
       (id, transaction_id, requester_key, open, created, body) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
       requester_key = EXCLUDED.requester_key, open = EXCLUDED.open,
       created = EXCLUDED.created, body = EXCLUDED.body";

/// The request row and the issued record in one statement (so in one implicit transaction).
const ISSUE: &str = "WITH r AS (INSERT INTO scep_request
       (id, transaction_id, requester_key, open, created, body) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
       requester_key = EXCLUDED.requester_key, open = EXCLUDED.open,
       created = EXCLUDED.created, body = EXCLUDED.body
     RETURNING id)
     INSERT INTO scep_issued (serial, name, cert) SELECT $7, $8, $9 FROM r";

/// Takes or renews the lease: `$1` holder, `$2` the caller's end of term (`$3` + TTL), `$3`
/// the caller's now. Time is the earlier of the caller's clock and the database's: a caller
/// whose clock runs fast neither ends another's lease early nor holds its own past its term
/// on the database's clock; a caller behind it (and the tests' simulated clocks) keeps its
/// own instants.
const LEASE: &str = "INSERT INTO scep_lease (singleton, holder, until)
       VALUES (true, $1, $2 - ($3 - LEAST($3, floor(extract(epoch FROM now()))::bigint)))
     ON CONFLICT (singleton) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
     WHERE scep_lease.holder = EXCLUDED.holder
       OR scep_lease.until <= LEAST($3, floor(extract(epoch FROM now()))::bigint)
     RETURNING holder";

/// A failed statement inside an operation: a driver error, or the conflict it meant.
fn conflict_of(e: postgres::Error, tid_holder: impl FnOnce() -> u64, serial: u64) -> StoreError {
    match violated(&e) {
        Some("scep_request_transaction_id_key") => StoreError::Conflict(Conflict::TransactionId {
            holder: tid_holder(),
        }),
        Some("scep_issued_pkey") => StoreError::Conflict(Conflict::Serial { serial }),
        _ => db_error(None)(e),
    }
}

/// What an issuance adds to a request write: serial, (serial, subject) record, DER.
type Issued<'a> = Option<(u64, Option<&'a [u8]>, Option<&'a [u8]>)>;

fn request_params(row: &RequestRow) -> (i64, i64) {
    (to_db(row.id), to_db(row.created))
}

impl PgStore {
    /// The next value of `counter` through `client` (a connection or an open transaction).
    fn bump(
        client: &mut impl GenericClient,
        bump: &postgres::Statement,
        counter: Counter,
    ) -> Result<u64, StoreError> {
        let name = counter_name(counter);
        let key = counter.record_key();
        let err = db_error(Some(&key));
        for _ in 0..3 {
            if let Some(row) = client.query_opt(bump, &[&name]).map_err(&err)? {
                return col(&row, 0, Some(&key)).map(from_db);
            }
            match client
                .query_opt("SELECT value FROM scep_counter WHERE name = $1", &[&name])
                .map_err(&err)?
                .map(|row| col::<i64>(&row, 0, Some(&key)))
                .transpose()?
            {
                Some(-1) => {
                    return Err(StoreError::Conflict(Conflict::CounterExhausted { counter }));
                }
                // Created by another instance since the UPDATE: bump it.
                Some(_) => continue,
                None => {}
            }
            // A fresh counter starts after the largest id its family already holds.
            let base = match counter {
                Counter::RequestId => "SELECT COALESCE(max(id), 0) FROM scep_request",
                Counter::OtpId => "SELECT COALESCE(max(id), 0) FROM scep_otp",
                _ => "SELECT 0::bigint",
            };
            let base: i64 = col(&client.query_one(base, &[]).map_err(&err)?, 0, Some(&key))?;
            client
                .execute(
                    "INSERT INTO scep_counter (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &base],
                )
                .map_err(&err)?;
        }
        Err(StoreError::Unavailable)
    }

    pub(crate) fn op_allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        let mut c = self.conn(None)?;
        let bump = c.stmt(BUMP).map_err(db_error(None))?;
        if let [one] = counters {
            return Self::bump(&mut c.client, &bump, *one).map(|v| vec![v]);
        }
        // The common case (the CA takes a request id and a serial together): one statement.
        let mut names: Vec<&str> = Vec::new();
        let mut counts: Vec<i64> = Vec::new();
        for counter in counters {
            let name = counter_name(*counter);
            match names.iter().position(|n| *n == name) {
                Some(i) => counts[i] += 1,
                None => {
                    names.push(name);
                    counts.push(1);
                }
            }
        }
        let many = c.stmt(BUMP_MANY).map_err(db_error(None))?;
        let distinct = i64::try_from(names.len()).unwrap_or(i64::MAX);
        let rows = c
            .client
            .query(&many, &[&names, &counts, &distinct])
            .map_err(db_error(None))?;
        if rows.len() == names.len() {
            // Each counter's values are the `k` below its new value, handed out in order. The
            // statement only returns new values in `k ..= i64::MAX`: anything else is not its
            // answer.
            let mut next: Vec<u64> = Vec::with_capacity(names.len());
            for (name, k) in names.iter().zip(&counts) {
                let mut value = None;
                for r in &rows {
                    if col::<&str>(r, 0, None)? == *name {
                        value = Some(col::<i64>(r, 1, None)?);
                    }
                }
                let first = value.filter(|v| v >= k).map(|v| v - k + 1).ok_or_else(|| {
                    PgError::Corrupt("counter values out of range").into_store_error(None)
                })?;
                next.push(from_db(first));
            }
            return Ok(counters
                .iter()
                .map(|counter| {
                    let i = names
                        .iter()
                        .position(|n| *n == counter_name(*counter))
                        .unwrap_or(0);
                    let v = next[i];
                    next[i] = v + 1;
                    v
                })
                .collect());
        }
        let mut tx = c.client.transaction().map_err(db_error(None))?;
        let mut out = Vec::with_capacity(counters.len());
        for counter in counters {
            out.push(Self::bump(&mut tx, &bump, *counter)?);
        }
        tx.commit().map_err(db_error(None))?;
        Ok(out)
    }

    pub(crate) fn op_raise_counter(
        &self,
        counter: Counter,
        at_least: u64,
    ) -> Result<u64, StoreError> {
        let key = counter.record_key();
        let sql = match counter {
            Counter::RequestId => RAISE_REQUEST,
            Counter::OtpId => RAISE_OTP,
            _ => RAISE_SERIAL,
        };
        let mut c = self.conn(Some(&key))?;
        let row = c
            .client
            .query_one(sql, &[&counter_name(counter), &to_db(at_least)])
            .map_err(db_error(Some(&key)))?;
        col::<i64>(&row, 0, Some(&key)).map(from_db)
    }

    /// Writes `row` (deleting `replaces` first) in one transaction, or one statement when
    /// nothing is replaced. `issued` adds the issued record to the same step.
    fn write_request(
        &self,
        row: &RequestRow,
        replaces: Option<u64>,
        issued: Issued<'_>,
    ) -> Result<(), StoreError> {
        let key = RecordKey::Request(row.id);
        let mut c = self.conn(Some(&key))?;
        let serial = issued.map_or(0, |(s, ..)| s);
        let result = self.write_request_on(&mut c, row, replaces, issued);
        drop(c);
        result.map_err(|e| {
            conflict_of(
                e,
                || {
                    self.holder_of(&row.transaction_id)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                },
                serial,
            )
        })
    }

    fn write_request_on(
        &self,
        c: &mut PgConn,
        row: &RequestRow,
        replaces: Option<u64>,
        issued: Issued<'_>,
    ) -> Result<(), postgres::Error> {
        let (id, created) = request_params(row);
        let replaced = replaces.filter(|&old| old != row.id).map(to_db);
        let with_record = issued.filter(|(_, name, cert)| name.is_some() || cert.is_some());
        let upsert = c.stmt(UPSERT_REQUEST)?;
        let issue = c.stmt(ISSUE)?;
        let req: [&(dyn postgres::types::ToSql + Sync); 6] = [
            &id,
            &row.transaction_id,
            &row.requester_key,
            &row.open,
            &created,
            &row.body,
        ];
        match (replaced, issued, with_record) {
            // The common cases, one statement each.
            (None, None, _) => c.client.execute(&upsert, &req).map(drop),
            (None, Some(_), Some((serial, name, cert))) => {
                let serial = to_db(serial);
                let mut p = req.to_vec();
                p.extend_from_slice(&[&serial, &name, &cert]);
                c.client.execute(&issue, &p).map(drop)
            }
            // A replaced row, or an issuance that records nothing beyond the request (database
            // level Minimal): a transaction.
            (replaced, issued, with_record) => {
                let mut tx = c.client.transaction()?;
                if let Some(old) = replaced {
                    tx.execute("DELETE FROM scep_request WHERE id = $1", &[&old])?;
                }
                match (issued, with_record) {
                    (Some(_), Some((serial, name, cert))) => {
                        let serial = to_db(serial);
                        let mut p = req.to_vec();
                        p.extend_from_slice(&[&serial, &name, &cert]);
                        tx.execute(&issue, &p)?;
                    }
                    (Some((serial, ..)), None) => {
                        // Nothing is recorded for the serial, but it must still be new.
                        tx.execute(
                            "INSERT INTO scep_issued (serial, name) VALUES ($1, '\\x')",
                            &[&to_db(serial)],
                        )?;
                        tx.execute(
                            "DELETE FROM scep_issued WHERE serial = $1",
                            &[&to_db(serial)],
                        )?;
                        tx.execute(&upsert, &req)?;
                    }
                    (None, _) => {
                        tx.execute(&upsert, &req)?;
                    }
                }
                tx.commit()
            }
        }
    }

    pub(crate) fn op_put_request(
        &self,
        row: &RequestRow,
        replaces: Option<u64>,
    ) -> Result<(), StoreError> {
        self.write_request(row, replaces, None)
    }

    pub(crate) fn op_find_request(&self, tid: &str) -> Result<Option<RequestRow>, StoreError> {
        let rows = self.rows(
            None,
            "SELECT id, transaction_id, requester_key, open, created, body
             FROM scep_request WHERE transaction_id = $1",
            &[&tid],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let id = from_db(col(r, 0, None)?);
        let key = RecordKey::Request(id);
        let key = Some(&key);
        Ok(Some(RequestRow {
            id,
            transaction_id: col(r, 1, key)?,
            requester_key: col(r, 2, key)?,
            open: col(r, 3, key)?,
            created: from_db(col(r, 4, key)?),
            body: col(r, 5, key)?,
        }))
    }

    pub(crate) fn op_record_issuance(&self, i: &Issuance) -> Result<(), StoreError> {
        self.write_request(
            &i.request,
            i.replaces,
            Some((i.serial, i.name.as_deref(), i.cert.as_deref())),
        )
    }

    pub(crate) fn op_consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        let rows = self.rows(
            Some(&RecordKey::OneTimePassword(id)),
            "WITH d AS (DELETE FROM scep_otp WHERE id = $1 RETURNING id)
             UPDATE scep_meta SET shared_version = shared_version + 1
             WHERE EXISTS (SELECT 1 FROM d) RETURNING shared_version",
            &[&to_db(id)],
        )?;
        Ok(rows.len() == 1)
    }

    pub(crate) fn op_revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        let rows = self.rows(
            Some(&RecordKey::Revoked(serial)),
            "WITH i AS (INSERT INTO scep_revoked (serial, record) VALUES ($1, $2)
               ON CONFLICT (serial) DO NOTHING RETURNING serial)
             UPDATE scep_meta SET shared_version = shared_version + 1
             WHERE EXISTS (SELECT 1 FROM i) RETURNING shared_version",
            &[&to_db(serial), &record],
        )?;
        Ok(rows.len() == 1)
    }

    pub(crate) fn op_ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        let rows = self.rows(
            Some(&RecordKey::CaState),
            "SELECT version, value FROM scep_ca_state",
            &[],
        )?;
        let key = Some(&RecordKey::CaState);
        rows.first()
            .map(|r| {
                Ok(Versioned {
                    version: from_db(col(r, 0, key)?),
                    bytes: col(r, 1, key)?,
                })
            })
            .transpose()
    }

    pub(crate) fn op_swap_ca_state(
        &self,
        expected: Option<u64>,
        bytes: &[u8],
    ) -> Result<u64, StoreError> {
        let key = RecordKey::CaState;
        // A first state takes a version above every earlier one: the shared version, which
        // every CA state write has raised.
        let rows = match expected {
            Some(v) => self.rows(
                Some(&key),
                "WITH u AS (UPDATE scep_ca_state SET value = $2, version = version + 1
                   WHERE version = $1 RETURNING version),
                 m AS (UPDATE scep_meta SET shared_version = shared_version + 1
                   WHERE EXISTS (SELECT 1 FROM u))
                 SELECT version FROM u",
                &[&to_db(v), &bytes],
            )?,
            None => self.rows(
                Some(&key),
                "WITH i AS (INSERT INTO scep_ca_state (singleton, version, value)
                   SELECT true, shared_version + 1, $1 FROM scep_meta
                   ON CONFLICT (singleton) DO NOTHING RETURNING version),
                 m AS (UPDATE scep_meta SET shared_version = shared_version + 1
                   WHERE EXISTS (SELECT 1 FROM i))
                 SELECT version FROM i",
                &[&bytes],
            )?,
        };
        match rows.first() {
            Some(r) => col(r, 0, Some(&key)).map(from_db),
            None => Err(StoreError::Conflict(Conflict::CaState {
                current: self.op_ca_state()?.map(|v| v.version),
            })),
        }
    }

    fn crl_number_now(&self) -> Result<Option<u64>, StoreError> {
        let rows = self.rows(Some(&RecordKey::Crl), "SELECT number FROM scep_crl", &[])?;
        match rows.first() {
            Some(r) => Ok(col::<Option<i64>>(r, 0, Some(&RecordKey::Crl))?.map(from_db)),
            None => Ok(None),
        }
    }

    pub(crate) fn op_swap_crl(
        &self,
        expected: Option<u64>,
        number: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let key = RecordKey::Crl;
        let rows = match expected {
            Some(e) if number <= e => Vec::new(),
            Some(e) => self.rows(
                Some(&key),
                "WITH u AS (UPDATE scep_crl SET number = $1, value = $2 WHERE number = $3
                   RETURNING 1),
                 m AS (UPDATE scep_meta SET shared_version = shared_version + 1
                   WHERE EXISTS (SELECT 1 FROM u))
                 SELECT 1 FROM u",
                &[&to_db(number), &bytes, &to_db(e)],
            )?,
            // No CRL yet, or one written through `put` whose number was unknown.
            None => self.rows(
                Some(&key),
                "WITH i AS (INSERT INTO scep_crl (singleton, number, value) VALUES (true, $1, $2)
                   ON CONFLICT (singleton) DO UPDATE SET number = EXCLUDED.number,
                     value = EXCLUDED.value WHERE scep_crl.number IS NULL
                   RETURNING 1),
                 m AS (UPDATE scep_meta SET shared_version = shared_version + 1
                   WHERE EXISTS (SELECT 1 FROM i))
                 SELECT 1 FROM i",
                &[&to_db(number), &bytes],
            )?,
        };
        if rows.is_empty() {
            return Err(StoreError::Conflict(Conflict::CrlNumber {
                current: self.crl_number_now()?,
            }));
        }
        Ok(())
    }

    pub(crate) fn op_acquire_lease(
        &self,
        holder: u64,
        now: u64,
        ttl: u64,
    ) -> Result<(), StoreError> {
        // Instants stay below 2^63 so that bigint comparison is u64 comparison.
        let clamp = |t: u64| to_db(t.min(i64::MAX.unsigned_abs()));
        let until = clamp(now.saturating_add(ttl));
        // Released by its holder between the two statements: try again, a few times (a
        // database that keeps answering neither is not retried for ever).
        for _ in 0..3 {
            let rows = self.rows(None, LEASE, &[&to_db(holder), &until, &clamp(now)])?;
            if !rows.is_empty() {
                return Ok(());
            }
            let rows = self.rows(None, "SELECT holder, until FROM scep_lease", &[])?;
            if let Some(r) = rows.first() {
                return Err(StoreError::LeaseHeld(LeaseHeld {
                    holder: from_db(col(r, 0, None)?),
                    until: from_db(col(r, 1, None)?),
                }));
            }
        }
        Err(StoreError::Unavailable)
    }

    pub(crate) fn op_release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.rows(
            None,
            "DELETE FROM scep_lease WHERE holder = $1",
            &[&to_db(holder)],
        )
        .map(drop)
    }

    pub(crate) fn op_shared_version(&self) -> Result<u64, StoreError> {
        let rows = self.rows(None, "SELECT shared_version FROM scep_meta", &[])?;
        rows.first()
            .map(|r| col(r, 0, None).map(from_db))
            .transpose()?
            .ok_or(StoreError::Unavailable)
    }
}
