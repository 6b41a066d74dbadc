//! DescribeQuorum (KIP-595, KIP-836, KIP-853): the metadata quorum's leader,
//! epoch, high watermark and how far each voter and observer got, as
//! `kafka-metadata-quorum describe --status` and `--replication` show it.
//! Only the controller knows the members' progress, so any other broker
//! asks it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};
use crate::quorum::QuorumStatus;

/// The metadata log's topic name, as in Kafka.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// Handles a DescribeQuorum request.
pub async fn handle(
    broker: &Broker,
    request: DescribeQuorumRequest,
    version: i16,
) -> DescribeQuorumResponse {
    let asks_metadata = request.topics.len() == 1
        && request.topics[0].topic_name.0.as_str() == METADATA_TOPIC
        && request.topics[0].partitions.len() == 1
        && request.topics[0].partitions[0].partition_index == 0;
    let topic_name = request
        .topics
        .first()
        .map(|t| t.topic_name.clone())
        .unwrap_or_else(|| TopicName(StrBytes::from_static_str(METADATA_TOPIC)));
    if !asks_metadata {
        return partition_error(topic_name, ResponseError::UnknownTopicOrPartition, version);
    }
    let status = match broker.control(ControllerRequest::DescribeQuorum).await {
        Ok(ControllerReply::Quorum(status)) => status,
        Ok(_) => return partition_error(topic_name, ResponseError::UnknownServerError, version),
        Err(r) => return partition_error(topic_name, r.error, version),
    };
    let mut response = DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name)
        .with_partitions(vec![describe(&status)])]);
    if version >= 2 {
        let image = broker.image();
        response.nodes = status
            .voters
            .iter()
            .filter_map(|id| image.brokers.get(id))
            .map(|b| {
                Node::default()
                    .with_node_id(BrokerId(b.node_id))
                    .with_listeners(
                        b.endpoints
                            .iter()
                            .map(|e| {
                                Listener::default()
                                    .with_name(StrBytes::from_string(e.name.clone()))
                                    .with_host(StrBytes::from_string(e.host.clone()))
                                    .with_port(e.port)
                            })
                            .collect(),
                    )
            })
            .collect();
    }
    response
}

fn describe(status: &QuorumStatus) -> PartitionData {
    let member = |id: &i32| {
        let end = if Some(*id) == status.leader {
            status.last_log_index
        } else {
            status.progress.get(id).copied().unwrap_or(-1)
        };
        ReplicaState::default()
            .with_replica_id(BrokerId(*id))
            .with_log_end_offset(end)
            .with_last_fetch_timestamp(-1)
            .with_last_caught_up_timestamp(-1)
    };
    PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(status.leader.unwrap_or(-1)))
        .with_leader_epoch(i32::try_from(status.term).unwrap_or(i32::MAX))
        .with_high_watermark(status.high_watermark)
        .with_current_voters(status.voters.iter().map(member).collect())
        .with_observers(status.learners.iter().map(member).collect())
}

fn partition_error(
    topic_name: TopicName,
    error: ResponseError,
    version: i16,
) -> DescribeQuorumResponse {
    let mut partition = PartitionData::default()
        .with_partition_index(0)
        .with_error_code(error.code())
        .with_leader_id(BrokerId(-1))
        .with_leader_epoch(-1)
        .with_high_watermark(-1);
    if version >= 2 {
        partition.error_message = Some(StrBytes::from_string(format!("{error:?}")));
    }
    DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name)
        .with_partitions(vec![partition])])
}
