//! Faults under load: an idempotent acks=all producer writes while brokers
//! are killed, stopped or restarted; every acknowledged record must be read
//! back exactly once, at the offset it was acknowledged at.

use std::time::Duration;

use weir_e2e::cluster::{create_topic, Cluster};
use weir_e2e::workload::{assert_nothing_lost, verify, Outcome, Workload};

const TOPIC: &str = "faults";
const PARTITIONS: i32 = 3;

fn cluster_with_topic() -> Cluster {
    let cluster = Cluster::start(3, 3, &[]);
    create_topic(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        3,
        &[("min.insync.replicas", "2")],
    );
    cluster
}

/// The test's load: a record every 2 ms over every partition.
fn load_on(cluster: &Cluster) -> Workload {
    Workload::start(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        Duration::from_millis(2),
    )
}

/// Stops the load, reads everything back and requires that no acknowledged
/// record was lost, duplicated or moved.
fn nothing_lost_after(cluster: &Cluster, load: Workload) -> Outcome {
    let outcome = load.finish();
    assert_nothing_lost(&verify(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        &outcome,
        Duration::from_secs(60),
    ));
    outcome
}

/// SIGKILLs the leader of partition 0 (as broker `from` sees it), waits
/// until another broker leads it, and returns the killed broker.
fn kill_leader_of_partition_0(cluster: &mut Cluster, from: usize) -> usize {
    let leader = leader_of_partition_0(cluster, from);
    cluster.brokers[leader].kill9();
    let other = (leader + 1) % 3;
    cluster.wait_until(
        "another broker leads partition 0",
        Duration::from_secs(30),
        |c| {
            c.partition_view(other, TOPIC, 0)
                .is_some_and(|v| v.leader >= 0 && v.leader != leader as i32)
        },
    );
    leader
}

fn leader_of_partition_0(cluster: &Cluster, from: usize) -> usize {
    let view = cluster.partition_view(from, TOPIC, 0).expect("metadata");
    usize::try_from(view.leader).expect("partition 0 has a leader")
}

#[test]
fn killing_a_partition_leader_loses_no_acknowledged_record() {
    let mut cluster = cluster_with_topic();
    let load = load_on(&cluster);
    for round in 0..2 {
        std::thread::sleep(Duration::from_secs(2));
        let leader = kill_leader_of_partition_0(&mut cluster, (round + 1) % 3);
        let other = (leader + 1) % 3;
        std::thread::sleep(Duration::from_secs(1));
        cluster.brokers[leader].start_again();
        cluster.wait_until(
            "the old leader is back in the ISR",
            Duration::from_secs(30),
            |c| {
                c.partition_view(other, TOPIC, 0)
                    .is_some_and(|v| v.isr.len() == 3)
            },
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    nothing_lost_after(&cluster, load);
}

#[test]
fn killing_the_controller_loses_no_acknowledged_record() {
    let mut cluster = cluster_with_topic();
    let load = load_on(&cluster);
    std::thread::sleep(Duration::from_secs(2));
    let controller = usize::try_from(cluster.controller(0).expect("controller")).expect("id");
    cluster.brokers[controller].kill9();
    let survivor = (controller + 1) % 3;
    cluster.wait_until("a new controller", Duration::from_secs(30), |c| {
        c.controller(survivor)
            .is_some_and(|id| id != controller as i32)
    });
    std::thread::sleep(Duration::from_secs(2));
    cluster.brokers[controller].start_again();
    std::thread::sleep(Duration::from_secs(2));
    nothing_lost_after(&cluster, load);
}

#[test]
fn two_rolling_restarts_with_sigterm_fail_no_request() {
    let mut cluster = cluster_with_topic();
    let load = load_on(&cluster);
    // Two rounds, as a version roll followed by a config roll: followers
    // then truncate more than once in one run, which once cut valid batches.
    for b in [0, 1, 2, 0, 1, 2] {
        std::thread::sleep(Duration::from_secs(1));
        cluster.brokers[b].stop();
        cluster.brokers[b].start_again();
        cluster.wait_until("every ISR is whole again", Duration::from_secs(30), |c| {
            (0..PARTITIONS).all(|p| {
                c.partition_view(b, TOPIC, p)
                    .is_some_and(|v| v.isr.len() == 3 && v.leader >= 0)
            })
        });
    }
    let outcome = nothing_lost_after(&cluster, load);
    assert_eq!(outcome.failed, 0, "{:?}", outcome.errors);
}

#[test]
fn killing_every_broker_at_once_and_restarting_loses_no_acknowledged_record() {
    let mut cluster = cluster_with_topic();
    let load = load_on(&cluster);
    std::thread::sleep(Duration::from_secs(2));
    for b in &mut cluster.brokers {
        b.kill9();
    }
    std::thread::sleep(Duration::from_millis(500));
    for b in &mut cluster.brokers {
        b.launch();
    }
    for b in &mut cluster.brokers {
        b.wait_ready();
    }
    std::thread::sleep(Duration::from_secs(3));
    nothing_lost_after(&cluster, load);
}

#[test]
fn a_paused_leader_is_replaced_and_acknowledges_nothing_it_loses_on_return() {
    let cluster = cluster_with_topic();
    let load = load_on(&cluster);
    std::thread::sleep(Duration::from_secs(2));
    let leader = leader_of_partition_0(&cluster, 0);
    let pid = cluster.brokers[leader].pid().expect("running");
    signal("STOP", pid);
    let other = (leader + 1) % 3;
    cluster.wait_until(
        "a new leader while the old one is paused",
        Duration::from_secs(30),
        |c| {
            c.partition_view(other, TOPIC, 0)
                .is_some_and(|v| v.leader >= 0 && v.leader != leader as i32)
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    // It wakes believing it still leads; it must learn otherwise before
    // acknowledging anything, and cut whatever it wrote alone.
    signal("CONT", pid);
    cluster.wait_until(
        "the paused broker is back in the ISR",
        Duration::from_secs(30),
        |c| {
            c.partition_view(other, TOPIC, 0)
                .is_some_and(|v| v.isr.len() == 3)
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    nothing_lost_after(&cluster, load);
}

fn signal(name: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

#[test]
fn committed_offsets_survive_a_coordinator_failover() {
    use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, FindCoordinatorResponse};
    use kafka_protocol::protocol::StrBytes;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};

    let mut cluster = cluster_with_topic();
    let consumer = |bootstrap: &str| -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "survivors")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer")
    };
    let mut offsets = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        offsets
            .add_partition_offset(TOPIC, p, Offset::Offset(i64::from(p) * 10 + 7))
            .expect("offset");
    }
    let first = consumer(&cluster.bootstrap());
    first.commit(&offsets, CommitMode::Sync).expect("commit");
    drop(first);

    let mut raw = weir_e2e::RawClient::connect(&cluster.brokers[0].bootstrap());
    let request =
        FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("survivors"));
    let found: FindCoordinatorResponse = raw.call(ApiKey::FindCoordinator, 2, &request);
    let coordinator = usize::try_from(found.node_id.0).expect("a coordinator");
    cluster.brokers[coordinator].kill9();
    let survivor = (coordinator + 1) % 3;
    let bootstrap = cluster.brokers[survivor].bootstrap();
    cluster.wait_until(
        "another broker coordinates the group",
        Duration::from_secs(30),
        |c| {
            let mut raw = weir_e2e::RawClient::connect(&c.brokers[survivor].bootstrap());
            let found: FindCoordinatorResponse = raw.call(ApiKey::FindCoordinator, 2, &request);
            found.error_code == 0 && found.node_id.0 >= 0 && found.node_id.0 != coordinator as i32
        },
    );

    let second = consumer(&bootstrap);
    let mut asked = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        asked.add_partition(TOPIC, p);
    }
    let committed = second
        .committed_offsets(asked, Duration::from_secs(20))
        .expect("committed offsets");
    for p in 0..PARTITIONS {
        let offset = committed
            .find_partition(TOPIC, p)
            .map(|e| e.offset())
            .expect("partition");
        assert_eq!(
            offset,
            Offset::Offset(i64::from(p) * 10 + 7),
            "partition {p}"
        );
    }
}

#[test]
fn killing_a_leader_under_a_kafka_python_producer_loses_no_acknowledged_record() {
    use weir_e2e::process::Process;

    let mut cluster = cluster_with_topic();
    let out = tempfile::tempdir().expect("tempdir");
    let report = out.path().join("delivered.txt");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("kafka_python_fault_producer.py");
    let mut producer = Process::spawn(
        std::process::Command::new("python3")
            .arg(&script)
            .arg(cluster.bootstrap())
            .arg(TOPIC)
            .arg(PARTITIONS.to_string())
            .arg("14")
            .arg(&report),
        "kafka-python producer",
    );
    std::thread::sleep(Duration::from_secs(3));
    let leader = kill_leader_of_partition_0(&mut cluster, 0);
    std::thread::sleep(Duration::from_secs(1));
    cluster.brokers[leader].start_again();
    let status = producer
        .wait_exit(Duration::from_secs(180))
        .expect("the kafka-python producer finishes");
    assert!(status.success(), "the kafka-python producer failed");
    let outcome = Outcome::from_lines(&std::fs::read_to_string(&report).expect("its report"));
    assert_nothing_lost(&verify(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        &outcome,
        Duration::from_secs(60),
    ));
}

#[test]
fn a_follower_far_behind_catches_up_from_the_log_start_under_load() {
    use std::collections::HashMap;
    use weir_e2e::workload::verify_above_log_start;

    // Small segments, little retention and a quick retention check: while
    // the follower is down, the leaders delete what it has not fetched.
    let mut cluster = Cluster::start(3, 3, &["--override", "log.retention.check.interval.ms=500"]);
    create_topic(
        &cluster.bootstrap(),
        "behind",
        PARTITIONS,
        3,
        &[
            ("min.insync.replicas", "2"),
            // Segments hold the producer's largest batch (its backlog while
            // a partition fails over), or Kafka refuses the batch.
            ("segment.bytes", "65536"),
            ("retention.bytes", "131072"),
            ("retention.ms", "-1"),
        ],
    );
    let load = Workload::start(
        &cluster.bootstrap(),
        "behind",
        PARTITIONS,
        Duration::from_millis(2),
    );
    std::thread::sleep(Duration::from_secs(2));
    cluster.brokers[2].kill9();
    let starts = |c: &Cluster| -> HashMap<i32, i64> {
        let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap())
            .create()
            .expect("consumer");
        (0..PARTITIONS)
            .filter_map(|p| {
                use rdkafka::consumer::Consumer;
                consumer
                    .fetch_watermarks("behind", p, Duration::from_secs(5))
                    .ok()
                    .map(|(low, _)| (p, low))
            })
            .collect()
    };
    // What the dead follower holds, read off its own disk: the leaders'
    // log start must pass it, so it can only catch up from there.
    let follower_ends: HashMap<i32, i64> = (0..PARTITIONS)
        .map(|p| {
            let dir = cluster.brokers[2].data_dir().join(format!("behind-{p}"));
            (p, log_end_on_disk(&dir))
        })
        .collect();
    cluster.wait_until(
        "retention deletes what the follower missed",
        Duration::from_secs(60),
        |c| {
            let now = starts(c);
            (0..PARTITIONS).all(|p| now.get(&p).is_some_and(|start| *start > follower_ends[&p]))
        },
    );
    cluster.brokers[2].start_again();
    cluster.wait_until(
        "the follower is back in every ISR",
        Duration::from_secs(60),
        |c| {
            (0..PARTITIONS).all(|p| {
                c.partition_view(0, "behind", p)
                    .is_some_and(|v| v.isr.len() == 3 && v.leader >= 0)
            })
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    let outcome = load.finish();
    // Retention settles on what the last records left (checked every 0.5 s).
    std::thread::sleep(Duration::from_secs(2));
    let log_start = starts(&cluster);
    let verdict = verify_above_log_start(
        &cluster.bootstrap(),
        "behind",
        PARTITIONS,
        &outcome,
        Duration::from_secs(60),
        &log_start,
    );
    assert_nothing_lost(&verdict);
}

/// The log end offset of the partition log in `dir`, read from its last
/// segment's batch headers (base offset at byte 0, length at 8, last
/// offset delta at 23): what the broker holds, whatever it is told.
fn log_end_on_disk(dir: &std::path::Path) -> i64 {
    let mut segments: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    let mut end = 0;
    for segment in segments {
        let bytes = std::fs::read(&segment).expect("segment");
        let mut at = 0;
        while at + 27 <= bytes.len() {
            let base = i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
            let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
            let delta = i32::from_be_bytes(bytes[at + 23..at + 27].try_into().expect("4 bytes"));
            let Ok(len) = usize::try_from(len) else { break };
            // Shorter than a v2 batch header: preallocated zeros, not a batch.
            if len < 49 || at + 12 + len > bytes.len() {
                break;
            }
            end = base + i64::from(delta) + 1;
            at += 12 + len;
        }
    }
    end
}
