//! What can stop a load run before or while it starts (errors of single requests are
//! [`Outcome`](super::Outcome)s, not these).

/// Why `scep-load` could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("the URL must be http://host[:port][/path] (no TLS, no user info), got {url:?}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
    },
    /// GetCACert or GetCACaps could not be sent or read.
    #[error("{operation}: {source}")]
    Http {
        /// `GetCACert` or `GetCACaps`.
        operation: &'static str,
        /// What the HTTP transport reported.
        #[source]
        source: client_core::TransportError,
    },
    /// GetCACert answered with a status other than 200.
    #[error("GetCACert answered HTTP {status}")]
    CaCertStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The GetCACert body is not a certificate or a certs-only chain.
    #[error("GetCACert answer unreadable: {0}")]
    CaCert(#[source] scep_proto::Error),
    /// The GetCACert answer holds no certificate to encrypt to.
    #[error("GetCACert answer holds no certificate")]
    NoCertificate,
    /// Generating a client key failed.
    #[error("client key generation ({bits} bits) failed")]
    KeyGeneration {
        /// The requested modulus size.
        bits: usize,
    },
    /// Building a CSR, a signer certificate or a pkiMessage failed.
    #[error("building request {index}: {source}")]
    Build {
        /// Which request.
        index: usize,
        /// What scep-proto reported.
        #[source]
        source: scep_proto::Error,
    },
    /// Encoding or signing a CSR failed.
    #[error("building the CSR of request {index}")]
    Csr {
        /// Which request.
        index: usize,
    },
    /// The subject prefix does not make a valid distinguished name.
    #[error("subject {subject:?} is not a valid distinguished name")]
    Subject {
        /// The subject string.
        subject: String,
    },
    /// The OS random source failed (seeding the per-thread RNGs).
    #[error("the OS random source failed")]
    Entropy,
    /// A worker thread panicked (a bug).
    #[error("a worker thread panicked")]
    Thread,
}
