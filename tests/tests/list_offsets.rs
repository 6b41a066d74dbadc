//! ListOffsets through librdkafka: earliest, latest and by timestamp.

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use weir_e2e::Broker;

#[tokio::test]
async fn watermarks_and_offsets_for_times_find_the_right_records() {
    let broker = Broker::start();
    let producer = broker.producer(&[("batch.num.messages", "3")]);
    let base = 1_700_000_000_000i64;
    for i in 0..30i64 {
        producer
            .send(
                FutureRecord::<(), _>::to("times")
                    .payload(&i.to_string())
                    .timestamp(base + i * 1000),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    let consumer = broker.consumer();
    let (low, high) = consumer
        .fetch_watermarks("times", 0, Duration::from_secs(10))
        .expect("watermarks");
    assert_eq!((low, high), (0, 30));

    let lookup = |ts: i64| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("times", 0, Offset::Offset(ts))
            .unwrap();
        let found = consumer
            .offsets_for_times(tpl, Duration::from_secs(10))
            .expect("offsets_for_times");
        found.elements()[0].offset()
    };
    assert_eq!(lookup(base), Offset::Offset(0));
    assert_eq!(lookup(base + 12_500), Offset::Offset(13));
    assert_eq!(lookup(base + 29_000), Offset::Offset(29));
    assert_eq!(lookup(base + 29_001), Offset::End);
    assert_eq!(lookup(0), Offset::Offset(0));

    // A consumer positioned by timestamp reads from that record on.
    let got = broker.read_partition("times", 0, Offset::Offset(13), 17);
    assert_eq!(weir_e2e::payloads(&got)[0], (13, b"13".to_vec()));
}
