//! One small admin request cannot take a broker down: requests that would
//! create more than Kafka's per-operation caps, or more partition replicas
//! than a broker may hold, get Kafka's error before anything is written,
//! the broker's memory and data directory stay as they were, and it serves
//! on. A client that opens connections until descriptors run out is
//! refused while the connections it has keep working.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey,
    ApiVersionsResponse, BrokerId, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use rdkafka::consumer::Consumer;
use weir_e2e::{record_batch, Broker, RawClient};

const POLICY_VIOLATION: i16 = 44;
/// The topic of the replayed request: 15 bytes, as in the report.
const TOPIC: &str = "rdkafka-admin-1";

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

fn create_topics(client: &mut RawClient, topics: Vec<CreatableTopic>) -> CreateTopicsResponse {
    let request = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000);
    client.call(ApiKey::CreateTopics, 7, &request)
}

fn topic(topic: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

/// A broker with `TOPIC` (one partition, one acknowledged record).
fn broker_with_topic(args: &[&str]) -> (Broker, RawClient) {
    let broker = Broker::start_with(args);
    let mut client = broker.raw();
    let created = create_topics(&mut client, vec![topic(TOPIC, 1)]);
    assert_eq!(created.topics[0].error_code, 0, "{:?}", created.topics[0]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .produce(TOPIC, 0, record_batch(&[b"kept"], None))
        .error_code
        != 0
    {
        assert!(
            Instant::now() < deadline,
            "the new topic never took a record"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (broker, client)
}

fn partition_dirs(broker: &Broker) -> usize {
    std::fs::read_dir(broker.data_dir())
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(TOPIC))
        .count()
}

/// The broker still answers, and still holds the acknowledged record.
fn serves_on(broker: &Broker) {
    let mut fresh = broker.raw();
    let versions: ApiVersionsResponse =
        fresh.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0);
    let read = broker.read_partition(TOPIC, 0, rdkafka::Offset::Beginning, 1);
    assert_eq!(weir_e2e::payloads(&read)[0].1, b"kept".to_vec());
}

/// The replayed request is refused, and memory, disk and service are as
/// they were: `before` is the broker's resident KiB before it.
fn unharmed(broker: &Broker, before_kib: u64) {
    let after_kib = broker.resident_kib();
    assert!(
        after_kib < before_kib + 8 * 1024,
        "resident memory grew from {before_kib} KiB to {after_kib} KiB"
    );
    assert_eq!(partition_dirs(broker), 1, "no partition directory was made");
    serves_on(broker);
}

#[test]
fn the_47_byte_create_partitions_request_for_8_million_partitions_is_refused() {
    let (broker, mut client) = broker_with_topic(&[]);
    let before = broker.resident_kib();
    // The report's replay, byte for byte: CreatePartitions v2, correlation
    // 5, client "rdkafka", one topic, count 0x00800004, no assignments,
    // timeout 60000, validate_only false.
    let mut frame = vec![
        0x00, 0x00, 0x00, 0x2f, 0x00, 0x25, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x07,
    ];
    frame.extend_from_slice(b"rdkafka");
    frame.extend_from_slice(&[0x00, 0x02, 0x10]);
    frame.extend_from_slice(TOPIC.as_bytes());
    frame.extend_from_slice(&[
        0x00, 0x80, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0xea, 0x60, 0x00, 0x00,
    ]);
    assert_eq!(frame.len(), 4 + 0x2f);
    client.send_raw(&frame);
    let mut response: Bytes = client.read_frame().expect("an answer, not a disconnect");
    assert_eq!(response.get_i32(), 5, "correlation id");
    response.advance(1); // flexible response header: no tagged fields
    let answer = CreatePartitionsResponse::decode(&mut response, 2).expect("decodes");
    let result = &answer.results[0];
    assert_eq!(result.error_code, POLICY_VIOLATION);
    assert_eq!(
        result.error_message.as_deref(),
        Some("Unable to perform excessively large batch operation.")
    );
    // Every request that lists metadata used to cost hundreds of MiB more.
    for _ in 0..20 {
        let all = broker
            .consumer()
            .fetch_metadata(None, Duration::from_secs(10))
            .expect("metadata");
        let ours = all.topics().iter().find(|t| t.name() == TOPIC).unwrap();
        assert_eq!(ours.partitions().len(), 1);
    }
    unharmed(&broker, before);
}

#[test]
fn create_topics_over_kafkas_partition_cap_is_refused_whole() {
    let (broker, mut client) = broker_with_topic(&[]);
    let before = broker.resident_kib();
    let huge = create_topics(&mut client, vec![topic("huge", 0x0080_0004)]);
    assert_eq!(huge.topics[0].error_code, POLICY_VIOLATION);
    assert_eq!(
        huge.topics[0].error_message.as_deref(),
        Some("Excessively large number of partitions per request.")
    );
    // Two topics each under the cap, together over it: both refused, as
    // Kafka counts the whole request.
    let pair = create_topics(
        &mut client,
        vec![topic("half-a", 6_000), topic("half-b", 6_000)],
    );
    assert!(pair.topics.iter().all(|t| t.error_code == POLICY_VIOLATION));
    // The same shape with explicit assignments.
    let assignments = (0..10_001)
        .map(|p| {
            CreatableReplicaAssignment::default()
                .with_partition_index(p)
                .with_broker_ids(vec![BrokerId(0)])
        })
        .collect();
    let assigned = create_topics(
        &mut client,
        vec![CreatableTopic::default()
            .with_name(name("assigned"))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)],
    );
    assert_eq!(assigned.topics[0].error_code, POLICY_VIOLATION);
    let metadata = broker
        .consumer()
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    for refused in ["huge", "half-a", "half-b", "assigned"] {
        assert!(
            metadata.topics().iter().all(|t| t.name() != refused),
            "{refused} was created"
        );
    }
    unharmed(&broker, before);
}

#[test]
fn create_partitions_with_assignments_and_reassignments_over_the_cap_are_refused() {
    let (broker, mut client) = broker_with_topic(&[]);
    let before = broker.resident_kib();
    let assignments = (0..10_001)
        .map(|_| CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(0)]))
        .collect();
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name(TOPIC))
            .with_count(10_002)
            .with_assignments(Some(assignments))])
        .with_timeout_ms(30_000);
    let answer: CreatePartitionsResponse = client.call(ApiKey::CreatePartitions, 2, &request);
    assert_eq!(answer.results[0].error_code, POLICY_VIOLATION);

    let partitions = (0..10_001)
        .map(|p| {
            ReassignablePartition::default()
                .with_partition_index(p)
                .with_replicas(Some(vec![BrokerId(0)]))
        })
        .collect();
    let request = AlterPartitionReassignmentsRequest::default()
        .with_topics(vec![ReassignableTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(partitions)])
        .with_timeout_ms(30_000);
    let answer: AlterPartitionReassignmentsResponse =
        client.call(ApiKey::AlterPartitionReassignments, 0, &request);
    assert_eq!(answer.error_code, POLICY_VIOLATION);
    assert_eq!(
        answer.error_message.as_deref(),
        Some("Unable to perform excessively large batch operation.")
    );
    unharmed(&broker, before);
}

#[test]
fn a_broker_holds_no_more_partitions_than_its_ceiling() {
    let (broker, mut client) = broker_with_topic(&["--override", "offsets.topic.num.partitions=1"]);
    // The reader's group coordinator makes __consumer_offsets: 2 held.
    serves_on(&broker);
    const BROKER: i8 = 4;
    let set = client.alter_configs(
        BROKER,
        "",
        &[("weir.max.partitions.per.broker", 0, Some("20"))],
    );
    assert_eq!(set.error_code, 0, "{:?}", set.error_message);
    let described = client.describe_configs(BROKER, "0", Some(&["weir.max.partitions.per.broker"]));
    assert_eq!(
        described.configs[0].value.as_deref(),
        Some("20"),
        "the ceiling is described back"
    );
    let before = broker.resident_kib();
    // Holding 2: 18 more fit, 19 do not.
    let over = create_topics(&mut client, vec![topic("over", 19)]);
    assert_eq!(over.topics[0].error_code, POLICY_VIOLATION);
    let message = over.topics[0].error_message.as_deref().unwrap_or("");
    assert!(
        message.contains("weir.max.partitions.per.broker=20"),
        "{message}"
    );
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name(TOPIC))
            .with_count(21)
            .with_assignments(None)])
        .with_timeout_ms(30_000);
    let grown: CreatePartitionsResponse = client.call(ApiKey::CreatePartitions, 2, &request);
    assert_eq!(grown.results[0].error_code, POLICY_VIOLATION);
    unharmed(&broker, before);

    let fits = create_topics(&mut client, vec![topic("fits", 18)]);
    assert_eq!(fits.topics[0].error_code, 0, "{:?}", fits.topics[0]);
    let refused = create_topics(&mut client, vec![topic("one-more", 1)]);
    assert_eq!(refused.topics[0].error_code, POLICY_VIOLATION);
    let bad = client.alter_configs(
        BROKER,
        "",
        &[("weir.max.partitions.per.broker", 0, Some("0"))],
    );
    assert_ne!(bad.error_code, 0, "a ceiling of 0 is not a ceiling");
}

#[test]
fn clients_out_of_descriptors_are_refused_and_served_again_once_they_close() {
    let mut broker = Broker::prepare(&[]);
    broker.limit_descriptors(256);
    broker.launch();
    broker.wait_ready();
    let log = broker.log();
    assert!(
        log.contains("file descriptor limit") && log.contains("client_ceiling"),
        "the broker logs its descriptor limit:\n{log}"
    );
    let mut first = broker.raw();
    let mut held = Vec::new();
    let refused_after = loop {
        let mut c = broker.raw();
        c.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        if c.is_closed_by_broker() {
            break held.len();
        }
        held.push(c);
        assert!(held.len() < 256, "the broker never refused a connection");
    };
    println!(
        "refused after {refused_after} connections; the broker holds {} descriptors",
        broker.open_descriptors()
    );
    assert!(
        refused_after > 100,
        "only {refused_after} connections admitted"
    );
    let versions: ApiVersionsResponse =
        first.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(
        versions.error_code, 0,
        "an existing connection keeps working"
    );
    let (status, _) = broker.http_get("/healthz").expect("health check answered");
    assert_eq!(status, 200, "health checks still get a descriptor");
    held.clear();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut again = broker.raw();
        again.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        if let Some(r) = again.receive::<ApiVersionsResponse>(ApiKey::ApiVersions, 3) {
            assert_eq!(r.error_code, 0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new connections were never accepted again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(broker.log().contains("accepting connections"));
}
