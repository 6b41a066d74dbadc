//! `weir-bench e2e`: end-to-end latency. A producer writes its send time
//! (µs since the Unix epoch) into the first 8 bytes of every value while a
//! consumer, assigned to the end of every partition before the first send,
//! reads the records back and measures how long each took to arrive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{self, ConnectArgs, ConsoleContext, KeyDistribution, ProducerArgs};
use crate::consume::{consumer_config, partitions_of};
use crate::produce::{run_producers, ProducePlan};
use crate::report::{self, E2eReport, Latency};

/// Options of `weir-bench e2e`.
#[derive(Debug, Clone, Args)]
pub struct E2eArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Topic to use (created if absent).
    #[arg(long, default_value = "weir-bench-e2e")]
    pub topic: String,
    /// Records to send.
    #[arg(long, default_value_t = 10_000)]
    pub records: u64,
    /// Records per second to send; -1 for unthrottled.
    #[arg(long, default_value_t = 1000.0, allow_negative_numbers = true)]
    pub throughput: f64,
    /// Bytes of value per record (at least 8: the send time).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Partitions when the topic is created.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Replication factor when the topic is created.
    #[arg(long, default_value_t = 1)]
    pub replication_factor: i32,
    /// Producer settings.
    #[command(flatten)]
    pub producer: ProducerArgs,
    /// fetch.wait.max.ms of the consumer.
    #[arg(long, default_value_t = 500)]
    pub fetch_wait_max_ms: u64,
    /// Give up waiting for records this many seconds after the last arrived.
    #[arg(long, default_value_t = 30.0)]
    pub idle_timeout: f64,
    /// Print the result as a JSON object on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Runs `weir-bench e2e`.
pub async fn run(args: E2eArgs) -> anyhow::Result<()> {
    if args.record_size < 8 {
        bail!("--record-size must be at least 8 bytes to carry the send time");
    }
    client::ensure_topic(
        &args.connect,
        &args.topic,
        args.partitions,
        args.replication_factor,
    )
    .await?;
    let mut consumer_cfg = consumer_config(&args.connect, None)?;
    consumer_cfg
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", args.fetch_wait_max_ms.to_string());
    let mut producer_cfg = args.connect.config()?;
    args.producer.apply(&mut producer_cfg);
    let plan = ProducePlan {
        config: producer_cfg,
        topic: args.topic.clone(),
        records: Some(args.records),
        duration: Duration::ZERO,
        record_size: args.record_size,
        key_distribution: KeyDistribution::None,
        keys: 1,
        throughput: args.throughput,
        producers: 1,
        stamp: true,
        progress: false,
    };
    let topic = args.topic.clone();
    let idle = Duration::from_secs_f64(args.idle_timeout.max(0.1));
    let (produced, received, e2e, elapsed) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let consumer = assign_at_end(&consumer_cfg, &topic)?;
            let expected = Arc::new(AtomicU64::new(u64::MAX));
            let producer_done = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            std::thread::scope(|scope| {
                let reader = {
                    let expected = expected.clone();
                    let producer_done = producer_done.clone();
                    let consumer = &consumer;
                    scope.spawn(move || receive(consumer, &expected, &producer_done, idle))
                };
                let produced = run_producers(&plan);
                if let Ok(p) = &produced {
                    expected.store(p.acked, Ordering::Relaxed);
                }
                producer_done.store(true, Ordering::Relaxed);
                let (received, hist) = reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("the consumer thread panicked"))??;
                Ok((produced?, received, hist, started.elapsed()))
            })
        })
        .await
        .context("e2e threads panicked")??;

    let (records_per_sec, _) = report::rates(received, 0, elapsed);
    let mut settings = args.producer.to_json();
    if let Some(map) = settings.as_object_mut() {
        map.insert("bootstrap".into(), args.connect.bootstrap.clone().into());
        map.insert("throughput".into(), args.throughput.into());
        map.insert("record_size".into(), args.record_size.into());
        map.insert("partitions".into(), args.partitions.into());
        map.insert("fetch_wait_max_ms".into(), args.fetch_wait_max_ms.into());
    }
    let report = E2eReport {
        mode: "e2e",
        topic: args.topic.clone(),
        records_sent: produced.sent,
        records_received: received,
        records_failed: produced.failed,
        elapsed_secs: elapsed.as_secs_f64(),
        records_per_sec,
        produce_latency: Latency::from_histogram(&produced.latency),
        e2e_latency: Latency::from_histogram(&e2e),
        settings,
    };
    report::emit(&report, &report.table(), args.json)?;
    if received < produced.acked {
        bail!(
            "only {received} of {} acknowledged records came back",
            produced.acked
        );
    }
    Ok(())
}

/// A consumer assigned to the current end of every partition of `topic`.
fn assign_at_end(
    config: &rdkafka::config::ClientConfig,
    topic: &str,
) -> anyhow::Result<BaseConsumer<ConsoleContext>> {
    let partitions = partitions_of(config, topic)?;
    let consumer: BaseConsumer<ConsoleContext> = config
        .create_with_context(ConsoleContext)
        .context("creating the consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(30))
            .with_context(|| format!("fetching the end offset of {topic}/{p}"))?;
        tpl.add_partition_offset(topic, p, Offset::Offset(high))
            .context("building the assignment")?;
    }
    consumer.assign(&tpl).context("assigning partitions")?;
    Ok(consumer)
}

/// Reads stamped records until `expected` have arrived (once the producer
/// is done) or none arrived for `idle`.
fn receive(
    consumer: &BaseConsumer<ConsoleContext>,
    expected: &AtomicU64,
    producer_done: &AtomicBool,
    idle: Duration,
) -> anyhow::Result<(u64, Histogram<u64>)> {
    let mut hist = report::new_histogram();
    let mut received = 0u64;
    let mut last = Instant::now();
    loop {
        if received >= expected.load(Ordering::Relaxed) {
            break;
        }
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => {
                let now = client::unix_micros();
                last = Instant::now();
                let Some(stamp) = m.payload().and_then(|p| p.get(..8)) else {
                    continue;
                };
                let mut b = [0u8; 8];
                b.copy_from_slice(stamp);
                let sent = u64::from_be_bytes(b);
                report::record_latency(&mut hist, Duration::from_micros(now.saturating_sub(sent)));
                received += 1;
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => eprintln!("consumer error: {e}"),
            None => {
                if producer_done.load(Ordering::Relaxed) && last.elapsed() >= idle {
                    eprintln!("no record for {idle:?}; stopping");
                    break;
                }
            }
        }
    }
    Ok((received, hist))
}
