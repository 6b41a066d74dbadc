//! OffsetDelete: removes a group's committed offsets for partitions it no
//! longer consumes (KIP-496).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetDeleteRequest, OffsetDeleteResponse};

use super::count_error;
use crate::broker::Broker;

/// Handles an OffsetDelete request.
pub fn handle(broker: &Broker, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let image = broker.image();
    let mut wanted = Vec::new();
    let mut unknown = Vec::new();
    for topic in &request.topics {
        let known = image.topic(topic.name.0.as_str());
        for p in &topic.partitions {
            let pair = (topic.name.0.to_string(), p.partition_index);
            if known.is_some_and(|k| k.partitions.contains_key(&p.partition_index)) {
                wanted.push(pair);
            } else {
                unknown.push(pair);
            }
        }
    }
    let results = match broker
        .groups
        .delete_offsets(broker, request.group_id.0.as_str(), &wanted)
    {
        Ok(r) => r,
        Err(e) => {
            count_error(broker, ApiKey::OffsetDelete, e);
            return OffsetDeleteResponse::default().with_error_code(e.code());
        }
    };
    let result_of = |topic: &str, partition: i32| -> Option<ResponseError> {
        if unknown.iter().any(|(t, p)| t == topic && *p == partition) {
            return Some(ResponseError::UnknownTopicOrPartition);
        }
        wanted
            .iter()
            .position(|(t, p)| t == topic && *p == partition)
            .and_then(|i| results.get(i).copied().flatten())
    };
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            OffsetDeleteResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(
                    topic
                        .partitions
                        .iter()
                        .map(|p| {
                            let error = result_of(topic.name.0.as_str(), p.partition_index);
                            if let Some(e) = error {
                                count_error(broker, ApiKey::OffsetDelete, e);
                            }
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(error.map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
