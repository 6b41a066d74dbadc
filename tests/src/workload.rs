//! A fault test's bookkeeping: an idempotent acks=all producer writes
//! numbered records while the test breaks the cluster; afterwards every
//! record is read back and compared with what was acknowledged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::TopicPartitionList;

use crate::cluster::block_on;

/// A producer writing `record-N` values round-robin over the partitions of
/// a topic until stopped.
pub struct Workload {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Outcome>>,
}

/// What the producer saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Acknowledged records: value → (partition, offset).
    pub acked: HashMap<String, (i32, i64)>,
    /// Records whose delivery failed (not acknowledged; may or may not be stored).
    pub failed: usize,
    /// The first few delivery errors, for the test log.
    pub errors: Vec<String>,
}

/// The verdict after reading the topic back.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Records acknowledged.
    pub acknowledged: usize,
    /// Records sent (acknowledged or failed).
    pub sent: usize,
    /// Records whose delivery failed.
    pub failed: usize,
    /// Acknowledged records among the last fifth sent: writes were
    /// acknowledged again after the fault, not only before it.
    pub acknowledged_at_end: usize,
    /// Acknowledged records not found.
    pub lost: usize,
    /// Values stored more than once.
    pub duplicated: usize,
    /// Acknowledged records found at another offset than acknowledged.
    pub moved: usize,
}

/// The number in a workload value (`record-N`).
fn record_number(value: &str) -> Option<usize> {
    value.rsplit('-').next()?.parse().ok()
}

impl Outcome {
    /// Records sent: acknowledged or failed.
    pub fn sent(&self) -> usize {
        self.acked.len() + self.failed
    }

    /// Acknowledged records among the last fifth of those sent.
    pub fn acknowledged_at_end(&self) -> usize {
        let from = self.sent() * 4 / 5;
        self.acked
            .keys()
            .filter(|v| record_number(v).is_some_and(|n| n >= from))
            .count()
    }

    /// Reads what a producer in another process wrote, one line per
    /// record: `acked VALUE PARTITION OFFSET` or `failed VALUE ERROR`.
    pub fn from_lines(text: &str) -> Outcome {
        let mut outcome = Outcome::default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["acked", value, partition, offset] => {
                    let at = (
                        partition.parse().expect("partition"),
                        offset.parse().expect("offset"),
                    );
                    outcome.acked.insert(value.to_string(), at);
                }
                ["failed", value, error @ ..] => {
                    outcome.failed += 1;
                    if outcome.errors.len() < 5 {
                        outcome.errors.push(format!("{value}: {}", error.join(" ")));
                    }
                }
                _ => panic!("unexpected producer output line: {line}"),
            }
        }
        outcome
    }
}

impl Workload {
    /// Starts producing to `topic` (with `partitions` partitions) through
    /// `bootstrap`, one record every `every`.
    pub fn start(bootstrap: &str, topic: &str, partitions: i32, every: Duration) -> Workload {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .set("message.timeout.ms", "60000")
            .set("request.timeout.ms", "10000")
            .set("retry.backoff.ms", "50")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .create()
            .expect("producer");
        let stop = Arc::new(AtomicBool::new(false));
        let topic = topic.to_string();
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || produce(&producer, &topic, partitions, every, &stop))
        };
        Workload {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops producing and waits for every delivery report.
    pub fn finish(mut self) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().expect("producer thread"))
            .unwrap_or_default()
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn produce(
    producer: &FutureProducer,
    topic: &str,
    partitions: i32,
    every: Duration,
    stop: &AtomicBool,
) -> Outcome {
    let mut pending = Vec::new();
    let mut n = 0u64;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let value = format!("record-{n}");
        let partition = i32::try_from(n % u64::try_from(partitions).unwrap_or(1)).unwrap_or(0);
        let queued = producer
            .send_result(
                FutureRecord::<(), _>::to(topic)
                    .payload(value.as_bytes())
                    .partition(partition),
            )
            .map_err(|(e, _)| e);
        match queued {
            Ok(delivery) => pending.push((value, delivery)),
            Err(e) => panic!(
                "could not queue {value}: {e} (fatal error: {:?})",
                producer.client().fatal_error()
            ),
        }
        n += 1;
        next += every;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let _ = producer.flush(Duration::from_secs(90));
    let mut outcome = Outcome::default();
    for (value, delivery) in pending {
        match block_on(delivery) {
            Ok(Ok(d)) => {
                outcome.acked.insert(value, (d.partition, d.offset));
            }
            Ok(Err((e, _))) => {
                outcome.failed += 1;
                if outcome.errors.len() < 5 {
                    outcome.errors.push(format!("{value}: {e}"));
                }
            }
            Err(_) => outcome.failed += 1,
        }
    }
    outcome
}

/// Fails the test unless writes were acknowledged until the end of the run
/// (records of its last fifth, so after the fault, not only before it),
/// at most a quarter of the deliveries failed, and no acknowledged record
/// was lost, duplicated or found at another offset.
pub fn assert_nothing_lost(verdict: &Verdict) {
    assert!(verdict.acknowledged > 0, "{verdict:?}");
    assert!(
        verdict.acknowledged_at_end > 0,
        "no write of the run's last fifth was acknowledged: {verdict:?}"
    );
    assert!(
        verdict.failed * 4 <= verdict.sent,
        "more than a quarter of the deliveries failed: {verdict:?}"
    );
    assert_eq!(
        (verdict.lost, verdict.duplicated, verdict.moved),
        (0, 0, 0),
        "{verdict:?}"
    );
}

/// A consumer of `group` assigned every partition of `topic` from its
/// first record, committing nothing.
pub fn reader_from_start(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// Reads every partition of `topic` from the start through `bootstrap`
/// until it has at least every acknowledged record (or `within` passed),
/// then compares.
pub fn verify(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    outcome: &Outcome,
    within: Duration,
) -> Verdict {
    verify_above_log_start(
        bootstrap,
        topic,
        partitions,
        outcome,
        within,
        &HashMap::new(),
    )
}

/// [`verify`] for a topic whose retention deleted records: an acknowledged
/// record below its partition's log start offset (`log_start`, by
/// partition) is gone by design and not counted.
pub fn verify_above_log_start(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    outcome: &Outcome,
    within: Duration,
    log_start: &HashMap<i32, i64>,
) -> Verdict {
    let sent = outcome.sent();
    let acknowledged_at_end = outcome.acknowledged_at_end();
    let kept: HashMap<String, (i32, i64)> = outcome
        .acked
        .iter()
        .filter(|(_, (p, o))| log_start.get(p).is_none_or(|start| o >= start))
        .map(|(v, at)| (v.clone(), *at))
        .collect();
    let outcome = &Outcome {
        acked: kept,
        failed: outcome.failed,
        errors: outcome.errors.clone(),
    };
    let consumer = reader_from_start(bootstrap, "fault-verifier", topic, partitions);
    let mut seen: BTreeMap<String, Vec<(i32, i64)>> = BTreeMap::new();
    let deadline = Instant::now() + within;
    let mut quiet_since = Instant::now();
    loop {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            seen.entry(value)
                .or_default()
                .push((m.partition(), m.offset()));
            quiet_since = Instant::now();
        }
        let all_acked = outcome.acked.keys().all(|v| seen.contains_key(v));
        let quiet = quiet_since.elapsed() > Duration::from_secs(2);
        if (all_acked && quiet) || Instant::now() > deadline {
            break;
        }
    }
    let lost = outcome
        .acked
        .keys()
        .filter(|v| !seen.contains_key(*v))
        .count();
    let duplicated = seen.values().filter(|places| places.len() > 1).count();
    let moved = outcome
        .acked
        .iter()
        .filter(|(v, at)| {
            seen.get(*v)
                .is_some_and(|places| places.first() != Some(at))
        })
        .count();
    let verdict = Verdict {
        acknowledged: outcome.acked.len(),
        sent,
        failed: outcome.failed,
        acknowledged_at_end,
        lost,
        duplicated,
        moved,
    };
    println!(
        "sent {}, acknowledged {} ({} of the last fifth), lost {}, duplicated {}, moved {}, failed deliveries {} {:?}",
        verdict.sent,
        verdict.acknowledged,
        verdict.acknowledged_at_end,
        verdict.lost,
        verdict.duplicated,
        verdict.moved,
        outcome.failed,
        outcome.errors
    );
    verdict
}

/// A consumer in a group, subscribed to a topic and reading throughout a
/// scenario, committing as it goes: what a real application does while
/// the cluster changes under it.
pub struct Tail {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<HashSet<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Tail {
    /// Starts reading `topic` in group `group` through `bootstrap`.
    pub fn start(bootstrap: &str, group: &str, topic: &str) -> Tail {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("session.timeout.ms", "10000")
            .set("fetch.wait.max.ms", "100")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                        let value =
                            String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                        seen.lock().expect("seen").insert(value);
                    }
                }
                crate::close_consumer(consumer);
            })
        };
        Tail {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Keeps reading until every acknowledged record of `outcome` was seen
    /// (or `within` passed), stops, and returns how many acknowledged
    /// records the consumer never saw.
    pub fn finish(mut self, outcome: &Outcome, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let missed =
            |seen: &HashSet<String>| outcome.acked.keys().filter(|v| !seen.contains(*v)).count();
        while missed(&self.seen.lock().expect("seen")) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let seen = self.seen.lock().expect("seen");
        let missed = missed(&seen);
        println!(
            "the consumer read {} distinct records; {missed} acknowledged ones not seen",
            seen.len()
        );
        missed
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(acked: &[usize], failed: usize) -> Outcome {
        Outcome {
            acked: acked
                .iter()
                .map(|n| (format!("record-{n}"), (0, *n as i64)))
                .collect(),
            failed,
            errors: Vec::new(),
        }
    }

    #[test]
    fn a_run_whose_writes_stopped_being_acknowledged_has_none_at_its_end() {
        let stopped = outcome(&(0..60).collect::<Vec<_>>(), 40);
        assert_eq!(stopped.sent(), 100);
        assert_eq!(stopped.acknowledged_at_end(), 0);
        let recovered = outcome(&(0..60).chain(90..100).collect::<Vec<_>>(), 30);
        assert_eq!(recovered.acknowledged_at_end(), 10);
    }
}
