//! Helpers for librdkafka clients (`rdkafka`) that every test needs.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::OwnedMessage;
use rdkafka::Message;

/// Closes a group consumer in a way that cannot hang: unsubscribes, polls
/// until the revocation has been served and the assignment is empty, then
/// drops it. Dropping a consumer with a rebalance in flight can block forever
/// in `rd_kafka_assign` inside the close (librdkafka issue 4884).
pub fn close_consumer<C: ConsumerContext>(consumer: BaseConsumer<C>) {
    let subscribed = consumer
        .subscription()
        .map(|s| s.count() > 0)
        .unwrap_or(false);
    if subscribed {
        consumer.unsubscribe();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer
        .assignment()
        .map(|a| a.count() > 0)
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "the consumer's revocation was never served"
        );
        let _ = consumer.poll(Duration::from_millis(100));
    }
    // Serve whatever callback the unsubscribe queued last.
    let _ = consumer.poll(Duration::from_millis(100));
    drop(consumer);
}

/// The offset and value of every message, for comparing what was read.
pub fn payloads(messages: &[OwnedMessage]) -> Vec<(i64, Vec<u8>)> {
    messages
        .iter()
        .map(|m| {
            (
                m.offset(),
                m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            )
        })
        .collect()
}
