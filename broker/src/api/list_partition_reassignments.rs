//! ListPartitionReassignments (KIP-455): the moves in flight, with the
//! replicas each is adding and removing, read from this broker's image
//! (which every forwarded change waits for before it is answered).

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::metadata::{PartitionRecord, TopicImage};

fn ids(replicas: &[i32]) -> Vec<BrokerId> {
    replicas.iter().copied().map(BrokerId).collect()
}

fn ongoing(p: &PartitionRecord) -> Option<OngoingPartitionReassignment> {
    (!p.adding_replicas.is_empty() || !p.removing_replicas.is_empty()).then(|| {
        OngoingPartitionReassignment::default()
            .with_partition_index(p.partition)
            .with_replicas(ids(&p.replicas))
            .with_adding_replicas(ids(&p.adding_replicas))
            .with_removing_replicas(ids(&p.removing_replicas))
    })
}

fn topic_entry(
    topic: &TopicImage,
    partitions: Vec<OngoingPartitionReassignment>,
) -> Option<OngoingTopicReassignment> {
    (!partitions.is_empty()).then(|| {
        OngoingTopicReassignment::default()
            .with_name(TopicName(StrBytes::from_string(topic.name.clone())))
            .with_partitions(partitions)
    })
}

/// Handles a ListPartitionReassignments request: all moves, or those of the
/// partitions asked for (unknown ones are left out, as Kafka does).
pub fn handle(
    broker: &Broker,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let image = broker.image();
    let topics = match &request.topics {
        None => image
            .topics
            .values()
            .filter_map(|t| topic_entry(t, t.partitions.values().filter_map(ongoing).collect()))
            .collect(),
        Some(asked) => asked
            .iter()
            .filter_map(|a| {
                let t = image.topic(a.name.0.as_str())?;
                let partitions = a
                    .partition_indexes
                    .iter()
                    .filter_map(|i| t.partitions.get(i).and_then(ongoing))
                    .collect();
                topic_entry(t, partitions)
            })
            .collect(),
    };
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}
