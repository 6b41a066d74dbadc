//! Several brokers form one cluster: one metadata quorum, one controller,
//! every broker sees every change, and losing the controller changes
//! nothing a client can see.

use std::time::Duration;

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::describe_quorum_response::ReplicaState;
use kafka_protocol::messages::{ApiKey, DescribeQuorumRequest, DescribeQuorumResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use weir_e2e::cluster::{create_topic, partitions_seen_by, Cluster};
use weir_e2e::RawClient;

#[test]
fn three_brokers_form_one_cluster_with_one_controller() {
    let cluster = Cluster::start(3, 3, &[]);
    cluster.wait_until(
        "every broker sees all three",
        Duration::from_secs(30),
        |c| (0..3).all(|i| c.view_from(i).is_some_and(|v| v.brokers == vec![0, 1, 2])),
    );
    let views: Vec<_> = (0..3)
        .map(|i| cluster.view_from(i).expect("view"))
        .collect();
    assert!(
        views.windows(2).all(|w| w[0] == w[1]),
        "brokers disagree: {views:?}"
    );
    assert!((0..3).contains(&views[0].controller), "{views:?}");

    // A topic created through a broker that is not the controller is
    // forwarded to it, and every broker learns of it.
    let not_controller = (0..3)
        .find(|i| *i as i32 != views[0].controller)
        .expect("a non-controller");
    create_topic(
        &cluster.brokers[not_controller].bootstrap(),
        "spread",
        6,
        1,
        &[],
    );
    for b in &cluster.brokers {
        assert_eq!(partitions_seen_by(b, "spread"), Some(6));
    }
}

#[test]
fn losing_the_controller_elects_another_and_admin_requests_keep_working() {
    let mut cluster = Cluster::start(3, 3, &[]);
    let first = cluster.controller(0).expect("controller");
    cluster.brokers[first as usize].kill9();
    let survivor = (0..3).find(|i| *i as i32 != first).expect("survivor");
    cluster.wait_until(
        "a new controller is elected",
        Duration::from_secs(30),
        |c| c.controller(survivor).is_some_and(|id| id != first),
    );
    let bootstrap = cluster.brokers[survivor].bootstrap();
    create_topic(&bootstrap, "after-failover", 2, 1, &[]);

    // The old controller comes back as a follower of the log and learns
    // what was decided while it was down.
    cluster.brokers[first as usize].start_again();
    let returned = &cluster.brokers[first as usize];
    assert_eq!(partitions_seen_by(returned, "after-failover"), Some(2));
}

#[test]
fn a_broker_outside_the_voters_follows_the_quorum_as_a_learner() {
    let cluster = Cluster::start(4, 3, &[]);
    cluster.wait_until("all four are registered", Duration::from_secs(30), |c| {
        c.view_from(3)
            .is_some_and(|v| v.brokers == vec![0, 1, 2, 3])
    });
    create_topic(&cluster.brokers[3].bootstrap(), "from-learner", 4, 1, &[]);
    assert_eq!(
        partitions_seen_by(&cluster.brokers[0], "from-learner"),
        Some(4)
    );

    // DescribeQuorum, asked of the learner, shows the controller's view:
    // three voters and the learner as an observer.
    let controller = cluster.controller(3).expect("controller");
    let mut client = RawClient::connect(&cluster.brokers[3].bootstrap());
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let response: DescribeQuorumResponse = client.call(ApiKey::DescribeQuorum, 2, &request);
    let quorum = &response.topics[0].partitions[0];
    assert_eq!(quorum.error_code, 0, "{response:?}");
    assert_eq!(quorum.leader_id.0, controller);
    let ids = |members: &[ReplicaState]| members.iter().map(|m| m.replica_id.0).collect::<Vec<_>>();
    assert_eq!(ids(&quorum.current_voters), vec![0, 1, 2]);
    assert_eq!(ids(&quorum.observers), vec![3]);
    assert!(quorum.high_watermark > 0);
    assert!(quorum
        .current_voters
        .iter()
        .any(|v| v.replica_id.0 == controller && v.log_end_offset >= quorum.high_watermark));
}

#[test]
fn restarting_with_another_voter_set_is_refused_and_changes_nothing() {
    // With the cluster id given, only the voter check can notice.
    let mut cluster = Cluster::start(3, 3, &["--cluster-id", "weir-voters-test"]);
    let broker = &mut cluster.brokers[2];
    broker.stop();
    let alone = format!("2@127.0.0.1:{}", broker.internal_port);
    broker.set_arg("--controller-voters", &alone);
    broker.launch();
    let (status, log) = broker
        .wait_exit(Duration::from_secs(30))
        .expect("the broker refuses to start");
    assert!(!status.success());
    assert!(
        log.contains("was formed with voters 0,1,2"),
        "no clear reason in the log:\n{log}"
    );
}

#[test]
fn repeated_elections_always_end_with_one_controller() {
    // openraft 0.9 can livelock in split votes; widely randomised election
    // timeouts must still elect a controller every time, including when
    // every voter starts at once and all become candidates together.
    let mut cluster = Cluster::start(3, 3, &[]);
    for round in 0..6 {
        if round % 2 == 0 {
            let controller = cluster.controller(0).expect("controller");
            let c = usize::try_from(controller).expect("id");
            cluster.brokers[c].kill9();
            cluster.brokers[c].start_again();
        } else {
            for b in &mut cluster.brokers {
                b.kill9();
            }
            for b in &mut cluster.brokers {
                b.launch();
            }
            for b in &mut cluster.brokers {
                b.wait_ready();
            }
        }
        cluster.wait_until(
            &format!("round {round}: all three agree on one controller"),
            Duration::from_secs(30),
            |c| {
                let seen: Vec<Option<i32>> = (0..3).map(|i| c.controller(i)).collect();
                seen[0].is_some() && seen.windows(2).all(|w| w[0] == w[1])
            },
        );
        let name = format!("after-election-{round}");
        create_topic(&cluster.brokers[round % 3].bootstrap(), &name, 1, 3, &[]);
    }
}
