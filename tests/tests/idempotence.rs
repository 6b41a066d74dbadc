//! Idempotent producers: InitProducerId hands out ids, retried batches are
//! stored once, sequence gaps and fenced epochs are refused, and the producer
//! state survives a `kill -9` because it is rebuilt from the log.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use weir_e2e::{record_batch, Broker, RawClient};

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

fn idempotent_batch(producer_id: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    record_batch(&values, Some((producer_id, epoch, base_sequence)))
}

/// Produces one batch; returns the error code and base offset.
fn produce(client: &mut RawClient, topic: &str, records: Bytes) -> (i16, i64) {
    let p = client.produce(topic, 0, records);
    (p.error_code, p.base_offset)
}

fn init_producer_id(
    client: &mut RawClient,
    transactional_id: Option<&str>,
) -> InitProducerIdResponse {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(
            transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_string()))),
        )
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    client.call(ApiKey::InitProducerId, 4, &request)
}

async fn create(broker: &Broker, topic: &str) {
    let t = rdkafka::admin::NewTopic::new(topic, 1, rdkafka::admin::TopicReplication::Fixed(1));
    let created = broker
        .admin()
        .create_topics(&[t], &rdkafka::admin::AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
}

#[tokio::test]
async fn each_producer_gets_a_distinct_id_and_transactions_are_refused() {
    let broker = Broker::start();
    let mut client = broker.raw();
    let a = init_producer_id(&mut client, None);
    let b = init_producer_id(&mut client, None);
    assert_eq!((a.error_code, b.error_code), (0, 0));
    assert_ne!(a.producer_id, b.producer_id);
    assert_eq!(a.producer_epoch, 0);
    let txn = init_producer_id(&mut client, Some("payments"));
    assert_eq!(txn.error_code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

#[tokio::test]
async fn a_retried_batch_is_stored_once_and_gaps_and_old_epochs_are_refused() {
    let broker = Broker::start();
    create(&broker, "exactly-once").await;
    let mut client = broker.raw();
    let pid = init_producer_id(&mut client, None).producer_id.0;

    let first = idempotent_batch(pid, 0, 0, &["a", "b"]);
    assert_eq!(produce(&mut client, "exactly-once", first.clone()), (0, 0));
    // The same batch again, as a producer retries after a lost response.
    assert_eq!(produce(&mut client, "exactly-once", first), (0, 0));
    assert_eq!(
        produce(
            &mut client,
            "exactly-once",
            idempotent_batch(pid, 0, 2, &["c"])
        ),
        (0, 2)
    );
    let (gap, _) = produce(
        &mut client,
        "exactly-once",
        idempotent_batch(pid, 0, 9, &["lost?"]),
    );
    assert_eq!(gap, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(
        produce(
            &mut client,
            "exactly-once",
            idempotent_batch(pid, 1, 0, &["d"])
        ),
        (0, 3)
    );
    let (fenced, _) = produce(
        &mut client,
        "exactly-once",
        idempotent_batch(pid, 0, 3, &["zombie"]),
    );
    assert_eq!(fenced, INVALID_PRODUCER_EPOCH);

    let values: Vec<_> = broker
        .read_partition("exactly-once", 0, Offset::Beginning, 4)
        .iter()
        .map(|m| String::from_utf8(m.payload().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(values, ["a", "b", "c", "d"]);
    let (_, high) = broker
        .consumer()
        .fetch_watermarks("exactly-once", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!(high, 4);
}

#[tokio::test]
async fn producer_state_is_rebuilt_from_the_log_after_kill_9() {
    let mut broker = Broker::start();
    create(&broker, "survivor").await;
    let mut client = broker.raw();
    let pid = init_producer_id(&mut client, None).producer_id.0;
    let batch = idempotent_batch(pid, 0, 0, &["x", "y", "z"]);
    assert_eq!(produce(&mut client, "survivor", batch.clone()), (0, 0));
    broker.kill9();
    broker.start_again();
    let mut client = broker.raw();
    // The retry after the crash is recognised, not stored a second time.
    assert_eq!(produce(&mut client, "survivor", batch), (0, 0));
    assert_eq!(
        produce(&mut client, "survivor", idempotent_batch(pid, 0, 3, &["w"])),
        (0, 3)
    );
    let (gap, _) = produce(&mut client, "survivor", idempotent_batch(pid, 0, 7, &["?"]));
    assert_eq!(gap, OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A producer started after the restart gets an id never handed out before.
    let next = init_producer_id(&mut client, None).producer_id.0;
    assert!(next > pid, "{next} after {pid}");
}

#[tokio::test]
async fn rdkafka_idempotent_producer_delivers_every_record_once_in_order() {
    let broker = Broker::start();
    create(&broker, "idem").await;
    let producer = broker.producer(&[("enable.idempotence", "true"), ("linger.ms", "2")]);
    // Enqueued back to back, so several batches are in flight at once.
    let deliveries: Vec<_> = (0..500)
        .map(|i| {
            let value = format!("{i}");
            producer
                .send_result(FutureRecord::<(), _>::to("idem").payload(&value))
                .map_err(|(e, _)| e)
                .expect("enqueued")
        })
        .collect();
    for delivery in deliveries {
        delivery.await.expect("not cancelled").expect("delivered");
    }
    let got = broker.read_partition("idem", 0, Offset::Beginning, 500);
    let values: Vec<usize> = got
        .iter()
        .map(|m| {
            std::str::from_utf8(m.payload().unwrap())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(values, (0..500).collect::<Vec<_>>());
}
