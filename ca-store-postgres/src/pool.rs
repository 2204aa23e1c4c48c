//! The connection pool: r2d2 over the synchronous `postgres` client, plain or (feature `tls`)
//! rustls, behind one type so the store is not generic over the TLS connector.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use postgres::{Client, Config};
use r2d2_postgres::PostgresConnectionManager;

use crate::OpenError;

type Plain = PostgresConnectionManager<postgres::NoTls>;
#[cfg(feature = "tls")]
type Tls = PostgresConnectionManager<tokio_postgres_rustls::MakeRustlsConnect>;

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
    /// One connection outside the pool (migrations, the timer lease, LISTEN).
    pub(crate) fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match self {
            Connector::Plain => config.connect(postgres::NoTls),
            #[cfg(feature = "tls")]
            Connector::Tls(tls) => config.connect(tls.clone()),
        }
    }
}

/// A pool of connections.
pub(crate) enum Pool {
    Plain(r2d2::Pool<Plain>),
    #[cfg(feature = "tls")]
    Tls(r2d2::Pool<Tls>),
}

/// One connection borrowed from the [`Pool`]; back into it when dropped (or discarded if it
/// broke).
pub(crate) enum Conn {
    Plain(r2d2::PooledConnection<Plain>),
    #[cfg(feature = "tls")]
    Tls(r2d2::PooledConnection<Tls>),
}

impl Pool {
    /// A pool of at most `size` connections. Does not connect: the caller has already checked
    /// that the database answers.
    pub(crate) fn new(
        config: Config,
        connector: Connector,
        size: u32,
        wait: Duration,
    ) -> Result<Self, OpenError> {
        fn builder<M: r2d2::ManageConnection>(size: u32, wait: Duration) -> r2d2::Builder<M> {
            r2d2::Pool::builder()
                .max_size(size.max(1))
                .min_idle(Some(0))
                .connection_timeout(wait)
                // A broken connection is noticed when it is returned (`is_closed`); a test
                // query on every checkout would cost a round trip per operation.
                .test_on_check_out(false)
        }
        Ok(match connector {
            Connector::Plain => Pool::Plain(
                builder(size, wait)
                    .build_unchecked(PostgresConnectionManager::new(config, postgres::NoTls)),
            ),
            #[cfg(feature = "tls")]
            Connector::Tls(tls) => Pool::Tls(
                builder(size, wait).build_unchecked(PostgresConnectionManager::new(config, tls)),
            ),
        })
    }

    /// A connection, waiting up to the pool's timeout for one to be free.
    pub(crate) fn get(&self) -> Result<Conn, r2d2::Error> {
        match self {
            Pool::Plain(p) => p.get().map(Conn::Plain),
            #[cfg(feature = "tls")]
            Pool::Tls(p) => p.get().map(Conn::Tls),
        }
    }

    /// Connections open now (idle or in use).
    pub(crate) fn open_connections(&self) -> u32 {
        match self {
            Pool::Plain(p) => p.state().connections,
            #[cfg(feature = "tls")]
            Pool::Tls(p) => p.state().connections,
        }
    }
}

impl Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        match self {
            Conn::Plain(c) => c,
            #[cfg(feature = "tls")]
            Conn::Tls(c) => c,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        match self {
            Conn::Plain(c) => c,
            #[cfg(feature = "tls")]
            Conn::Tls(c) => c,
        }
    }
}
