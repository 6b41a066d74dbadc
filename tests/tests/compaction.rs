//! `cleanup.policy=compact`: the cleaner keeps the latest value per key at
//! its original offset, and a compacted topic refuses records without a key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use weir_e2e::Broker;

const KEYS: usize = 10;
const ROUNDS: usize = 30;

/// Reads the whole partition: (offset, key, value) with `None` for tombstones.
fn read_all(broker: &Broker, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let consumer = broker.consumer();
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut out = Vec::new();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(low))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.last().is_none_or(|(o, _, _)| *o < high - 1) {
        assert!(
            Instant::now() < deadline,
            "read stalled at {:?} of {high}",
            out.last()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("consume");
            out.push((
                m.offset(),
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                m.payload().map(|p| String::from_utf8_lossy(p).into_owned()),
            ));
        }
    }
    out
}

#[tokio::test]
async fn a_compacted_topic_keeps_the_latest_value_per_key_at_its_offset() {
    let broker = Broker::start_with(&["--override", "log.cleaner.backoff.ms=200"]);
    let topic = NewTopic::new("latest", 1, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.bytes", "2000")
        .set("min.cleanable.dirty.ratio", "0.01")
        .set("delete.retention.ms", "86400000");
    let created = broker
        .admin()
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");

    let producer = broker.producer(&[]);
    let mut latest: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for round in 0..ROUNDS {
        for k in 0..KEYS {
            let key = format!("key-{k}");
            // key-0 ends as a tombstone.
            let value = (!(k == 0 && round == ROUNDS - 1)).then(|| format!("{key}@{round}"));
            let mut record = FutureRecord::to("latest").key(&key);
            if let Some(v) = &value {
                record = record.payload(v);
            }
            let offset = producer
                .send(record, Duration::from_secs(30))
                .await
                .expect("delivered")
                .offset;
            latest.insert(key, (offset, value));
        }
    }
    let total = (KEYS * ROUNDS) as i64;

    // Wait until the cleaner has compacted and then left the log alone.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut previous = Vec::new();
    let compacted = loop {
        let all = read_all(&broker, "latest");
        if all.len() < 100 && all == previous {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "the cleaner never compacted: {} records",
            all.len()
        );
        previous = all;
        std::thread::sleep(Duration::from_millis(1000));
    };
    let (low, high) = broker
        .consumer()
        .fetch_watermarks("latest", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (0, total), "compaction moves no offset");
    assert!(
        compacted.windows(2).all(|w| w[0].0 < w[1].0),
        "offsets stay in order"
    );
    // The newest value of every key is there, at the offset it was written to.
    for (key, (offset, value)) in &latest {
        assert!(
            compacted.contains(&(*offset, key.clone(), value.clone())),
            "{key} lost its latest value {value:?} at {offset}"
        );
    }
    // Older values of a key survive only near the head of the log (the
    // active segment is never cleaned, and a segment rolled since the last
    // pass waits for the next): in the old part every key appears once.
    let old_part = total - 2 * 2000 / 70;
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, k, _) in compacted.iter().filter(|(o, _, _)| *o < old_part) {
        *per_key.entry(k).or_default() += 1;
    }
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
}

#[tokio::test]
async fn a_record_without_a_key_is_refused_by_a_compacted_topic() {
    let broker = Broker::start();
    let topic =
        NewTopic::new("keyed-only", 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    let created = broker
        .admin()
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let producer = broker.producer(&[("retries", "0")]);
    let refused = producer
        .send(
            FutureRecord::<(), _>::to("keyed-only").payload("no key"),
            Duration::from_secs(30),
        )
        .await;
    match refused {
        Err((KafkaError::MessageProduction(code), _)) => {
            assert_eq!(code, RDKafkaErrorCode::InvalidRecord)
        }
        other => panic!("expected INVALID_RECORD, got {other:?}"),
    }
    producer
        .send(
            FutureRecord::to("keyed-only").key("k").payload("fine"),
            Duration::from_secs(30),
        )
        .await
        .expect("a keyed record is accepted");
}
