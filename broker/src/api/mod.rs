//! One module per Kafka API, named after it. Each handler takes the decoded
//! request and returns the response; the `server` does framing and encoding.
//!
//! [`SUPPORTED`] is the single list of APIs and versions: ApiVersions
//! advertises exactly it and the dispatcher refuses anything outside it.

pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_quorum;
pub mod elect_leaders;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leader_hints;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;
pub mod unregister_broker;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::VersionRange;

use crate::broker::Broker;

/// A reply that is ready later (an acks=all produce waiting for the ISR).
pub type LaterReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What a handler asks the connection to do.
pub enum Reply {
    /// Send this response (boxed: responses are large, the other variants tiny).
    Respond(Box<ResponseKind>),
    /// The request did its work; its answer comes when this completes. The
    /// connection may read and append further produce requests meanwhile,
    /// and answers them all in order.
    Later(LaterReply),
    /// Send nothing (acks=0 produce).
    NoResponse,
    /// Close the connection (Kafka's way of failing an acks=0 produce).
    Close(String),
}

/// Who sent a request and how, for the handlers that answer differently
/// by it: the client's address, the listener it connected to (Metadata
/// and the other APIs that name brokers answer with that listener's
/// addresses, as Kafka does) and the principal it authenticated as.
#[derive(Debug, Clone)]
pub struct ClientContext {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name of the listener the client connected to.
    pub listener: std::sync::Arc<str>,
    /// The principal (`User:ANONYMOUS` when unauthenticated).
    pub principal: std::sync::Arc<str>,
}

impl ClientContext {
    /// An unauthenticated client of `listener`.
    pub fn anonymous(peer: SocketAddr, listener: &str) -> Self {
        ClientContext {
            peer,
            listener: listener.into(),
            principal: "User:ANONYMOUS".into(),
        }
    }
}

/// One API this broker serves: its key, the name metrics and logs use
/// (Kafka's), and the versions implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedApi {
    /// The key.
    pub key: ApiKey,
    /// Kafka's name of the API.
    pub name: &'static str,
    /// The oldest version implemented.
    pub min: i16,
    /// The newest version implemented.
    pub max: i16,
}

const fn api(key: ApiKey, name: &'static str, min: i16, max: i16) -> ServedApi {
    ServedApi {
        key,
        name,
        min,
        max,
    }
}

/// Every API served, with the versions implemented.
pub const SUPPORTED: &[ServedApi] = &[
    api(ApiKey::Produce, "Produce", 3, 13),
    api(ApiKey::Fetch, "Fetch", 4, 16),
    api(ApiKey::ListOffsets, "ListOffsets", 1, 8),
    api(ApiKey::Metadata, "Metadata", 0, 12),
    api(ApiKey::OffsetCommit, "OffsetCommit", 2, 9),
    api(ApiKey::OffsetFetch, "OffsetFetch", 1, 9),
    api(ApiKey::FindCoordinator, "FindCoordinator", 0, 5),
    api(ApiKey::JoinGroup, "JoinGroup", 0, 9),
    api(ApiKey::Heartbeat, "Heartbeat", 0, 4),
    api(ApiKey::LeaveGroup, "LeaveGroup", 0, 5),
    api(ApiKey::SyncGroup, "SyncGroup", 0, 5),
    api(ApiKey::DescribeGroups, "DescribeGroups", 0, 5),
    api(ApiKey::ListGroups, "ListGroups", 0, 5),
    api(ApiKey::ApiVersions, "ApiVersions", 0, 4),
    api(ApiKey::CreateTopics, "CreateTopics", 2, 7),
    api(ApiKey::DeleteTopics, "DeleteTopics", 1, 6),
    api(ApiKey::DeleteRecords, "DeleteRecords", 0, 2),
    api(ApiKey::InitProducerId, "InitProducerId", 0, 5),
    api(ApiKey::DescribeConfigs, "DescribeConfigs", 1, 4),
    api(ApiKey::AlterConfigs, "AlterConfigs", 0, 2),
    api(ApiKey::CreatePartitions, "CreatePartitions", 0, 3),
    api(
        ApiKey::IncrementalAlterConfigs,
        "IncrementalAlterConfigs",
        0,
        1,
    ),
    api(ApiKey::OffsetDelete, "OffsetDelete", 0, 0),
    api(ApiKey::DeleteGroups, "DeleteGroups", 0, 2),
    api(ApiKey::DescribeCluster, "DescribeCluster", 0, 2),
    api(ApiKey::DescribeQuorum, "DescribeQuorum", 0, 2),
    api(
        ApiKey::AlterPartitionReassignments,
        "AlterPartitionReassignments",
        0,
        1,
    ),
    api(
        ApiKey::ListPartitionReassignments,
        "ListPartitionReassignments",
        0,
        0,
    ),
    api(ApiKey::ElectLeaders, "ElectLeaders", 0, 2),
    api(ApiKey::DescribeLogDirs, "DescribeLogDirs", 1, 4),
    api(ApiKey::UnregisterBroker, "UnregisterBroker", 0, 0),
    api(
        ApiKey::ConsumerGroupHeartbeat,
        "ConsumerGroupHeartbeat",
        0,
        1,
    ),
    api(ApiKey::ConsumerGroupDescribe, "ConsumerGroupDescribe", 0, 1),
];

/// The API `key`, if this broker serves it.
pub fn served(key: ApiKey) -> Option<&'static ServedApi> {
    SUPPORTED.iter().find(|a| a.key == key)
}

/// The name requests of `key` are counted and logged under: the API's
/// name, or "Other" for one this broker does not serve.
pub fn api_name(key: ApiKey) -> &'static str {
    served(key).map_or("Other", |a| a.name)
}

/// The versions of `key` this broker implements, if any.
pub fn supported_versions(key: ApiKey) -> Option<VersionRange> {
    served(key).map(|a| VersionRange {
        min: a.min,
        max: a.max,
    })
}

/// Routes a decoded request to its handler.
pub async fn handle(
    broker: &Broker,
    header: &RequestHeader,
    client: &ClientContext,
    request: RequestKind,
) -> Reply {
    let peer = client.peer;
    let listener = client.listener.as_ref();
    let version = header.request_api_version;
    let response = match request {
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_versions::handle(r, version)),
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(metadata::handle(broker, r, version, listener).await)
        }
        RequestKind::Produce(r) => return produce::handle(broker, r, version, listener).await,
        RequestKind::Fetch(r) => {
            ResponseKind::Fetch(fetch::handle(broker, r, version, listener).await)
        }
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(list_offsets::handle(broker, r, version))
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(create_topics::handle(broker, r, version).await)
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(delete_topics::handle(broker, r, version).await)
        }
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(create_partitions::handle(broker, r, version).await)
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id::handle(broker, r).await)
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(describe_configs::handle(broker, r, version))
        }
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(alter_configs::handle(broker, r, version).await)
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            incremental_alter_configs::handle(broker, r, version).await,
        ),
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(delete_records::handle(broker, r, version))
        }
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(
            find_coordinator::handle(broker, r, version, listener).await,
        ),
        RequestKind::JoinGroup(r) => {
            ResponseKind::JoinGroup(join_group::handle(broker, header, peer, r, version).await)
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group::handle(broker, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat::handle(broker, r)),
        RequestKind::ConsumerGroupHeartbeat(r) => ResponseKind::ConsumerGroupHeartbeat(
            consumer_group_heartbeat::handle(broker, header, peer, r, version).await,
        ),
        RequestKind::ConsumerGroupDescribe(r) => {
            ResponseKind::ConsumerGroupDescribe(consumer_group_describe::handle(broker, r))
        }
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(leave_group::handle(broker, r, version))
        }
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(offset_commit::handle(broker, r, version).await)
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(offset_fetch::handle(broker, r, version))
        }
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups::handle(broker, r)),
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(describe_groups::handle(broker, r, version))
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(delete_groups::handle(broker, r))
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(offset_delete::handle(broker, r))
        }
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(describe_cluster::handle(broker, r, version, listener))
        }
        RequestKind::DescribeQuorum(r) => {
            ResponseKind::DescribeQuorum(describe_quorum::handle(broker, r, version).await)
        }
        RequestKind::AlterPartitionReassignments(r) => ResponseKind::AlterPartitionReassignments(
            alter_partition_reassignments::handle(broker, r, version).await,
        ),
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(describe_log_dirs::handle(broker, r))
        }
        RequestKind::UnregisterBroker(r) => {
            ResponseKind::UnregisterBroker(unregister_broker::handle(broker, r).await)
        }
        RequestKind::ElectLeaders(r) => {
            ResponseKind::ElectLeaders(elect_leaders::handle(broker, r, version).await)
        }
        RequestKind::ListPartitionReassignments(r) => ResponseKind::ListPartitionReassignments(
            list_partition_reassignments::handle(broker, r),
        ),
        _ => return Reply::Close(format!("API key {} has no handler", header.request_api_key)),
    };
    Reply::Respond(Box::new(response))
}

/// Counts an error code returned by an API, for the errors metric.
pub fn count_error(broker: &Broker, key: ApiKey, error: ResponseError) {
    count_error_in(&broker.metrics.errors, key, error);
}

/// [`count_error`] for code that outlives the request's borrow of the broker.
pub fn count_error_in(errors: &prometheus::IntCounterVec, key: ApiKey, error: ResponseError) {
    errors
        .with_label_values(&[api_name(key), &format!("{error:?}")])
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_served_api_is_counted_under_its_own_kafka_name() {
        let mut names = BTreeSet::new();
        for a in SUPPORTED {
            assert_eq!(
                a.name,
                format!("{:?}", a.key),
                "the table names {:?}",
                a.key
            );
            assert_eq!(api_name(a.key), a.name);
            assert!(names.insert(a.name), "{} listed twice", a.name);
            assert!(a.min <= a.max, "{}: versions {}..{}", a.name, a.min, a.max);
        }
        assert_eq!(api_name(ApiKey::EndTxn), "Other");
    }
}
