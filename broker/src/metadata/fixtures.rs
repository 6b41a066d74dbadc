//! Images for decision tests: brokers registered with nothing else to say
//! and one topic `t` holding the partitions a test gives, so each test
//! states only what it is about.

use uuid::Uuid;

use super::{BrokerRecord, MetadataImage, MetadataRecord, PartitionRecord, TopicRecord};

/// The id of the fixture topic `t`.
pub const TOPIC_ID: Uuid = Uuid::from_u128(1);

/// A registered broker without endpoints or rack.
pub fn broker(node_id: i32) -> BrokerRecord {
    BrokerRecord {
        node_id,
        endpoints: Vec::new(),
        rack: None,
        internal_address: String::new(),
        incarnation: Uuid::nil(),
    }
}

/// Partition `index` of `t` with these replicas, ISR and leader, epochs 0
/// and no move in flight.
pub fn partition(index: i32, replicas: &[i32], isr: &[i32], leader: i32) -> PartitionRecord {
    PartitionRecord {
        topic_id: TOPIC_ID,
        partition: index,
        replicas: replicas.to_vec(),
        isr: isr.to_vec(),
        leader,
        leader_epoch: 0,
        partition_epoch: 0,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
    }
}

/// `brokers` registered and topic `t` with `partitions`.
pub fn image(brokers: &[i32], partitions: Vec<PartitionRecord>) -> MetadataImage {
    let mut image = MetadataImage::default();
    for b in brokers {
        image.apply(&MetadataRecord::RegisterBroker(broker(*b)));
    }
    image.apply(&MetadataRecord::Topic(TopicRecord {
        name: "t".into(),
        topic_id: TOPIC_ID,
    }));
    for p in partitions {
        image.apply(&MetadataRecord::Partition(p));
    }
    image
}
