//! The consumer group protocol of KIP-848 with real clients: librdkafka
//! (through rdkafka) and confluent-kafka members with
//! `group.protocol=consumer` share a topic through a member kill and a
//! broker restart, counting every record read; a classic group converts to
//! the new protocol and back keeping its offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse,
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, ListGroupsRequest, ListGroupsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use weir_e2e::cluster::{block_on, Cluster};
use weir_e2e::process::Process;
use weir_e2e::{close_consumer, Broker};

/// Consumer group sessions short enough that a killed member is noticed
/// within seconds (Kafka's bounds lowered to allow it).
const SHORT_SESSIONS: &[&str] = &[
    "--override",
    "group.consumer.session.timeout.ms=6000",
    "--override",
    "group.consumer.min.session.timeout.ms=6000",
    "--override",
    "group.consumer.heartbeat.interval.ms=500",
    "--override",
    "group.consumer.min.heartbeat.interval.ms=500",
    "--override",
    "group.initial.rebalance.delay.ms=0",
];

fn broker() -> Broker {
    Broker::start_with(SHORT_SESSIONS)
}

fn create_topic(broker: &Broker, topic: &str, partitions: i32) {
    let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let created =
        block_on(broker.admin().create_topics(&[t], &AdminOptions::new())).expect("create topics");
    assert!(created[0].is_ok(), "{created:?}");
}

fn produce(broker: &Broker, topic: &str, range: std::ops::Range<usize>) {
    produce_to(&broker.bootstrap(), topic, range);
}

fn produce_to(bootstrap: &str, topic: &str, range: std::ops::Range<usize>) {
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    block_on(async {
        for i in range {
            producer
                .send(
                    FutureRecord::<(), _>::to(topic).payload(&i.to_string()),
                    Duration::from_secs(30),
                )
                .await
                .expect("delivered");
        }
    });
}

fn new_protocol_consumer(broker: &Broker, group: &str) -> BaseConsumer {
    consumer_at(&broker.bootstrap(), group)
}

fn consumer_at(bootstrap: &str, group: &str) -> BaseConsumer {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    consumer
}

/// Polls each consumer once, committing every record synchronously after
/// noting it: what a careful at-least-once application does. A commit that
/// a rebalance overtook fails as Kafka fails it (the partition may have
/// moved); the record is then read again, which the tests that forbid
/// repeats would show.
fn poll_round(consumers: &[&BaseConsumer], seen: &mut Vec<usize>) {
    for c in consumers {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
            let value = std::str::from_utf8(m.payload().unwrap_or_default())
                .ok()
                .and_then(|s| s.parse().ok())
                .expect("a number");
            seen.push(value);
            match c.commit_message(&m, CommitMode::Sync) {
                Ok(()) => {}
                Err(KafkaError::ConsumerCommit(
                    RDKafkaErrorCode::RebalanceInProgress
                    | RDKafkaErrorCode::IllegalGeneration
                    | RDKafkaErrorCode::UnknownMemberId
                    | RDKafkaErrorCode::StaleMemberEpoch
                    | RDKafkaErrorCode::FencedMemberEpoch,
                )) => {}
                Err(e) => panic!("commit: {e}"),
            }
        }
    }
}

fn describe(broker: &Broker, group: &str) -> ConsumerGroupDescribeResponse {
    describe_at(&broker.bootstrap(), group)
}

/// ConsumerGroupDescribe sent to one broker (the group's coordinator).
fn describe_at(address: &str, group: &str) -> ConsumerGroupDescribeResponse {
    let request = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    weir_e2e::RawClient::connect(address).call(ApiKey::ConsumerGroupDescribe, 1, &request)
}

/// Partitions per member once the group is Stable, sorted.
fn stable_shares(broker: &Broker, group: &str) -> Option<Vec<usize>> {
    stable_shares_at(&broker.bootstrap(), group)
}

fn stable_shares_at(address: &str, group: &str) -> Option<Vec<usize>> {
    let described = describe_at(address, group);
    let g = described.groups.first()?;
    if g.error_code != 0 || g.group_state.as_str() != "Stable" {
        return None;
    }
    let mut shares: Vec<usize> = g
        .members
        .iter()
        .map(|m| {
            m.assignment
                .topic_partitions
                .iter()
                .map(|t| t.partitions.len())
                .sum()
        })
        .collect();
    shares.sort_unstable();
    Some(shares)
}

/// Member ids and epochs of a group, as the coordinator describes it.
fn member_epochs(broker: &Broker, group: &str) -> BTreeMap<String, i32> {
    member_epochs_at(&broker.bootstrap(), group)
}

fn member_epochs_at(address: &str, group: &str) -> BTreeMap<String, i32> {
    let described = describe_at(address, group);
    described
        .groups
        .first()
        .map(|g| {
            g.members
                .iter()
                .map(|m| (m.member_id.to_string(), m.member_epoch))
                .collect()
        })
        .unwrap_or_default()
}

fn read_lines(path: &std::path::Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn confluent_member(broker: &Broker, group: &str, topic: &str, out: &std::path::Path) -> Process {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("confluent_consumer_protocol_member.py");
    Process::spawn(
        Command::new("python3")
            .arg(script)
            .args([&broker.bootstrap(), group, topic])
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
        "python3 with confluent-kafka",
    )
}

/// Polls `consumers` until every value in `want` was read (by them or the
/// python member's file), or fails with what is missing.
fn read_all(
    consumers: &[&BaseConsumer],
    seen: &mut Vec<usize>,
    python_out: Option<&std::path::Path>,
    want: std::ops::Range<usize>,
) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        poll_round(consumers, seen);
        let mut all: BTreeSet<usize> = seen.iter().copied().collect();
        if let Some(p) = python_out {
            all.extend(read_lines(p));
        }
        let missing = want.clone().filter(|v| !all.contains(v)).count();
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} records never read",
            want.len()
        );
    }
}

fn wait_for_shares(
    broker: &Broker,
    group: &str,
    consumers: &[&BaseConsumer],
    seen: &mut Vec<usize>,
    want: &[usize],
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while stable_shares(broker, group).as_deref() != Some(want) {
        assert!(
            Instant::now() < deadline,
            "group never reached shares {want:?}: {:?}",
            describe(broker, group)
        );
        poll_round(consumers, seen);
    }
}

fn times_read(values: &[usize]) -> BTreeMap<usize, usize> {
    let mut counts = BTreeMap::new();
    for v in values {
        *counts.entry(*v).or_insert(0) += 1;
    }
    counts
}

#[test]
fn consumer_protocol_members_share_a_topic_through_a_member_kill_and_a_broker_restart() {
    let mut broker = broker();
    let (topic, group) = ("kip848", "kip848-group");
    create_topic(&broker, topic, 6);
    let dir = tempfile::tempdir().expect("tempdir");
    let python_out = dir.path().join("confluent.txt");
    let a = new_protocol_consumer(&broker, group);
    let b = new_protocol_consumer(&broker, group);
    a.subscribe(&[topic]).expect("subscribe");
    b.subscribe(&[topic]).expect("subscribe");
    let mut python = confluent_member(&broker, group, topic, &python_out);
    let mut seen = Vec::new();
    wait_for_shares(&broker, group, &[&a, &b], &mut seen, &[2, 2, 2]);

    produce(&broker, topic, 0..600);
    read_all(&[&a, &b], &mut seen, Some(&python_out), 0..600);
    let python_first = read_lines(&python_out);
    assert!(
        !python_first.is_empty(),
        "the confluent-kafka member read nothing"
    );
    eprintln!(
        "before the kill: librdkafka members read {}, confluent-kafka {}",
        seen.len(),
        python_first.len()
    );

    // kill -9: the member never leaves; its session expires and its
    // partitions move to the others from its committed offsets.
    python.kill();
    let after_kill = seen.len();
    wait_for_shares(&broker, group, &[&a, &b], &mut seen, &[3, 3]);
    produce(&broker, topic, 600..1200);
    read_all(&[&a, &b], &mut seen, None, 600..1200);
    let reread: Vec<usize> = seen[after_kill..]
        .iter()
        .copied()
        .filter(|v| *v < 600)
        .collect();
    // The killed member noted each record before committing it, so at most
    // the last record of each of its two partitions is read again.
    assert!(reread.len() <= 2, "read again after the kill: {reread:?}");

    // A broker restart: the coordinator replays the group from
    // __consumer_offsets, so the members carry on in their epochs.
    let before_restart = member_epochs(&broker, group);
    broker.restart();
    broker.wait_ready();
    let replayed = member_epochs(&broker, group);
    assert_eq!(
        replayed, before_restart,
        "the group as it was before the restart"
    );
    let after_restart = seen.len();
    produce(&broker, topic, 1200..1800);
    read_all(&[&a, &b], &mut seen, None, 1200..1800);
    wait_for_shares(&broker, group, &[&a, &b], &mut seen, &[3, 3]);
    let reread: Vec<usize> = seen[after_restart..]
        .iter()
        .copied()
        .filter(|v| *v < 1200)
        .collect();
    assert!(
        reread.is_empty(),
        "committed records read again: {reread:?}"
    );

    let mut everything = seen.clone();
    everything.extend(python_first);
    let counts = times_read(&everything);
    let lost: Vec<usize> = (0..1800).filter(|v| !counts.contains_key(v)).collect();
    let duplicated = counts.values().filter(|n| **n > 1).count();
    eprintln!(
        "1800 produced, {} read, {} lost, {duplicated} read twice",
        everything.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "never read: {lost:?}");
    close_consumer(a);
    close_consumer(b);
}

fn list_groups(broker: &Broker) -> Vec<(String, String, String)> {
    let response: ListGroupsResponse =
        broker
            .raw()
            .call(ApiKey::ListGroups, 5, &ListGroupsRequest::default());
    response
        .groups
        .into_iter()
        .map(|g| {
            (
                g.group_id.0.to_string(),
                g.group_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect()
}

fn group_type(broker: &Broker, group: &str) -> Option<String> {
    list_groups(broker)
        .into_iter()
        .find(|(g, _, _)| g == group)
        .map(|(_, t, _)| t)
}

/// Member ids of raw heartbeats: clients make their own (KIP-1082).
static NEXT_MEMBER: AtomicUsize = AtomicUsize::new(0);

fn join_heartbeat(group: &str, topic: &str) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_member_id(StrBytes::from_string(format!(
            "raw-member-{}-{}",
            std::process::id(),
            NEXT_MEMBER.fetch_add(1, Ordering::Relaxed)
        )))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![TopicName(StrBytes::from_string(
            topic.to_string(),
        ))]))
        .with_topic_partitions(Some(vec![]))
}

/// Reads with `consumer` until `want` values came, then polls a little
/// longer so anything extra shows.
fn read_exactly(consumer: &BaseConsumer, want: usize) -> Vec<usize> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < want {
        assert!(
            Instant::now() < deadline,
            "read only {} of {want}",
            seen.len()
        );
        poll_round(&[consumer], &mut seen);
    }
    let settle = Instant::now() + Duration::from_secs(2);
    while Instant::now() < settle {
        poll_round(&[consumer], &mut seen);
    }
    seen
}

#[test]
fn a_classic_group_converts_to_the_consumer_protocol_and_back_keeping_its_offsets() {
    let broker = broker();
    let (topic, group) = ("converting", "converting-group");
    create_topic(&broker, topic, 3);
    produce(&broker, topic, 0..300);

    let classic = broker.group_consumer(group, &[]);
    classic.subscribe(&[topic]).expect("subscribe");
    let first = read_exactly(&classic, 300);
    assert_eq!(first.len(), 300);
    assert_eq!(group_type(&broker, group).as_deref(), Some("classic"));
    // A consumer-protocol heartbeat that is not a join does not belong to
    // a classic group: Kafka's error, and the group keeps running.
    let refused: ConsumerGroupHeartbeatResponse = broker.raw().call(
        ApiKey::ConsumerGroupHeartbeat,
        1,
        &join_heartbeat(group, topic)
            .with_member_epoch(3)
            .with_topic_partitions(None),
    );
    assert_eq!(refused.error_code, 69, "GROUP_ID_NOT_FOUND: {refused:?}");
    close_consumer(classic);

    // The empty classic group becomes a consumer group; it resumes from
    // the classic group's commits.
    produce(&broker, topic, 300..400);
    let modern = new_protocol_consumer(&broker, group);
    modern.subscribe(&[topic]).expect("subscribe");
    let second = read_exactly(&modern, 100);
    assert_eq!(
        second.iter().copied().collect::<BTreeSet<_>>(),
        (300..400).collect(),
        "read: {second:?}"
    );
    assert_eq!(second.len(), 100);
    assert_eq!(group_type(&broker, group).as_deref(), Some("consumer"));
    close_consumer(modern);

    // And back: an empty consumer group becomes classic on a JoinGroup.
    produce(&broker, topic, 400..450);
    let classic = broker.group_consumer(group, &[]);
    classic.subscribe(&[topic]).expect("subscribe");
    let third = read_exactly(&classic, 50);
    assert_eq!(
        third.iter().copied().collect::<BTreeSet<_>>(),
        (400..450).collect(),
        "read: {third:?}"
    );
    assert_eq!(group_type(&broker, group).as_deref(), Some("classic"));
    close_consumer(classic);
}

#[test]
fn consumer_group_heartbeats_are_answered_as_kafka_answers_them() {
    let broker = broker();
    create_topic(&broker, "hb", 4);
    let mut raw = broker.raw();
    // A client finds the coordinator first, which creates
    // __consumer_offsets.
    let warmup = new_protocol_consumer(&broker, "hb-warmup");
    warmup.subscribe(&["hb"]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(30);
    while stable_shares(&broker, "hb-warmup").is_none() {
        assert!(Instant::now() < deadline, "the warm-up member never joined");
        let _ = warmup.poll(Duration::from_millis(100));
    }
    close_consumer(warmup);
    let join = join_heartbeat("hb-group", "hb");
    let joined: ConsumerGroupHeartbeatResponse = raw.call(ApiKey::ConsumerGroupHeartbeat, 1, &join);
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(joined.member_epoch, 1);
    assert_eq!(joined.heartbeat_interval_ms, 500);
    let assignment = joined
        .assignment
        .expect("a joining member gets its assignment");
    let partitions: usize = assignment
        .topic_partitions
        .iter()
        .map(|t| t.partitions.len())
        .sum();
    assert_eq!(partitions, 4);

    // An epoch the coordinator never gave is fenced; an unknown member is
    // unknown; a join without a subscription is an invalid request.
    let ahead = join
        .clone()
        .with_member_epoch(5)
        .with_topic_partitions(None);
    let fenced: ConsumerGroupHeartbeatResponse =
        raw.call(ApiKey::ConsumerGroupHeartbeat, 1, &ahead);
    assert_eq!(fenced.error_code, 110, "FENCED_MEMBER_EPOCH: {fenced:?}");
    let stranger = ahead
        .clone()
        .with_member_id(StrBytes::from_static_str("stranger"));
    let unknown: ConsumerGroupHeartbeatResponse =
        raw.call(ApiKey::ConsumerGroupHeartbeat, 1, &stranger);
    assert_eq!(unknown.error_code, 25, "UNKNOWN_MEMBER_ID: {unknown:?}");
    let bare = join_heartbeat("hb-group", "hb").with_subscribed_topic_names(None);
    let invalid: ConsumerGroupHeartbeatResponse =
        raw.call(ApiKey::ConsumerGroupHeartbeat, 1, &bare);
    assert_eq!(invalid.error_code, 42, "INVALID_REQUEST: {invalid:?}");
    assert!(invalid.error_message.is_some());

    // Leaving answers epoch -1 and empties the group.
    let leave = join.with_member_epoch(-1).with_topic_partitions(None);
    let left: ConsumerGroupHeartbeatResponse = raw.call(ApiKey::ConsumerGroupHeartbeat, 1, &leave);
    assert_eq!((left.error_code, left.member_epoch), (0, -1));
    let described = describe(&broker, "hb-group");
    assert_eq!(described.groups[0].group_state.as_str(), "Empty");
    let classic = describe(&broker, "no-such-group");
    assert_eq!(classic.groups[0].error_code, 69, "GROUP_ID_NOT_FOUND");
}

/// The broker coordinating `group`, as `via` answers FindCoordinator.
fn coordinator_of(via: &str, group: &str) -> Option<usize> {
    let request =
        FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string()));
    let found: FindCoordinatorResponse =
        weir_e2e::RawClient::connect(via).call(ApiKey::FindCoordinator, 2, &request);
    (found.error_code == 0)
        .then(|| usize::try_from(found.node_id.0).ok())
        .flatten()
}

#[test]
fn a_consumer_group_carries_on_through_a_coordinator_failover() {
    let mut cluster = Cluster::start(3, 3, SHORT_SESSIONS);
    let (topic, group) = ("moving", "moving-group");
    create_topic_on_cluster(&cluster, topic);
    let bootstrap = cluster.bootstrap();
    let a = consumer_at(&bootstrap, group);
    let b = consumer_at(&bootstrap, group);
    a.subscribe(&[topic]).expect("subscribe");
    b.subscribe(&[topic]).expect("subscribe");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let coordinator = loop {
        assert!(Instant::now() < deadline, "the group never became stable");
        poll_round(&[&a, &b], &mut seen);
        let Some(c) = coordinator_of(&cluster.brokers[0].bootstrap(), group) else {
            continue;
        };
        if stable_shares_at(&cluster.brokers[c].bootstrap(), group).as_deref() == Some(&[2, 2]) {
            break c;
        }
    };
    produce_to(&bootstrap, topic, 0..400);
    read_all(&[&a, &b], &mut seen, None, 0..400);
    let before = member_epochs_at(&cluster.brokers[coordinator].bootstrap(), group);

    // kill -9 the coordinator: another broker leads the group's
    // __consumer_offsets partition and replays the group from it.
    cluster.brokers[coordinator].kill9();
    let survivor = (coordinator + 1) % 3;
    let deadline = Instant::now() + Duration::from_secs(60);
    let replayed = loop {
        assert!(Instant::now() < deadline, "no broker took over the group");
        poll_round(&[&a, &b], &mut seen);
        let Some(c) = coordinator_of(&cluster.brokers[survivor].bootstrap(), group) else {
            continue;
        };
        if c == coordinator {
            continue;
        }
        let members = member_epochs_at(&cluster.brokers[c].bootstrap(), group);
        if !members.is_empty() {
            break members;
        }
    };
    assert_eq!(
        replayed.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the new coordinator knows the same members"
    );
    let after_failover = seen.len();
    produce_to(&bootstrap, topic, 400..800);
    read_all(&[&a, &b], &mut seen, None, 400..800);
    let reread: Vec<usize> = seen[after_failover..]
        .iter()
        .copied()
        .filter(|v| *v < 400)
        .collect();
    assert!(
        reread.is_empty(),
        "committed records read again: {reread:?}"
    );
    let counts = times_read(&seen);
    let lost: Vec<usize> = (0..800).filter(|v| !counts.contains_key(v)).collect();
    eprintln!("800 produced, {} read, {} lost", seen.len(), lost.len());
    assert!(lost.is_empty(), "never read: {lost:?}");
    close_consumer(a);
    close_consumer(b);
}

fn create_topic_on_cluster(cluster: &Cluster, topic: &str) {
    weir_e2e::cluster::create_topic(
        &cluster.bootstrap(),
        topic,
        4,
        3,
        &[("min.insync.replicas", "2")],
    );
}

#[test]
fn a_regex_subscription_picks_up_topics_created_later() {
    let broker = broker();
    let group = "regex-group";
    create_topic(&broker, "metrics-cpu", 2);
    create_topic(&broker, "logs-app", 2);
    let consumer = new_protocol_consumer(&broker, group);
    // librdkafka sends a subscription starting with ^ as the group's regex;
    // the coordinator matches it against whole topic names.
    consumer.subscribe(&["^metrics-.*"]).expect("subscribe");
    let mut seen = Vec::new();
    wait_for_shares(&broker, group, &[&consumer], &mut seen, &[2]);
    create_topic(&broker, "metrics-mem", 3);
    wait_for_shares(&broker, group, &[&consumer], &mut seen, &[5]);
    let described = describe(&broker, group);
    let member = &described.groups[0].members[0];
    // librdkafka joins its regexes as `(re1)|(re2)`.
    assert!(
        member
            .subscribed_topic_regex
            .as_ref()
            .is_some_and(|r| r.contains("^metrics-.*")),
        "{member:?}"
    );
    let topics: BTreeSet<String> = member
        .assignment
        .topic_partitions
        .iter()
        .map(|t| t.topic_name.to_string())
        .collect();
    assert_eq!(
        topics,
        ["metrics-cpu", "metrics-mem"].map(String::from).into()
    );
    produce(&broker, "metrics-mem", 0..30);
    produce(&broker, "logs-app", 100..130);
    read_all(&[&consumer], &mut seen, None, 0..30);
    assert!(
        seen.iter().all(|v| *v < 100),
        "read a topic the regex does not match"
    );
    close_consumer(consumer);
}

fn alter_group_config(
    broker: &Broker,
    group: &str,
    name: &str,
    op: i8,
    value: Option<&str>,
) -> i16 {
    broker
        .raw()
        .alter_configs(32, group, &[(name, op, value)])
        .error_code
}

fn group_configs(broker: &Broker, group: &str) -> BTreeMap<String, (String, i8)> {
    broker
        .raw()
        .describe_configs(32, group, None)
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                (
                    c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    c.config_source,
                ),
            )
        })
        .collect()
}

#[test]
fn a_groups_own_configs_set_its_heartbeat_interval_within_the_broker_bounds() {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    const INVALID_CONFIG: i16 = 40;
    let broker = broker();
    create_topic(&broker, "configured", 1);
    let group = "configured-group";
    let deadline = Instant::now() + Duration::from_secs(30);
    while coordinator_of(&broker.bootstrap(), group).is_none() {
        assert!(Instant::now() < deadline, "no coordinator");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        alter_group_config(
            &broker,
            group,
            "consumer.heartbeat.interval.ms",
            SET,
            Some("2000")
        ),
        0
    );
    let joined: ConsumerGroupHeartbeatResponse = broker.raw().call(
        ApiKey::ConsumerGroupHeartbeat,
        1,
        &join_heartbeat(group, "configured"),
    );
    assert_eq!((joined.error_code, joined.heartbeat_interval_ms), (0, 2000));
    let described = group_configs(&broker, group);
    assert_eq!(
        described.get("consumer.heartbeat.interval.ms"),
        Some(&("2000".to_string(), 8)),
        "GROUP_CONFIG: {described:?}"
    );
    assert_eq!(
        described.get("consumer.session.timeout.ms"),
        Some(&("6000".to_string(), 5)),
        "the broker's value as DEFAULT_CONFIG: {described:?}"
    );

    // Outside group.consumer.{min,max}.session.timeout.ms, unknown keys
    // and list operations are Kafka's INVALID_CONFIG.
    assert_eq!(
        alter_group_config(
            &broker,
            group,
            "consumer.session.timeout.ms",
            SET,
            Some("1000")
        ),
        INVALID_CONFIG
    );
    assert_eq!(
        alter_group_config(&broker, group, "no.such.group.config", SET, Some("1")),
        INVALID_CONFIG
    );

    assert_eq!(
        alter_group_config(
            &broker,
            group,
            "consumer.heartbeat.interval.ms",
            DELETE,
            None
        ),
        0
    );
    let again: ConsumerGroupHeartbeatResponse = broker.raw().call(
        ApiKey::ConsumerGroupHeartbeat,
        1,
        &join_heartbeat(group, "configured"),
    );
    assert_eq!((again.error_code, again.heartbeat_interval_ms), (0, 500));
}

/// Member types of a group (0 classic, 1 consumer), sorted, once Stable
/// with every partition of `partitions` held.
fn stable_member_types(broker: &Broker, group: &str, partitions: usize) -> Option<Vec<i8>> {
    let described = describe(broker, group);
    let g = described.groups.first()?;
    if g.error_code != 0 || g.group_state.as_str() != "Stable" {
        return None;
    }
    let held: usize = g
        .members
        .iter()
        .flat_map(|m| m.assignment.topic_partitions.iter())
        .map(|t| t.partitions.len())
        .sum();
    if held != partitions {
        return None;
    }
    let mut types: Vec<i8> = g.members.iter().map(|m| m.member_type).collect();
    types.sort_unstable();
    Some(types)
}

fn wait_until_types(
    broker: &Broker,
    group: &str,
    consumers: &[&BaseConsumer],
    seen: &mut Vec<usize>,
    want: &[i8],
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while stable_member_types(broker, group, 4).as_deref() != Some(want) {
        assert!(
            Instant::now() < deadline,
            "group never reached member types {want:?}: {:?}",
            describe(broker, group)
        );
        poll_round(consumers, seen);
    }
}

#[test]
fn a_classic_group_upgrades_online_member_by_member_and_downgrades_back() {
    let broker = broker();
    let (topic, group) = ("rolling", "rolling-group");
    create_topic(&broker, topic, 4);
    let mut seen = Vec::new();

    // Two classic members share the topic.
    let c1 = broker.group_consumer(group, &[]);
    let c2 = broker.group_consumer(group, &[]);
    c1.subscribe(&[topic]).expect("subscribe");
    c2.subscribe(&[topic]).expect("subscribe");
    produce(&broker, topic, 0..200);
    read_all(&[&c1, &c2], &mut seen, None, 0..200);
    assert_eq!(group_type(&broker, group).as_deref(), Some("classic"));

    // A consumer-protocol member joins: the group becomes a consumer group
    // with the classic members still in it, and all three share the topic.
    let m1 = new_protocol_consumer(&broker, group);
    m1.subscribe(&[topic]).expect("subscribe");
    wait_until_types(&broker, group, &[&c1, &c2, &m1], &mut seen, &[0, 0, 1]);
    assert_eq!(group_type(&broker, group).as_deref(), Some("consumer"));
    produce(&broker, topic, 200..400);
    read_all(&[&c1, &c2, &m1], &mut seen, None, 200..400);

    // The classic members are replaced one by one by consumer-protocol ones.
    close_consumer(c1);
    let m2 = new_protocol_consumer(&broker, group);
    m2.subscribe(&[topic]).expect("subscribe");
    wait_until_types(&broker, group, &[&c2, &m1, &m2], &mut seen, &[0, 1, 1]);
    close_consumer(c2);
    wait_until_types(&broker, group, &[&m1, &m2], &mut seen, &[1, 1]);
    produce(&broker, topic, 400..600);
    read_all(&[&m1, &m2], &mut seen, None, 400..600);

    // And back: a classic member joins the consumer group, the
    // consumer-protocol members leave, and the group is classic again.
    let c3 = broker.group_consumer(group, &[]);
    c3.subscribe(&[topic]).expect("subscribe");
    wait_until_types(&broker, group, &[&c3, &m1, &m2], &mut seen, &[0, 1, 1]);
    close_consumer(m1);
    close_consumer(m2);
    let deadline = Instant::now() + Duration::from_secs(60);
    while group_type(&broker, group).as_deref() != Some("classic") || c3_assigned(&c3) != 4 {
        assert!(
            Instant::now() < deadline,
            "the group never went back to classic"
        );
        poll_round(&[&c3], &mut seen);
    }
    produce(&broker, topic, 600..800);
    read_all(&[&c3], &mut seen, None, 600..800);
    let counts = times_read(&seen);
    let lost: Vec<usize> = (0..800).filter(|v| !counts.contains_key(v)).collect();
    eprintln!("800 produced, {} read, {} lost", seen.len(), lost.len());
    assert!(lost.is_empty(), "never read: {lost:?}");
    close_consumer(c3);
}

fn c3_assigned(c: &BaseConsumer) -> usize {
    c.assignment().map(|a| a.count()).unwrap_or(0)
}
