//! `weir-bench consume`: N librdkafka consumers in parallel. Without
//! `--group` every partition is assigned manually from the beginning (no
//! group coordinator needed); with it the consumers subscribe as a group.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{ConnectArgs, ConsoleContext};
use crate::produce::PROGRESS_EVERY;
use crate::report::{self, ConsumeReport};

/// Options of `weir-bench consume`.
#[derive(Debug, Clone, Args)]
pub struct ConsumeArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Topic to consume.
    #[arg(long, default_value = "weir-bench")]
    pub topic: String,
    /// Stop after this many records in all (default: read to the end of
    /// every partition unless --duration is given).
    #[arg(long)]
    pub records: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Consume as this consumer group (subscribe) instead of assigning
    /// every partition from the beginning.
    #[arg(long)]
    pub group: Option<String>,
    /// Consumer instances running in parallel.
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
    /// Give up when no record arrives for this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub idle_timeout: f64,
    /// Print the result as a JSON object on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// When consumers stop.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// After this many records in all.
    Records(u64),
    /// After this long.
    Deadline(Instant),
    /// When every assigned partition reached its end.
    End,
}

/// Counters all consumers share.
struct Shared {
    epoch: Instant,
    records: AtomicU64,
    bytes: AtomicU64,
    first_nanos: AtomicU64,
    last_nanos: AtomicU64,
    done: AtomicBool,
}

impl Shared {
    fn nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Runs `weir-bench consume`.
pub async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    if args.consumers == 0 {
        bail!("--consumers must be at least 1");
    }
    let base = consumer_config(&args.connect, args.group.as_deref())?;
    let topic = args.topic.clone();
    let partitions = {
        let base = base.clone();
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || partitions_of(&base, &topic))
            .await
            .context("metadata thread panicked")??
    };
    let until = match (args.records, args.duration) {
        (Some(n), _) => Until::Records(n),
        (None, Some(secs)) => {
            Until::Deadline(Instant::now() + Duration::from_secs_f64(secs.max(0.0)))
        }
        (None, None) => Until::End,
    };
    let idle = Duration::from_secs_f64(args.idle_timeout.max(0.1));
    let n = args.consumers;
    let group = args.group.clone();
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        records: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        first_nanos: AtomicU64::new(u64::MAX),
        last_nanos: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });
    let run_shared = shared.clone();
    let partition_count = partitions.len();
    let timed_out = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        let shared = run_shared;
        let mut consumers = Vec::with_capacity(n);
        for i in 0..n {
            let consumer: BaseConsumer<ConsoleContext> = base
                .create_with_context(ConsoleContext)
                .context("creating a consumer")?;
            match &group {
                Some(_) => consumer
                    .subscribe(&[topic.as_str()])
                    .with_context(|| format!("subscribing to {topic}"))?,
                None => {
                    let mut tpl = TopicPartitionList::new();
                    for p in partitions.iter().skip(i).step_by(n) {
                        tpl.add_partition_offset(&topic, *p, Offset::Beginning)
                            .context("building the assignment")?;
                    }
                    consumer.assign(&tpl).context("assigning partitions")?;
                }
            }
            consumers.push(consumer);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = consumers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let shared = &shared;
                    let own = if group.is_some() {
                        None
                    } else {
                        Some(partitions.iter().skip(i).step_by(n).count())
                    };
                    scope.spawn(move || consume_loop(c, own, until, idle, shared))
                })
                .collect();
            let progress_shared = &shared;
            scope.spawn(move || progress_loop(progress_shared));
            let mut timed_out = false;
            let mut first_err = None;
            for h in handles {
                match h.join() {
                    Ok(Ok(t)) => timed_out |= t,
                    Ok(Err(e)) => {
                        first_err.get_or_insert(e);
                    }
                    Err(_) => {
                        first_err.get_or_insert(anyhow::anyhow!("a consumer thread panicked"));
                    }
                }
            }
            shared.done.store(true, Ordering::Relaxed);
            match first_err {
                Some(e) => Err(e),
                None => Ok(timed_out),
            }
        })
    })
    .await
    .context("consumer threads panicked")??;

    let records = shared.records.load(Ordering::Relaxed);
    let bytes = shared.bytes.load(Ordering::Relaxed);
    let first = shared.first_nanos.load(Ordering::Relaxed);
    let last = shared.last_nanos.load(Ordering::Relaxed);
    let (startup, elapsed) = if records == 0 {
        (Duration::ZERO, Duration::ZERO)
    } else {
        (
            Duration::from_nanos(first),
            Duration::from_nanos(last.saturating_sub(first)),
        )
    };
    let (records_per_sec, mb_per_sec) = report::rates(records, bytes, elapsed);
    let report = ConsumeReport {
        mode: "consume",
        topic: args.topic.clone(),
        consumers: n,
        records,
        bytes,
        time_to_first_record_secs: startup.as_secs_f64(),
        elapsed_secs: elapsed.as_secs_f64(),
        records_per_sec,
        mb_per_sec,
        settings: serde_json::json!({
            "bootstrap": args.connect.bootstrap,
            "group": args.group,
            "records": args.records,
            "duration": args.duration,
            "partitions": partition_count,
            "properties": args.connect.properties,
        }),
    };
    report::emit(&report, &report.table(), args.json)?;
    if timed_out {
        if let Some(want) = args.records {
            if records < want {
                bail!(
                    "only {records} of {want} records arrived before {} s without a record",
                    args.idle_timeout
                );
            }
        }
    }
    Ok(())
}

/// The consumer configuration, with a group id only when one is given.
pub fn consumer_config(connect: &ConnectArgs, group: Option<&str>) -> anyhow::Result<ClientConfig> {
    let mut config = connect.config()?;
    config
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false");
    match group {
        Some(g) => {
            config.set("group.id", g).set("enable.auto.commit", "true");
        }
        None => {
            // librdkafka (through rdkafka's assign) needs a group id even
            // for manual assignment; nothing subscribes or commits with it.
            config
                .set("group.id", format!("weir-bench-{}", std::process::id()))
                .set("enable.auto.commit", "false");
        }
    }
    Ok(config)
}

/// The partition ids of `topic`, from the broker's metadata.
pub fn partitions_of(config: &ClientConfig, topic: &str) -> anyhow::Result<Vec<i32>> {
    let consumer: BaseConsumer<ConsoleContext> = config
        .create_with_context(ConsoleContext)
        .context("creating a consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .with_context(|| format!("fetching metadata for {topic}"))?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        bail!("the broker did not describe topic {topic}");
    };
    if let Some(e) = t.error() {
        bail!("topic {topic}: {e:?}");
    }
    let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    if ids.is_empty() {
        bail!("topic {topic} has no partitions");
    }
    Ok(ids)
}

/// One consumer's poll loop. `own` is the number of assigned partitions
/// (manual assignment) or `None` (group). Returns whether it gave up idle.
fn consume_loop(
    consumer: &BaseConsumer<ConsoleContext>,
    own: Option<usize>,
    until: Until,
    idle: Duration,
    shared: &Shared,
) -> anyhow::Result<bool> {
    if own == Some(0) {
        return Ok(false);
    }
    let mut at_end: HashSet<i32> = HashSet::new();
    let mut last_seen = Instant::now();
    loop {
        match until {
            Until::Records(n) if shared.records.load(Ordering::Relaxed) >= n => return Ok(false),
            Until::Deadline(d) if Instant::now() >= d => return Ok(false),
            Until::End => {
                let wanted = match own {
                    Some(k) => k,
                    None => consumer.assignment().map_or(0, |a| a.count()),
                };
                if wanted > 0 && at_end.len() >= wanted {
                    return Ok(false);
                }
            }
            _ => {}
        }
        if shared.done.load(Ordering::Relaxed) {
            return Ok(false);
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {
                if last_seen.elapsed() >= idle {
                    let seen = shared.last_nanos.load(Ordering::Relaxed);
                    let since = shared.nanos().saturating_sub(seen);
                    if seen == 0 || Duration::from_nanos(since) >= idle {
                        eprintln!("no record for {idle:?}; stopping");
                        return Ok(true);
                    }
                    last_seen = Instant::now();
                }
            }
            Some(Ok(m)) => {
                let now = shared.nanos();
                shared.first_nanos.fetch_min(now, Ordering::Relaxed);
                shared.last_nanos.fetch_max(now, Ordering::Relaxed);
                shared.records.fetch_add(1, Ordering::Relaxed);
                let len = m.payload().map_or(0, <[u8]>::len) as u64;
                shared.bytes.fetch_add(len, Ordering::Relaxed);
                at_end.remove(&m.partition());
                last_seen = Instant::now();
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => {
                eprintln!("consumer error: {e}");
            }
        }
    }
}

/// Prints a progress line every [`PROGRESS_EVERY`] until the run is done.
fn progress_loop(shared: &Shared) {
    let started = Instant::now();
    let mut next = started + PROGRESS_EVERY;
    let (mut last_records, mut last_bytes, mut last_tick) = (0u64, 0u64, started);
    while !shared.done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if now < next {
            continue;
        }
        next += PROGRESS_EVERY;
        let records = shared.records.load(Ordering::Relaxed);
        let bytes = shared.bytes.load(Ordering::Relaxed);
        let (rate, mb) = report::rates(records - last_records, bytes - last_bytes, now - last_tick);
        eprintln!(
            "[{:>6.1}s] consumed {records} | {rate:.1} records/s {mb:.2} MB/s",
            (now - started).as_secs_f64()
        );
        (last_records, last_bytes, last_tick) = (records, bytes, now);
    }
}
