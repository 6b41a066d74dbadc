//! Partitions replicated over three brokers: followers pull the leader's
//! batches byte for byte, acks=all waits for the ISR, and an ISR smaller
//! than min.insync.replicas refuses acks=all.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use rdkafka::config::ClientConfig;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use weir_e2e::cluster::{block_on, create_topic, Cluster};
use weir_e2e::workload::reader_from_start;
use weir_e2e::{record_batch, RawClient};

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer")
}

/// Produces `count` records with distinct values over `partitions`
/// partitions and returns, per partition, the values in acknowledged order.
fn produce_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> BTreeMap<i32, Vec<String>> {
    let producer = producer(bootstrap);
    let sends: Vec<_> = (0..count)
        .map(|i| {
            let value = format!("record-{i}");
            let partition = i32::try_from(i).unwrap_or(0) % partitions;
            let send = producer
                .send_result(
                    FutureRecord::<(), _>::to(topic)
                        .payload(value.as_bytes())
                        .partition(partition),
                )
                .map_err(|(e, _)| e)
                .expect("queued");
            (partition, value, send)
        })
        .collect();
    let mut acked: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    for (partition, value, send) in sends {
        let delivery = block_on(send).expect("not cancelled");
        let d = delivery.unwrap_or_else(|(e, _)| panic!("{value} not acknowledged: {e}"));
        assert_eq!(d.partition, partition);
        acked.entry(partition).or_default().push((d.offset, value));
    }
    acked
        .into_iter()
        .map(|(p, mut v)| {
            v.sort();
            (p, v.into_iter().map(|(_, value)| value).collect())
        })
        .collect()
}

/// Every value of `topic` per partition, in offset order, read from `bootstrap`.
fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    expect: usize,
) -> BTreeMap<i32, Vec<String>> {
    let consumer = reader_from_start(bootstrap, "replication-reader", topic, partitions);
    let mut read: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while read.values().map(Vec::len).sum::<usize>() < expect {
        assert!(std::time::Instant::now() < deadline, "read only {read:?}");
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("consume");
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            read.entry(m.partition()).or_default().push(value);
        }
    }
    read
}

#[test]
fn acks_all_records_are_on_every_replica_byte_for_byte() {
    let cluster = Cluster::start(3, 3, &[]);
    create_topic(
        &cluster.bootstrap(),
        "replicated",
        3,
        3,
        &[("min.insync.replicas", "2")],
    );
    let acked = produce_all(&cluster.bootstrap(), "replicated", 3, 3000);
    let read = read_all(&cluster.bootstrap(), "replicated", 3, 3000);
    assert_eq!(read, acked, "what was read is not what was acknowledged");

    // A follower stores the leader's batches exactly as the leader does.
    for p in 0..3 {
        let segment = |b: usize| {
            let path = cluster.brokers[b]
                .data_dir()
                .join(format!("replicated-{p}"))
                .join("00000000000000000000.log");
            std::fs::read(&path).unwrap_or_default()
        };
        cluster.wait_until(
            &format!("every replica of partition {p} holds the same log"),
            Duration::from_secs(20),
            |_| {
                let leader = segment(0);
                !leader.is_empty() && segment(1) == leader && segment(2) == leader
            },
        );
    }
}

#[test]
fn acks_all_is_refused_once_the_isr_is_smaller_than_min_insync_replicas() {
    let mut cluster = Cluster::start(3, 3, &[]);
    create_topic(
        &cluster.bootstrap(),
        "strict",
        1,
        3,
        &[("min.insync.replicas", "3")],
    );
    let view = cluster.partition_view(0, "strict", 0).expect("metadata");
    assert_eq!(view.isr, vec![0, 1, 2]);
    let leader = usize::try_from(view.leader).expect("a leader");
    let mut client = RawClient::connect(&cluster.brokers[leader].bootstrap());
    let ok = client.produce("strict", 0, record_batch(&[b"while whole"], None));
    assert_eq!(ok.error_code, 0, "{ok:?}");

    // A follower dies; after replica.lag.time.max.ms the leader drops it.
    let follower = (0..3).find(|b| *b != leader).expect("a follower");
    cluster.brokers[follower].kill9();
    cluster.wait_until("the ISR shrinks to two", Duration::from_secs(30), |c| {
        c.partition_view(leader, "strict", 0)
            .is_some_and(|v| v.isr.len() == 2)
    });
    let refused = client.produce("strict", 0, record_batch(&[b"too few"], None));
    assert_eq!(
        refused.error_code,
        ResponseError::NotEnoughReplicas.code(),
        "{refused:?}"
    );

    // It comes back, catches up, rejoins the ISR; acks=all works again.
    cluster.brokers[follower].start_again();
    cluster.wait_until(
        "the follower rejoins the ISR",
        Duration::from_secs(30),
        |c| {
            c.partition_view(leader, "strict", 0)
                .is_some_and(|v| v.isr.len() == 3)
        },
    );
    let again = client.produce("strict", 0, record_batch(&[b"whole again"], None));
    assert_eq!(again.error_code, 0, "{again:?}");
    assert_eq!(again.base_offset, 1, "the refused batch was not stored");
}

#[test]
fn a_follower_behind_the_leaders_log_start_starts_over_from_it() {
    // Small segments and retention: while the follower is down the leader
    // deletes what it missed.
    let mut cluster = Cluster::start(3, 3, &["--override", "log.retention.check.interval.ms=200"]);
    let admin = weir_e2e::cluster::admin(&cluster.bootstrap());
    let topic = rdkafka::admin::NewTopic::new(
        "short",
        1,
        rdkafka::admin::TopicReplication::Variable(&[&[0, 1]]),
    )
    .set("segment.bytes", "4096")
    .set("retention.bytes", "8192")
    // The test batches carry 2023 timestamps: only size may delete.
    .set("retention.ms", "-1");
    let options = rdkafka::admin::AdminOptions::new();
    for r in block_on(admin.create_topics([&topic], &options)).expect("create") {
        r.expect("created");
    }
    cluster.brokers[1].kill9();
    cluster.wait_until(
        "the leader drops the dead follower",
        Duration::from_secs(30),
        |c| {
            c.partition_view(0, "short", 0)
                .is_some_and(|v| v.isr == vec![0])
        },
    );
    let mut client = RawClient::connect(&cluster.brokers[0].bootstrap());
    let value = [b'x'; 200];
    for _ in 0..200 {
        let r = client.produce("short", 0, record_batch(&[&value], None));
        assert_eq!(r.error_code, 0, "{r:?}");
    }
    let log_start = |dir: std::path::PathBuf| -> i64 {
        std::fs::read_to_string(dir.join("short-0").join("log-start-offset"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    cluster.wait_until(
        "retention deletes old segments",
        Duration::from_secs(30),
        |c| log_start(c.brokers[0].data_dir()) > 0,
    );

    cluster.brokers[1].start_again();
    cluster.wait_until(
        "the follower catches up and rejoins the ISR",
        Duration::from_secs(30),
        |c| {
            c.partition_view(0, "short", 0)
                .is_some_and(|v| v.isr == vec![0, 1])
        },
    );
    assert!(
        log_start(cluster.brokers[1].data_dir()) > 0,
        "the follower did not start over"
    );

    // It now has everything the leader has: it can take over.
    let end = client
        .produce("short", 0, record_batch(&[b"last"], None))
        .base_offset;
    cluster.brokers[0].kill9();
    cluster.wait_until("the follower leads", Duration::from_secs(30), |c| {
        c.partition_view(1, "short", 0)
            .is_some_and(|v| v.leader == 1)
    });
    // Read with kcat (librdkafka's simple consumer, no group): what the
    // new leader serves from the offset the old leader acknowledged.
    let out = std::process::Command::new("kcat")
        .args([
            "-b",
            &cluster.brokers[1].bootstrap(),
            "-C",
            "-t",
            "short",
            "-p",
            "0",
        ])
        .args(["-o", &end.to_string(), "-c", "1", "-e", "-f", "%o %s"])
        .output()
        .expect("kcat");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{end} last"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_follower_refuses_clients_and_names_the_current_leader() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{
        ApiKey, FetchRequest, FetchResponse, MetadataRequest, MetadataResponse, ProduceRequest,
        ProduceResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;

    let cluster = Cluster::start(2, 2, &[]);
    create_topic(&cluster.bootstrap(), "hinted", 1, 2, &[]);
    let view = cluster.partition_view(0, "hinted", 0).expect("metadata");
    let leader = usize::try_from(view.leader).expect("a leader");
    let follower = 1 - leader;
    let mut client = RawClient::connect(&cluster.brokers[follower].bootstrap());
    // No topic list: every topic.
    let metadata: MetadataResponse = client.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let topic = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "hinted"))
        .expect("topic in metadata");
    let epoch = topic.partitions[0].leader_epoch;

    // Produce v10 (KIP-951): the error names the leader, its epoch and
    // where to reach it.
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("hinted")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(record_batch(&[b"to a follower"], None)))])]);
    let produced: ProduceResponse = client.call(ApiKey::Produce, 10, &request);
    let p = &produced.responses[0].partition_responses[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(
        (p.current_leader.leader_id.0, p.current_leader.leader_epoch),
        (view.leader, epoch)
    );
    let endpoint = produced
        .node_endpoints
        .first()
        .expect("the leader's endpoint");
    assert_eq!(endpoint.node_id.0, view.leader);
    assert_eq!(
        format!("{}:{}", endpoint.host.as_str(), endpoint.port),
        cluster.brokers[leader].bootstrap()
    );
    // Below v10 the fields do not exist, and nothing is stored.
    let old: ProduceResponse = client.call(ApiKey::Produce, 9, &request);
    assert_eq!(
        old.responses[0].partition_responses[0].error_code,
        ResponseError::NotLeaderOrFollower.code()
    );

    // Fetch v16 does the same.
    let fetch = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(topic.topic_id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(1 << 20)])]);
    let fetched: FetchResponse = client.call(ApiKey::Fetch, 16, &fetch);
    let p = &fetched.responses[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(
        (p.current_leader.leader_id.0, p.current_leader.leader_epoch),
        (view.leader, epoch)
    );
    assert_eq!(
        fetched.node_endpoints.first().map(|n| n.node_id.0),
        Some(view.leader)
    );

    // The leader took none of it.
    let mut at_leader = RawClient::connect(&cluster.brokers[leader].bootstrap());
    let first = at_leader.produce("hinted", 0, record_batch(&[b"to the leader"], None));
    assert_eq!((first.error_code, first.base_offset), (0, 0), "{first:?}");
}
