//! Produce/consume round trips with librdkafka for every codec and acks level.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use weir_e2e::Broker;

async fn create(broker: &Broker, topic: &str, partitions: i32) {
    let results = broker
        .admin()
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topics");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

#[tokio::test]
async fn every_codec_and_acks_level_round_trips_keys_values_headers_and_timestamps() {
    let broker = Broker::start();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        for acks in ["0", "1", "all"] {
            let topic = format!("rt-{codec}-{acks}");
            create(&broker, &topic, 1).await;
            let producer = broker.producer(&[("compression.type", codec), ("acks", acks)]);
            let base_ts = 1_700_000_000_000i64;
            for i in 0..50i64 {
                let value = format!("{codec}-{acks}-value-{i}-{}", "x".repeat(i as usize * 7));
                let key = format!("key-{i}");
                let headers = OwnedHeaders::new().insert(Header {
                    key: "seq",
                    value: Some(&i.to_string()),
                });
                producer
                    .send(
                        FutureRecord::to(&topic)
                            .key(&key)
                            .payload(&value)
                            .headers(headers)
                            .timestamp(base_ts + i),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("{topic}: delivery failed: {e}"));
            }
            let got = broker.read_partition(&topic, 0, Offset::Beginning, 50);
            for (i, m) in got.iter().enumerate() {
                let i = i as i64;
                assert_eq!(m.offset(), i, "{topic}");
                assert_eq!(m.key(), Some(format!("key-{i}").as_bytes()), "{topic}");
                let value = format!("{codec}-{acks}-value-{i}-{}", "x".repeat(i as usize * 7));
                assert_eq!(m.payload(), Some(value.as_bytes()), "{topic}");
                assert_eq!(m.timestamp().to_millis(), Some(base_ts + i), "{topic}");
                let h = m.headers().expect("headers").get(0);
                assert_eq!(
                    (h.key, h.value),
                    ("seq", Some(i.to_string().as_bytes())),
                    "{topic}"
                );
            }
        }
    }
}

#[tokio::test]
async fn records_go_to_the_partition_they_were_sent_to() {
    let broker = Broker::start();
    create(&broker, "multi", 4).await;
    let producer = broker.producer(&[("acks", "all")]);
    for i in 0..40 {
        let partition = i % 4;
        producer
            .send(
                FutureRecord::<(), _>::to("multi")
                    .partition(partition)
                    .payload(&format!("p{partition}-{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    for p in 0..4 {
        let got = broker.read_partition("multi", p, Offset::Beginning, 10);
        let expected: Vec<String> = (0..40)
            .filter(|i| i % 4 == p)
            .map(|i| format!("p{p}-{i}"))
            .collect();
        let values: Vec<String> = got
            .iter()
            .map(|m| String::from_utf8(m.payload().unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(values, expected);
    }
}

/// A fetch that finds nothing waits at the broker (up to its two-minute
/// `max_wait_ms`), and a record produced meanwhile ends the wait: it is
/// answered with that record long before its own deadline would answer it.
#[tokio::test]
async fn a_waiting_fetch_gets_records_produced_after_it_started() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;

    let broker = Broker::start();
    create(&broker, "longpoll", 1).await;
    let mut fetcher = broker.raw();
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(120_000)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("longpoll")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    fetcher.send(ApiKey::Fetch, 11, &request);
    assert!(
        !fetcher.has_bytes_within(Duration::from_secs(2)),
        "with nothing to read, the fetch waits"
    );
    broker
        .producer(&[])
        .send(
            FutureRecord::<(), _>::to("longpoll").payload("late"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    assert!(
        fetcher.has_bytes_within(Duration::from_secs(60)),
        "the append ends the wait, long before the fetch's two minutes"
    );
    let response: FetchResponse = fetcher.receive(ApiKey::Fetch, 11).expect("answer");
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert!(
        partition.records.as_ref().is_some_and(|r| !r.is_empty()),
        "the answer carries the new record"
    );
}

#[tokio::test]
async fn producing_to_an_unknown_topic_auto_creates_it_with_the_broker_defaults() {
    let broker = Broker::start_with(&["--num-partitions", "3"]);
    broker
        .producer(&[])
        .send(
            FutureRecord::<(), _>::to("auto-made").payload("hi"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    let metadata = broker
        .consumer()
        .fetch_metadata(Some("auto-made"), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
}
