//! Malformed and hostile input: each gets Kafka's error code or a clean
//! disconnect, and the broker keeps serving with nothing lost.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, CreateTopicsRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;
use weir_e2e::{record_batch, Broker, RawClient};

const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_RECORD: i16 = 87;

fn batch(values: &[&[u8]]) -> Bytes {
    record_batch(values, None)
}

fn produce(client: &mut RawClient, topic: &str, partition: i32, records: Bytes) -> i16 {
    client.produce(topic, partition, records).error_code
}

/// A topic with a few acknowledged records, to prove later that nothing was lost.
async fn seeded(broker: &Broker, topic: &str) {
    let producer = broker.producer(&[("acks", "all")]);
    for i in 0..5 {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(&format!("keep-{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
}

fn still_serving(broker: &Broker, topic: &str) {
    let mut fresh = broker.raw();
    let versions: ApiVersionsResponse =
        fresh.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0);
    let got = broker.read_partition(topic, 0, Offset::Beginning, 5);
    let values: Vec<_> = weir_e2e::payloads(&got)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("keep-{i}").into_bytes()).collect();
    assert_eq!(values, expected, "acknowledged data is intact");
}

fn end_offset(broker: &Broker, topic: &str) -> i64 {
    broker
        .consumer()
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap()
        .1
}

#[tokio::test]
async fn garbage_frames_are_disconnected_and_other_clients_are_unaffected() {
    let broker = Broker::start();
    seeded(&broker, "safe").await;

    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(64);
    frame.put_slice(&[0xff; 64]);
    c.send_raw(&frame);
    assert!(
        c.is_closed_by_broker(),
        "unknown API key closes the connection"
    );

    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(40);
    frame.put_i16(ApiKey::Metadata as i16);
    frame.put_i16(12);
    frame.put_i32(1);
    frame.put_slice(&[0x7f; 32]);
    c.send_raw(&frame);
    assert!(
        c.is_closed_by_broker(),
        "an undecodable body closes the connection"
    );

    let mut c = broker.raw();
    c.send_raw(&[0xff, 0xff, 0xff, 0xf0]);
    assert!(
        c.is_closed_by_broker(),
        "a negative size closes the connection"
    );

    let mut c = broker.raw();
    c.send_raw(&[0, 0, 0, 3, 0, 1, 2]);
    assert!(
        c.is_closed_by_broker(),
        "a frame shorter than a header closes the connection"
    );

    still_serving(&broker, "safe");
}

/// A request header of `api_key`/`version`; flexible versions take the
/// header's tagged-field count.
fn header(frame: &mut BytesMut, api_key: ApiKey, version: i16, flexible: bool) {
    frame.put_i16(api_key as i16);
    frame.put_i16(version);
    frame.put_i32(7);
    frame.put_i16(-1);
    if flexible {
        frame.put_u8(0);
    }
}

fn sized(body: BytesMut) -> BytesMut {
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.put_slice(&body);
    frame
}

/// That the decoder allocates nothing for such counts is proven where it
/// can be seen, by counting allocations (`broker/tests/decoder_allocations.rs`);
/// here, that the real broker closes such connections and serves on.
#[tokio::test]
async fn an_array_count_beyond_its_frame_closes_the_connection_and_the_broker_serves_on() {
    let broker = Broker::start();
    seeded(&broker, "safe").await;

    // LeaveGroup v3: group id, then a members array claiming i32::MAX entries.
    let mut body = BytesMut::new();
    header(&mut body, ApiKey::LeaveGroup, 3, false);
    body.put_i16(1);
    body.put_u8(b'g');
    body.put_i32(i32::MAX);
    body.put_slice(&[0; 16]);
    let leave_v3 = sized(body);

    // LeaveGroup v5 (flexible): the same with a compact array of u32::MAX - 1.
    let mut body = BytesMut::new();
    header(&mut body, ApiKey::LeaveGroup, 5, true);
    body.put_u8(2);
    body.put_u8(b'g');
    body.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    body.put_slice(&[0; 16]);
    let leave_v5 = sized(body);

    // Metadata v0: a topics array of 54 million entries in five bytes.
    let mut body = BytesMut::new();
    header(&mut body, ApiKey::Metadata, 0, false);
    body.put_slice(&[0x03, 0x3c, 0x0c, 0x00, 0xb6]);
    let metadata_v0 = sized(body);

    // Produce v9 (flexible): a topic-data array of a billion entries.
    let mut body = BytesMut::new();
    header(&mut body, ApiKey::Produce, 9, true);
    body.put_u8(0);
    body.put_i16(-1);
    body.put_i32(30_000);
    body.put_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
    let produce_v9 = sized(body);

    for (name, frame) in [
        ("LeaveGroup v3", leave_v3),
        ("LeaveGroup v5", leave_v5),
        ("Metadata v0", metadata_v0),
        ("Produce v9", produce_v9),
    ] {
        let mut c = broker.raw();
        c.send_raw(&frame);
        assert!(
            c.is_closed_by_broker(),
            "{name}: a malformed request closes the connection"
        );
    }
    still_serving(&broker, "safe");
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A zstd batch of a few kilobytes holding one keyed record whose value is
/// `inflated` zero bytes; its header claims `claimed_count` records.
fn zstd_bomb(inflated: u64, claimed_count: i32) -> Bytes {
    use std::io::Write;
    let mut prefix = vec![0u8]; // attributes
    zigzag(&mut prefix, 0); // timestamp delta
    zigzag(&mut prefix, 0); // offset delta
    zigzag(&mut prefix, 1);
    prefix.push(b'k');
    zigzag(&mut prefix, inflated as i64);
    let body_len = prefix.len() as u64 + inflated + 1;
    let mut record_head = Vec::new();
    zigzag(&mut record_head, body_len as i64);

    let mut payload = Vec::new();
    let mut z = zstd::stream::write::Encoder::new(&mut payload, 3).unwrap();
    z.write_all(&record_head).unwrap();
    z.write_all(&prefix).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..inflated / zeros.len() as u64 {
        z.write_all(&zeros).unwrap();
    }
    z.write_all(&[0]).unwrap(); // no headers
    z.finish().unwrap();

    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32((61 - 12 + payload.len()) as i32);
    b.put_i32(0);
    b.put_i8(2);
    b.put_u32(0); // CRC, below
    b.put_i16(4); // zstd
    b.put_i32(0);
    b.put_i64(1_700_000_000_000);
    b.put_i64(1_700_000_000_000);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(claimed_count);
    b.put_slice(&payload);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

#[tokio::test]
async fn a_compressed_batch_is_inspected_streaming_not_inflated_whole() {
    let broker = Broker::start();
    let topic =
        NewTopic::new("compacted", 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    broker
        .admin()
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .unwrap();
    seeded(&broker, "safe").await;
    let before = broker.peak_resident_kib();
    let inflated = 256 << 20;
    let bomb = zstd_bomb(inflated, 1);
    assert!(bomb.len() < 64 * 1024, "the bomb is {} bytes", bomb.len());

    let mut c = broker.raw();
    assert_eq!(
        produce(&mut c, "compacted", 0, bomb),
        0,
        "a keyed record is valid, however large it inflates"
    );
    assert_eq!(
        produce(&mut c, "compacted", 0, zstd_bomb(inflated, 2)),
        INVALID_RECORD,
        "a header that claims more records than the batch holds"
    );
    assert_eq!(
        produce(&mut c, "safe", 0, zstd_bomb(inflated, 2)),
        INVALID_RECORD,
        "plain topics check their records too"
    );
    let after = broker.peak_resident_kib();
    assert!(
        after < before + 64 * 1024,
        "peak resident memory grew from {before} KiB to {after} KiB for {inflated} inflated bytes"
    );
    still_serving(&broker, "safe");
}

#[tokio::test]
async fn a_frame_over_socket_request_max_bytes_is_disconnected() {
    let broker = Broker::start_with(&["--socket-request-max-bytes", "2000"]);
    seeded(&broker, "safe").await;
    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(5000);
    frame.put_slice(&[0u8; 100]);
    c.send_raw(&frame);
    assert!(c.is_closed_by_broker());
    still_serving(&broker, "safe");
}

#[tokio::test]
async fn a_batch_with_a_bad_crc_is_refused_and_not_stored() {
    let broker = Broker::start();
    seeded(&broker, "safe").await;
    let mut records = batch(&[b"evil"]).to_vec();
    let last = records.len() - 1;
    records[last] ^= 0xff;
    let mut c = broker.raw();
    assert_eq!(
        produce(&mut c, "safe", 0, Bytes::from(records)),
        CORRUPT_MESSAGE
    );
    assert_eq!(end_offset(&broker, "safe"), 5);
    assert_eq!(
        produce(&mut c, "safe", 0, batch(&[b"fine"])),
        0,
        "the connection stays usable"
    );
    assert_eq!(end_offset(&broker, "safe"), 6);
    still_serving(&broker, "safe");
}

#[tokio::test]
async fn a_batch_over_max_message_bytes_is_refused() {
    let broker = Broker::start_with(&["--message-max-bytes", "200"]);
    seeded(&broker, "safe").await;
    let mut c = broker.raw();
    let big = vec![b'x'; 500];
    assert_eq!(
        produce(&mut c, "safe", 0, batch(&[&big])),
        MESSAGE_TOO_LARGE
    );
    assert_eq!(end_offset(&broker, "safe"), 5);
    still_serving(&broker, "safe");
}

#[tokio::test]
async fn unsupported_versions_and_unknown_apis_follow_kafka() {
    let broker = Broker::start();
    seeded(&broker, "safe").await;

    // KIP-511: an ApiVersions version the broker does not know is answered
    // in v0 with UNSUPPORTED_VERSION and the supported ranges.
    let mut c = broker.raw();
    c.send(ApiKey::ApiVersions, 4, &ApiVersionsRequest::default());
    let mut frame = BytesMut::new();
    frame.put_i32(12);
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(77);
    frame.put_slice(&[0, 0, 0, 0]);
    let first: ApiVersionsResponse = c.receive(ApiKey::ApiVersions, 4).expect("v4 answer");
    assert_eq!(first.error_code, 0);
    c.send_raw(&frame);
    let mut answer = c.read_frame().expect("an answer, not a disconnect");
    assert_eq!(RawClient::correlation_of(&answer), 77);
    let _ = bytes::Buf::get_i32(&mut answer);
    let v0 = <ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut answer, 0)
        .unwrap();
    assert_eq!(v0.error_code, UNSUPPORTED_VERSION);
    assert!(v0
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));

    // Other APIs at an unsupported version: Kafka closes the connection.
    // Produce v2 (message sets v0/v1) was removed from Kafka 4; a v2 request closes.
    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(18);
    frame.put_i16(ApiKey::Produce as i16);
    frame.put_i16(2);
    frame.put_i32(5);
    frame.put_i16(-1);
    frame.put_i16(1);
    frame.put_i32(1000);
    frame.put_i32(0);
    c.send_raw(&frame);
    assert!(c.is_closed_by_broker());
    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(12);
    frame.put_i16(ApiKey::Metadata as i16);
    frame.put_i16(99);
    frame.put_i32(1);
    frame.put_slice(&[0, 0, 0, 0]);
    c.send_raw(&frame);
    assert!(c.is_closed_by_broker());
    // An API key Kafka does not define closes the connection too.
    let mut c = broker.raw();
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(999);
    frame.put_i16(0);
    frame.put_i32(1);
    frame.put_slice(&[0, 0]);
    c.send_raw(&frame);
    assert!(c.is_closed_by_broker());

    still_serving(&broker, "safe");
}

#[tokio::test]
async fn unknown_partitions_and_invalid_names_get_kafka_error_codes() {
    let broker = Broker::start();
    seeded(&broker, "safe").await;
    let mut c = broker.raw();
    assert_eq!(
        produce(&mut c, "safe", 5, batch(&[b"x"])),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        produce(&mut c, "never-created", 0, batch(&[b"x"])),
        UNKNOWN_TOPIC_OR_PARTITION
    );

    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("bad/name"))))]))
        .with_allow_auto_topic_creation(true);
    let response: MetadataResponse = c.call(ApiKey::Metadata, 12, &request);
    assert_eq!(response.topics[0].error_code, INVALID_TOPIC_EXCEPTION);
    assert!(!broker.data_dir().join("bad").exists());

    let response: kafka_protocol::messages::CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        7,
        &CreateTopicsRequest::default().with_topics(vec![
            kafka_protocol::messages::create_topics_request::CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("..")))
                .with_num_partitions(1)
                .with_replication_factor(1),
        ]),
    );
    assert_eq!(response.topics[0].error_code, INVALID_TOPIC_EXCEPTION);
    still_serving(&broker, "safe");
}
