//! The store's errors: [`OpenError`] when opening, [`PgError`] for an operation (which the
//! `Store` methods hand to the CA as a [`StoreError`]).

use ca_core::{StoreError, storage::RecordKey};

/// Why [`crate::PgStore::open`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The connection string is not a valid `postgres://` URL or `key=value` string.
    #[error("invalid database URL: {0}")]
    BadUrl(#[source] postgres::Error),
    /// The URL names no host (nor unix-socket folder) to connect to.
    #[error("invalid database URL: it names no host")]
    NoHost,
    /// The database did not answer, refused the login, or does not exist.
    #[error("cannot reach the database: {0}")]
    Connect(#[source] postgres::Error),
    /// Creating or upgrading the schema failed.
    #[error("migrating the database schema failed: {0}")]
    Migrate(#[source] postgres::Error),
    /// The database was migrated by a newer build; this one does not know its schema.
    #[error("the database schema is version {found}, newer than this build's {known}")]
    SchemaTooNew {
        /// The version the database has.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
    /// The URL demands TLS (`sslmode=require`) but the crate was built without its `tls`
    /// feature.
    #[error("the database URL requires TLS, but this build has no TLS support (feature `tls`)")]
    TlsUnavailable,
    /// The TLS configuration could not be built (no usable trust anchors, bad PEM).
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// Why one store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// No pooled connection became free in time, or a new one could not be opened.
    #[error("no database connection: {0}")]
    Pool(#[source] r2d2::Error),
    /// The database refused or failed a statement, or the connection broke.
    #[error("database error: {0}")]
    Db(#[source] postgres::Error),
    /// A row holds what this crate never writes.
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
}

impl PgError {
    /// The [`StoreError`] the CA sees: `Corrupt` for a bad row, otherwise `Io` carrying this
    /// error as its source (the CA answers an error, never an unrecorded certificate).
    pub fn into_store_error(self, key: Option<&RecordKey>) -> StoreError {
        match (self, key) {
            (PgError::Corrupt(_), Some(key)) => StoreError::Corrupt { key: key.clone() },
            (e, key) => StoreError::Io {
                key: key.cloned(),
                source: std::io::Error::other(e),
            },
        }
    }
}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<r2d2::Error> for PgError {
    fn from(e: r2d2::Error) -> Self {
        PgError::Pool(e)
    }
}

/// Turns a driver error on `key` into the CA's [`StoreError`].
pub(crate) fn db_error(key: Option<&RecordKey>) -> impl Fn(postgres::Error) -> StoreError + '_ {
    move |e| PgError::Db(e).into_store_error(key)
}

/// Column `i` of `row` as a `T`: a NULL or a type this crate never writes there (a hostile
/// server, a hand-edited schema) is a typed error — [`StoreError::Corrupt`] on `key` — never
/// the panic of [`postgres::Row::get`].
pub(crate) fn col<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    i: usize,
    key: Option<&RecordKey>,
) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| match key {
        Some(key) => StoreError::Corrupt { key: key.clone() },
        None => PgError::Db(e).into_store_error(None),
    })
}

/// The constraint a unique violation (SQLSTATE 23505) broke.
pub(crate) fn violated(e: &postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == postgres::error::SqlState::UNIQUE_VIOLATION)
        .then(|| db.constraint())
        .flatten()
}

/// [`violated`] for a driver error already wrapped by [`db_error`].
pub(crate) fn unique_violation(e: &std::io::Error) -> Option<&str> {
    match e.get_ref()?.downcast_ref::<PgError>()? {
        PgError::Db(e) => violated(e),
        _ => None,
    }
}
