//! PostgreSQL storage for [`ca_core`]: one database that several CA instances share.
//!
//! [`PgStore`] implements [`ca_core::Store`] on the synchronous [`postgres`] client with an
//! [`r2d2`] connection pool. Opening it connects once (so a bad URL or an unreachable database
//! is reported at once, typed, as an [`OpenError`]) and brings the schema up to date with the
//! migrations embedded in the crate, applied in one transaction under an advisory lock so two
//! instances starting together do not race.
//!
//! TLS to the database comes with the `tls` feature (rustls, trusting the operating system's
//! roots plus any given in `PgOptions::tls_roots_pem`); without it a URL that demands TLS
//! (`sslmode=require`) is refused with [`OpenError::TlsUnavailable`].
//!
//! ```no_run
//! use ca_store_postgres::{PgOptions, PgStore};
//! use ca_core::{storage::RecordKey, Store as _};
//!
//! let store = PgStore::open("postgres://scep@db.example/scep", &PgOptions::default())?;
//! store.put(&RecordKey::Crl, b"...")?;
//! assert_eq!(store.get(&RecordKey::Crl)?.as_deref(), Some(&b"..."[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod kv;
mod migrate;
mod pool;
mod quota;
mod records;
#[cfg(feature = "tls")]
mod tls;
mod typed;

use std::str::FromStr as _;
use std::time::Duration;

use ca_core::{
    Store, StoreError,
    storage::{Counter, Issuance, RecordFamily, RecordKey, RequestRow, Versioned},
};

pub use crate::error::{OpenError, PgError};
use crate::pool::{Connector, Manager, Pool};

/// How [`PgStore::open`] sets up its connections.
#[derive(Clone)]
#[non_exhaustive]
pub struct PgOptions {
    /// The most connections the pool opens (default 16). Each in-flight store operation holds
    /// one; size it to the CA's worker threads plus a few.
    pub max_connections: u32,
    /// How long an operation waits for a free pooled connection before it fails (default 10 s).
    pub pool_wait: Duration,
    /// The connect timeout used when the URL sets none (default 5 s), so an unreachable host
    /// fails fast instead of after the operating system's TCP timeout.
    pub connect_timeout: Duration,
    /// The password to log in with, overriding any in the URL (so it need not appear in a
    /// command line or a URL kept in a configuration file).
    pub password: Option<String>,
    /// Extra trust anchors (PEM certificates) for the database server's certificate, beside
    /// the operating system's. Giving them makes TLS mandatory: a URL whose `sslmode` is
    /// `prefer` (the default) is treated as `require` for a TCP host, so a server that
    /// declines TLS is refused rather than spoken to in plaintext (`sslmode=disable` still
    /// means no TLS; a unix socket carries none).
    #[cfg(feature = "tls")]
    pub tls_roots_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("max_connections", &self.max_connections)
            .field("pool_wait", &self.pool_wait)
            .field("connect_timeout", &self.connect_timeout)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish_non_exhaustive()
    }
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            pool_wait: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            password: None,
            #[cfg(feature = "tls")]
            tls_roots_pem: None,
        }
    }
}

/// A [`Store`] in a PostgreSQL database. Cheap to share: every operation borrows a pooled
/// connection for its duration.
pub struct PgStore {
    pool: Pool,
    /// Where it connects, for `Debug` and error messages (no password).
    target: String,
    schema_before: i32,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("connections", &self.pool.state().connections)
            .finish_non_exhaustive()
    }
}

/// `host:port/dbname` of a configuration, without user or password.
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or_default())
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/dbname` or
    /// libpq's `key=value` form), creates or upgrades the schema, and returns the store.
    pub fn open(url: &str, options: &PgOptions) -> Result<Self, OpenError> {
        let mut config = postgres::Config::from_str(url).map_err(OpenError::BadUrl)?;
        if config.get_hosts().is_empty() {
            return Err(OpenError::NoHost);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("scep");
        if let Some(password) = &options.password {
            config.password(password);
        }
        let connector = connector(&mut config, options)?;
        let mut first = connector.connect(&config).map_err(OpenError::Connect)?;
        let schema_before = migrate::run(&mut first)?;
        drop(first);
        let target = describe(&config);
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.pool_wait)
            // A broken connection is noticed when it is returned (`is_closed`); a test query on
            // every checkout would cost a round trip per operation.
            .test_on_check_out(false)
            .build_unchecked(Manager { config, connector });
        Ok(Self {
            pool,
            target,
            schema_before,
        })
    }

    /// The schema version the database had before this store opened it (0: it was empty).
    #[must_use]
    pub fn schema_version_found(&self) -> i32 {
        self.schema_before
    }

    /// The schema version this build creates.
    #[must_use]
    pub fn schema_version() -> i32 {
        migrate::latest()
    }

    /// `host:port/dbname` of the database (no user, no password).
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A pooled connection, or the CA's error for `key` when none is free in time.
    pub(crate) fn conn(
        &self,
        key: Option<&RecordKey>,
    ) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| PgError::Pool(e).into_store_error(key))
    }
}

#[cfg(not(feature = "tls"))]
fn connector(config: &mut postgres::Config, _: &PgOptions) -> Result<Connector, OpenError> {
    match config.get_ssl_mode() {
        postgres::config::SslMode::Require => Err(OpenError::TlsUnavailable),
        _ => Ok(Connector::Plain),
    }
}

/// With the `tls` feature: plaintext only for `sslmode=disable`. Extra roots given mean the
/// operator wants TLS: the URL's default `sslmode=prefer` then becomes `require` for a TCP
/// host, since `prefer` goes on in plaintext when the server — or a man in the middle —
/// declines TLS.
#[cfg(feature = "tls")]
fn connector(config: &mut postgres::Config, options: &PgOptions) -> Result<Connector, OpenError> {
    use postgres::config::SslMode;
    let mode = config.get_ssl_mode();
    if matches!(mode, SslMode::Disable) {
        return Ok(Connector::Plain);
    }
    // A unix socket carries no TLS (the server declines it there): nothing to upgrade.
    let over_tcp = config
        .get_hosts()
        .iter()
        .any(|h| matches!(h, postgres::config::Host::Tcp(_)));
    if options.tls_roots_pem.is_some() && matches!(mode, SslMode::Prefer) && over_tcp {
        config.ssl_mode(SslMode::Require);
    }
    Ok(Connector::Tls(tls::make(options.tls_roots_pem.as_deref())?))
}

impl Store for PgStore {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv_get(key)
    }

    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        self.kv_put(key, value)
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.kv_remove(key)
    }

    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        self.kv_list(family)
    }

    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        self.kv_list_archives()
    }

    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        self.op_allocate(counters)
    }

    /// One statement: the counter's row is created at the larger of `at_least` and where a
    /// fresh counter starts, or raised to `at_least` under its row lock.
    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        self.op_raise_counter(counter, at_least)
    }

    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        self.op_put_request(row, replaces)
    }

    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        self.op_find_request(transaction_id)
    }

    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        self.op_record_issuance(issuance)
    }

    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        self.op_consume_otp(id)
    }

    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        self.op_revoke(serial, record)
    }

    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        self.op_ca_state()
    }

    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        self.op_swap_ca_state(expected, bytes)
    }

    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.op_swap_crl(expected, number, bytes)
    }

    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        self.op_acquire_lease(holder, now, ttl_secs)
    }

    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        self.op_release_lease(holder)
    }

    fn shared_version(&self) -> Result<u64, StoreError> {
        self.op_shared_version()
    }

    /// Always `Some`: a database is there to be shared.
    fn count_open_requests(&self, requester_key: &[u8]) -> Result<Option<u64>, StoreError> {
        self.op_count_open_requests(requester_key).map(Some)
    }

    /// Always `Some`: a database is there to be shared.
    fn count_requests(&self) -> Result<Option<u64>, StoreError> {
        self.op_count_requests().map(Some)
    }

    /// Always `Some`: a database is there to be shared.
    fn purge_requests(&self, created_until: u64) -> Result<Option<u64>, StoreError> {
        self.op_purge_requests(created_until).map(Some)
    }
}
