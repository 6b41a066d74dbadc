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

#[tokio::test]
async fn a_waiting_fetch_gets_records_produced_after_it_started() {
    let broker = Broker::start();
    create(&broker, "longpoll", 1).await;
    // The reader says when a poll came back empty: its next fetch then
    // waits at the broker for records that do not exist yet.
    let (polled_empty, first_empty_poll) = std::sync::mpsc::channel();
    let reader = {
        let bootstrap = broker.bootstrap();
        std::thread::spawn(move || {
            use rdkafka::config::ClientConfig;
            use rdkafka::consumer::BaseConsumer;
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "longpoll")
                .set("enable.auto.commit", "false")
                .set("fetch.wait.max.ms", "5000")
                .create()
                .unwrap();
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition_offset("longpoll", 0, Offset::Beginning)
                .unwrap();
            consumer.assign(&tpl).unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < deadline {
                match consumer.poll(Duration::from_millis(500)) {
                    Some(Ok(m)) => return m.payload().map(<[u8]>::to_vec),
                    _ => {
                        let _ = polled_empty.send(());
                    }
                }
            }
            None
        })
    };
    first_empty_poll
        .recv_timeout(Duration::from_secs(30))
        .expect("the reader polled");
    broker
        .producer(&[])
        .send(
            FutureRecord::<(), _>::to("longpoll").payload("late"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    assert_eq!(reader.join().unwrap(), Some(b"late".to_vec()));
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
