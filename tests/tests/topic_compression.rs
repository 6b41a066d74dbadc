//! A topic's `compression.type`: the broker stores every batch with the
//! topic's codec, recompressing those the producer compressed otherwise
//! (KIP-390 levels apply), and librdkafka reads them back; `producer`
//! stores batches as sent.

use std::time::Duration;

use rdkafka::producer::FutureRecord;
use rdkafka::Offset;
use weir_e2e::cluster::{block_on, create_topic};
use weir_e2e::{payloads, Broker};

/// The codec id of every batch in the topic's first segment.
fn stored_codecs(broker: &Broker, topic: &str) -> Vec<i16> {
    let path = broker
        .data_dir()
        .join(format!("{topic}-0"))
        .join("00000000000000000000.log");
    let log = std::fs::read(&path).expect("segment");
    let mut codecs = Vec::new();
    let mut pos = 0;
    while pos + 61 <= log.len() {
        let length = i32::from_be_bytes([log[pos + 8], log[pos + 9], log[pos + 10], log[pos + 11]]);
        codecs.push(i16::from_be_bytes([log[pos + 21], log[pos + 22]]) & 0x07);
        pos += 12 + usize::try_from(length).expect("length");
    }
    codecs
}

fn produce(broker: &Broker, topic: &str, codec: &str, values: &[String]) {
    let producer = broker.producer(&[("compression.type", codec), ("linger.ms", "20")]);
    block_on(async {
        let deliveries: Vec<_> = values
            .iter()
            .map(|v| {
                producer
                    .send_result(FutureRecord::to(topic).partition(0).key("k").payload(v))
                    .expect("queued")
            })
            .collect();
        for d in deliveries {
            assert!(d.await.expect("delivery report").is_ok());
        }
    });
}

#[test]
fn a_topic_stores_its_batches_with_its_codec_whatever_the_producer_sent() {
    let broker = Broker::start();
    for (codec, id) in [
        ("uncompressed", 0),
        ("gzip", 1),
        ("snappy", 2),
        ("lz4", 3),
        ("zstd", 4),
        ("producer", 3),
    ] {
        let sent = if codec == "lz4" { "zstd" } else { "lz4" };
        let topic = format!("stored-{codec}");
        create_topic(
            &broker.bootstrap(),
            &topic,
            1,
            1,
            &[("compression.type", codec), ("compression.zstd.level", "9")],
        );
        let values: Vec<String> = (0..200)
            .map(|i| format!("{codec}-{i}-{}", "z".repeat(i % 40)))
            .collect();
        produce(&broker, &topic, sent, &values);
        let read = broker.read_partition(&topic, 0, Offset::Beginning, values.len());
        let read: Vec<Vec<u8>> = payloads(&read).into_iter().map(|(_, v)| v).collect();
        let expected: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
        assert_eq!(read, expected, "{codec}");
        let codecs = stored_codecs(&broker, &topic);
        assert!(!codecs.is_empty());
        let expected_id = if codec == "producer" { 3 } else { id };
        assert!(
            codecs.iter().all(|c| *c == expected_id),
            "{codec}: stored as {codecs:?}"
        );
    }
    // Unknown codecs are refused as Kafka refuses them.
    let admin = broker.admin();
    let refused = block_on(
        admin.create_topics(
            &[rdkafka::admin::NewTopic::new(
                "bad-codec",
                1,
                rdkafka::admin::TopicReplication::Fixed(1),
            )
            .set("compression.type", "none")],
            &rdkafka::admin::AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ),
    )
    .expect("create_topics");
    assert!(refused[0].is_err(), "{refused:?}");
}
