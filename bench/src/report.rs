//! Results: latency histograms, rates, the human-readable table and the
//! machine-readable JSON object every subcommand prints at the end.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// A latency histogram in microseconds, from 1 µs to one hour at 3
/// significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that satisfy the crate's preconditions
    // (low >= 1, high >= 2 * low, sigfig <= 5), so this cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records `latency` into `histogram`, saturating at the histogram's range.
pub fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Number of samples.
    pub count: u64,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Latency {
    /// Summarises a histogram of microseconds.
    pub fn from_histogram(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// Records per second and megabytes (10^6 bytes) per second over `elapsed`.
pub fn rates(records: u64, bytes: u64, elapsed: Duration) -> (f64, f64) {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return (0.0, 0.0);
    }
    (records as f64 / secs, bytes as f64 / secs / 1e6)
}

/// The outcome of a `produce` run.
#[derive(Debug, Clone, Serialize)]
pub struct ProduceReport {
    /// Always `"produce"`.
    pub mode: &'static str,
    /// Target topic.
    pub topic: String,
    /// Producer instances.
    pub producers: usize,
    /// Records handed to the producers.
    pub records_sent: u64,
    /// Records acknowledged successfully.
    pub records_acked: u64,
    /// Records whose delivery failed.
    pub records_failed: u64,
    /// The first delivery error, if any.
    pub first_error: Option<String>,
    /// Value bytes per record.
    pub record_size: usize,
    /// From the first send to the last delivery report.
    pub elapsed_secs: f64,
    /// Acknowledged records per second.
    pub records_per_sec: f64,
    /// Acknowledged value megabytes (10^6 bytes) per second.
    pub mb_per_sec: f64,
    /// Send-to-delivery-report latency.
    pub latency: Latency,
    /// The longest time any partition went without an acknowledgement
    /// between its first and last one: what a client sees of a failover.
    pub longest_ack_gap_ms: f64,
    /// The partition where that gap was.
    pub longest_ack_gap_partition: i32,
    /// The settings the run used.
    pub settings: serde_json::Value,
}

/// The outcome of a `consume` run.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumeReport {
    /// Always `"consume"`.
    pub mode: &'static str,
    /// Source topic.
    pub topic: String,
    /// Consumer instances.
    pub consumers: usize,
    /// Records consumed.
    pub records: u64,
    /// Value bytes consumed.
    pub bytes: u64,
    /// From start to the first record.
    pub time_to_first_record_secs: f64,
    /// From the first record to the last.
    pub elapsed_secs: f64,
    /// Records per second between the first and the last record.
    pub records_per_sec: f64,
    /// Megabytes (10^6 bytes) per second between the first and the last record.
    pub mb_per_sec: f64,
    /// The settings the run used.
    pub settings: serde_json::Value,
}

/// The outcome of an `e2e` run.
#[derive(Debug, Clone, Serialize)]
pub struct E2eReport {
    /// Always `"e2e"`.
    pub mode: &'static str,
    /// Topic used.
    pub topic: String,
    /// Records produced.
    pub records_sent: u64,
    /// Records that came back to the consumer.
    pub records_received: u64,
    /// Records whose delivery failed.
    pub records_failed: u64,
    /// Whole run.
    pub elapsed_secs: f64,
    /// Records received per second.
    pub records_per_sec: f64,
    /// Send-to-delivery-report latency.
    pub produce_latency: Latency,
    /// Send-to-consumer-receipt latency.
    pub e2e_latency: Latency,
    /// The settings the run used.
    pub settings: serde_json::Value,
}

fn latency_rows(name: &str, l: &Latency) -> String {
    format!(
        "{name:<18} p50 {:>9.3} ms  p95 {:>9.3} ms  p99 {:>9.3} ms  p99.9 {:>9.3} ms  max {:>9.3} ms  (mean {:.3} ms, n={})",
        l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms, l.count
    )
}

impl ProduceReport {
    /// The human-readable summary.
    pub fn table(&self) -> String {
        let mut s = format!(
            "produce  topic={} producers={} record_size={} B\n\
             records  sent {}  acked {}  failed {}\n\
             elapsed  {:.3} s\n\
             rate     {:.1} records/s  {:.2} MB/s\n\
             ack gap  {:.1} ms longest, partition {}\n{}",
            self.topic,
            self.producers,
            self.record_size,
            self.records_sent,
            self.records_acked,
            self.records_failed,
            self.elapsed_secs,
            self.records_per_sec,
            self.mb_per_sec,
            self.longest_ack_gap_ms,
            self.longest_ack_gap_partition,
            latency_rows("latency (ack)", &self.latency),
        );
        if let Some(e) = &self.first_error {
            s.push_str(&format!("\nfirst error: {e}"));
        }
        s
    }
}

impl ConsumeReport {
    /// The human-readable summary.
    pub fn table(&self) -> String {
        format!(
            "consume  topic={} consumers={}\n\
             records  {}  ({} value bytes)\n\
             startup  {:.3} s to the first record\n\
             elapsed  {:.3} s from the first record to the last\n\
             rate     {:.1} records/s  {:.2} MB/s",
            self.topic,
            self.consumers,
            self.records,
            self.bytes,
            self.time_to_first_record_secs,
            self.elapsed_secs,
            self.records_per_sec,
            self.mb_per_sec,
        )
    }
}

impl E2eReport {
    /// The human-readable summary.
    pub fn table(&self) -> String {
        format!(
            "e2e      topic={}\n\
             records  sent {}  received {}  failed {}\n\
             elapsed  {:.3} s  ({:.1} records/s received)\n{}\n{}",
            self.topic,
            self.records_sent,
            self.records_received,
            self.records_failed,
            self.elapsed_secs,
            self.records_per_sec,
            latency_rows("latency (ack)", &self.produce_latency),
            latency_rows("latency (e2e)", &self.e2e_latency),
        )
    }
}

/// Prints a report: with `json`, the JSON object on stdout and the table on
/// stderr; otherwise the table on stdout.
pub fn emit<T: Serialize>(report: &T, table: &str, json: bool) -> anyhow::Result<()> {
    if json {
        eprintln!("{table}");
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{table}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_reported_in_milliseconds() {
        let mut h = new_histogram();
        for us in 1..=1000u64 {
            record_latency(&mut h, Duration::from_micros(us * 10));
        }
        let l = Latency::from_histogram(&h);
        assert_eq!(l.count, 1000);
        assert!((l.p50_ms - 5.0).abs() < 0.01, "{l:?}");
        assert!((l.p99_ms - 9.9).abs() < 0.01, "{l:?}");
        assert!((l.max_ms - 10.0).abs() < 0.01, "{l:?}");
    }

    #[test]
    fn an_empty_histogram_reports_zeroes() {
        assert_eq!(
            Latency::from_histogram(&new_histogram()),
            Latency::default()
        );
    }

    #[test]
    fn rates_divide_by_elapsed_time() {
        let (r, mb) = rates(1000, 2_000_000, Duration::from_secs(2));
        assert_eq!((r, mb), (500.0, 1.0));
        assert_eq!(rates(1, 1, Duration::ZERO), (0.0, 0.0));
    }
}
