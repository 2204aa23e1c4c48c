//! What one SCEP exchange was, for the log and the metrics, read back from the bytes that
//! went in and out: the request's operation, messageType, transactionID and signer, and the
//! CertRep's pkiStatus and failInfo.
//!
//! The request attributes are read *before* any signature check, so they are what the client
//! claims; the outcome comes from our own CertRep. What sits inside the encrypted envelopes
//! (the issued serial and subject) and why the CA decided as it did come from ca-core's audit
//! record ([`Audit`], one `audit` log line per PKIOperation), which also counts the
//! certificates issued, exactly.

use ca_core::host::{AuditOutcome, AuditRecord, CaHost};
use prometheus_client::metrics::counter::Counter;
use scep_proto::{
    FailInfo, HttpResponse, MessageType, Operation, PkiMessage, PkiStatus, Profile, ScepRequest,
};

/// The CA's host: logs every audit record and counts the certificates issued by requests
/// (admin grants are counted where they are made).
#[derive(Debug)]
pub(crate) struct Audit {
    /// `scep_certificates_issued_total`.
    pub(crate) issued: Counter,
}

impl CaHost for Audit {
    fn audit(&self, record: &AuditRecord) {
        let (outcome, fail_info, serial, subject) = match &record.outcome {
            AuditOutcome::Success {
                serial,
                subject,
                newly_issued,
            } => {
                if *newly_issued {
                    self.issued.inc();
                }
                (
                    "SUCCESS".to_owned(),
                    None,
                    serial.map(|s| format!("{s:X}")),
                    subject.clone(),
                )
            }
            AuditOutcome::Pending => ("PENDING".to_owned(), None, None, None),
            AuditOutcome::Failure(f) => {
                ("FAILURE".to_owned(), Some(fail_info_name(*f)), None, None)
            }
            AuditOutcome::Http(status) => (format!("HTTP_{status}"), None, None, None),
            _ => ("-".to_owned(), None, None, None),
        };
        let requester = record.requester.as_ref();
        tracing::info!(
            message_type = record.message_type.map_or("-", message_type_name),
            transaction_id = record.transaction_id.as_deref().unwrap_or("-"),
            requester = requester.map_or("-", |r| r.subject.as_str()),
            requester_class = %requester.map_or_else(|| "-".to_owned(), |r| r.kind.to_string()),
            requester_key = requester.map_or("-", |r| r.key_fingerprint.as_str()),
            outcome = %outcome,
            fail_info = fail_info.unwrap_or("-"),
            serial = serial.as_deref().unwrap_or("-"),
            subject = subject.as_deref().unwrap_or("-"),
            newly_issued = matches!(record.outcome, AuditOutcome::Success { newly_issued: true, .. }),
            reason = %record.reason,
            "audit"
        );
    }
}

/// One exchange, summarised.
#[derive(Clone, Debug, Default)]
pub(crate) struct Exchange {
    /// The SCEP operation (`GetCACaps`, `PKIOperation`, …), or `-` when not SCEP.
    pub(crate) operation: &'static str,
    /// The pkiMessage messageType (`PKCSReq`, `RenewalReq`, `CertPoll`, …).
    pub(crate) message_type: Option<&'static str>,
    /// The transactionID the client sent.
    pub(crate) transaction_id: Option<String>,
    /// The subject of the certificate that signed the request (for a new enrolment the
    /// self-signed certificate clients make with the requested subject; for a renewal the
    /// certificate being renewed).
    pub(crate) signer: Option<String>,
    /// SUCCESS, PENDING, FAILURE for a CertRep; OK or `HTTP_<status>` otherwise.
    pub(crate) outcome: String,
    /// The failInfo of a FAILURE, with its text if any.
    pub(crate) fail_info: Option<String>,
}

impl Exchange {
    /// Reads the request (`method`, `target`, `body`) and the CA's `response`.
    pub(crate) fn read(method: &str, target: &str, body: &[u8], response: &HttpResponse) -> Self {
        let mut ex = Self {
            operation: "-",
            outcome: if response.status == 200 {
                "OK".to_owned()
            } else {
                format!("HTTP_{}", response.status)
            },
            ..Self::default()
        };
        let Ok(request) = ScepRequest::parse(method, target, body) else {
            return ex;
        };
        ex.operation = match &request {
            ScepRequest::GetCaCert { .. } => Operation::GetCaCert,
            ScepRequest::GetCaCaps { .. } => Operation::GetCaCaps,
            ScepRequest::GetNextCaCert { .. } => Operation::GetNextCaCert,
            ScepRequest::PkiOperation { .. } => Operation::PkiOperation,
            ScepRequest::GetCrl { .. } => Operation::GetCrl,
            _ => Operation::Unknown,
        }
        .name()
        .unwrap_or("-");
        let ScepRequest::PkiOperation { message, .. } = request else {
            return ex;
        };
        if let Ok(msg) = PkiMessage::from_der(&message, &Profile::LEGACY) {
            ex.message_type = Some(message_type_name(msg.message_type()));
            ex.transaction_id = Some(msg.transaction_id().as_str().to_owned());
            ex.signer = msg
                .certificates()
                .iter()
                .find(|c| msg.signer_id().matches(c))
                .map(|c| c.tbs_certificate().subject().to_string());
        }
        if response.status == 200
            && let Ok(rep) = PkiMessage::from_der(&response.body, &Profile::LEGACY)
        {
            let a = rep.attributes();
            match a.pki_status {
                Some(PkiStatus::Success) => ex.outcome = "SUCCESS".to_owned(),
                Some(PkiStatus::Pending) => ex.outcome = "PENDING".to_owned(),
                Some(PkiStatus::Failure) => {
                    ex.outcome = "FAILURE".to_owned();
                    ex.fail_info = a.fail_info.map(|f| match &a.fail_info_text {
                        Some(text) => format!("{} ({text})", fail_info_name(f)),
                        None => fail_info_name(f).to_owned(),
                    });
                }
                None => {}
            }
        }
        ex
    }

    /// The operation label of the metrics: the messageType for PKIOperation.
    pub(crate) fn metric_operation(&self) -> &'static str {
        self.message_type.unwrap_or(self.operation)
    }
}

/// The RFC 8894 name of a messageType.
pub(crate) fn message_type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::CertRep => "CertRep",
        MessageType::RenewalReq => "RenewalReq",
        MessageType::PkcsReq => "PKCSReq",
        MessageType::CertPoll => "CertPoll",
        MessageType::GetCert => "GetCert",
        MessageType::GetCrl => "GetCRL",
        _ => "unknown",
    }
}

/// The RFC 8894 name of a failInfo.
pub(crate) fn fail_info_name(f: FailInfo) -> &'static str {
    match f {
        FailInfo::BadAlg => "badAlg",
        FailInfo::BadMessageCheck => "badMessageCheck",
        FailInfo::BadRequest => "badRequest",
        FailInfo::BadTime => "badTime",
        FailInfo::BadCertId => "badCertId",
    }
}
