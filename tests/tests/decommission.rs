//! What draining and decommissioning brokers needs, through Kafka's admin
//! APIs: dynamic broker configs (replication throttles, cordoning), a
//! throttled move that stays within its throttle, DescribeLogDirs, and
//! UnregisterBroker refusing a broker that still holds replicas.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeLogDirsRequest, DescribeLogDirsResponse, DescribeQuorumRequest,
    DescribeQuorumResponse, TopicName, UnregisterBrokerRequest, UnregisterBrokerResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use weir_e2e::cluster::{admin, block_on, create_topic_on, Cluster};
use weir_e2e::{record_batch, RawClient};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

fn create_on(cluster: &Cluster, topic: &str, replicas: &[i32]) {
    create_topic_on(&cluster.bootstrap(), topic, replicas, &[]);
}

/// Sets configs with IncrementalAlterConfigs through broker `via`; returns
/// the resource's error code.
fn set_configs(
    cluster: &Cluster,
    via: usize,
    kind: i8,
    name: &str,
    configs: &[(&str, &str)],
) -> i16 {
    let ops: Vec<(&str, i8, Option<&str>)> =
        configs.iter().map(|(k, v)| (*k, 0, Some(*v))).collect();
    RawClient::connect(&cluster.brokers[via].bootstrap())
        .alter_configs(kind, name, &ops)
        .error_code
}

fn wait_replicas(cluster: &Cluster, topic: &str, replicas: &[i32], within: Duration) {
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    cluster.wait_until(&format!("{topic} moves to {replicas:?}"), within, |c| {
        c.partition_view(0, topic, 0)
            .is_some_and(|v| v.replicas == replicas && v.isr == sorted)
    });
}

/// Fills partition 0 of `topic` with `batches` batches of ten 10 KB records.
fn fill(cluster: &Cluster, topic: &str, batches: usize) -> u64 {
    let leader = cluster
        .partition_view(0, topic, 0)
        .expect("metadata")
        .leader;
    let mut client = RawClient::connect(&cluster.brokers[leader as usize].bootstrap());
    let value = vec![b'x'; 10_000];
    let values: Vec<&[u8]> = (0..10).map(|_| value.as_slice()).collect();
    for _ in 0..batches {
        let r = client.produce(topic, 0, record_batch(&values, None));
        assert_eq!(r.error_code, 0, "{r:?}");
    }
    (batches * 10 * 10_000) as u64
}

#[test]
fn a_throttled_move_replicates_within_the_throttle() {
    let cluster = Cluster::start(4, 3, &[]);
    // 1 MB/s for every broker (the cluster default), both sides, on every
    // replica of the topic that is out of sync.
    const RATE: u64 = 1_000_000;
    // The control: the same move unthrottled goes faster than the throttle
    // allows, so the bound below fails if the throttle does nothing.
    create_on(&cluster, "light", &[0, 1, 2]);
    let free_bytes = fill(&cluster, "light", 60);
    let started = Instant::now();
    assert_eq!(cluster.reassign(0, "light", Some(&[1, 2, 3])), 0);
    wait_replicas(&cluster, "light", &[1, 2, 3], Duration::from_secs(60));
    let free_rate = free_bytes as f64 / started.elapsed().as_secs_f64();
    println!("unthrottled: {free_rate:.0} B/s");
    assert!(
        free_rate > 2.0 * RATE as f64,
        "the unthrottled move ({free_rate:.0} B/s) is too slow to tell a throttle from none"
    );

    create_on(&cluster, "heavy", &[0, 1, 2]);
    let bytes = fill(&cluster, "heavy", 60);
    for key in [
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
    ] {
        assert_eq!(set_configs(&cluster, 0, BROKER, "", &[(key, "1000000")]), 0);
    }
    assert_eq!(
        set_configs(
            &cluster,
            0,
            TOPIC,
            "heavy",
            &[
                ("leader.replication.throttled.replicas", "*"),
                ("follower.replication.throttled.replicas", "*"),
            ]
        ),
        0
    );
    let started = Instant::now();
    assert_eq!(cluster.reassign(0, "heavy", Some(&[1, 2, 3])), 0);
    wait_replicas(&cluster, "heavy", &[1, 2, 3], Duration::from_secs(60));
    let elapsed = started.elapsed().as_secs_f64();
    let rate = bytes as f64 / elapsed;
    println!("moved {bytes} bytes in {elapsed:.1} s: {rate:.0} B/s under a {RATE} B/s throttle");
    // One second's burst may go at once; the rest waits for the throttle.
    assert!(
        bytes as f64 <= RATE as f64 * (elapsed + 1.5),
        "{rate:.0} B/s exceeds the throttle of {RATE} B/s"
    );
}

#[test]
fn broker_configs_change_live_and_static_ones_are_refused() {
    let cluster = Cluster::start(3, 3, &[]);
    assert_eq!(
        set_configs(
            &cluster,
            1,
            BROKER,
            "2",
            &[("leader.replication.throttled.rate", "5000")]
        ),
        0
    );
    assert_eq!(
        set_configs(&cluster, 0, BROKER, "2", &[("num.partitions", "7")]),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        set_configs(
            &cluster,
            0,
            BROKER,
            "2",
            &[("leader.replication.throttled.rate", "lots")]
        ),
        ResponseError::InvalidConfig.code()
    );
    // Broker 2 reports it as a dynamic broker config.
    let mut client = RawClient::connect(&cluster.brokers[2].bootstrap());
    cluster.wait_until(
        "broker 2 sees its new config",
        Duration::from_secs(10),
        |_| {
            let described =
                client.describe_configs(BROKER, "2", Some(&["leader.replication.throttled.rate"]));
            described.configs.iter().any(|c| {
                c.value.as_ref().is_some_and(|v| v.as_str() == "5000") && c.config_source == 2
            })
        },
    );
}

#[test]
fn a_cordoned_broker_gets_no_new_replicas() {
    let cluster = Cluster::start(3, 3, &[]);
    assert_eq!(
        set_configs(&cluster, 0, BROKER, "2", &[("cordoned.log.dirs", "*")]),
        0
    );
    let admin = admin(&cluster.bootstrap());
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let three = NewTopic::new("three", 1, TopicReplication::Fixed(3));
    let refused = block_on(admin.create_topics([&three], &options)).expect("answer");
    assert!(refused[0].is_err(), "{refused:?}");
    let two = NewTopic::new("two", 4, TopicReplication::Fixed(2));
    for r in block_on(admin.create_topics([&two], &options)).expect("answer") {
        r.expect("created");
    }
    // Broker 0 learns of the new topic from the metadata log a moment later.
    cluster.wait_until("broker 0 knows topic two", Duration::from_secs(10), |c| {
        (0..4).all(|p| c.partition_view(0, "two", p).is_some())
    });
    for p in 0..4 {
        let view = cluster.partition_view(0, "two", p).expect("metadata");
        assert!(!view.replicas.contains(&2), "{view:?}");
    }
}

#[test]
fn a_broker_is_unregistered_only_once_drained_and_stopped() {
    let mut cluster = Cluster::start(4, 3, &[]);
    create_on(&cluster, "held", &[1, 2, 3]);
    let bytes = fill(&cluster, "held", 2);
    let unregister = |c: &Cluster, id: i32| -> i16 {
        let mut client = RawClient::connect(&c.brokers[0].bootstrap());
        let response: UnregisterBrokerResponse = client.call(
            ApiKey::UnregisterBroker,
            0,
            &UnregisterBrokerRequest::default().with_broker_id(BrokerId(id)),
        );
        response.error_code
    };
    // DescribeLogDirs on broker 3 shows its replica and its size (once it
    // has fetched everything: under load it may have left the ISR a while).
    let mut client = RawClient::connect(&cluster.brokers[3].bootstrap());
    let describe = |client: &mut RawClient| -> DescribeLogDirsResponse {
        client.call(
            ApiKey::DescribeLogDirs,
            4,
            &DescribeLogDirsRequest::default().with_topics(None),
        )
    };
    let size = |dirs: &DescribeLogDirsResponse| -> Option<u64> {
        let held = dirs.results[0]
            .topics
            .iter()
            .find(|t| t.name.0.as_str() == "held")?;
        u64::try_from(held.partitions.first()?.partition_size).ok()
    };
    cluster.wait_until(
        "broker 3 lists its whole replica",
        Duration::from_secs(30),
        |_| size(&describe(&mut client)).is_some_and(|s| s >= bytes),
    );
    let dirs = describe(&mut client);
    let dir = &dirs.results[0];
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0, "{dir:?}");

    assert_eq!(
        unregister(&cluster, 3),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(cluster.reassign(0, "held", Some(&[0, 1, 2])), 0);
    wait_replicas(&cluster, "held", &[0, 1, 2], Duration::from_secs(30));
    // Drained but running: still refused.
    assert_eq!(
        unregister(&cluster, 3),
        ResponseError::InvalidRequest.code()
    );
    cluster.brokers[3].stop();
    cluster.wait_until("broker 3 is fenced", Duration::from_secs(30), |c| {
        c.view_from(0).is_some_and(|v| !v.brokers.contains(&3))
    });
    assert_eq!(unregister(&cluster, 3), 0);
    assert_eq!(
        unregister(&cluster, 3),
        ResponseError::BrokerIdNotRegistered.code()
    );
    // Its learner seat in the metadata quorum is gone too.
    let mut client = RawClient::connect(&cluster.brokers[0].bootstrap());
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    cluster.wait_until(
        "the quorum forgets broker 3",
        Duration::from_secs(10),
        |_| {
            let response: DescribeQuorumResponse = client.call(ApiKey::DescribeQuorum, 2, &request);
            let q = &response.topics[0].partitions[0];
            q.error_code == 0 && q.observers.iter().all(|o| o.replica_id.0 != 3)
        },
    );
}
