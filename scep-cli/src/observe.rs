//! What one SCEP exchange was, for the log and the metrics, read back from the bytes that
//! went in and out: the request's operation, messageType, transactionID and signer, and the
//! CertRep's pkiStatus and failInfo.
//!
//! The request attributes are read *before* any signature check, so they are what the client
//! claims; the outcome comes from our own CertRep. The issued serial and the CSR subject sit
//! inside encrypted envelopes and are not visible here: they need ca-core to report its
//! decisions to the host (an audit record per request).

use scep_proto::{
    FailInfo, HttpResponse, MessageType, Operation, PkiMessage, PkiStatus, Profile, ScepRequest,
};

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

    /// Whether the CA issued a certificate in this exchange (SUCCESS to PKCSReq or
    /// RenewalReq; a CertPoll SUCCESS delivers one granted earlier).
    pub(crate) fn issued(&self) -> bool {
        self.outcome == "SUCCESS" && matches!(self.message_type, Some("PKCSReq" | "RenewalReq"))
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
