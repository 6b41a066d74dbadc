//! `weir-bench produce`: N librdkafka producers in parallel, each on its own
//! thread, with latency measured from `send` to the delivery report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::ClientContext;

use crate::client::{self, ConnectArgs, KeyDistribution, Keys, ProducerArgs, Throttle};
use crate::report::{self, Latency, ProduceReport};

/// How often a long run prints a progress line.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Options of `weir-bench produce`.
#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Topic to produce to.
    #[arg(long, default_value = "weir-bench")]
    pub topic: String,
    /// Records to produce in all (default 1,000,000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    pub records: Option<u64>,
    /// Produce for this many seconds instead of a fixed count.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Bytes of value per record.
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// How records are keyed.
    #[arg(long, value_enum, default_value = "none")]
    pub key_distribution: KeyDistribution,
    /// Number of distinct keys for sequential and random keys.
    #[arg(long, default_value_t = 10_000)]
    pub keys: u64,
    /// Create the topic with this many partitions if it does not exist.
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Replication factor when the topic is created.
    #[arg(long, default_value_t = 1)]
    pub replication_factor: i32,
    /// Producer settings.
    #[command(flatten)]
    pub producer: ProducerArgs,
    /// Target records per second across all producers; -1 for unthrottled.
    #[arg(long, default_value_t = -1.0, allow_negative_numbers = true)]
    pub throughput: f64,
    /// Producer instances running in parallel.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Print the result as a JSON object on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// What a set of producers is to do.
#[derive(Clone)]
pub struct ProducePlan {
    /// librdkafka configuration for every producer.
    pub config: ClientConfig,
    /// Topic to produce to.
    pub topic: String,
    /// Records in all, or `None` to run for `duration`.
    pub records: Option<u64>,
    /// How long to run when `records` is `None`.
    pub duration: Duration,
    /// Bytes of value per record (at least 8 when `stamp` is set).
    pub record_size: usize,
    /// How records are keyed.
    pub key_distribution: KeyDistribution,
    /// Number of distinct keys.
    pub keys: u64,
    /// Records per second across all producers; non-positive for unthrottled.
    pub throughput: f64,
    /// Producer instances.
    pub producers: usize,
    /// Write the send time (µs since the Unix epoch, big-endian) into the
    /// first 8 bytes of each value.
    pub stamp: bool,
    /// Print progress lines to stderr.
    pub progress: bool,
}

/// What a set of producers did.
#[derive(Debug)]
pub struct ProduceOutcome {
    /// Records handed to librdkafka.
    pub sent: u64,
    /// Records acknowledged.
    pub acked: u64,
    /// Records whose delivery failed.
    pub failed: u64,
    /// The first delivery error.
    pub first_error: Option<String>,
    /// From the start to the last delivery report.
    pub elapsed: Duration,
    /// Send-to-delivery latency in µs.
    pub latency: Histogram<u64>,
    /// The longest gap between two acknowledgements of one partition, and
    /// that partition.
    pub longest_ack_gap: (Duration, i32),
}

/// Counters one producer's delivery callback updates.
struct Stats {
    sent: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
    /// Nanoseconds after the common epoch of the latest delivery report.
    last_report_nanos: AtomicU64,
    first_error: Mutex<Option<String>>,
    latency: Mutex<Histogram<u64>>,
    window: Mutex<Histogram<u64>>,
    /// Per partition: the time of its latest acknowledgement and the
    /// longest gap between two of them, in nanoseconds after the epoch.
    ack_gaps: Mutex<BTreeMap<i32, AckGap>>,
}

/// One partition's acknowledgement rhythm.
#[derive(Default, Clone, Copy)]
struct AckGap {
    last: u64,
    longest: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_report_nanos: AtomicU64::new(0),
            first_error: Mutex::new(None),
            latency: Mutex::new(report::new_histogram()),
            window: Mutex::new(report::new_histogram()),
            ack_gaps: Mutex::new(BTreeMap::new()),
        }
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The producer context: records each delivery report's latency. The
/// delivery opaque is the send time in nanoseconds after `epoch`.
struct BenchContext {
    epoch: Instant,
    stats: Arc<Stats>,
}

impl ClientContext for BenchContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        client::log_line(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
    }
}

impl ProducerContext for BenchContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at: usize) {
        let now = nanos_since(self.epoch);
        self.stats
            .last_report_nanos
            .fetch_max(now, Ordering::Relaxed);
        match result {
            Ok(message) => {
                if let Ok(mut gaps) = self.stats.ack_gaps.lock() {
                    let gap = gaps.entry(message.partition()).or_insert(AckGap {
                        last: now,
                        longest: 0,
                    });
                    gap.longest = gap.longest.max(now.saturating_sub(gap.last));
                    gap.last = now;
                }
                let latency = Duration::from_nanos(now.saturating_sub(sent_at as u64));
                if let Ok(mut h) = self.stats.latency.lock() {
                    report::record_latency(&mut h, latency);
                }
                if let Ok(mut h) = self.stats.window.lock() {
                    report::record_latency(&mut h, latency);
                }
                self.stats.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                if self.stats.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    if let Ok(mut first) = self.stats.first_error.lock() {
                        first.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }
    }
}

/// Runs `weir-bench produce`.
pub async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    if args.producers == 0 {
        bail!("--producers must be at least 1");
    }
    if let Some(partitions) = args.partitions {
        client::ensure_topic(
            &args.connect,
            &args.topic,
            partitions,
            args.replication_factor,
        )
        .await?;
    }
    let mut config = args.connect.config()?;
    args.producer.apply(&mut config);
    let (records, duration) = match (args.records, args.duration) {
        (Some(n), _) => (Some(n), Duration::ZERO),
        (None, Some(secs)) => (None, Duration::from_secs_f64(secs.max(0.0))),
        (None, None) => (Some(1_000_000), Duration::ZERO),
    };
    let plan = ProducePlan {
        config,
        topic: args.topic.clone(),
        records,
        duration,
        record_size: args.record_size,
        key_distribution: args.key_distribution,
        keys: args.keys,
        throughput: args.throughput,
        producers: args.producers,
        stamp: false,
        progress: true,
    };
    let outcome = tokio::task::spawn_blocking(move || run_producers(&plan))
        .await
        .context("producer threads panicked")??;

    let bytes = outcome.acked * args.record_size as u64;
    let (records_per_sec, mb_per_sec) = report::rates(outcome.acked, bytes, outcome.elapsed);
    let mut settings = args.producer.to_json();
    if let Some(map) = settings.as_object_mut() {
        map.insert("bootstrap".into(), args.connect.bootstrap.clone().into());
        map.insert(
            "key_distribution".into(),
            format!("{:?}", args.key_distribution).to_lowercase().into(),
        );
        map.insert("keys".into(), args.keys.into());
        map.insert("throughput".into(), args.throughput.into());
        map.insert("partitions".into(), args.partitions.into());
        map.insert("properties".into(), args.connect.properties.clone().into());
    }
    let report = ProduceReport {
        mode: "produce",
        topic: args.topic.clone(),
        producers: args.producers,
        records_sent: outcome.sent,
        records_acked: outcome.acked,
        records_failed: outcome.failed,
        first_error: outcome.first_error.clone(),
        record_size: args.record_size,
        elapsed_secs: outcome.elapsed.as_secs_f64(),
        records_per_sec,
        mb_per_sec,
        latency: Latency::from_histogram(&outcome.latency),
        longest_ack_gap_ms: outcome.longest_ack_gap.0.as_secs_f64() * 1000.0,
        longest_ack_gap_partition: outcome.longest_ack_gap.1,
        settings,
    };
    report::emit(&report, &report.table(), args.json)?;
    if outcome.failed > 0 {
        bail!("{} records were not delivered", outcome.failed);
    }
    Ok(())
}

/// Runs the producers of `plan` to completion on their own threads and
/// waits for every delivery report.
pub fn run_producers(plan: &ProducePlan) -> anyhow::Result<ProduceOutcome> {
    let epoch = Instant::now();
    let n = plan.producers.max(1);
    let stats: Vec<Arc<Stats>> = (0..n).map(|_| Arc::new(Stats::new())).collect();
    let mut producers = Vec::with_capacity(n);
    for s in &stats {
        let producer: ThreadedProducer<BenchContext> = plan
            .config
            .create_with_context(BenchContext {
                epoch,
                stats: s.clone(),
            })
            .context("creating a producer")?;
        // Connect and learn the topic's partitions before the clock starts
        // (this also auto-creates the topic where the broker does that).
        producer
            .client()
            .fetch_metadata(Some(&plan.topic), Duration::from_secs(30))
            .with_context(|| format!("fetching metadata for {}", plan.topic))?;
        producers.push(producer);
    }

    let start_line = Arc::new(Barrier::new(n + 1));
    let stop_progress = Arc::new(AtomicBool::new(false));
    let per_producer_rate = plan.throughput / n as f64;
    let start_nanos = Arc::new(AtomicU64::new(0));
    let result = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(n);
        for (i, (producer, s)) in producers.iter().zip(&stats).enumerate() {
            let start_line = start_line.clone();
            let quota = plan
                .records
                .map(|total| total / n as u64 + u64::from((i as u64) < total % n as u64));
            handles.push(scope.spawn(move || {
                start_line.wait();
                produce_loop(plan, i, quota, per_producer_rate, producer, s, epoch)
            }));
        }
        start_nanos.store(nanos_since(epoch), Ordering::Relaxed);
        start_line.wait();
        if plan.progress {
            let stats = &stats;
            let stop = stop_progress.clone();
            let started = epoch + Duration::from_nanos(start_nanos.load(Ordering::Relaxed));
            let record_size = plan.record_size as u64;
            scope.spawn(move || progress_loop(stats, started, record_size, &stop));
        }
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(anyhow::anyhow!("a producer thread panicked"));
                }
            }
        }
        // Wait for every outstanding delivery report.
        for p in &producers {
            if let Err(e) = p.flush(Timeout::After(Duration::from_secs(180))) {
                first_err.get_or_insert(anyhow::anyhow!("flushing a producer: {e}"));
            }
        }
        stop_progress.store(true, Ordering::Relaxed);
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    result?;

    let start = start_nanos.load(Ordering::Relaxed);
    let mut latency = report::new_histogram();
    let mut outcome = ProduceOutcome {
        sent: 0,
        acked: 0,
        failed: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: report::new_histogram(),
        longest_ack_gap: (Duration::ZERO, -1),
    };
    let mut last = start;
    for s in &stats {
        outcome.sent += s.sent.load(Ordering::Relaxed);
        outcome.acked += s.acked.load(Ordering::Relaxed);
        outcome.failed += s.failed.load(Ordering::Relaxed);
        last = last.max(s.last_report_nanos.load(Ordering::Relaxed));
        if outcome.first_error.is_none() {
            outcome.first_error = s.first_error.lock().ok().and_then(|e| e.clone());
        }
        if let Ok(h) = s.latency.lock() {
            latency.add(&*h).context("merging latency histograms")?;
        }
        if let Ok(gaps) = s.ack_gaps.lock() {
            for (partition, gap) in gaps.iter() {
                let longest = Duration::from_nanos(gap.longest);
                if longest > outcome.longest_ack_gap.0 {
                    outcome.longest_ack_gap = (longest, *partition);
                }
            }
        }
    }
    outcome.elapsed = Duration::from_nanos(last - start);
    outcome.latency = latency;
    drop(producers);
    Ok(outcome)
}

/// One producer's send loop.
fn produce_loop(
    plan: &ProducePlan,
    id: usize,
    quota: Option<u64>,
    rate: f64,
    producer: &ThreadedProducer<BenchContext>,
    stats: &Stats,
    epoch: Instant,
) -> anyhow::Result<()> {
    let throttle = Throttle::new(rate);
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut keys = Keys::new(plan.key_distribution, plan.keys, id as u64);
    let mut key_buf = String::new();
    let mut payload = client::payload(plan.record_size, id as u64 + 1);
    let mut sent = 0u64;
    loop {
        match quota {
            Some(q) if sent >= q => break,
            None if Instant::now() >= deadline => break,
            _ => {}
        }
        throttle.wait(sent);
        if plan.stamp && payload.len() >= 8 {
            payload[..8].copy_from_slice(&client::unix_micros().to_be_bytes());
        }
        let key = keys.next_key(&mut key_buf);
        let sent_at = usize::try_from(nanos_since(epoch)).unwrap_or(usize::MAX);
        let mut record = BaseRecord::with_opaque_to(&plan.topic, sent_at).payload(&payload[..]);
        if let Some(k) = key {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_micros(500));
                }
                Err((e, _)) => return Err(e).context("producing a record"),
            }
        }
        sent += 1;
        stats.sent.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Prints a progress line every [`PROGRESS_EVERY`] until `stop` is set.
fn progress_loop(stats: &[Arc<Stats>], started: Instant, record_size: u64, stop: &AtomicBool) {
    let mut last_tick = started;
    let mut last_acked = 0u64;
    let mut next = started + PROGRESS_EVERY;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if now < next {
            continue;
        }
        next += PROGRESS_EVERY;
        let mut window = report::new_histogram();
        let (mut sent, mut acked, mut failed) = (0, 0, 0);
        for s in stats {
            sent += s.sent.load(Ordering::Relaxed);
            acked += s.acked.load(Ordering::Relaxed);
            failed += s.failed.load(Ordering::Relaxed);
            if let Ok(mut h) = s.window.lock() {
                let _ = window.add(&*h);
                h.reset();
            }
        }
        let span = now - last_tick;
        let delta = acked - last_acked;
        let (rate, mb) = report::rates(delta, delta * record_size, span);
        let l = Latency::from_histogram(&window);
        eprintln!(
            "[{:>6.1}s] sent {sent} acked {acked} failed {failed} | {rate:.1} records/s {mb:.2} MB/s | latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
            (now - started).as_secs_f64(),
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
        );
        last_tick = now;
        last_acked = acked;
    }
}
