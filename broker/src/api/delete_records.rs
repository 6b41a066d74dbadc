//! DeleteRecords: move partitions' log start offsets forward.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{ApiKey, DeleteRecordsRequest, DeleteRecordsResponse};

use super::count_error;
use crate::broker::Broker;

/// Handles a DeleteRecords request.
pub fn handle(
    broker: &Broker,
    request: DeleteRecordsRequest,
    _version: i16,
) -> DeleteRecordsResponse {
    let image = broker.image();
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let topic = image.topic(t.name.0.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let result = match topic {
                        Some(topic) if topic.partitions.contains_key(&p.partition_index) => broker
                            .replicas
                            .partition(topic.id, p.partition_index)
                            .ok_or(ResponseError::NotLeaderOrFollower)
                            .and_then(|partition| {
                                partition
                                    .delete_records_before(p.offset)
                                    .map_err(|e| e.error_code())
                            }),
                        _ => Err(ResponseError::UnknownTopicOrPartition),
                    };
                    let r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index);
                    match result {
                        Ok(low) => r.with_low_watermark(low),
                        Err(e) => {
                            count_error(broker, ApiKey::DeleteRecords, e);
                            r.with_low_watermark(-1).with_error_code(e.code())
                        }
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
