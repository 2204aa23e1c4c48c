//! The hazard checker's view of the drilled configuration, and whether the drill bore it out.

use pki_timers::{
    CaTimerConfig, CheckOptions, ClientTimerConfig, Detail, Hazard, Instant, Node, check,
};

use crate::report::{Prediction, Report};
use crate::scenario::{ClientKind, Grant, Scenario};

/// Runs the checker (SPEC §5) on the scenario's CA and fleet, each client with the instant it
/// really enrolled (so H-1 simulates the very chain the drill ran), and compares its H-1
/// predictions with the GetNextCACert 404s the clients got.
///
/// `clients[i]` = (notBefore of the first identity certificate, join instant, first
/// GetNextCACert 404).
pub(crate) fn judge(
    s: &Scenario,
    report: &mut Report,
    clients: &[(Option<Instant>, Instant, Option<Instant>)],
) {
    let mut ca = CaTimerConfig::default();
    ca.ca_lifetime = s.ca_lifetime;
    ca.cert_lifetime = s.cert_lifetime;
    ca.crl_lifetime = s.crl_lifetime;
    ca.request_lifetime = s.request_lifetime;
    ca.auto_rollover = s.overlap;
    ca.manual_grant = matches!(s.grant, Grant::Manual { .. });
    ca.authoritative_time = true;
    ca.created_at = Some(s.start);
    ca.rollover_identity = ca_core::CaConfig::default().rollover_id_validity;
    let fleet: Vec<ClientTimerConfig> = clients
        .iter()
        .enumerate()
        .map(|(i, (first, join, _))| {
            let mut c = ClientTimerConfig::default();
            c.auto_enroll = match s.kind_of(i) {
                Some(ClientKind::AutoEnroll { percent, .. }) => Some(percent),
                _ => None,
            };
            c.retry_period = s.retry_period;
            c.retry_count = s.retry_count;
            c.authoritative_time = true;
            c.enrolled_at = Some(first.unwrap_or(*join));
            c
        })
        .collect();
    let mut options = CheckOptions::default();
    options.generations = s.generations;
    if let Grant::Manual { delay } = s.grant {
        options.expected_grant_delay = delay;
    }
    let findings = check(&ca, &fleet, &options);
    let everyone_404 = findings.iter().any(|f| {
        matches!(
            f.hazard,
            Hazard::NoRollover | Hazard::CaOnlyShadowBeforeRollover
        )
    }) || s.rollover_cancel.is_some();
    for f in &findings {
        let lapse = match f.detail {
            Detail::RenewalAtExpiry { first_lapse } | Detail::GrantTooLate { first_lapse, .. } => {
                first_lapse
            }
            _ => None,
        };
        if let (Node::Client(i), Some(at)) = (f.node, lapse) {
            report.lapse_predictions.push(Prediction {
                client: i,
                predicted: at,
                observed: report
                    .gaps
                    .iter()
                    .filter(|g| g.client == i)
                    .map(|g| g.start)
                    .min(),
            });
        }
        if let (
            Node::Client(i),
            Detail::ShadowBeforeRollover {
                first_failing: Some(fs),
                ..
            },
        ) = (f.node, &f.detail)
        {
            report.predictions.push(Prediction {
                client: i,
                predicted: fs.at,
                observed: clients.get(i).and_then(|c| c.2),
            });
        }
    }
    if !everyone_404 {
        report.unpredicted_404 = clients
            .iter()
            .enumerate()
            .filter(|(i, c)| c.2.is_some() && !report.predictions.iter().any(|p| p.client == *i))
            // After a predicted lapse (H-12, H-13) the chain is no longer the simulated one.
            .filter(|(i, c)| {
                !report
                    .lapse_predictions
                    .iter()
                    .any(|p| p.client == *i && c.2.is_some_and(|at| p.predicted <= at))
            })
            .map(|(i, _)| i)
            .collect();
    }
    report.findings = findings;
}
