//! Instants to X.509 `Time` and back (RFC 5280 4.1.2.5, 5.1.2.4).

use der::{
    DateTime,
    asn1::{GeneralizedTime, UtcTime},
};
use pki_timers::{Instant, Validity};
use x509_cert::{Certificate, time::Time};

use super::error::IssueError;

/// The first year RFC 5280 encodes as GeneralizedTime.
const FIRST_GENERALIZED_YEAR: u16 = 2050;

/// `at` as an X.509 `Time`: UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280
/// 4.1.2.5 for certificates, 5.1.2.4 for CRLs).
///
/// # Errors
/// [`IssueError::TimeOutOfRange`] after 9999-12-31T23:59:59Z.
pub fn to_x509_time(at: Instant) -> Result<Time, IssueError> {
    let out_of_range = |_| IssueError::TimeOutOfRange { at };
    let dt = DateTime::from_unix_duration(core::time::Duration::from_secs(at.unix()))
        .map_err(out_of_range)?;
    if dt.year() < FIRST_GENERALIZED_YEAR {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(out_of_range)?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// An X.509 `Time` as an [`Instant`] (whole seconds since the Unix epoch).
#[must_use]
pub fn from_x509_time(t: &Time) -> Instant {
    Instant::from_unix(t.to_unix_duration().as_secs())
}

/// The validity `[notBefore, notAfter]` of `cert`.
///
/// # Errors
/// [`IssueError::InvalidCertificate`] when notAfter is not after notBefore.
pub fn certificate_validity(cert: &Certificate) -> Result<Validity, IssueError> {
    let v = cert.tbs_certificate().validity();
    Validity::new(from_x509_time(&v.not_before), from_x509_time(&v.not_after))
        .map_err(|_| IssueError::InvalidCertificate)
}
