//! Current-leader hints (KIP-951): a Produce or Fetch answered
//! `NOT_LEADER_OR_FOLLOWER` also says who leads the partition now and where
//! to reach it, so a client moves at once instead of first refreshing its
//! metadata. Shared by both APIs because Kafka answers both the same way.

use std::collections::BTreeMap;

use kafka_protocol::messages::{fetch_response, produce_response, BrokerId};
use kafka_protocol::protocol::StrBytes;

use crate::metadata::image::{MetadataImage, TopicImage};

/// The partition's leader and leader epoch as this broker's image has them,
/// `(-1, -1)` when the topic or partition is unknown (as Kafka answers).
pub fn current_leader(topic: Option<&TopicImage>, partition: i32) -> (i32, i32) {
    topic
        .and_then(|t| t.partitions.get(&partition))
        .map_or((-1, -1), |p| (p.leader, p.leader_epoch))
}

/// Where a client reaches a broker: id, host, port and rack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// The broker's id.
    pub node_id: i32,
    /// Its advertised host.
    pub host: String,
    /// Its advertised port.
    pub port: u16,
    /// Its rack, if it has one.
    pub rack: Option<String>,
}

/// Produce and Fetch each have a `NodeEndpoint` type, generated from the
/// same schema; one conversion serves both.
macro_rules! endpoint_from_address {
    ($endpoint:ty) => {
        impl From<NodeAddress> for $endpoint {
            fn from(n: NodeAddress) -> Self {
                Self::default()
                    .with_node_id(BrokerId(n.node_id))
                    .with_host(StrBytes::from_string(n.host))
                    .with_port(i32::from(n.port))
                    .with_rack(n.rack.map(StrBytes::from_string))
            }
        }
    };
}

endpoint_from_address!(produce_response::NodeEndpoint);
endpoint_from_address!(fetch_response::NodeEndpoint);

/// The endpoints of the leaders named in hints, each once and by id, for
/// the response's `node_endpoints`. Fenced or unknown brokers are left out,
/// as Kafka's metadata cache only knows live ones.
pub fn node_endpoints(
    image: &MetadataImage,
    leaders: impl IntoIterator<Item = i32>,
    listener: &str,
) -> Vec<NodeAddress> {
    let mut found = BTreeMap::new();
    for id in leaders {
        if id < 0 || found.contains_key(&id) || !image.is_live(id) {
            continue;
        }
        let address = image.brokers.get(&id).and_then(|b| {
            let e = b.endpoint(listener)?;
            Some(NodeAddress {
                node_id: id,
                host: e.host.clone(),
                port: e.port,
                rack: b.rack.clone(),
            })
        });
        if let Some(address) = address {
            found.insert(id, address);
        }
    }
    found.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::fixtures;
    use crate::metadata::record::{Endpoint, MetadataRecord, PartitionRecord};
    use uuid::Uuid;

    fn image() -> (MetadataImage, Uuid) {
        let partition = PartitionRecord {
            leader_epoch: 4,
            partition_epoch: 6,
            ..fixtures::partition(0, &[1, 2], &[1, 2], 1)
        };
        let mut image = fixtures::image(&[], vec![partition]);
        for node in 0..3 {
            image.apply(&MetadataRecord::RegisterBroker(
                crate::metadata::BrokerRecord {
                    endpoints: vec![Endpoint {
                        name: "PLAINTEXT".into(),
                        host: format!("b{node}"),
                        port: 9092,
                    }],
                    rack: (node == 1).then(|| "r1".to_string()),
                    ..fixtures::broker(node)
                },
            ));
        }
        (image, fixtures::TOPIC_ID)
    }

    #[test]
    fn the_hint_is_the_images_leader_and_epoch() {
        let (image, id) = image();
        let topic = image.topics.get(&id);
        assert_eq!(current_leader(topic, 0), (1, 4));
        assert_eq!(current_leader(topic, 9), (-1, -1));
        assert_eq!(current_leader(None, 0), (-1, -1));
    }

    #[test]
    fn endpoints_name_each_live_leader_once() {
        let (mut image, _) = image();
        image.fenced.insert(2);
        let endpoints = node_endpoints(&image, [1, 1, 2, -1, 5], "PLAINTEXT");
        assert_eq!(
            endpoints,
            vec![NodeAddress {
                node_id: 1,
                host: "b1".into(),
                port: 9092,
                rack: Some("r1".into()),
            }]
        );
    }
}
