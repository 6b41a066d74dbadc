//! `kill -9` under load: every acknowledged record must be readable after a
//! restart, at the offset it was acknowledged with, in order.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use weir_e2e::Broker;

const PARTITIONS: i32 = 3;

/// Reads every partition to its high watermark: offset -> value.
fn read_everything(broker: &Broker, topic: &str) -> BTreeMap<(i32, i64), Vec<u8>> {
    let consumer = broker.consumer();
    let mut all = BTreeMap::new();
    for p in 0..PARTITIONS {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        assert_eq!(low, 0);
        let messages =
            broker.read_partition(topic, p, Offset::Beginning, usize::try_from(high).unwrap());
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(
                m.offset(),
                i as i64,
                "partition {p} offsets are contiguous and ordered"
            );
            all.insert((p, m.offset()), m.payload().unwrap_or_default().to_vec());
        }
    }
    all
}

#[tokio::test]
async fn every_acknowledged_record_survives_repeated_kill_9() {
    let mut broker = Broker::start();
    let created = broker
        .admin()
        .create_topics(
            &[NewTopic::new(
                "durable",
                PARTITIONS,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok());

    let mut acked: BTreeMap<(i32, i64), Vec<u8>> = BTreeMap::new();
    for round in 0..3 {
        let producer = broker.producer(&[
            ("acks", "all"),
            ("message.timeout.ms", "20000"),
            ("linger.ms", "2"),
        ]);
        let mut pending = Vec::new();
        let started = std::time::Instant::now();
        let mut i = 0u64;
        // Keep records in flight, then kill the broker in the middle of them.
        while started.elapsed() < Duration::from_millis(700) {
            let value = format!("round-{round}-record-{i}");
            let record = FutureRecord::<(), _>::to("durable")
                .partition((i % PARTITIONS as u64) as i32)
                .payload(&value);
            match producer.send_result(record) {
                Ok(delivery) => pending.push((value, delivery)),
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
            i += 1;
            if i.is_multiple_of(200) {
                tokio::task::yield_now().await;
            }
        }
        broker.kill9();
        broker.start_again();
        let mut round_acked = 0;
        for (value, delivery) in pending {
            if let Ok(Ok(d)) = delivery.await {
                acked.insert((d.partition, d.offset), value.into_bytes());
                round_acked += 1;
            }
        }
        assert!(round_acked > 0, "round {round}: nothing was acknowledged");

        let stored = read_everything(&broker, "durable");
        for ((p, o), value) in &acked {
            assert_eq!(
                stored.get(&(*p, *o)),
                Some(value),
                "acknowledged record at partition {p} offset {o} is missing or different"
            );
        }
    }
}

#[tokio::test]
async fn garbage_after_the_last_batch_is_truncated_and_the_log_keeps_serving() {
    let mut broker = Broker::start();
    let producer = broker.producer(&[("acks", "all")]);
    for i in 0..20 {
        producer
            .send(
                FutureRecord::<(), _>::to("torn").payload(&format!("v{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    broker.kill9();
    let segment = broker
        .data_dir()
        .join("torn-0")
        .join("00000000000000000000.log");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("segment");
    // a half-written batch: a plausible length, then garbage
    file.write_all(&[0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 200, 1, 2, 3, 4, 5])
        .unwrap();
    drop(file);
    broker.start_again();

    let got = broker.read_partition("torn", 0, Offset::Beginning, 20);
    assert_eq!(
        weir_e2e::payloads(&got).last(),
        Some(&(19, b"v19".to_vec()))
    );
    let d = producer
        .send(
            FutureRecord::<(), _>::to("torn").payload("after"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered after recovery");
    assert_eq!(d.offset, 20);
}

#[tokio::test]
async fn a_clean_restart_keeps_topics_configs_and_data() {
    let mut broker = Broker::start();
    // A topic config and a dynamic broker config, both in the metadata log.
    let mut client = broker.raw();
    let created: kafka_protocol::messages::CreateTopicsResponse = client.call(
        kafka_protocol::messages::ApiKey::CreateTopics,
        5,
        &kafka_protocol::messages::CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![
                kafka_protocol::messages::create_topics_request::CreatableTopic::default()
                    .with_name(kafka_protocol::messages::TopicName(
                        kafka_protocol::protocol::StrBytes::from_static_str("kept"),
                    ))
                    .with_num_partitions(2)
                    .with_replication_factor(1)
                    .with_configs(vec![
                        kafka_protocol::messages::create_topics_request::CreatableTopicConfig::default()
                            .with_name(kafka_protocol::protocol::StrBytes::from_static_str(
                                "retention.ms",
                            ))
                            .with_value(Some(kafka_protocol::protocol::StrBytes::from_static_str(
                                "123456",
                            ))),
                    ]),
            ]),
    );
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    let set = client.alter_configs(4, "", &[("log.retention.bytes", 0, Some("7777777"))]);
    assert_eq!(set.error_code, 0, "{set:?}");
    drop(client);
    let producer = broker.producer(&[]);
    producer
        .send(
            FutureRecord::<(), _>::to("kept")
                .payload("one")
                .partition(0),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    drop(producer);
    broker.stop();
    broker.start_again();
    let got = broker.read_partition("kept", 0, Offset::Beginning, 1);
    assert_eq!(weir_e2e::payloads(&got), vec![(0, b"one".to_vec())]);
    let metadata = broker
        .consumer()
        .fetch_metadata(Some("kept"), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(
        metadata.topics()[0].partitions().len(),
        2,
        "the topic kept its partitions"
    );
    let mut client = broker.raw();
    let topic = client.describe_configs(2, "kept", Some(&["retention.ms"]));
    assert_eq!(
        topic.configs[0].value.as_deref(),
        Some("123456"),
        "the topic config"
    );
    let cluster = client.describe_configs(4, "0", Some(&["log.retention.bytes"]));
    assert_eq!(
        cluster.configs[0].value.as_deref(),
        Some("7777777"),
        "the dynamic broker config"
    );
}
