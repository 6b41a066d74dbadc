//! KIP-467: a batch holding records the topic refuses (keyless records in a
//! compacted topic) is refused whole with INVALID_RECORD, naming each
//! offending record by its index in the batch, so a client fails exactly
//! those records and the others with the error Kafka documents.

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use weir_e2e::cluster::{block_on, create_topic};
use weir_e2e::Broker;

#[test]
fn keyless_records_in_a_compacted_topic_are_named_and_their_batch_is_refused() {
    let broker = Broker::start();
    create_topic(
        &broker.bootstrap(),
        "compacted",
        1,
        1,
        &[("cleanup.policy", "compact")],
    );
    // One batch of five records (the linger gathers them), the second and
    // fourth without a key.
    let producer = broker.producer(&[
        ("linger.ms", "500"),
        ("enable.idempotence", "false"),
        ("retries", "0"),
    ]);
    let outcomes: Vec<Option<RDKafkaErrorCode>> = block_on(async {
        let mut deliveries = Vec::new();
        for i in 0..5 {
            let payload = format!("value-{i}");
            let key = format!("key-{i}");
            let record = FutureRecord::to("compacted").partition(0).payload(&payload);
            let record = if i % 2 == 1 { record } else { record.key(&key) };
            deliveries.push(producer.send_result(record).expect("queued"));
        }
        let mut outcomes = Vec::new();
        for d in deliveries {
            outcomes.push(match d.await.expect("delivery report") {
                Ok(_) => None,
                Err((e, _)) => Some(e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown)),
            });
        }
        outcomes
    });
    let invalid = Some(RDKafkaErrorCode::InvalidRecord);
    let other = Some(RDKafkaErrorCode::InvalidDifferentRecord);
    assert_eq!(outcomes, [other, invalid, other, invalid, other]);

    // Nothing of the refused batch was stored; keyed records still go in.
    let consumer = broker.consumer();
    let (_, high) = consumer
        .fetch_watermarks("compacted", 0, Duration::from_secs(10))
        .expect("watermarks");
    assert_eq!(high, 0);
    let keyed = block_on(
        producer.send(
            FutureRecord::to("compacted")
                .partition(0)
                .key("k")
                .payload("v"),
            Duration::from_secs(10),
        ),
    );
    assert!(keyed.is_ok(), "{keyed:?}");
}
