//! What the operator asks a running cluster about itself, and the day-two
//! changes it makes through Kafka's admin APIs: the brokers, the quorum,
//! every partition's replicas and in-sync replicas, moves in progress;
//! reassignments, dynamic broker configs (cordons, throttles) and
//! unregistering removed brokers.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeQuorumRequest, DescribeQuorumResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, MetadataRequest,
    MetadataResponse, TopicName, UnregisterBrokerRequest, UnregisterBrokerResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{AdminClient, KafkaError};

/// A registered broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub id: i32,
    /// `broker.rack`.
    pub rack: Option<String>,
    /// Fenced: registered but not heartbeating (stopped or cut off).
    pub fenced: bool,
}

/// One partition as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Topic.
    pub topic: String,
    /// Index.
    pub partition: i32,
    /// Leader, -1 when offline.
    pub leader: i32,
    /// Replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// The topic's effective `min.insync.replicas`.
    pub min_isr: i32,
    /// Whether a reassignment of it is in progress.
    pub reassigning: bool,
    /// The replicas once the move in progress ends (`replicas` when none
    /// is): during a move Metadata lists the old and new replicas together.
    pub target: Vec<i32>,
}

/// The cluster as one broker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterView {
    /// `cluster.id`.
    pub cluster_id: String,
    /// The active controller, -1 when none.
    pub controller: i32,
    /// Registered brokers, fenced ones included.
    pub brokers: Vec<BrokerInfo>,
    /// The metadata quorum's voters.
    pub voters: Vec<i32>,
    /// Every partition of every topic.
    pub partitions: Vec<PartitionInfo>,
    /// Topics whose replicas are all throttled (`*` in
    /// `leader.replication.throttled.replicas`): what the operator sets
    /// while it moves data.
    pub throttled_topics: Vec<String>,
}

/// The topic config listing the replicas whose leaders are throttled.
pub const LEADER_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
/// The topic config listing the replicas whose followers are throttled.
pub const FOLLOWER_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";

fn name(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn ids(ids: &[BrokerId]) -> Vec<i32> {
    ids.iter().map(|b| b.0).collect()
}

impl AdminClient {
    /// Reads the brokers, the quorum, every partition and the moves in
    /// progress.
    pub async fn cluster_view(&mut self) -> Result<ClusterView, KafkaError> {
        let cluster: DescribeClusterResponse = self
            .call(
                ApiKey::DescribeCluster,
                2,
                &DescribeClusterRequest::default()
                    .with_endpoint_type(1)
                    .with_include_fenced_brokers(true),
            )
            .await?;
        if let Some(e) = KafkaError::refused(cluster.error_code, cluster.error_message.as_ref()) {
            return Err(e);
        }
        let metadata: MetadataResponse = self
            .call(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default()
                    .with_topics(None)
                    .with_allow_auto_topic_creation(false),
            )
            .await?;
        let quorum: DescribeQuorumResponse = self
            .call(
                ApiKey::DescribeQuorum,
                1,
                &DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
                    .with_topic_name(TopicName(name("__cluster_metadata")))
                    .with_partitions(vec![PartitionData::default().with_partition_index(0)])]),
            )
            .await?;
        let voters = quorum
            .topics
            .first()
            .and_then(|t| t.partitions.first())
            .map(|p| p.current_voters.iter().map(|v| v.replica_id.0).collect())
            .unwrap_or_default();
        let topics: Vec<String> = metadata
            .topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect();
        let (min_isr, throttled_topics) = self.topic_settings(&topics).await?;
        let moving = self.reassignments().await?;
        let mut partitions = Vec::new();
        for t in &metadata.topics {
            let Some(topic) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            for p in &t.partitions {
                let target = moving.get(&(topic.clone(), p.partition_index));
                partitions.push(PartitionInfo {
                    reassigning: target.is_some(),
                    target: target.cloned().unwrap_or_else(|| ids(&p.replica_nodes)),
                    topic: topic.clone(),
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    replicas: ids(&p.replica_nodes),
                    isr: ids(&p.isr_nodes),
                    min_isr: min_isr.get(&topic).copied().unwrap_or(1),
                });
            }
        }
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(ClusterView {
            cluster_id: cluster.cluster_id.to_string(),
            controller: cluster.controller_id.0,
            brokers: cluster
                .brokers
                .iter()
                .map(|b| BrokerInfo {
                    id: b.broker_id.0,
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                    fenced: b.is_fenced,
                })
                .collect(),
            voters,
            partitions,
            throttled_topics,
        })
    }

    /// Only who the broker thinks the cluster and its controller are: enough
    /// to tell whether brokers formed one cluster.
    pub async fn identity(&mut self) -> Result<ClusterView, KafkaError> {
        let cluster: DescribeClusterResponse = self
            .call(
                ApiKey::DescribeCluster,
                2,
                &DescribeClusterRequest::default().with_endpoint_type(1),
            )
            .await?;
        if let Some(e) = KafkaError::refused(cluster.error_code, cluster.error_message.as_ref()) {
            return Err(e);
        }
        Ok(ClusterView {
            cluster_id: cluster.cluster_id.to_string(),
            controller: cluster.controller_id.0,
            ..ClusterView::default()
        })
    }

    /// Each topic's effective `min.insync.replicas`, and the topics the
    /// operator throttled.
    async fn topic_settings(
        &mut self,
        topics: &[String],
    ) -> Result<(BTreeMap<String, i32>, Vec<String>), KafkaError> {
        if topics.is_empty() {
            return Ok((BTreeMap::new(), Vec::new()));
        }
        let request = DescribeConfigsRequest::default().with_resources(
            topics
                .iter()
                .map(|t| {
                    DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(name(t))
                        .with_configuration_keys(Some(vec![
                            name("min.insync.replicas"),
                            name(LEADER_THROTTLED_REPLICAS),
                        ]))
                })
                .collect(),
        );
        let described: DescribeConfigsResponse =
            self.call(ApiKey::DescribeConfigs, 4, &request).await?;
        let value = |r: &DescribeConfigsResult, key: &str| {
            r.configs
                .iter()
                .find(|c| c.name.as_str() == key)
                .and_then(|c| c.value.as_ref())
                .map(|v| v.to_string())
        };
        let ok = || described.results.iter().filter(|r| r.error_code == 0);
        let min_isr = ok()
            .filter_map(|r| {
                let n = value(r, "min.insync.replicas")?.parse().ok()?;
                Some((r.resource_name.to_string(), n))
            })
            .collect();
        let throttled = ok()
            .filter(|r| value(r, LEADER_THROTTLED_REPLICAS).as_deref() == Some("*"))
            .map(|r| r.resource_name.to_string())
            .collect();
        Ok((min_isr, throttled))
    }

    /// Partitions being reassigned: (topic, partition) → target replicas.
    pub async fn reassignments(&mut self) -> Result<BTreeMap<(String, i32), Vec<i32>>, KafkaError> {
        let response: ListPartitionReassignmentsResponse = self
            .call(
                ApiKey::ListPartitionReassignments,
                0,
                &ListPartitionReassignmentsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_topics(None),
            )
            .await?;
        if let Some(e) = KafkaError::refused(response.error_code, response.error_message.as_ref()) {
            return Err(e);
        }
        Ok(response
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    let target: Vec<i32> = ids(&p.replicas)
                        .into_iter()
                        .filter(|r| !p.removing_replicas.iter().any(|x| x.0 == *r))
                        .collect();
                    ((t.name.0.to_string(), p.partition_index), target)
                })
            })
            .collect())
    }

    /// Starts moves: each (topic, partition) to its target replicas.
    pub async fn reassign(&mut self, moves: &[(String, i32, Vec<i32>)]) -> Result<(), KafkaError> {
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (topic, partition, target) in moves {
            by_topic.entry(topic).or_default().push(
                ReassignablePartition::default()
                    .with_partition_index(*partition)
                    .with_replicas(Some(target.iter().map(|b| BrokerId(*b)).collect())),
            );
        }
        let request = AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        ReassignableTopic::default()
                            .with_name(TopicName(name(t)))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let response: AlterPartitionReassignmentsResponse = self
            .call(ApiKey::AlterPartitionReassignments, 0, &request)
            .await?;
        if let Some(e) = KafkaError::refused(response.error_code, response.error_message.as_ref()) {
            return Err(e);
        }
        for t in &response.responses {
            for p in &t.partitions {
                if let Some(e) = KafkaError::refused(p.error_code, p.error_message.as_ref()) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) dynamic configs of one broker, or
    /// of every broker with `broker` `None` (the cluster-wide default).
    pub async fn alter_broker_configs(
        &mut self,
        broker: Option<i32>,
        configs: &[(&str, Option<String>)],
    ) -> Result<(), KafkaError> {
        let resource = AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_string(
                broker.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(name(k))
                            .with_config_operation(if v.is_some() { 0 } else { 1 })
                            .with_value(v.as_deref().map(name))
                    })
                    .collect(),
            );
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![resource]);
        let response: IncrementalAlterConfigsResponse = self
            .call(ApiKey::IncrementalAlterConfigs, 1, &request)
            .await?;
        for r in &response.responses {
            if let Some(e) = KafkaError::refused(r.error_code, r.error_message.as_ref()) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Dynamic configs set on one broker (not defaults), by name.
    pub async fn broker_configs(
        &mut self,
        broker: i32,
    ) -> Result<BTreeMap<String, String>, KafkaError> {
        // DYNAMIC_BROKER_CONFIG
        self.dynamic_configs(broker.to_string(), 1).await
    }

    /// The cluster-wide dynamic defaults in force, by name.
    pub async fn cluster_default_configs(
        &mut self,
    ) -> Result<BTreeMap<String, String>, KafkaError> {
        // DYNAMIC_DEFAULT_BROKER_CONFIG
        self.dynamic_configs(String::new(), 3).await
    }

    /// The configs of BROKER resource `resource` that come from `source`.
    async fn dynamic_configs(
        &mut self,
        resource: String,
        source: i8,
    ) -> Result<BTreeMap<String, String>, KafkaError> {
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_string(resource))
                .with_configuration_keys(None),
        ]);
        let described: DescribeConfigsResponse =
            self.call(ApiKey::DescribeConfigs, 4, &request).await?;
        let mut out = BTreeMap::new();
        for r in &described.results {
            if let Some(e) = KafkaError::refused(r.error_code, r.error_message.as_ref()) {
                return Err(e);
            }
            for c in r.configs.iter().filter(|c| c.config_source == source) {
                if let Some(v) = &c.value {
                    out.insert(c.name.to_string(), v.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Removes a stopped broker's registration; one already gone counts as
    /// removed.
    pub async fn unregister_broker(&mut self, broker: i32) -> Result<(), KafkaError> {
        let response: UnregisterBrokerResponse = self
            .call(
                ApiKey::UnregisterBroker,
                0,
                &UnregisterBrokerRequest::default().with_broker_id(BrokerId(broker)),
            )
            .await?;
        if response.error_code == ResponseError::BrokerIdNotRegistered.code() {
            return Ok(());
        }
        KafkaError::refused(response.error_code, response.error_message.as_ref())
            .map_or(Ok(()), Err)
    }
}
