//! Partition reassignment (KIP-455) with Kafka's own admin APIs: a move
//! under an idempotent acks=all load loses nothing, a move in flight can be
//! cancelled, survives a controller SIGKILL, and bad targets get Kafka's
//! errors.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_partition_reassignments_response::OngoingPartitionReassignment;
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use weir_e2e::cluster::{create_topic_on, Cluster};
use weir_e2e::workload::{assert_nothing_lost, verify, Workload};
use weir_e2e::RawClient;

fn create_on(cluster: &Cluster, topic: &str, replicas: &[i32]) {
    create_topic_on(
        &cluster.bootstrap(),
        topic,
        replicas,
        &[("min.insync.replicas", "2")],
    );
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

    assert_eq!(cluster.reassign(3, "moved", Some(&[1, 2, 3])), 0);
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
    assert_nothing_lost(&verdict);
}

#[test]
fn a_move_in_flight_is_listed_and_can_be_cancelled() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "cancelled", &[0, 1, 2]);
    // Broker 3 is down: the move cannot finish until it returns.
    cluster.brokers[3].kill9();
    assert_eq!(cluster.reassign(0, "cancelled", Some(&[1, 2, 3])), 0);
    cluster.wait_until("broker 1 lists the move", Duration::from_secs(10), |c| {
        in_flight(c, 1, "cancelled").is_some()
    });
    let listed = in_flight(&cluster, 1, "cancelled").expect("the move is listed");
    assert_eq!(ids(&listed.replicas), vec![1, 2, 3, 0]);
    assert_eq!(ids(&listed.adding_replicas), vec![3]);
    assert_eq!(ids(&listed.removing_replicas), vec![0]);

    assert_eq!(cluster.reassign(1, "cancelled", None), 0);
    // The original replicas, in the order the move listed them (as Kafka).
    wait_replicas(&cluster, 0, "cancelled", &[1, 2, 0]);
    // Nothing is left to cancel.
    assert_eq!(
        cluster.reassign(1, "cancelled", None),
        ResponseError::NoReassignmentInProgress.code()
    );
    // The returning broker holds no copy of it: once it has applied a later
    // change (a topic placed on it alone), it has applied the cancellation
    // too, images being applied in order.
    cluster.brokers[3].start_again();
    create_on(&cluster, "marker", &[3]);
    cluster.wait_until(
        "broker 3 applies the metadata after the cancellation",
        Duration::from_secs(30),
        |c| c.brokers[3].data_dir().join("marker-0").exists(),
    );
    assert!(!cluster.brokers[3].data_dir().join("cancelled-0").exists());
}

#[test]
fn a_move_survives_a_controller_sigkill() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "resumed", &[0, 1, 2]);
    cluster.brokers[3].kill9();
    assert_eq!(cluster.reassign(0, "resumed", Some(&[1, 2, 3])), 0);
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
    assert_eq!(cluster.reassign(0, "kept", Some(&[0, 1, 9])), invalid);
    assert_eq!(cluster.reassign(0, "kept", Some(&[0, 0, 1])), invalid);
    assert_eq!(cluster.reassign(0, "kept", Some(&[])), invalid);
    assert_eq!(
        cluster.reassign(0, "kept", None),
        ResponseError::NoReassignmentInProgress.code()
    );
    assert_eq!(
        cluster.reassign(0, "absent", Some(&[0, 1, 2])),
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert!(in_flight(&cluster, 0, "kept").is_none());
    let view = cluster.partition_view(0, "kept", 0).expect("metadata");
    assert_eq!(view.replicas, vec![0, 1, 2]);
}
