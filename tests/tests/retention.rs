//! Retention deletes whole old segments and moves the log start offset.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use weir_e2e::Broker;

fn segment_files(broker: &Broker, dir: &str) -> usize {
    std::fs::read_dir(broker.data_dir().join(dir))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

async fn fill(broker: &Broker, topic: &str, configs: &[(&str, &str)], records: usize) {
    let mut t = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    let created = broker
        .admin()
        .create_topics(&[t], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let producer = broker.producer(&[("batch.num.messages", "10")]);
    let value = "v".repeat(1000);
    for _ in 0..records {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(&value),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
}

fn wait_for_log_start_above_zero(broker: &Broker, topic: &str) -> i64 {
    let consumer = broker.consumer();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (low, _) = consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap();
        if low > 0 {
            return low;
        }
        assert!(Instant::now() < deadline, "retention never ran on {topic}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Retention passes run while the producer is still writing, so the first
/// raised log start offset is not the last: wait until several passes in a row
/// leave it where it is.
fn wait_for_settled_log_start(broker: &Broker, topic: &str) -> i64 {
    let consumer = broker.consumer();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = -1;
    loop {
        let (low, _) = consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap();
        if low == last {
            return low;
        }
        assert!(
            Instant::now() < deadline,
            "retention never settled on {topic}"
        );
        last = low;
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[tokio::test]
async fn size_retention_deletes_old_segments_and_raises_the_earliest_offset() {
    let broker = Broker::start_with(&["--log-retention-check-interval-ms", "200"]);
    fill(
        &broker,
        "sized",
        &[("segment.bytes", "20000"), ("retention.bytes", "50000")],
        300,
    )
    .await;
    wait_for_log_start_above_zero(&broker, "sized");
    let low = wait_for_settled_log_start(&broker, "sized");
    assert!(segment_files(&broker, "sized-0") <= 5);
    let (_, high) = broker
        .consumer()
        .fetch_watermarks("sized", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!(high, 300);
    let tail = broker.read_partition(
        "sized",
        0,
        Offset::Beginning,
        usize::try_from(high - low).unwrap(),
    );
    assert_eq!(tail[0].offset(), low);
    assert_eq!(tail.last().unwrap().offset(), 299);
}

/// Records an hour old fill a few segments, fresh ones follow: retention
/// of one minute deletes the old segments and keeps every fresh record, so
/// age, not a count or a size, decides.
#[tokio::test]
async fn time_retention_deletes_segments_older_than_retention_ms() {
    let broker = Broker::start_with(&["--log-retention-check-interval-ms", "200"]);
    let created = broker
        .admin()
        .create_topics(
            &[NewTopic::new("timed", 1, TopicReplication::Fixed(1))
                .set("segment.bytes", "20000")
                .set("retention.ms", "60000")],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let producer = broker.producer(&[("batch.num.messages", "10")]);
    let value = "v".repeat(1000);
    for i in 0..120 {
        let timestamp = if i < 100 { now - 3_600_000 } else { now };
        producer
            .send(
                FutureRecord::<(), _>::to("timed")
                    .payload(&value)
                    .timestamp(timestamp),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    wait_for_log_start_above_zero(&broker, "timed");
    let low = wait_for_settled_log_start(&broker, "timed");
    assert!(
        low <= 100,
        "retention deleted records younger than retention.ms (log start {low})"
    );
    assert!(
        segment_files(&broker, "timed-0") < 5,
        "the old segments are gone"
    );
    let kept = broker.read_partition("timed", 0, Offset::Beginning, (120 - low) as usize);
    assert_eq!(kept[0].offset(), low);
    assert_eq!(
        kept.last().unwrap().offset(),
        119,
        "every fresh record is kept"
    );
    // New records are still accepted and readable after the old expired.
    broker
        .producer(&[])
        .send(
            FutureRecord::<(), _>::to("timed").payload("fresh"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    let got = broker.read_partition("timed", 0, Offset::Offset(120), 1);
    assert_eq!(got[0].payload(), Some(&b"fresh"[..]));
}
