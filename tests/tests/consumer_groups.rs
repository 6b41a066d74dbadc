//! Consumer groups with real clients: partitions shared and moved on
//! failure, committed offsets resumed after a consumer or broker restart,
//! static members rejoining without a rebalance.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, DescribeGroupsRequest, DescribeGroupsResponse, GroupId,
};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use weir_e2e::process::Process;
use weir_e2e::{close_consumer, Broker};

fn broker() -> Broker {
    Broker::start_with(&["--override", "group.initial.rebalance.delay.ms=0"])
}

async fn topic_with_records(broker: &Broker, topic: &str, partitions: i32, records: usize) {
    let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let created = broker
        .admin()
        .create_topics(&[t], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    produce(broker, topic, partitions, 0, records).await;
}

async fn produce(broker: &Broker, topic: &str, partitions: i32, from: usize, records: usize) {
    let producer = broker.producer(&[]);
    for i in from..from + records {
        let partition = i32::try_from(i).unwrap() % partitions;
        producer
            .send(
                FutureRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(&format!("{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
}

/// Polls every consumer round-robin until `done` holds, collecting payloads.
fn poll_until(
    consumers: &[&BaseConsumer],
    seen: &mut Vec<String>,
    deadline: Duration,
    mut done: impl FnMut(&[&BaseConsumer], &[String]) -> bool,
) {
    let until = Instant::now() + deadline;
    while !done(consumers, seen) {
        assert!(
            Instant::now() < until,
            "condition not reached; seen {} records",
            seen.len()
        );
        for c in consumers {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                seen.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
        }
    }
}

fn assigned(c: &BaseConsumer) -> usize {
    c.assignment().map(|a| a.count()).unwrap_or(0)
}

fn describe(broker: &Broker, group: &str) -> DescribeGroupsResponse {
    let request = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    broker.raw().call(ApiKey::DescribeGroups, 5, &request)
}

/// kcat as a balanced consumer in its own process, so it can be killed -9.
fn kcat_member(broker: &Broker, group: &str, topic: &str) -> Process {
    Process::spawn(
        Command::new("kcat")
            .args(["-b", &broker.bootstrap(), "-G", group, topic])
            .args([
                "-X",
                "session.timeout.ms=6000",
                "-X",
                "heartbeat.interval.ms=500",
            ])
            .args(["-X", "auto.offset.reset=earliest", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "kcat",
    )
}

/// A kafka-python member in its own process, so it can be stopped.
fn kafka_python_member(broker: &Broker, group: &str, topic: &str) -> Process {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("kafka_python_member.py");
    Process::spawn(
        Command::new("python3")
            .arg(script)
            .args([&broker.bootstrap(), group, topic])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "python3 with kafka-python",
    )
}

/// Partitions per member of a Stable group, as the broker reports them.
fn stable_assignment(broker: &Broker, group: &str) -> Option<Vec<usize>> {
    let described = describe(broker, group);
    let group = described.groups.first()?;
    if group.group_state.as_str() != "Stable" {
        return None;
    }
    group
        .members
        .iter()
        .map(|m| {
            let mut bytes = m.member_assignment.clone();
            if bytes.len() < 2 {
                return Some(0);
            }
            let version = bytes.get_i16();
            let assignment =
                ConsumerProtocolAssignment::decode(&mut bytes, version.clamp(0, 3)).ok()?;
            Some(
                assignment
                    .assigned_partitions
                    .iter()
                    .map(|t| t.partitions.len())
                    .sum(),
            )
        })
        .collect()
}

/// Waits until the group is Stable with exactly `members` members that each
/// hold at least one of `partitions` partitions and together hold them all.
fn wait_for_balanced_group(broker: &Broker, group: &str, members: usize, partitions: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = stable_assignment(broker, group);
        if let Some(counts) = &got {
            if counts.len() == members
                && counts.iter().all(|&c| c > 0)
                && counts.iter().sum::<usize>() == partitions
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{group} never balanced over {members} members: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn three_consumers_share_partitions_and_a_killed_ones_move_within_the_session_timeout() {
    let broker = broker();
    topic_with_records(&broker, "shared", 6, 60).await;
    let a = broker.group_consumer("sharers", &[]);
    let b = broker.group_consumer("sharers", &[]);
    a.subscribe(&["shared"]).unwrap();
    b.subscribe(&["shared"]).unwrap();
    let mut kcat = kcat_member(&broker, "sharers", "shared");

    let mut seen = Vec::new();
    poll_until(&[&a, &b], &mut seen, Duration::from_secs(60), |cs, _| {
        let (x, y) = (assigned(cs[0]), assigned(cs[1]));
        x > 0 && y > 0 && x + y == 4
    });
    let described = describe(&broker, "sharers");
    let group = &described.groups[0];
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!(group.protocol_type.as_str(), "consumer");
    assert_eq!(group.members.len(), 3);

    kcat.kill();
    let killed_at = Instant::now();
    poll_until(&[&a, &b], &mut seen, Duration::from_secs(60), |cs, _| {
        assigned(cs[0]) + assigned(cs[1]) == 6
    });
    // Moved by session expiry (6 s), not by the 5-minute rebalance timeout.
    assert!(
        killed_at.elapsed() < Duration::from_secs(30),
        "took {:?}",
        killed_at.elapsed()
    );
    assert_eq!(describe(&broker, "sharers").groups[0].members.len(), 2);

    produce(&broker, "shared", 6, 60, 60).await;
    let mut fresh = Vec::new();
    poll_until(&[&a, &b], &mut fresh, Duration::from_secs(60), |_, seen| {
        (60..120).all(|i| seen.contains(&i.to_string()))
    });
    close_consumer(a);
    close_consumer(b);
}

/// A member starved past its session (SIGSTOP) is expired and the rest take
/// its partitions; when it runs again (SIGCONT) it rejoins and the group
/// balances over both members again within one rebalance, as Kafka's does.
fn starved_member_rejoins(spawn: fn(&Broker, &str, &str) -> Process) {
    let broker = broker();
    let topic = "starved";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(topic_with_records(&broker, topic, 4, 40));
    let _steady = spawn(&broker, "starvers", topic);
    let starved = spawn(&broker, "starvers", topic);
    wait_for_balanced_group(&broker, "starvers", 2, 4);

    starved.signal("STOP");
    wait_for_balanced_group(&broker, "starvers", 1, 4);
    starved.signal("CONT");
    wait_for_balanced_group(&broker, "starvers", 2, 4);
    assert!(
        broker.log().contains("member session expired"),
        "the stopped member was expired by its session, not by a leave"
    );
}

#[test]
fn a_starved_kafka_python_member_rejoins_and_the_group_rebalances_back() {
    starved_member_rejoins(kafka_python_member);
}

#[test]
fn a_starved_librdkafka_member_rejoins_and_the_group_rebalances_back() {
    starved_member_rejoins(kcat_member);
}

#[tokio::test]
async fn a_restarted_consumer_resumes_from_its_committed_offset_with_nothing_skipped() {
    let broker = broker();
    topic_with_records(&broker, "resumable", 1, 100).await;
    let first = broker.group_consumer("resumers", &[]);
    first.subscribe(&["resumable"]).unwrap();
    let mut seen = Vec::new();
    poll_until(&[&first], &mut seen, Duration::from_secs(60), |_, seen| {
        seen.len() >= 40
    });
    let mut position = TopicPartitionList::new();
    position
        .add_partition_offset("resumable", 0, Offset::Offset(40))
        .unwrap();
    first.commit(&position, CommitMode::Sync).expect("commit");
    close_consumer(first);

    let second = broker.group_consumer("resumers", &[]);
    second.subscribe(&["resumable"]).unwrap();
    let mut rest = Vec::new();
    poll_until(&[&second], &mut rest, Duration::from_secs(60), |_, seen| {
        seen.len() >= 60
    });
    let expected: Vec<String> = (40..100).map(|i| i.to_string()).collect();
    assert_eq!(rest, expected);
    close_consumer(second);
}

#[tokio::test]
async fn committed_offsets_survive_a_broker_restart() {
    let mut broker = broker();
    topic_with_records(&broker, "durable", 3, 30).await;
    let consumer = broker.group_consumer("keepers", &[]);
    consumer.subscribe(&["durable"]).unwrap();
    let mut seen = Vec::new();
    poll_until(
        &[&consumer],
        &mut seen,
        Duration::from_secs(60),
        |_, seen| seen.len() >= 30,
    );
    let mut commits = TopicPartitionList::new();
    for (p, o) in [(0, 10), (1, 7), (2, 3)] {
        commits
            .add_partition_offset("durable", p, Offset::Offset(o))
            .unwrap();
    }
    consumer.commit(&commits, CommitMode::Sync).expect("commit");
    close_consumer(consumer);

    broker.kill9();
    broker.start_again();

    let reader = broker.group_consumer("keepers", &[]);
    let mut wanted = TopicPartitionList::new();
    for p in 0..3 {
        wanted.add_partition("durable", p);
    }
    let committed = reader
        .committed_offsets(wanted, Duration::from_secs(30))
        .expect("offsets");
    let got: Vec<(i32, Offset)> = committed
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Offset::Offset(10)),
            (1, Offset::Offset(7)),
            (2, Offset::Offset(3))
        ]
    );
}

/// Counts the rebalances a consumer goes through.
struct RebalanceCounter(Arc<AtomicUsize>);

impl ClientContext for RebalanceCounter {}

impl ConsumerContext for RebalanceCounter {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn static_member(
    broker: &Broker,
    instance: &str,
    rebalances: Arc<AtomicUsize>,
) -> BaseConsumer<RebalanceCounter> {
    let consumer: BaseConsumer<RebalanceCounter> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "statics")
        .set("group.instance.id", instance)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "20000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(RebalanceCounter(rebalances))
        .expect("static consumer");
    consumer.subscribe(&["pinned"]).unwrap();
    consumer
}

fn poll_static(consumers: &[&BaseConsumer<RebalanceCounter>], until: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !until() {
        assert!(Instant::now() < deadline, "condition not reached");
        for c in consumers {
            let _ = c.poll(Duration::from_millis(50));
        }
    }
}

#[tokio::test]
async fn a_static_member_rejoins_without_a_rebalance() {
    let broker = broker();
    topic_with_records(&broker, "pinned", 4, 8).await;
    let (a_count, b_count) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let a = static_member(&broker, "pod-a", a_count.clone());
    let b = static_member(&broker, "pod-b", b_count.clone());
    poll_static(&[&a, &b], || {
        let (x, y) = (
            a.assignment().map(|t| t.count()).unwrap_or(0),
            b.assignment().map(|t| t.count()).unwrap_or(0),
        );
        x == 2 && y == 2
    });
    let a_partitions: BTreeSet<i32> = a
        .assignment()
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect();
    let b_rebalances = b_count.load(Ordering::SeqCst);

    // A static member leaves no LeaveGroup behind: its place is kept.
    drop(a);
    let a_again = static_member(&broker, "pod-a", Arc::new(AtomicUsize::new(0)));
    // Only the returning member is polled: had its return triggered a
    // rebalance, B (whose revocation waits for its own poll) could not
    // rejoin, and the group would stay in PreparingRebalance.
    poll_static(&[&a_again], || {
        a_again.assignment().map(|t| t.count()).unwrap_or(0) == 2
    });
    let again: BTreeSet<i32> = a_again
        .assignment()
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect();
    assert_eq!(
        again, a_partitions,
        "the returning member gets its old partitions"
    );
    let described = describe(&broker, "statics");
    assert_eq!(described.groups[0].group_state.as_str(), "Stable");
    assert_eq!(described.groups[0].members.len(), 2);
    let _ = b.poll(Duration::from_millis(100));
    assert_eq!(
        b_count.load(Ordering::SeqCst),
        b_rebalances,
        "B saw no rebalance"
    );
    close_consumer(a_again);
    close_consumer(b);
}

#[tokio::test]
async fn every_client_side_assignor_shares_the_partitions() {
    let broker = broker();
    topic_with_records(&broker, "assigned", 4, 40).await;
    for strategy in ["range", "roundrobin", "cooperative-sticky"] {
        let group = format!("by-{strategy}");
        let settings = [("partition.assignment.strategy", strategy)];
        let a = broker.group_consumer(&group, &settings);
        let b = broker.group_consumer(&group, &settings);
        a.subscribe(&["assigned"]).unwrap();
        b.subscribe(&["assigned"]).unwrap();
        let mut seen = Vec::new();
        poll_until(&[&a, &b], &mut seen, Duration::from_secs(60), |cs, seen| {
            // Nothing is committed, so a partition that moves is read again.
            assigned(cs[0]) == 2
                && assigned(cs[1]) == 2
                && seen.iter().collect::<BTreeSet<_>>().len() == 40
        });
        let distinct: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), 40, "{strategy}: every record read");
        let described = describe(&broker, &group);
        assert_eq!(described.groups[0].protocol_data.as_str(), strategy);
        close_consumer(a);
        close_consumer(b);
    }
}

#[tokio::test]
async fn a_standalone_consumer_commits_and_reads_back_its_offsets() {
    let broker = broker();
    topic_with_records(&broker, "standalone", 2, 10).await;
    // assign() instead of subscribe(): no group membership, generation -1.
    let consumer = broker.group_consumer("loners", &[]);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("standalone", 0, Offset::Offset(4))
        .unwrap();
    tpl.add_partition_offset("standalone", 1, Offset::Offset(2))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    consumer
        .commit(&tpl, CommitMode::Sync)
        .expect("standalone commit");
    let committed = consumer
        .committed_offsets(tpl.clone(), Duration::from_secs(30))
        .expect("committed offsets");
    let got: Vec<(i32, Offset)> = committed
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(got, vec![(0, Offset::Offset(4)), (1, Offset::Offset(2))]);
    let described = describe(&broker, "loners");
    assert_eq!(described.groups[0].group_state.as_str(), "Empty");
}

#[tokio::test]
async fn offsets_of_an_abandoned_group_expire_after_the_retention() {
    // Kafka's retention is in minutes; 0 makes every commit expire at the
    // next check, which runs every 100 ms here.
    let broker = Broker::start_with(&[
        "--override",
        "offsets.retention.minutes=0",
        "--override",
        "offsets.retention.check.interval.ms=100",
    ]);
    topic_with_records(&broker, "fleeting", 1, 1).await;
    let consumer = broker.group_consumer("abandoned", &[]);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("fleeting", 0, Offset::Offset(1))
        .unwrap();
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let committed = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .expect("committed offsets");
        if committed.elements()[0].offset() == Offset::Invalid {
            break;
        }
        assert!(Instant::now() < deadline, "the offset never expired");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        describe(&broker, "abandoned").groups[0]
            .group_state
            .as_str(),
        "Dead"
    );
}
