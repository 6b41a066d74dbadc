//! ListOffsets: earliest, latest, max-timestamp and by-timestamp offsets.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse};

use super::count_error;
use crate::broker::Broker;

/// Handles a ListOffsets request.
pub fn handle(broker: &Broker, request: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let image = broker.image();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let found = image.topic(topic.name.0.as_str());
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let base = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    let partition = match found {
                        None => Err(ResponseError::UnknownTopicOrPartition),
                        Some(t) if !t.partitions.contains_key(&p.partition_index) => {
                            Err(ResponseError::UnknownTopicOrPartition)
                        }
                        Some(t) => broker
                            .replicas
                            .partition(t.id, p.partition_index)
                            .ok_or(ResponseError::NotLeaderOrFollower),
                    };
                    let result = partition.and_then(|partition| {
                        partition
                            .check_leader_epoch(p.current_leader_epoch)
                            .and_then(|_| partition.offset_for(p.timestamp))
                            .map_err(|e| e.error_code())
                    });
                    match result {
                        Ok(Some(found)) => {
                            let r = base
                                .with_offset(found.offset)
                                .with_timestamp(found.timestamp);
                            if version >= 4 {
                                r.with_leader_epoch(found.leader_epoch)
                            } else {
                                r
                            }
                        }
                        Ok(None) => base,
                        Err(e) => {
                            count_error(broker, ApiKey::ListOffsets, e);
                            base.with_error_code(e.code())
                        }
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
