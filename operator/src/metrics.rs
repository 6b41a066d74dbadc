//! The operator's Prometheus metrics: reconciles, failures and how long they
//! take.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, Registry};

/// Reconcile metrics, registered in their own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    reconciles: IntCounter,
    failures: IntCounter,
    duration: Histogram,
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let reconciles = IntCounter::new(
            "weir_operator_reconciles_total",
            "Reconciles of KafkaClusters.",
        )?;
        let failures = IntCounter::new(
            "weir_operator_reconcile_errors_total",
            "Reconciles that failed.",
        )?;
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "weir_operator_reconcile_duration_seconds",
                "Time a reconcile takes.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Metrics {
            registry,
            reconciles,
            failures,
            duration,
        })
    }

    /// Records one reconcile.
    pub fn observe_reconcile(&self, took: Duration, failed: bool) {
        self.reconciles.inc();
        if failed {
            self.failures.inc();
        }
        self.duration.observe(took.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)
        {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}
