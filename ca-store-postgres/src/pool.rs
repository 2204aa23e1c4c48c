//! The connection pool: r2d2 over the synchronous `postgres` client, plain or (feature `tls`)
//! rustls. Each pooled connection keeps its prepared statements, so an operation costs its
//! statements' round trips only.

use std::collections::HashMap;

use postgres::{Client, Config, Statement};

/// How the store reaches the database.
#[derive(Clone)]
pub(crate) enum Connector {
    /// Plain TCP or a unix socket.
    Plain,
    /// TLS with the given rustls configuration.
    #[cfg(feature = "tls")]
    Tls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Connector {
    /// One connection outside the pool (the migrations).
    pub(crate) fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match self {
            Connector::Plain => config.connect(postgres::NoTls),
            #[cfg(feature = "tls")]
            Connector::Tls(tls) => config.connect(tls.clone()),
        }
    }
}

/// One pooled connection and the statements prepared on it.
pub(crate) struct PgConn {
    pub(crate) client: Client,
    prepared: HashMap<&'static str, Statement>,
}

impl PgConn {
    /// `sql` prepared on this connection (once; later calls reuse it).
    pub(crate) fn stmt(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }
}

/// Makes the pool's connections.
pub(crate) struct Manager {
    pub(crate) config: Config,
    pub(crate) connector: Connector,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.connector.connect(&self.config)?,
            prepared: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// The pool.
pub(crate) type Pool = r2d2::Pool<Manager>;
