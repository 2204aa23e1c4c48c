//! `scep client`'s exit codes, numbered after sscep's so scripts written for it read them
//! the same way.

use client_core::{EnrollError, FailInfo};

/// The table printed at the end of `scep client --help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
   0  done: enrolled, renewed, or status shown
   1  any other error
   2  bad command line
   3  the request is still pending at the CA when --timeout ran out (the state is saved:
      run the same command again, or `scep client run`, to continue it)
  70  the CA refused the request: badAlg
  71  the CA refused the request: badMessageCheck
  72  the CA refused the request: badRequest
  73  the CA refused the request: badTime
  74  the CA refused the request: badCertId
  75  the CA uses DES or MD5, refused without --legacy-algorithms
  89  --timeout ran out (no answer in time, request not pending)
  91  the CA is not trusted: wrong fingerprint, refused at the prompt, or its certificate
      is unusable
  93  a file could not be read or written (DIR, key, challenge, PEM output)
  95  network: the CA could not be reached (connection, TLS, timeout), or its retries ran out";

pub(crate) const ERROR: u8 = 1;
pub(crate) const PENDING: u8 = 3;
pub(crate) const LEGACY: u8 = 75;
pub(crate) const TIMEOUT: u8 = 89;
pub(crate) const UNTRUSTED: u8 = 91;
pub(crate) const FILE: u8 = 93;
pub(crate) const NETWORK: u8 = 95;

/// An error sentence and its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A file error naming the path.
    pub(crate) fn file(what: &str, path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::new(FILE, format!("cannot {what} {}: {e}", path.display()))
    }
}

/// 70–74 by failInfo.
fn fail_info_code(f: FailInfo) -> u8 {
    match f {
        FailInfo::BadAlg => 70,
        FailInfo::BadMessageCheck => 71,
        FailInfo::BadRequest => 72,
        FailInfo::BadTime => 73,
        FailInfo::BadCertId => 74,
    }
}

impl From<EnrollError> for Failure {
    fn from(e: EnrollError) -> Self {
        let code = match &e {
            EnrollError::Rejected { fail_info, .. } => fail_info_code(*fail_info),
            EnrollError::LegacyAlgorithmRefused => LEGACY,
            EnrollError::Deadline { pending: true, .. } => PENDING,
            EnrollError::Deadline { .. } => TIMEOUT,
            EnrollError::FingerprintMismatch { .. }
            | EnrollError::CaRefused { .. }
            | EnrollError::AuthenticationFailed { .. } => UNTRUSTED,
            EnrollError::Store(_) | EnrollError::Persist(_) => FILE,
            EnrollError::Unreachable { .. }
            | EnrollError::Transport(_)
            | EnrollError::RetriesExhausted { .. } => NETWORK,
            _ => ERROR,
        };
        Self::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_is_in_the_help_table() {
        for code in [
            ERROR, PENDING, LEGACY, TIMEOUT, UNTRUSTED, FILE, NETWORK, 70, 71, 72, 73, 74,
        ] {
            assert!(
                EXIT_CODES.contains(&format!("\n  {code:>2}  ")),
                "{code} missing"
            );
        }
        let f = Failure::from(EnrollError::Rejected {
            fail_info: FailInfo::BadCertId,
            text: None,
        });
        assert_eq!(f.code, 74);
        let f = Failure::from(EnrollError::Deadline {
            pending: true,
            transaction_id: Some("T1".into()),
            next_attempt: None,
            last_problem: None,
        });
        assert_eq!(f.code, PENDING);
        assert!(f.message.contains("T1"), "{}", f.message);
    }
}
