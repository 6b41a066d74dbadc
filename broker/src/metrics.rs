//! Prometheus metrics, named after Kafka's well-known JMX metrics as the
//! Prometheus JMX exporter renders them, so existing dashboards and alerts
//! carry over (`kafka_server_brokertopicmetrics_messagesin_total`, ...).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the broker exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Records appended by producers.
    pub messages_in: IntCounter,
    /// Bytes appended by producers.
    pub bytes_in: IntCounter,
    /// Bytes returned to consumers.
    pub bytes_out: IntCounter,
    /// Produce requests with at least one failed partition.
    pub failed_produce_requests: IntCounter,
    /// Fetch requests with at least one failed partition.
    pub failed_fetch_requests: IntCounter,
    /// Connections whose authentication failed (a TLS handshake refused or
    /// not finished in time), Kafka's `failed-authentication-total`.
    pub failed_authentications: IntCounter,
    /// Requests handled, by API.
    pub requests: IntCounterVec,
    /// Request handling time, by API.
    pub request_duration: HistogramVec,
    /// Error codes returned, by API and error.
    pub errors: IntCounterVec,
    /// Open client connections.
    pub connections: IntGauge,
    /// Partitions hosted here.
    pub partition_count: IntGauge,
    /// Partitions led here.
    pub leader_count: IntGauge,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated_partitions: IntGauge,
    /// Partitions without a leader.
    pub offline_partitions: IntGauge,
    /// 1 on the active controller.
    pub active_controller: IntGauge,
    /// ISR shrinks.
    pub isr_shrinks: IntCounter,
    /// ISR expansions.
    pub isr_expands: IntCounter,
    /// Incremental fetch sessions cached (KIP-227).
    pub fetch_sessions: IntGauge,
}

/// A metric could not be registered (a programming error, reported at start).
pub type MetricsError = prometheus::Error;

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| -> Result<IntCounter, MetricsError> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, MetricsError> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let requests = IntCounterVec::new(
            Opts::new(
                "kafka_network_requestmetrics_requests_total",
                "Requests handled, by API.",
            ),
            &["request"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let errors = IntCounterVec::new(
            Opts::new(
                "kafka_network_requestmetrics_errors_total",
                "Error codes returned, by API and error name.",
            ),
            &["request", "error"],
        )?;
        registry.register(Box::new(errors.clone()))?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "kafka_network_requestmetrics_request_duration_seconds",
                "Time from reading a request to writing its response, by API.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["request"],
        )?;
        registry.register(Box::new(request_duration.clone()))?;
        Ok(Metrics {
            messages_in: counter(
                "kafka_server_brokertopicmetrics_messagesin_total",
                "Records appended by producers.",
            )?,
            bytes_in: counter(
                "kafka_server_brokertopicmetrics_bytesin_total",
                "Bytes appended by producers.",
            )?,
            bytes_out: counter(
                "kafka_server_brokertopicmetrics_bytesout_total",
                "Bytes returned to consumers.",
            )?,
            failed_produce_requests: counter(
                "kafka_server_brokertopicmetrics_failedproducerequests_total",
                "Produce requests with at least one failed partition.",
            )?,
            failed_fetch_requests: counter(
                "kafka_server_brokertopicmetrics_failedfetchrequests_total",
                "Fetch requests with at least one failed partition.",
            )?,
            failed_authentications: counter(
                "kafka_server_socketservermetrics_failed_authentication_total",
                "Connections whose authentication failed (TLS handshakes refused or not finished in time).",
            )?,
            connections: gauge(
                "kafka_server_socketservermetrics_connections",
                "Open client connections.",
            )?,
            partition_count: gauge(
                "kafka_server_replicamanager_partitioncount",
                "Partitions hosted on this broker.",
            )?,
            leader_count: gauge(
                "kafka_server_replicamanager_leadercount",
                "Partitions led by this broker.",
            )?,
            under_replicated_partitions: gauge(
                "kafka_server_replicamanager_underreplicatedpartitions",
                "Partitions led here whose ISR is smaller than their replica set.",
            )?,
            offline_partitions: gauge(
                "kafka_controller_kafkacontroller_offlinepartitionscount",
                "Partitions without a leader.",
            )?,
            active_controller: gauge(
                "kafka_controller_kafkacontroller_activecontrollercount",
                "1 when this broker is the active controller.",
            )?,
            isr_shrinks: counter(
                "kafka_server_replicamanager_isrshrinks_total",
                "Times a partition's ISR shrank.",
            )?,
            isr_expands: counter(
                "kafka_server_replicamanager_isrexpands_total",
                "Times a partition's ISR grew.",
            )?,
            fetch_sessions: gauge(
                "kafka_server_fetchsessioncache_numincrementalfetchsessions",
                "Incremental fetch sessions cached.",
            )?,
            requests,
            errors,
            request_duration,
            registry,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "failed to encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_uses_kafka_metric_names() {
        let m = Metrics::new().unwrap();
        m.messages_in.inc_by(3);
        m.requests.with_label_values(&["Produce"]).inc();
        let text = m.render();
        assert!(text.contains("kafka_server_brokertopicmetrics_messagesin_total 3"));
        assert!(text.contains("kafka_network_requestmetrics_requests_total{request=\"Produce\"} 1"));
    }
}
