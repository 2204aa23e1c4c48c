//! T-18: the chain of identity certificates one client goes through under one CA generation,
//! from enrolment to the SHADOW that fetches its rollover certificate.

use crate::error::TimerError;
use crate::renew::{RenewalKind, renew_at, renewal_kind};
use crate::rollover::{RolloverIdentityPolicy, issued_validity, rollover_identity_validity};
use crate::time::{Duration, Instant, Percent, Validity};

/// What a chain depends on: the CA, the configured certificate lifetime, the client's
/// auto-enroll percentage and when it enrols. Every request is assumed granted at once
/// (grant auto), as in the T-18 example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainParams {
    /// The issuing CA certificate.
    pub ca: Validity,
    /// L_cert.
    pub cert_lifetime: Duration,
    /// p.
    pub percent: Percent,
    /// The initial enrolment instant.
    pub enrolled_at: Instant,
}

/// One certificate of a chain and the renewal it arms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLink {
    /// 1 for the enrolment certificate, then 2, 3, …
    pub number: u32,
    /// Its validity (T-7).
    pub validity: Validity,
    /// Whether T-7 cut it short at the CA's notAfter.
    pub clamped: bool,
    /// RENEW or SHADOW (T-3).
    pub kind: RenewalKind,
    /// When that renewal fires (T-1).
    pub fires: Instant,
}

impl ChainLink {
    /// C-11: the rollover identity certificate this link's SHADOW obtains from `rollover_ca`
    /// (granted at once, so issued at `fires`; the signer is this link's certificate).
    pub const fn rollover_identity(
        &self,
        rollover_ca: Validity,
        cert_lifetime: Duration,
        policy: RolloverIdentityPolicy,
    ) -> Result<Validity, TimerError> {
        rollover_identity_validity(
            self.fires,
            rollover_ca,
            cert_lifetime,
            Some(self.validity),
            policy,
        )
    }
}

/// The links of a chain, in order; the last one is the SHADOW (every chain under a finite CA
/// ends in one, because T-7 clamps the last certificate to the CA's notAfter).
#[derive(Clone, Debug)]
pub struct RenewalChain {
    params: ChainParams,
    next: Option<(u32, Validity)>,
}

impl RenewalChain {
    /// Starts the chain with the enrolment certificate. Fails if the CA is expired at the
    /// enrolment instant, or if `p` of `cert_lifetime` is under a second (no progress).
    pub const fn new(params: ChainParams) -> Result<Self, TimerError> {
        if params.cert_lifetime.percent(params.percent).as_secs() == 0 {
            return Err(TimerError::NoRenewalProgress {
                cert_lifetime: params.cert_lifetime,
                percent: params.percent,
            });
        }
        match issued_validity(params.enrolled_at, params.ca, params.cert_lifetime) {
            Ok(first) => Ok(Self {
                params,
                next: Some((1, first)),
            }),
            Err(e) => Err(e),
        }
    }

    /// The chain's SHADOW link: the last one.
    #[must_use]
    pub fn shadow(self) -> Option<ChainLink> {
        self.last()
    }
}

impl Iterator for RenewalChain {
    type Item = ChainLink;

    fn next(&mut self) -> Option<ChainLink> {
        let (number, validity) = self.next.take()?;
        let p = &self.params;
        let kind = renewal_kind(validity, p.ca);
        let fires = renew_at(validity, p.percent);
        if kind == RenewalKind::Renew {
            // A RENEW certificate is unclamped, so it spans L_cert and `fires > nb` (checked in
            // `new`): each link starts strictly later and the chain reaches the CA's end.
            self.next = issued_validity(fires, p.ca, p.cert_lifetime)
                .ok()
                .map(|v| (number.saturating_add(1), v));
        }
        let clamped = validity.span().as_secs() < p.cert_lifetime.as_secs();
        Some(ChainLink {
            number,
            validity,
            clamped,
            kind,
            fires,
        })
    }
}
