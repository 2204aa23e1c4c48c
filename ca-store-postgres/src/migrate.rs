//! Embedded, versioned schema migrations.
//!
//! Each migration is an SQL file compiled into the crate. [`run`] applies the ones a database
//! lacks, in order, in one transaction that first takes a transaction-level advisory lock: two
//! instances starting at once serialise there, and the second finds the work done. A database
//! whose schema is newer than this build knows is refused rather than used.

use postgres::Client;

use crate::OpenError;

/// The advisory-lock key that serialises migrations (any fixed 64-bit number; this one spells
/// "scepmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x7363_6570_6d69_6772;

/// Every migration, in version order: (version, SQL).
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("migrations/0001_records.sql"))];

/// The schema version this build writes and reads.
pub(crate) fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Brings the database's schema up to [`latest`]; returns the version it had before.
pub(crate) fn run(client: &mut Client) -> Result<i32, OpenError> {
    let mut tx = client.transaction().map_err(OpenError::Migrate)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(OpenError::Migrate)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS scep_schema_version (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(OpenError::Migrate)?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM scep_schema_version",
            &[],
        )
        .map_err(OpenError::Migrate)?
        .try_get(0)
        .map_err(OpenError::Migrate)?;
    if found > latest() {
        return Err(OpenError::SchemaTooNew {
            found,
            known: latest(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.batch_execute(sql).map_err(OpenError::Migrate)?;
        tx.execute(
            "INSERT INTO scep_schema_version (version) VALUES ($1)",
            &[version],
        )
        .map_err(OpenError::Migrate)?;
    }
    tx.commit().map_err(OpenError::Migrate)?;
    Ok(found)
}
