//! `GET /metrics`: Prometheus text exposition of what an operator alerts on.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use ca_core::{Ca, Store};

type Labels = Vec<(&'static str, String)>;

/// Every metric the server exports.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    issued: Counter,
    pending: Gauge,
    connections: Gauge,
    ca_not_after: Gauge,
    rollover_not_after: Gauge,
    crl_next_update: Gauge,
}

fn latency_histogram() -> Histogram {
    // 1 ms … about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// Registers every metric under the `scep_` prefix.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("scep");
        let requests = Family::<Labels, Counter>::default();
        let latency: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let issued = Counter::default();
        let pending = Gauge::default();
        let connections = Gauge::default();
        let ca_not_after = Gauge::default();
        let rollover_not_after = Gauge::default();
        let crl_next_update = Gauge::default();
        registry.register(
            "requests",
            "HTTP requests answered, by SCEP operation (messageType for PKIOperation) and outcome (SUCCESS, PENDING, FAILURE, OK or HTTP_<status>)",
            requests.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time from a request's header to its answer, by operation",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register(
            "certificates_issued",
            "Certificates issued: by requests (from the CA's audit records, retransmissions not counted) plus admin grants",
            issued.clone(),
        );
        registry.register(
            "pending_requests",
            "Requests waiting for an administrator's grant or reject",
            pending.clone(),
        );
        registry.register(
            "open_connections",
            "TCP connections open on the SCEP listeners",
            connections.clone(),
        );
        registry.register(
            "ca_not_after_timestamp_seconds",
            "When the active CA certificate expires (Unix time)",
            ca_not_after.clone(),
        );
        registry.register(
            "rollover_ca_not_after_timestamp_seconds",
            "When the rollover CA certificate expires (Unix time); 0 without a rollover CA",
            rollover_not_after.clone(),
        );
        registry.register(
            "crl_next_update_timestamp_seconds",
            "The current CRL's nextUpdate (Unix time)",
            crl_next_update.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            issued,
            pending,
            connections,
            ca_not_after,
            rollover_not_after,
            crl_next_update,
        }
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, operation: &str, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("operation", operation.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("operation", operation.to_owned())])
            .observe(seconds);
    }

    /// Counts `n` issued certificates.
    pub(crate) fn issued(&self, n: u64) {
        self.issued.inc_by(n);
    }

    /// The issued-certificates counter (shared with the CA's audit host).
    pub(crate) fn issued_counter(&self) -> Counter {
        self.issued.clone()
    }

    /// The open-connections gauge.
    pub(crate) fn connections(&self) -> &Gauge {
        &self.connections
    }

    /// Reads the CA's state into the gauges (call on the worker pool: it takes the CA's lock)
    /// and renders the text exposition.
    pub(crate) fn render<S: Store>(&self, ca: &Ca<S>) -> Result<String, std::fmt::Error> {
        let status = ca.status(crate::clock::now());
        let pending = ca.pending_count();
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        let unix = |i: pki_timers::Instant| i64::try_from(i.unix()).unwrap_or(i64::MAX);
        self.ca_not_after.set(unix(status.ca_expiry));
        self.crl_next_update.set(unix(status.crl_next_update));
        self.rollover_not_after
            .set(status.rollover.as_ref().map_or(0, |(_, at)| unix(*at)));
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
