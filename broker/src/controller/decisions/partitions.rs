//! Deciding CreatePartitions: partitions can only grow, and new ones get
//! the topic's replication factor.

use kafka_protocol::error::ResponseError;

use super::topics::{new_partition, place_replicas, placeable_brokers, placement_order};
use super::Rejection;
use crate::metadata::{MetadataImage, MetadataRecord};

/// Decides the records that grow `topic` to `count` partitions, with
/// optional explicit replica lists for the new partitions.
pub fn create_partitions(
    image: &MetadataImage,
    topic: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Result<Vec<MetadataRecord>, Rejection> {
    let t = image.topic(topic).ok_or_else(|| {
        Rejection::new(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{topic}' does not exist."),
        )
    })?;
    let current = i32::try_from(t.partitions.len()).unwrap_or(i32::MAX);
    if count < current {
        return Err(Rejection::new(
            ResponseError::InvalidPartitions,
            format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
        ));
    }
    if count == current {
        return Err(Rejection::new(
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partitions."),
        ));
    }
    if i64::from(count) - i64::from(current) > super::limits::MAX_PARTITIONS_PER_BATCH {
        return Err(super::limits::excessively_large());
    }
    let rf = t.partitions.values().next().map_or(1, |p| p.replicas.len());
    let brokers: Vec<i32> = placeable_brokers(image);
    let bad = |m: String| Err(Rejection::new(ResponseError::InvalidReplicaAssignment, m));
    let placed: Vec<(i32, Vec<i32>)> = match assignments {
        Some(given) => {
            let added = count - current;
            if i32::try_from(given.len()).ok() != Some(added) {
                return bad(format!(
                    "Increasing the number of partitions by {added} but {} assignments provided.",
                    given.len()
                ));
            }
            for (i, replicas) in given.iter().enumerate() {
                let p = current + i32::try_from(i).unwrap_or(0);
                if replicas.len() != rf {
                    return bad(format!(
                        "Inconsistent replication factor between partitions, partition 0 has {rf} while partition {p} has {}.",
                        replicas.len()
                    ));
                }
                let mut sorted = replicas.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != replicas.len() {
                    return bad(format!(
                        "Duplicate brokers not allowed in replica assignment of partition {p}."
                    ));
                }
                if let Some(b) = replicas.iter().find(|b| !brokers.contains(b)) {
                    return bad(format!(
                        "Unknown broker {b} in replica assignment of partition {p}."
                    ));
                }
            }
            (current..count).zip(given.iter().cloned()).collect()
        }
        None => {
            if rf > brokers.len() {
                return Err(Rejection::new(
                    ResponseError::InvalidReplicationFactor,
                    format!(
                        "Replication factor {rf} is larger than the {} registered brokers.",
                        brokers.len()
                    ),
                ));
            }
            let start = image.topics.values().map(|t| t.partitions.len()).sum();
            place_replicas(&placement_order(image), current..count, rf, start)
                .into_iter()
                .collect()
        }
    };
    Ok(placed
        .into_iter()
        .map(|(p, replicas)| new_partition(t.id, p, replicas))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::decisions::topics::{create_topic, NewTopic, TopicDefaults};
    use crate::metadata::BrokerRecord;
    use std::collections::BTreeMap;
    use uuid::Uuid;

    fn image() -> MetadataImage {
        let mut image = MetadataImage::default();
        image.apply_all(&[MetadataRecord::RegisterBroker(BrokerRecord {
            node_id: 0,
            endpoints: vec![],
            rack: None,
            internal_address: String::new(),
            incarnation: Uuid::nil(),
        })]);
        let t = NewTopic {
            name: "t".into(),
            num_partitions: 2,
            replication_factor: 1,
            assignments: BTreeMap::new(),
            configs: BTreeMap::new(),
        };
        let defaults = TopicDefaults {
            num_partitions: 1,
            replication_factor: 1,
        };
        image.apply_all(&create_topic(&image, &t, defaults, Uuid::new_v4()).unwrap());
        image
    }

    fn code(r: Result<Vec<MetadataRecord>, Rejection>) -> ResponseError {
        r.unwrap_err().error
    }

    #[test]
    fn partitions_only_grow() {
        let image = image();
        assert_eq!(create_partitions(&image, "t", 4, None).unwrap().len(), 2);
        assert_eq!(
            code(create_partitions(&image, "t", 2, None)),
            ResponseError::InvalidPartitions
        );
        assert_eq!(
            code(create_partitions(&image, "t", 1, None)),
            ResponseError::InvalidPartitions
        );
        assert_eq!(
            code(create_partitions(&image, "nope", 3, None)),
            ResponseError::UnknownTopicOrPartition
        );
    }

    #[test]
    fn explicit_assignments_are_checked() {
        let image = image();
        assert!(create_partitions(&image, "t", 3, Some(&[vec![0]])).is_ok());
        assert_eq!(
            code(create_partitions(&image, "t", 4, Some(&[vec![0]]))),
            ResponseError::InvalidReplicaAssignment
        );
        assert_eq!(
            code(create_partitions(&image, "t", 3, Some(&[vec![5]]))),
            ResponseError::InvalidReplicaAssignment
        );
        assert_eq!(
            code(create_partitions(&image, "t", 3, Some(&[vec![0, 0]]))),
            ResponseError::InvalidReplicaAssignment
        );
    }
}
