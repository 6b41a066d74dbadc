//! OffsetCommit: stores consumers' positions in `__consumer_offsets`, for a
//! group member (checked against its generation) or a standalone consumer.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetCommitResponse};

use super::count_error;
use crate::broker::Broker;
use crate::group::records::OffsetValue;
use crate::group::OffsetCommit;
use crate::time::now_ms;

/// Kafka's `offsets.commit.timeout.ms` default: how long a commit waits for
/// the ISR of its `__consumer_offsets` partition.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Handles an OffsetCommit request.
pub async fn handle(
    broker: &Broker,
    request: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let image = broker.image();
    let now = now_ms();
    let max_metadata = broker.groups.metadata_max_bytes();
    // Per (topic index, partition index): the error decided before writing.
    let mut errors: BTreeMap<(usize, usize), ResponseError> = BTreeMap::new();
    let mut commits = Vec::new();
    for (t, topic) in request.topics.iter().enumerate() {
        let known = image.topic(topic.name.0.as_str());
        for (p, partition) in topic.partitions.iter().enumerate() {
            let metadata = partition
                .committed_metadata
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            if !known.is_some_and(|k| k.partitions.contains_key(&partition.partition_index)) {
                errors.insert((t, p), ResponseError::UnknownTopicOrPartition);
            } else if metadata.len() > max_metadata {
                errors.insert((t, p), ResponseError::OffsetMetadataTooLarge);
            } else {
                commits.push(OffsetCommit {
                    topic: topic.name.0.to_string(),
                    partition: partition.partition_index,
                    value: OffsetValue {
                        offset: partition.committed_offset,
                        leader_epoch: if version >= 6 {
                            partition.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata,
                        commit_timestamp: now,
                    },
                });
            }
        }
    }
    let group_error = if commits.is_empty() && !errors.is_empty() {
        None
    } else {
        let written = broker.groups.commit(
            broker,
            request.group_id.0.as_str(),
            request.member_id.as_str(),
            request.group_instance_id.as_ref().map(|s| s.as_str()),
            request.generation_id_or_member_epoch,
            commits,
        );
        match written {
            Ok(durable) => durable.replicated(COMMIT_TIMEOUT).await.err(),
            Err(e) => Some(e),
        }
    };
    let topics = request
        .topics
        .iter()
        .enumerate()
        .map(|(t, topic)| {
            OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(
                    topic
                        .partitions
                        .iter()
                        .enumerate()
                        .map(|(p, partition)| {
                            let error = errors.get(&(t, p)).copied().or(group_error);
                            if let Some(e) = error {
                                count_error(broker, ApiKey::OffsetCommit, e);
                            }
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(partition.partition_index)
                                .with_error_code(error.map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}
