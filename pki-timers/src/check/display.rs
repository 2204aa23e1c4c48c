//! How a finding reads.

use core::fmt;

use super::{Detail, Finding, GrantIssue, PercentIssue};

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: ",
            self.severity(),
            self.hazard.id(),
            self.node
        )?;
        match self.detail {
            Detail::ShadowBeforeRollover {
                percent,
                shadow_lead,
                overlap,
                first_failing,
            } => {
                write!(
                    f,
                    "auto-enroll {percent} starts a SHADOW up to {shadow_lead} before CA expiry, \
                     earlier than the {overlap} auto-rollover overlap: GetNextCACert finds no rollover"
                )?;
                if let Some(s) = first_failing {
                    write!(
                        f,
                        "; first failing SHADOW: certificate #{} at {}, before the rollover is generated at {}",
                        s.link, s.at, s.rollover_generated_at
                    )?;
                }
                Ok(())
            }
            Detail::CaOnlyShadowBeforeRollover {
                shadow_lead,
                overlap,
            } => write!(
                f,
                "CA-only SHADOW at 90% of the CA lifetime ({shadow_lead} before expiry) comes before the \
                 {overlap} auto-rollover overlap"
            ),
            Detail::NoRollover { affected_clients } => write!(
                f,
                "no auto-rollover, yet {affected_clients} client(s) depend on GetNextCACert: every SHADOW \
                 fails and retries every P until a manual rollover"
            ),
            Detail::OverlapTooLong {
                overlap,
                ca_lifetime,
            } => write!(
                f,
                "overlap {overlap} is not shorter than the CA lifetime {ca_lifetime}: the rollover is \
                 generated as soon as the CA exists"
            ),
            Detail::Percentage {
                percent,
                lead,
                issue,
            } => match issue {
                PercentIssue::Low => write!(
                    f,
                    "auto-enroll {percent} renews almost at once (lead {lead})"
                ),
                PercentIssue::AtExpiry => {
                    write!(
                        f,
                        "auto-enroll {percent} renews at expiry: a gap until the new certificate arrives"
                    )
                }
                PercentIssue::ShortLead => {
                    write!(f, "auto-enroll {percent} leaves only {lead} to renew")
                }
            },
            Detail::EveryRenewalIsShadow {
                cert_lifetime,
                ca_lifetime,
            } => write!(
                f,
                "certificate lifetime {cert_lifetime} is not shorter than the CA lifetime {ca_lifetime}: \
                 every renewal is a SHADOW"
            ),
            Detail::ManualGrantPickup {
                safe_window,
                expected_grant_delay,
            } => write!(
                f,
                "a manual grant must come within {safe_window} to be picked up before expiry; \
                 expected delay is {expected_grant_delay}"
            ),
            Detail::PollOutlivesRequest {
                request_lifetime,
                last_attempt,
                last_offset,
            } => write!(
                f,
                "polls continue after the request is purged {request_lifetime} after it was made; the \
                 last poll inside that is {} at {last_offset}, later ones get badCertId and stop the client",
                Attempt(last_attempt)
            ),
            Detail::NoAuthoritativeTime => {
                f.write_str("clock not authoritative: no PKI timer runs")
            }
            Detail::CrlLifetime { lifetime } => {
                write!(f, "CRL lifetime {lifetime} is outside 1-336 h")
            }
            Detail::LifetimeOutOfRange { kind, value } => {
                let (min, max) = kind.range();
                write!(f, "{kind:?} lifetime {value} is outside {min} - {max}")
            }
            Detail::RenewalAtExpiry { first_lapse } => {
                f.write_str(
                    "auto-enroll 100% starts its SHADOW at the CA's expiry, when the CA has \
                     already switched: GetNextCACert finds no rollover and trust ends with the CA",
                )?;
                if let Some(at) = first_lapse {
                    write!(f, "; first lapse at {at}")?;
                }
                Ok(())
            }
            Detail::GrantTooLate {
                grant_delay,
                pickup,
                issue,
                first_lapse,
            } => {
                write!(f, "a manual grant {grant_delay} after the request ")?;
                match (issue, pickup) {
                    (GrantIssue::PollsExhausted, _) | (_, None) => {
                        f.write_str("comes after the last poll: the client never picks it up")?;
                    }
                    (GrantIssue::Purged, Some(t)) => write!(
                        f,
                        "is picked up by the poll at {t}, after the request is purged: badCertId"
                    )?,
                    (GrantIssue::AfterExpiry, Some(t)) => write!(
                        f,
                        "is picked up by the poll at {t}, after the certificate being renewed \
                         expired"
                    )?,
                }
                if let Some(at) = first_lapse {
                    write!(f, "; first lapse at {at}")?;
                }
                Ok(())
            }
        }
    }
}

struct Attempt(u32);

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("the first poll"),
            k => write!(f, "retry {k}"),
        }
    }
}
