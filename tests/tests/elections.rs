//! Leader elections with Kafka's admin API (ElectLeaders) and automatic
//! preferred-leader balancing: a broker that returns after a failure gets
//! its leadership back, and a leaderless partition can be given an unclean
//! leader when asked.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use weir_e2e::cluster::{create_topic_on, Cluster};
use weir_e2e::RawClient;

fn create_on(cluster: &Cluster, topic: &str, replicas: &[i32]) {
    create_topic_on(&cluster.bootstrap(), topic, replicas, &[]);
}

/// Asks broker `via` for an election (0 preferred, 1 unclean) of partition
/// 0 of `topic`; returns its error code.
fn elect(cluster: &Cluster, via: usize, kind: i8, topic: &str) -> i16 {
    let mut client = RawClient::connect(&cluster.brokers[via].bootstrap());
    let request = ElectLeadersRequest::default()
        .with_election_type(kind)
        .with_timeout_ms(20_000)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![0])]));
    let response: ElectLeadersResponse = client.call(ApiKey::ElectLeaders, 2, &request);
    assert_eq!(response.error_code, 0, "{response:?}");
    response.replica_election_results[0].partition_result[0].error_code
}

fn leader(cluster: &Cluster, via: usize, topic: &str) -> Option<i32> {
    cluster.partition_view(via, topic, 0).map(|v| v.leader)
}

/// Kills broker 0 (the preferred leader), waits until broker 1 leads, and
/// brings broker 0 back into the ISR.
fn fail_over_and_return(cluster: &mut Cluster, topic: &str) {
    cluster.brokers[0].kill9();
    cluster.wait_until("broker 1 leads", Duration::from_secs(30), |c| {
        leader(c, 1, topic) == Some(1)
    });
    cluster.brokers[0].start_again();
    cluster.wait_until("broker 0 is back in sync", Duration::from_secs(30), |c| {
        c.partition_view(1, topic, 0)
            .is_some_and(|v| v.isr.len() == 3)
    });
}

#[test]
fn a_preferred_election_gives_a_returned_broker_its_leadership_back() {
    let mut cluster = Cluster::start(3, 3, &["--override", "auto.leader.rebalance.enable=false"]);
    create_on(&cluster, "preferred", &[0, 1, 2]);
    fail_over_and_return(&mut cluster, "preferred");
    assert_eq!(leader(&cluster, 1, "preferred"), Some(1));

    assert_eq!(elect(&cluster, 2, 0, "preferred"), 0);
    cluster.wait_until("broker 0 leads again", Duration::from_secs(10), |c| {
        leader(c, 2, "preferred") == Some(0)
    });
    assert_eq!(
        elect(&cluster, 2, 0, "preferred"),
        ResponseError::ElectionNotNeeded.code()
    );
    assert_eq!(
        elect(&cluster, 2, 0, "absent"),
        ResponseError::UnknownTopicOrPartition.code()
    );
}

#[test]
fn automatic_balancing_moves_leadership_back_to_the_preferred_replica() {
    let mut cluster = Cluster::start(
        3,
        3,
        &["--override", "leader.imbalance.check.interval.seconds=1"],
    );
    create_on(&cluster, "balanced", &[0, 1, 2]);
    fail_over_and_return(&mut cluster, "balanced");
    cluster.wait_until(
        "the controller hands leadership back to broker 0",
        Duration::from_secs(30),
        |c| leader(c, 1, "balanced") == Some(0),
    );
}

#[test]
fn an_unclean_election_gives_a_leaderless_partition_an_out_of_sync_leader() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "unclean", &[2, 3]);
    // The follower goes first and leaves the ISR; then the leader.
    cluster.brokers[3].kill9();
    cluster.wait_until(
        "the ISR shrinks to broker 2",
        Duration::from_secs(30),
        |c| {
            c.partition_view(0, "unclean", 0)
                .is_some_and(|v| v.isr == vec![2])
        },
    );
    cluster.brokers[2].kill9();
    cluster.brokers[3].start_again();
    cluster.wait_until("the partition is offline", Duration::from_secs(30), |c| {
        leader(c, 0, "unclean") == Some(-1)
    });
    // A preferred election cannot help; an unclean one can.
    assert_eq!(
        elect(&cluster, 0, 0, "unclean"),
        ResponseError::PreferredLeaderNotAvailable.code()
    );
    assert_eq!(elect(&cluster, 0, 1, "unclean"), 0);
    cluster.wait_until("broker 3 leads", Duration::from_secs(10), |c| {
        c.partition_view(0, "unclean", 0)
            .is_some_and(|v| v.leader == 3 && v.isr == vec![3])
    });
}
