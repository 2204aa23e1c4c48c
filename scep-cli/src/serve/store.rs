//! Where `scep server` keeps the CA: the directory store in `--dir` (the default), or a
//! PostgreSQL database (`--store postgres://…`) that several instances may share. `--dir`
//! still holds the server's own files (`ca.pem`, `ca-next.pem`, `admin.sock`) either way.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use ca_core::{
    DirStore, Store, StoreError,
    storage::{Counter, Issuance, RecordFamily, RecordKey, RequestRow, Versioned},
};
use ca_store_postgres::{OpenError, PgOptions, PgStore};

use crate::secrets::{read_secret, redact_password};

/// `scep server` options that choose the store. `Debug` shows the URL without its password.
#[derive(clap::Args)]
pub(crate) struct StoreArgs {
    /// Keep the CA in this PostgreSQL database (`postgres://user@host:port/dbname`, or
    /// libpq's `key=value` form) instead of the directory store in --dir; several servers may
    /// share one database. Better given as SCEP_STORE than on the command line. Needs a key
    /// passphrase (--key-passphrase-file or SCEP_KEY_PASSPHRASE): the CA keys are stored in
    /// the database encrypted, never in clear.
    #[arg(long = "store", env = "SCEP_STORE", value_name = "URL")]
    pub(crate) url: Option<String>,
    /// File holding the database password (or set SCEP_STORE_PASSWORD), so it is in neither
    /// the URL nor the process list.
    #[arg(long, env = "SCEP_STORE_PASSWORD_FILE", value_name = "FILE")]
    pub(crate) store_password_file: Option<PathBuf>,
    /// PEM certificates to trust for the database server's TLS certificate, beside the
    /// system's roots. Given, TLS is required over TCP (`sslmode=prefer`, the default, counts
    /// as `require`); without it and without `sslmode=require`, a server that declines TLS is
    /// spoken to in plaintext.
    #[cfg(feature = "postgres-tls")]
    #[arg(long, env = "SCEP_STORE_TLS_CA_FILE", value_name = "FILE")]
    pub(crate) store_tls_ca_file: Option<PathBuf>,
    /// The most database connections this server opens [default: --threads + 4].
    #[arg(long, env = "SCEP_STORE_CONNECTIONS", value_name = "N")]
    pub(crate) store_connections: Option<u32>,
}

impl std::fmt::Debug for StoreArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("StoreArgs");
        d.field("url", &self.url.as_deref().map(redact_password))
            .field("store_password_file", &self.store_password_file);
        #[cfg(feature = "postgres-tls")]
        d.field("store_tls_ca_file", &self.store_tls_ca_file);
        d.field("store_connections", &self.store_connections)
            .finish()
    }
}

/// The store `scep server` runs on.
#[derive(Debug)]
pub(crate) enum ServerStore {
    /// The directory store in `--dir`.
    Dir(Box<DirStore>),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

impl ServerStore {
    /// Opens the store `args` names, or the directory store in `dir`. `workers` sizes the
    /// database pool. A database store needs `key_passphrase` (one is configured): the CA
    /// keys in a shared database are stored encrypted or not at all, and without one the
    /// database is not touched. The error is a message for the operator (the URL's password
    /// is never in it).
    pub(crate) fn open(
        dir: &Path,
        args: &StoreArgs,
        workers: usize,
        key_passphrase: bool,
    ) -> Result<Self, String> {
        let Some(url) = &args.url else {
            return DirStore::open(dir)
                .map(|s| ServerStore::Dir(Box::new(s)))
                .map_err(|e| format!("opening {}: {e}", dir.display()));
        };
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.contains('='))
        {
            return Err(
                "--store: expected a postgres://user@host:port/dbname URL (the directory store \
                 is the default, in --dir)"
                    .to_owned(),
            );
        }
        if !key_passphrase {
            return Err(
                "--store: the CA keys would be stored in clear in the database; give \
                 --key-passphrase-file or set SCEP_KEY_PASSPHRASE"
                    .to_owned(),
            );
        }
        // The server's own files (ca.pem, admin.sock) still live in --dir.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut options = PgOptions::default();
        options.password = read_secret(args.store_password_file.as_deref(), "SCEP_STORE_PASSWORD")?;
        options.max_connections = args
            .store_connections
            .unwrap_or_else(|| u32::try_from(workers.saturating_add(4)).unwrap_or(u32::MAX));
        #[cfg(feature = "postgres-tls")]
        if let Some(path) = &args.store_tls_ca_file {
            options.tls_roots_pem =
                Some(std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?);
        }
        PgStore::open(url, &options)
            .map(ServerStore::Postgres)
            .map_err(|e| match e {
                OpenError::BadUrl(_) | OpenError::NoHost => format!("--store: {e}"),
                e => format!("opening the database store: {e}"),
            })
    }

    /// Where the CA is, for messages: the folder, or `host:port/dbname`.
    pub(crate) fn describe(&self, dir: &Path) -> String {
        match self {
            ServerStore::Dir(_) => dir.display().to_string(),
            ServerStore::Postgres(pg) => format!("the database {}", pg.target()),
        }
    }
}

impl Store for ServerStore {
    fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.get(key),
            ServerStore::Postgres(s) => s.get(key),
        }
    }

    fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.put(key, value),
            ServerStore::Postgres(s) => s.put(key, value),
        }
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.remove(key),
            ServerStore::Postgres(s) => s.remove(key),
        }
    }

    fn list(&self, family: RecordFamily) -> Result<Vec<u64>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.list(family),
            ServerStore::Postgres(s) => s.list(family),
        }
    }

    fn list_archives(&self) -> Result<Vec<String>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.list_archives(),
            ServerStore::Postgres(s) => s.list_archives(),
        }
    }

    fn allocate(&self, counters: &[Counter]) -> Result<Vec<u64>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.allocate(counters),
            ServerStore::Postgres(s) => s.allocate(counters),
        }
    }

    fn raise_counter(&self, counter: Counter, at_least: u64) -> Result<u64, StoreError> {
        match self {
            ServerStore::Dir(s) => s.raise_counter(counter, at_least),
            ServerStore::Postgres(s) => s.raise_counter(counter, at_least),
        }
    }

    fn put_request(&self, row: &RequestRow, replaces: Option<u64>) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.put_request(row, replaces),
            ServerStore::Postgres(s) => s.put_request(row, replaces),
        }
    }

    fn find_request(&self, transaction_id: &str) -> Result<Option<RequestRow>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.find_request(transaction_id),
            ServerStore::Postgres(s) => s.find_request(transaction_id),
        }
    }

    fn record_issuance(&self, issuance: &Issuance) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.record_issuance(issuance),
            ServerStore::Postgres(s) => s.record_issuance(issuance),
        }
    }

    fn consume_otp(&self, id: u64) -> Result<bool, StoreError> {
        match self {
            ServerStore::Dir(s) => s.consume_otp(id),
            ServerStore::Postgres(s) => s.consume_otp(id),
        }
    }

    fn revoke(&self, serial: u64, record: &[u8]) -> Result<bool, StoreError> {
        match self {
            ServerStore::Dir(s) => s.revoke(serial, record),
            ServerStore::Postgres(s) => s.revoke(serial, record),
        }
    }

    fn ca_state(&self) -> Result<Option<Versioned>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.ca_state(),
            ServerStore::Postgres(s) => s.ca_state(),
        }
    }

    fn swap_ca_state(&self, expected: Option<u64>, bytes: &[u8]) -> Result<u64, StoreError> {
        match self {
            ServerStore::Dir(s) => s.swap_ca_state(expected, bytes),
            ServerStore::Postgres(s) => s.swap_ca_state(expected, bytes),
        }
    }

    fn swap_crl(&self, expected: Option<u64>, number: u64, bytes: &[u8]) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.swap_crl(expected, number, bytes),
            ServerStore::Postgres(s) => s.swap_crl(expected, number, bytes),
        }
    }

    fn acquire_lease(&self, holder: u64, now: u64, ttl_secs: u64) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.acquire_lease(holder, now, ttl_secs),
            ServerStore::Postgres(s) => s.acquire_lease(holder, now, ttl_secs),
        }
    }

    fn release_lease(&self, holder: u64) -> Result<(), StoreError> {
        match self {
            ServerStore::Dir(s) => s.release_lease(holder),
            ServerStore::Postgres(s) => s.release_lease(holder),
        }
    }

    fn shared_version(&self) -> Result<u64, StoreError> {
        match self {
            ServerStore::Dir(s) => s.shared_version(),
            ServerStore::Postgres(s) => s.shared_version(),
        }
    }

    fn count_open_requests(&self, requester_key: &[u8]) -> Result<Option<u64>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.count_open_requests(requester_key),
            ServerStore::Postgres(s) => s.count_open_requests(requester_key),
        }
    }

    fn count_requests(&self) -> Result<Option<u64>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.count_requests(),
            ServerStore::Postgres(s) => s.count_requests(),
        }
    }

    fn purge_requests(&self, created_until: u64) -> Result<Option<u64>, StoreError> {
        match self {
            ServerStore::Dir(s) => s.purge_requests(created_until),
            ServerStore::Postgres(s) => s.purge_requests(created_until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> StoreArgs {
        StoreArgs {
            url: Some(url.to_owned()),
            store_password_file: None,
            #[cfg(feature = "postgres-tls")]
            store_tls_ca_file: None,
            store_connections: Some(3),
        }
    }

    /// The attacker reads a log or panic message that debug-formats the server's arguments:
    /// the store password must not be in it, in any of the forms a URL can carry it.
    #[test]
    fn c18_store_password_never_in_debug() {
        let cases = [
            "postgres://scep:Hunter2pw@db.example:5432/scep",
            "postgresql://scep:Hunter2pw@db.example/scep?sslmode=require",
            "postgres://scep:p%40ss:Hunter2pw@db.example/scep",
            "postgres://scep@db.example/scep?password=Hunter2pw&sslmode=require",
            "host=db.example user=scep password=Hunter2pw dbname=scep",
            "host=db.example password = Hunter2pw dbname=scep",
            "host=db.example password='Hunter2pw with \\' quote' dbname=scep",
            "host=db.example PASSWORD=Hunter2pw",
        ];
        for url in cases {
            let shown = format!("{:?}", args(url));
            assert!(!shown.contains("Hunter2pw"), "{url} shown as {shown}");
            assert!(!shown.contains("quote"), "{url} shown as {shown}");
            assert!(shown.contains("db.example"), "{url} shown as {shown}");
            assert!(shown.contains("store_connections: Some(3)"), "{shown}");
        }
    }

    /// Forms the first redaction let through: a `://` in a later libpq value (everything
    /// before it was copied as a URL scheme), a percent-encoded `password` key in a URL
    /// query (the driver decodes keys), a libpq bare value with an escaped space or an `&`
    /// (the driver's value goes on), a URL query key after an `@` in the query, and a
    /// connection URI inside another parameter's value.
    #[test]
    fn c18_store_password_never_in_debug_whatever_the_syntax() {
        let cases = [
            "host=db.example password=Hunter2pw application_name=http://db.example",
            "postgres://scep@db.example/scep?%70assword=Hunter2pw",
            "postgres://scep@db.example/scep?PassWord%3D=x&%50ASSWORD=Hunter2pw",
            "host=db.example password=Hunter2pw\\ Tail9pw",
            "host=db.example password=Hunter2pw&Tail9pw",
            "postgres://scep:x@db.example/scep?a=b@c&password=Hunter2pw",
            "host=db.example dbname='postgres://scep:Hunter2pw@db.example/scep'",
            "host=db.example dbname=postgresql://scep:Hunter2pw@db.example/scep",
            "postgres://scep@db.example/scep?dbname=postgres%3A%2F%2Fscep%3AHunter2pw%40x",
            "host=db.example password\t=\tHunter2pw",
            " postgres://scep:Hunter2pw@db.example/scep",
            "POSTGRES://scep:Hunter2pw@db.example/scep",
            "https://router:Hunter2pw@db.example/cgi-bin/pkiclient.exe",
        ];
        for url in cases {
            let shown = format!("{:?}", args(url));
            assert!(!shown.contains("Hunter2pw"), "{url} shown as {shown}");
            assert!(!shown.contains("Tail9pw"), "{url} shown as {shown}");
        }
        // The rest stays readable, and a deeply nested or huge string costs no stack.
        assert_eq!(
            redact_password("host=db.example user=scep password = 'a b' dbname=scep"),
            "host=db.example user=scep password = <redacted> dbname=scep"
        );
        assert_eq!(
            redact_password("postgres://scep:pw@db.example:5432/scep?sslmode=require&password=x"),
            "postgres://scep:<redacted>@db.example:5432/scep?sslmode=require&password=<redacted>"
        );
        let nested = "a=".repeat(200_000) + "Hunter2pw";
        assert!(!redact_password(&nested).contains("Hunter2pw"));
    }

    /// What is not a secret is still shown, so the Debug output stays useful.
    #[test]
    fn c18_store_debug_keeps_user_host_and_db() {
        let shown = format!("{:?}", args("postgres://scep:pw@db.example:5432/scepdb"));
        assert!(shown.contains("postgres://scep:"), "{shown}");
        assert!(shown.contains("@db.example:5432/scepdb"), "{shown}");
        let shown = format!("{:?}", args("postgres://db.example/scepdb"));
        assert!(shown.contains("postgres://db.example/scepdb"), "{shown}");
    }
}
