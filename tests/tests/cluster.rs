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
    let voters = cluster
        .brokers
        .iter()
        .enumerate()
        .map(|(id, b)| format!("{id}@{}:{}", b.internal_host, b.internal_port))
        .collect::<Vec<_>>()
        .join(",");
    let broker = &mut cluster.brokers[2];
    broker.stop();
    let dir = broker.data_dir();
    let before = files_under(&dir);
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
    assert!(
        files_under(&dir) == before,
        "the refused start changed the data directory"
    );
    // With its own voters again it starts and rejoins as before.
    let broker = &mut cluster.brokers[2];
    broker.set_arg("--controller-voters", &voters);
    broker.start_again();
    cluster.wait_until("broker 2 rejoins", Duration::from_secs(30), |c| {
        c.view_from(0).is_some_and(|v| v.brokers.contains(&2))
    });
}

/// Every file under `dir` with its contents.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("data dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("file");
                out.insert(path, bytes);
            }
        }
    }
    out
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

/// Every file under `dir` with its length, to show a refused start wrote nothing.
fn files_of(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => out.push((path, m.len())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_data_dir_of_another_node_or_cluster_is_refused_and_left_as_it_was() {
    let mut cluster = Cluster::start(3, 3, &[]);
    create_topic(&cluster.bootstrap(), "kept", 1, 3, &[]);
    let own = cluster.brokers[2].data_dir().join("meta.properties");
    let original = std::fs::read_to_string(&own).expect("meta.properties");
    cluster.brokers[2].stop();

    // Broker 1's identity in broker 2's directory: another node's data.
    let other_node = std::fs::read_to_string(cluster.brokers[1].data_dir().join("meta.properties"))
        .expect("broker 1's meta.properties");
    // A one-broker cluster of its own with node id 2: another cluster's data.
    let mut stranger = weir_e2e::Broker::start_with(&["--node-id", "2"]);
    stranger.stop();
    let other_cluster =
        std::fs::read_to_string(stranger.data_dir().join("meta.properties")).expect("stranger's");

    for (identity, reason) in [(other_node, "node.id=1"), (other_cluster, "cluster.id=")] {
        std::fs::write(&own, &identity).expect("swap identity");
        let before = files_of(&cluster.brokers[2].data_dir());
        let broker = &mut cluster.brokers[2];
        broker.launch();
        let (status, log) = broker
            .wait_exit(Duration::from_secs(30))
            .expect("the broker refuses to start");
        assert!(!status.success());
        assert!(
            log.contains("belongs to") && log.contains(reason),
            "no clear reason ({reason}) in the log:\n{log}"
        );
        assert_eq!(files_of(&cluster.brokers[2].data_dir()), before);
    }

    // With its own identity back it rejoins and has the topic.
    std::fs::write(&own, original).expect("restore identity");
    cluster.brokers[2].start_again();
    cluster.wait_until(
        "broker 2 serves the topic again",
        Duration::from_secs(30),
        |c| partitions_seen_by(&c.brokers[2], "kept") == Some(1),
    );
}

#[test]
fn a_node_outside_the_voters_cannot_vote_or_change_the_controller() {
    // One cluster id for all, so only the voter check can refuse it.
    let cluster = Cluster::start(3, 3, &["--cluster-id", "weir-rogue-test"]);
    let epoch = |c: &Cluster| -> (i32, i32) {
        let mut client = RawClient::connect(&c.brokers[0].bootstrap());
        let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
            .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
        let response: DescribeQuorumResponse = client.call(ApiKey::DescribeQuorum, 2, &request);
        let q = &response.topics[0].partitions[0];
        (q.leader_id.0, q.leader_epoch)
    };
    let before = epoch(&cluster);

    // Node 3 claims to be a fourth voter: it forms a quorum of its own
    // idea and asks the real voters for their votes, again and again.
    let mut rogue = weir_e2e::Broker::prepare(&[]);
    let mut voters: Vec<String> = cluster
        .brokers
        .iter()
        .enumerate()
        .map(|(id, b)| format!("{id}@127.0.0.1:{}", b.internal_port))
        .collect();
    voters.push(format!("3@127.0.0.1:{}", rogue.internal_port));
    let voters = voters.join(",");
    let args: Vec<String> = [
        "--node-id",
        "3",
        "--controller-voters",
        &voters,
        "--cluster-id",
        "weir-rogue-test",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(
        weir_e2e::cluster::FAST_FAILOVER
            .iter()
            .map(|s| s.to_string()),
    )
    .collect();
    rogue.add_args(&args);
    rogue.launch();
    let (status, log) = rogue
        .wait_exit(Duration::from_secs(30))
        .expect("the controller refuses the rogue broker and it stops");
    assert!(!status.success());
    assert!(
        log.contains("this cluster's voters are 0,1,2"),
        "the rogue broker's log does not say why:\n{log}"
    );
    assert_eq!(
        epoch(&cluster),
        before,
        "the voters' term or controller changed"
    );
    create_topic(&cluster.bootstrap(), "after-rogue", 1, 3, &[]);
}
