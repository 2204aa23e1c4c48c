//! The admin socket's messages. The server answers with data; `scep admin` renders it.

use serde::{Deserialize, Serialize};

/// Which request table entries an operation acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Target {
    /// Every entry the operation applies to.
    All,
    /// One request id.
    #[serde(untagged)]
    Id(u64),
}

/// One admin request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Request {
    /// C-28 status and the CA timers.
    Status,
    /// The request table.
    Pending,
    /// C-15 grant.
    Grant { target: Target },
    /// C-15 reject.
    Reject { target: Target },
    /// C-14 remove.
    Remove { target: Target },
    /// C-14 revoke.
    Revoke { serial: u64 },
    /// C-22 rollover now.
    Rollover,
    /// C-24 cancel the rollover.
    RolloverCancel,
    /// C-14 one-time password.
    Otp { minutes: Option<u32> },
    /// T-16 timer listing.
    Timers,
}

/// One row of the timer listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timer {
    /// The IOS label, e.g. `CS CRL UPDATE`.
    pub(crate) label: String,
    /// Time left as IOS prints it, e.g. `5:54:18.000`.
    pub(crate) remaining: String,
}

/// The CA's status (C-28), as data and in the IOS layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Status {
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) issuer: String,
    pub(crate) fingerprint: String,
    pub(crate) grant: String,
    pub(crate) last_serial: String,
    pub(crate) ca_not_after: String,
    pub(crate) crl_next_update: String,
    pub(crate) database_level: String,
    pub(crate) rollover_fingerprint: Option<String>,
    pub(crate) rollover_not_after: Option<String>,
    pub(crate) requests: usize,
    pub(crate) timers: Vec<Timer>,
    /// `show crypto pki server` and `show crypto pki timers`, as IOS prints them.
    pub(crate) text: String,
}

/// One request table row (C-14).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) state: String,
    pub(crate) serial: Option<String>,
    pub(crate) fingerprint: String,
    pub(crate) subject: String,
    pub(crate) transaction_id: String,
    pub(crate) created: String,
    pub(crate) to_rollover: bool,
    /// Requested subjectAltNames, `type:value` (C-10: what a grant would issue is shown).
    #[serde(default)]
    pub(crate) subject_alt_names: Vec<String>,
    /// Requested extended key usages by name.
    #[serde(default)]
    pub(crate) extended_key_usages: Vec<String>,
    /// RSA size of the requested key.
    #[serde(default)]
    pub(crate) key_bits: u32,
    /// The signer's class (self-signed, credential SERIAL, untrusted), `-` if unknown.
    #[serde(default)]
    pub(crate) signer: String,
    /// Where the request is outside the issuance policy (a grant leaves that out).
    #[serde(default)]
    pub(crate) violations: Vec<String>,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum Reply {
    /// To `status` (boxed: by far the largest answer).
    Status(Box<Status>),
    /// To `pending`.
    Requests { requests: Vec<Row> },
    /// To `grant`: serials (hex) issued.
    Granted { serials: Vec<String> },
    /// To `reject`.
    Rejected { count: usize },
    /// To `remove`.
    Removed { count: usize },
    /// To `revoke`.
    Revoked { serial: String, crl_number: u64 },
    /// To `rollover`, `rollover-cancel`: what the CA did.
    Event { event: String },
    /// To `otp`.
    Otp {
        password: OtpPassword,
        expires: String,
    },
    /// To `timers`.
    Timers { timers: Vec<Timer>, text: String },
}

/// A one-time enrolment password in an answer: the JSON carries it (the admin reads it),
/// `Debug` does not; `Display` shows it, for the admin's terminal.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct OtpPassword(pub(crate) String);

impl std::fmt::Debug for OtpPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpPassword(<redacted>)")
    }
}

impl std::fmt::Display for OtpPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The answer line: `{"ok": …}` or `{"error": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Answer {
    /// Done.
    Ok(Reply),
    /// Refused or failed, with the reason.
    Error(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_json() {
        for r in [
            Request::Status,
            Request::Grant {
                target: Target::All,
            },
            Request::Reject {
                target: Target::Id(7),
            },
            Request::Revoke { serial: 0x1F },
            Request::Otp { minutes: Some(5) },
            Request::RolloverCancel,
        ] {
            let line = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r, "{line}");
        }
        assert_eq!(
            serde_json::to_string(&Request::Grant {
                target: Target::Id(3)
            })
            .unwrap(),
            r#"{"command":"grant","target":3}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"command":"format-disk"}"#).is_err());
    }

    /// A one-time password (C-9 step 3) grants a certificate to whoever presents it: an
    /// answer that is debug-formatted (a log line, a failed assertion) must not carry it,
    /// while the JSON the admin reads still does.
    #[test]
    fn c9_otp_reply_debug_hides_the_password() {
        let line = r#"{"ok":{"kind":"otp","password":"S3cretOtp99","expires":"later"}}"#;
        let answer: Answer = serde_json::from_str(line).unwrap();
        assert!(!format!("{answer:?}").contains("S3cretOtp99"), "{answer:?}");
        assert_eq!(serde_json::to_string(&answer).unwrap(), line);
    }
}
