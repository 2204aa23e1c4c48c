//! Instants to X.509 `Time` (RFC 5280 4.1.2.5, 5.1.2.4).

use der::{
    DateTime,
    asn1::{GeneralizedTime, UtcTime},
};
use pki_timers::Instant;
use x509_cert::time::Time;

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
