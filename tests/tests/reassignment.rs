//! Partition reassignment (KIP-455) with Kafka's own admin APIs: a move
//! under an idempotent acks=all load loses nothing, a move in flight can be
//! cancelled, survives a controller SIGKILL, and bad targets get Kafka's
//! errors.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_response::OngoingPartitionReassignment;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use weir_e2e::cluster::{admin, block_on, Cluster};
use weir_e2e::workload::{verify, Workload};
use weir_e2e::RawClient;

/// Creates `topic` with one partition on exactly `replicas`.
fn create_on(cluster: &Cluster, topic: &str, replicas: &[i32]) {
    let admin = admin(&cluster.bootstrap());
    let assignment = [replicas];
    let new = NewTopic::new(topic, 1, TopicReplication::Variable(&assignment))
        .set("min.insync.replicas", "2");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for r in block_on(admin.create_topics([&new], &options)).expect("create") {
        r.expect("created");
    }
}

/// Asks broker `via` to move partition 0 of `topic` to `target` (`None`
/// cancels); returns the partition's error code.
fn reassign(cluster: &Cluster, via: usize, topic: &str, target: Option<&[i32]>) -> i16 {
    let mut client = RawClient::connect(&cluster.brokers[via].bootstrap());
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ReassignablePartition::default()
                .with_partition_index(0)
                .with_replicas(
                    target.map(|t| t.iter().copied().map(BrokerId).collect()),
                )])]);
    let response: AlterPartitionReassignmentsResponse =
        client.call(ApiKey::AlterPartitionReassignments, 0, &request);
    assert_eq!(response.error_code, 0, "{response:?}");
    response.responses[0].partitions[0].error_code
}

/// The move of partition 0 of `topic` in flight, as broker `via` lists it.
fn in_flight(cluster: &Cluster, via: usize, topic: &str) -> Option<OngoingPartitionReassignment> {
    let mut client = RawClient::connect(&cluster.brokers[via].bootstrap());
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(None);
    let response: ListPartitionReassignmentsResponse =
        client.call(ApiKey::ListPartitionReassignments, 0, &request);
    response
        .topics
        .into_iter()
        .find(|t| t.name.0.as_str() == topic)
        .and_then(|mut t| t.partitions.pop())
}

fn ids(v: &[BrokerId]) -> Vec<i32> {
    v.iter().map(|b| b.0).collect()
}

fn wait_replicas(cluster: &Cluster, via: usize, topic: &str, replicas: &[i32]) {
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    cluster.wait_until(
        &format!("{topic}-0 has replicas {replicas:?}, all in sync"),
        Duration::from_secs(60),
        |c| {
            in_flight(c, via, topic).is_none()
                && c.partition_view(via, topic, 0).is_some_and(|v| {
                    v.replicas == replicas && v.isr == sorted && replicas.contains(&v.leader)
                })
        },
    );
}

#[test]
fn moving_a_partition_to_another_broker_under_load_loses_nothing() {
    let cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "moved", &[0, 1, 2]);
    let load = Workload::start(&cluster.bootstrap(), "moved", 1, Duration::from_millis(2));
    std::thread::sleep(Duration::from_secs(2));

    assert_eq!(reassign(&cluster, 3, "moved", Some(&[1, 2, 3])), 0);
    wait_replicas(&cluster, 3, "moved", &[1, 2, 3]);
    // The removed replica deleted its copy.
    cluster.wait_until("broker 0 deletes its copy", Duration::from_secs(30), |c| {
        !c.brokers[0].data_dir().join("moved-0").exists()
    });
    std::thread::sleep(Duration::from_secs(1));

    let outcome = load.finish();
    let verdict = verify(
        &cluster.bootstrap(),
        "moved",
        1,
        &outcome,
        Duration::from_secs(60),
    );
    assert!(verdict.acknowledged > 0, "{verdict:?}");
    assert_eq!(
        (verdict.lost, verdict.duplicated, verdict.moved),
        (0, 0, 0),
        "{verdict:?}"
    );
}

#[test]
fn a_move_in_flight_is_listed_and_can_be_cancelled() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "cancelled", &[0, 1, 2]);
    // Broker 3 is down: the move cannot finish until it returns.
    cluster.brokers[3].kill9();
    assert_eq!(reassign(&cluster, 0, "cancelled", Some(&[1, 2, 3])), 0);
    cluster.wait_until("broker 1 lists the move", Duration::from_secs(10), |c| {
        in_flight(c, 1, "cancelled").is_some()
    });
    let listed = in_flight(&cluster, 1, "cancelled").expect("the move is listed");
    assert_eq!(ids(&listed.replicas), vec![1, 2, 3, 0]);
    assert_eq!(ids(&listed.adding_replicas), vec![3]);
    assert_eq!(ids(&listed.removing_replicas), vec![0]);

    assert_eq!(reassign(&cluster, 1, "cancelled", None), 0);
    // The original replicas, in the order the move listed them (as Kafka).
    wait_replicas(&cluster, 0, "cancelled", &[1, 2, 0]);
    // Nothing is left to cancel.
    assert_eq!(
        reassign(&cluster, 1, "cancelled", None),
        ResponseError::NoReassignmentInProgress.code()
    );
    // The returning broker holds no copy of it.
    cluster.brokers[3].start_again();
    std::thread::sleep(Duration::from_secs(2));
    assert!(!cluster.brokers[3].data_dir().join("cancelled-0").exists());
}

#[test]
fn a_move_survives_a_controller_sigkill() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "resumed", &[0, 1, 2]);
    cluster.brokers[3].kill9();
    assert_eq!(reassign(&cluster, 0, "resumed", Some(&[1, 2, 3])), 0);
    let controller = usize::try_from(cluster.controller(0).expect("controller")).expect("id");
    cluster.brokers[controller].kill9();
    let survivor = (controller + 1) % 3;
    cluster.wait_until("a new controller", Duration::from_secs(30), |c| {
        c.controller(survivor)
            .is_some_and(|id| id >= 0 && id != controller as i32)
    });
    // The move is in the metadata log: the new controller finishes it once
    // broker 3 is back and caught up.
    assert!(in_flight(&cluster, survivor, "resumed").is_some());
    cluster.brokers[3].start_again();
    cluster.brokers[controller].start_again();
    wait_replicas(&cluster, survivor, "resumed", &[1, 2, 3]);
}

#[test]
fn bad_reassignments_get_kafkas_errors_and_change_nothing() {
    let cluster = Cluster::start(3, 3, &[]);
    create_on(&cluster, "kept", &[0, 1, 2]);
    let invalid = ResponseError::InvalidReplicaAssignment.code();
    assert_eq!(reassign(&cluster, 0, "kept", Some(&[0, 1, 9])), invalid);
    assert_eq!(reassign(&cluster, 0, "kept", Some(&[0, 0, 1])), invalid);
    assert_eq!(reassign(&cluster, 0, "kept", Some(&[])), invalid);
    assert_eq!(
        reassign(&cluster, 0, "kept", None),
        ResponseError::NoReassignmentInProgress.code()
    );
    assert_eq!(
        reassign(&cluster, 0, "absent", Some(&[0, 1, 2])),
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert!(in_flight(&cluster, 0, "kept").is_none());
    let view = cluster.partition_view(0, "kept", 0).expect("metadata");
    assert_eq!(view.replicas, vec![0, 1, 2]);
}
