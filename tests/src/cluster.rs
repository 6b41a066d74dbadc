//! Several `weir-broker` processes forming one cluster on loopback, with
//! the timings shortened so failover happens within a test's patience.

use std::time::{Duration, Instant};

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::{Broker, RawClient};

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// An admin client of the brokers at `bootstrap`.
pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client")
}

/// Creates a topic through `bootstrap` and fails the test if it is not.
pub fn create_topic(
    bootstrap: &str,
    name: &str,
    partitions: i32,
    rf: i32,
    configs: &[(&str, &str)],
) {
    let admin = admin(bootstrap);
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(rf));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = block_on(admin.create_topics([&topic], &options));
    for r in results.expect("create topics") {
        r.expect("topic created");
    }
}

/// Creates `name` with one partition on exactly `replicas` (preferred
/// leader first) and fails the test if it is not.
pub fn create_topic_on(bootstrap: &str, name: &str, replicas: &[i32], configs: &[(&str, &str)]) {
    let admin = admin(bootstrap);
    let assignment = [replicas];
    let mut topic = NewTopic::new(name, 1, TopicReplication::Variable(&assignment));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for r in block_on(admin.create_topics([&topic], &options)).expect("create topics") {
        r.expect("topic created");
    }
}

/// What `broker` answers to a Metadata request for `topic`, if it answers.
pub fn topic_metadata(broker: &Broker, topic: &str) -> Option<rdkafka::metadata::Metadata> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .ok()?;
    consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()
}

/// How many partitions `broker` reports for `topic`; `None` while it does
/// not know the topic.
pub fn partitions_seen_by(broker: &Broker, topic: &str) -> Option<usize> {
    let md = topic_metadata(broker, topic)?;
    let t = md.topics().first()?;
    if t.error().is_some() {
        return None;
    }
    Some(t.partitions().len())
}

/// A partition's leader and ISR as Metadata reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    /// The leader, -1 when none.
    pub leader: i32,
    /// The in-sync replicas, sorted.
    pub isr: Vec<i32>,
    /// The assigned replicas, in order.
    pub replicas: Vec<i32>,
}

/// Liveness timings for tests: a silent broker is fenced after 3 s.
pub const FAST_FAILOVER: &[&str] = &[
    "--override",
    "broker.session.timeout.ms=3000",
    "--override",
    "broker.heartbeat.interval.ms=300",
    "--override",
    "controller.quorum.election.timeout.ms=500",
    "--override",
    "replica.lag.time.max.ms=3000",
];

/// A cluster whose broker `i` has node id `i`.
pub struct Cluster {
    /// The brokers, by node id.
    pub brokers: Vec<Broker>,
}

/// What one broker's Metadata says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller id.
    pub controller: i32,
    /// Registered brokers.
    pub brokers: Vec<i32>,
}

impl Cluster {
    /// Starts `n` brokers, the first `voters` of which vote, with
    /// [`FAST_FAILOVER`] timings plus `extra`, and waits for all to be ready.
    pub fn start(n: usize, voters: usize, extra: &[&str]) -> Cluster {
        let brokers: Vec<Broker> = (0..n).map(|_| Broker::prepare(&[])).collect();
        Cluster::start_prepared(brokers, voters, extra)
    }

    /// Starts `n` brokers as [`Cluster::start`] does, the last of them inside
    /// `net`'s namespace, where the test can cut it off.
    pub fn start_with_isolated(
        n: usize,
        voters: usize,
        extra: &[&str],
        net: &crate::netns::Isolation,
    ) -> Cluster {
        let mut brokers: Vec<Broker> = (0..n).map(|_| Broker::prepare(&[])).collect();
        for b in brokers.iter_mut().take(n - 1) {
            b.internal_host = net.host_internal.clone();
        }
        if let Some(b) = brokers.last_mut() {
            b.host = net.inner_clients.clone();
            b.internal_host = net.inner_internal.clone();
            b.netns = Some(net.name().to_string());
        }
        Cluster::start_prepared(brokers, voters, extra)
    }

    fn start_prepared(mut brokers: Vec<Broker>, voters: usize, extra: &[&str]) -> Cluster {
        let voter_list = brokers
            .iter()
            .take(voters)
            .enumerate()
            .map(|(id, b)| format!("{id}@{}:{}", b.internal_host, b.internal_port))
            .collect::<Vec<_>>()
            .join(",");
        for (id, b) in brokers.iter_mut().enumerate() {
            let mut args = vec![
                "--node-id".to_string(),
                id.to_string(),
                "--controller-voters".to_string(),
                voter_list.clone(),
            ];
            args.extend(FAST_FAILOVER.iter().map(|s| s.to_string()));
            args.extend(extra.iter().map(|s| s.to_string()));
            b.add_args(&args);
        }
        for b in brokers.iter_mut() {
            b.launch();
        }
        for b in brokers.iter_mut() {
            b.wait_ready();
        }
        Cluster { brokers }
    }

    /// Every broker's Kafka address, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(Broker::bootstrap)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// What broker `id` says about the cluster, if it answers.
    pub fn view_from(&self, id: usize) -> Option<ClusterView> {
        let stream = std::net::TcpStream::connect(self.brokers[id].bootstrap()).ok()?;
        drop(stream);
        let mut client = RawClient::connect(&self.brokers[id].bootstrap());
        client.send(ApiKey::Metadata, 12, &MetadataRequest::default());
        let response: MetadataResponse = client.receive(ApiKey::Metadata, 12)?;
        let mut brokers: Vec<i32> = response.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        Some(ClusterView {
            cluster_id: response
                .cluster_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            controller: response.controller_id.0,
            brokers,
        })
    }

    /// Waits until `check` holds, failing the test with `what` after `within`.
    pub fn wait_until(
        &self,
        what: &str,
        within: Duration,
        mut check: impl FnMut(&Cluster) -> bool,
    ) {
        let deadline = Instant::now() + within;
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One partition as broker `from` reports it, if it answers.
    pub fn partition_view(
        &self,
        from: usize,
        topic: &str,
        partition: i32,
    ) -> Option<PartitionView> {
        let md = topic_metadata(&self.brokers[from], topic)?;
        let t = md.topics().first()?;
        let p = t.partitions().iter().find(|p| p.id() == partition)?;
        let mut isr = p.isr().to_vec();
        isr.sort_unstable();
        Some(PartitionView {
            leader: p.leader(),
            isr,
            replicas: p.replicas().to_vec(),
        })
    }

    /// Asks broker `via` to move partition 0 of `topic` to `target` (`None`
    /// cancels) with AlterPartitionReassignments; returns the partition's
    /// error code.
    pub fn reassign(&self, via: usize, topic: &str, target: Option<&[i32]>) -> i16 {
        let mut client = RawClient::connect(&self.brokers[via].bootstrap());
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

    /// The controller as the running broker `from` sees it.
    pub fn controller(&self, from: usize) -> Option<i32> {
        self.view_from(from).map(|v| v.controller)
    }
}
