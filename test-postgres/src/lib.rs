//! A real PostgreSQL for the test suites of `ca-store-postgres` and `scep-cli`: no mock.
//!
//! [`TestDb::create`] hands each test a database of its own (`CREATE DATABASE` with a unique
//! name, dropped again when the [`TestDb`] is dropped), so tests run in parallel. The
//! databases live on:
//!
//! * the server named by `SCEP_TEST_DATABASE_URL` when that variable is set (a
//!   `postgres://user:password@host:port/dbname` URL whose user may create databases), or
//! * a throwaway cluster this crate starts once per test process ([`Cluster::shared`]):
//!   `initdb` into a fresh temporary folder (run as the `postgres` user when the tests run as
//!   root, since PostgreSQL refuses to run as root), a free port on 127.0.0.1, its unix
//!   sockets in that folder, trust authentication on loopback only. A watcher process stops
//!   the cluster and removes the folder when the test process exits, however it exits
//!   (success, panic, abort or `kill -9`).
//!
//! A [`Cluster`] a test starts itself ([`Cluster::start`]) is stopped and removed by its
//! `Drop`, which also runs while a panicking test unwinds.
//!
//! The PostgreSQL programs are found in `SCEP_TEST_PG_BIN` if set, else on `PATH`, else in the
//! newest `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package, which `.ci/test`
//! installs when missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable naming an existing server to test against instead of a throwaway
/// cluster.
pub const DATABASE_URL_VAR: &str = "SCEP_TEST_DATABASE_URL";

/// Why a cluster or a test database could not be had.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// How a throwaway cluster is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `fsync` and `synchronous_commit` on, as in production (for benchmarks). Off by default:
    /// the tests kill CA servers, never the database, so its durability is not under test and
    /// skipping the syncs keeps the suite fast.
    pub durable: bool,
    /// Serve TLS only: a fresh self-signed certificate for 127.0.0.1 and `localhost` (made
    /// with the `openssl` program), and loopback logins accepted over TLS alone
    /// (`hostssl`), so a plain connection is refused. See [`Cluster::tls_root_pem`].
    pub tls_only: bool,
}

/// A running throwaway PostgreSQL cluster on 127.0.0.1.
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    tls_root: Option<Vec<u8>>,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A name no other test of any process on this machine uses at the same time.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("SCEP_TEST_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| d.join("initdb").is_file())
    {
        return Ok(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        err(
            "PostgreSQL not found: install the Debian package `postgresql` (.ci/test does), \
             or set SCEP_TEST_DATABASE_URL",
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn id_of(flag: &str) -> Result<u32, Error> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(|e| err(format!("id {flag} postgres: {e}")))?;
    std::str::from_utf8(out.stdout.trim_ascii())
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err("the tests run as root but there is no `postgres` user"))
}

fn free_port() -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| err(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| err(format!("finding a free port: {e}")))
}

impl Cluster {
    /// The cluster every test of this process shares, started on first use. `None` when
    /// `SCEP_TEST_DATABASE_URL` is set (the tests use that server instead).
    pub fn shared() -> Result<Option<&'static Cluster>, Error> {
        static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
        if std::env::var_os(DATABASE_URL_VAR).is_some() {
            return Ok(None);
        }
        match SHARED.get_or_init(|| {
            let cluster = Cluster::start(Options::default()).map_err(|e| e.0)?;
            cluster.stop_at_exit().map_err(|e| e.0)?;
            Ok(cluster)
        }) {
            Ok(c) => Ok(Some(c)),
            Err(e) => Err(err(e.clone())),
        }
    }

    /// Starts a new cluster (about a second: `initdb`, then the server). It is stopped and its
    /// folder removed when the value is dropped.
    pub fn start(options: Options) -> Result<Self, Error> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        let base = std::env::temp_dir().join(unique("scep-pg"));
        std::fs::create_dir(&base).map_err(|e| err(format!("{}: {e}", base.display())))?;
        let mut cluster = Cluster {
            base,
            bin,
            port: 0,
            as_postgres,
            tls_root: None,
        };
        if as_postgres {
            let (uid, gid) = (id_of("-u")?, id_of("-g")?);
            std::os::unix::fs::chown(&cluster.base, Some(uid), Some(gid))
                .map_err(|e| err(format!("chown {}: {e}", cluster.base.display())))?;
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--no-sync".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        let mut extra = String::new();
        if options.tls_only {
            extra = cluster.make_tls(&data)?;
        }
        let sync = if options.durable { "on" } else { "off" };
        let mut last = None;
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..3 {
            cluster.port = free_port()?;
            let server_options = format!(
                "-p {} -h 127.0.0.1 -k {} -c fsync={sync} -c synchronous_commit={sync} \
                 -c full_page_writes={sync} -c max_connections=300{extra}",
                cluster.port,
                cluster.base.display()
            );
            let log = cluster.base.join("server.log");
            match cluster.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "-o".as_ref(),
                    server_options.as_ref(),
                    "start".as_ref(),
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    last = Some(err(format!("{e}\n{log}")));
                }
            }
        }
        Err(last.unwrap_or_else(|| err("the server did not start")))
    }

    /// Makes the server's certificate and key, and a pg_hba.conf that takes loopback logins
    /// over TLS only; the server options that switch TLS on.
    fn make_tls(&mut self, data: &Path) -> Result<String, Error> {
        let (cert, key) = (self.base.join("server.crt"), self.base.join("server.key"));
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            // An end-entity certificate (webpki refuses a CA certificate as a server's).
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| err(format!("running openssl (Debian package `openssl`): {e}")))?;
        if !out.status.success() {
            return Err(err(format!(
                "openssl req failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
        std::fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| err(format!("writing pg_hba.conf: {e}")))?;
        for file in [&cert, &key, &data.join("pg_hba.conf")] {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| err(format!("chmod {}: {e}", file.display())))?;
            if self.as_postgres {
                let (uid, gid) = (id_of("-u")?, id_of("-g")?);
                std::os::unix::fs::chown(file, Some(uid), Some(gid))
                    .map_err(|e| err(format!("chown {}: {e}", file.display())))?;
            }
        }
        self.tls_root =
            Some(std::fs::read(&cert).map_err(|e| err(format!("{}: {e}", cert.display())))?);
        Ok(format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            cert.display(),
            key.display()
        ))
    }

    /// The PEM certificate a [`Options::tls_only`] cluster presents (its own trust anchor).
    pub fn tls_root_pem(&self) -> Option<&[u8]> {
        self.tls_root.as_deref()
    }

    fn data(&self) -> PathBuf {
        self.base.join("data")
    }

    /// Runs one PostgreSQL program, as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), Error> {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .current_dir(&self.base)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| err(format!("running {}: {e}", path.display())))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(err(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Leaves a watcher process that stops the cluster and removes its folder once this
    /// process has exited (or the folder is gone already).
    fn stop_at_exit(&self) -> Result<(), Error> {
        let runas = if self.as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null && [ -d '{base}' ]; do sleep 0.5; done; \
             {runas}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{base}'",
            pid = std::process::id(),
            base = self.base.display(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            data = self.data().display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| err(format!("starting the cluster's watcher: {e}")))
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the cluster's data, its unix sockets and its log.
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// A `postgres://` URL for `database` as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// `url` with its database name replaced by `database` (a `postgres://` or `postgresql://`
/// URL; the query string, if any, is kept).
pub fn with_database(url: &str, database: &str) -> Result<String, Error> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let rest = head
        .strip_prefix("postgres://")
        .or_else(|| head.strip_prefix("postgresql://"))
        .ok_or_else(|| err(format!("{DATABASE_URL_VAR} must be a postgres:// URL")))?;
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let mut out = format!("postgres://{authority}/{database}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A database of one test's own, dropped (with any connections still open to it) when this
/// value is dropped.
#[derive(Debug)]
pub struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a fresh, empty database on `SCEP_TEST_DATABASE_URL`'s server or on the
    /// process's shared throwaway cluster.
    pub fn create() -> Result<Self, Error> {
        let admin_url = match Cluster::shared()? {
            Some(cluster) => cluster.url("postgres"),
            None => std::env::var(DATABASE_URL_VAR)
                .map_err(|_| err(format!("{DATABASE_URL_VAR} is not valid UTF-8")))?,
        };
        Self::create_on(&admin_url)
    }

    /// Creates a fresh, empty database on the server `admin_url` points at (its user must be
    /// allowed to create databases).
    pub fn create_on(admin_url: &str) -> Result<Self, Error> {
        let name = unique("scep_test");
        let url = with_database(admin_url, &name)?;
        let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)
            .map_err(|e| err(format!("connecting to the test server: {e}")))?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| err(format!("CREATE DATABASE {name}: {e}")))?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        })
    }

    /// The database's `postgres://` URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5/old?sslmode=require", "new").unwrap(),
            "postgres://u:p@h:5/new?sslmode=require"
        );
        assert_eq!(
            with_database("postgresql://h", "new").unwrap(),
            "postgres://h/new"
        );
        assert!(with_database("host=h dbname=x", "new").is_err());
    }

    #[test]
    fn two_test_databases_are_separate_and_dropped() {
        let a = TestDb::create().unwrap();
        let b = TestDb::create().unwrap();
        assert_ne!(a.url(), b.url());
        let mut ca = postgres::Client::connect(a.url(), postgres::NoTls).unwrap();
        ca.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
            .unwrap();
        let mut cb = postgres::Client::connect(b.url(), postgres::NoTls).unwrap();
        assert!(cb.batch_execute("SELECT x FROM t").is_err());
        let (name, admin) = (a.name().to_owned(), a.admin_url.clone());
        drop(ca);
        drop(a);
        let mut admin = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let left = admin
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .unwrap();
        assert!(left.is_empty(), "the database outlived its TestDb");
    }

    #[test]
    fn an_own_cluster_is_removed_on_drop() {
        if std::env::var_os(DATABASE_URL_VAR).is_some() {
            return;
        }
        let cluster = Cluster::start(Options::default()).unwrap();
        let path = cluster.path().to_owned();
        let mut c = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
        let one: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
        drop(c);
        drop(cluster);
        assert!(!path.exists());
    }
}
