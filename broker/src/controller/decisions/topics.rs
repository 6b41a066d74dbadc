//! Deciding topic creation: name rules, partition and replica placement,
//! config validation — Kafka's `CreateTopics` semantics.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::Rejection;
use crate::config::topic;
use crate::metadata::{
    ConfigRecord, ConfigResource, MetadataImage, MetadataRecord, PartitionRecord, TopicRecord,
};

/// Longest legal topic name, as in Kafka.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// A topic to create, as a CreateTopics entry or an auto-creation asks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewTopic {
    /// The topic name.
    pub name: String,
    /// Partition count, or -1 for the broker default.
    pub num_partitions: i32,
    /// Replication factor, or -1 for the broker default.
    pub replication_factor: i16,
    /// Explicit replica assignment by partition; exclusive with the two above.
    pub assignments: BTreeMap<i32, Vec<i32>>,
    /// Topic config overrides.
    pub configs: BTreeMap<String, String>,
}

/// The broker defaults topic creation falls back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicDefaults {
    /// `num.partitions`.
    pub num_partitions: i32,
    /// `default.replication.factor`.
    pub replication_factor: i16,
}

/// Checks a topic name against Kafka's rules.
pub fn validate_topic_name(name: &str) -> Result<(), Rejection> {
    let invalid = |m: String| Err(Rejection::new(ResponseError::InvalidTopicException, m));
    if name.is_empty() {
        return invalid("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return invalid("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return invalid(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LEN} characters, topic name: {name}"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return invalid(format!(
            "Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Decides the records that create `topic`, or why it cannot be created.
pub fn create_topic(
    image: &MetadataImage,
    topic: &NewTopic,
    defaults: TopicDefaults,
    topic_id: Uuid,
) -> Result<Vec<MetadataRecord>, Rejection> {
    validate_topic_name(&topic.name)?;
    if image.topic(&topic.name).is_some() {
        return Err(Rejection::new(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{}' already exists.", topic.name),
        ));
    }
    let collides = |n: &str| n.replace('.', "_") == topic.name.replace('.', "_");
    if let Some(other) = image.topic_ids.keys().find(|n| collides(n)) {
        return Err(Rejection::new(
            ResponseError::InvalidTopicException,
            format!(
                "Topic '{}' collides with existing topic: {other}",
                topic.name
            ),
        ));
    }
    for (name, value) in &topic.configs {
        topic::validate(name, value)
            .map_err(|e| Rejection::new(ResponseError::InvalidConfig, e.to_string()))?;
    }
    let brokers: Vec<i32> = placeable_brokers(image);
    let assignments = if topic.assignments.is_empty() {
        let partitions = match topic.num_partitions {
            -1 => defaults.num_partitions,
            n if n <= 0 => {
                return Err(Rejection::new(
                    ResponseError::InvalidPartitions,
                    "Number of partitions must be larger than 0.",
                ))
            }
            n => n,
        };
        super::limits::check_new_partitions(i64::from(partitions))?;
        let rf = match topic.replication_factor {
            -1 => defaults.replication_factor,
            n if n <= 0 => {
                return Err(Rejection::new(
                    ResponseError::InvalidReplicationFactor,
                    "Replication factor must be larger than 0.",
                ))
            }
            n => n,
        };
        let rf = usize::try_from(rf).unwrap_or(0);
        if rf > brokers.len() {
            return Err(Rejection::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {} broker(s) are registered, unfenced and not cordoned.",
                    brokers.len()
                ),
            ));
        }
        let start = image.topics.values().map(|t| t.partitions.len()).sum();
        place_replicas(&placement_order(image), 0..partitions, rf, start)
    } else {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return Err(Rejection::new(
                ResponseError::InvalidRequest,
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
            ));
        }
        super::limits::check_new_partitions(
            i64::try_from(topic.assignments.len()).unwrap_or(i64::MAX),
        )?;
        validate_assignments(&topic.assignments, &brokers)?;
        topic.assignments.clone()
    };

    let mut records = vec![MetadataRecord::Topic(TopicRecord {
        name: topic.name.clone(),
        topic_id,
    })];
    records.extend(
        assignments
            .into_iter()
            .map(|(partition, replicas)| new_partition(topic_id, partition, replicas)),
    );
    records.extend(topic.configs.iter().map(|(name, value)| {
        MetadataRecord::Config(ConfigRecord {
            resource: ConfigResource::Topic(topic.name.clone()),
            name: name.clone(),
            value: Some(value.trim().to_string()),
        })
    }));
    Ok(records)
}

/// A new partition led by its first replica with every replica in sync.
pub fn new_partition(topic_id: Uuid, partition: i32, replicas: Vec<i32>) -> MetadataRecord {
    MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition,
        leader: replicas.first().copied().unwrap_or(-1),
        isr: replicas.clone(),
        replicas,
        leader_epoch: 0,
        partition_epoch: 0,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
    })
}

/// The brokers new replicas may go to: live (registered, not fenced or
/// shut down) and not cordoned.
pub fn placeable_brokers(image: &MetadataImage) -> Vec<i32> {
    image
        .live_brokers()
        .into_iter()
        .filter(|b| !image.is_cordoned(*b))
        .collect()
}

/// The live brokers in the order replicas are placed over: with racks
/// (`broker.rack`), alternating between racks — the first broker of each
/// rack, then the second of each, and so on — so consecutive replicas of a
/// partition land in different racks (Kafka's rack-aware assignment). A
/// broker without a rack counts as a rack of its own kind.
pub fn placement_order(image: &MetadataImage) -> Vec<i32> {
    let live = placeable_brokers(image);
    let mut racks: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for id in &live {
        let rack = image
            .brokers
            .get(id)
            .and_then(|b| b.rack.as_deref())
            .unwrap_or("");
        racks.entry(rack).or_default().push(*id);
    }
    if racks.len() <= 1 {
        return live;
    }
    let deepest = racks.values().map(Vec::len).max().unwrap_or(0);
    (0..deepest)
        .flat_map(|i| racks.values().filter_map(move |ids| ids.get(i).copied()))
        .collect()
}

/// Spreads replicas round-robin over the brokers, starting at `start` so
/// leadership of successive topics lands on different brokers.
pub fn place_replicas(
    brokers: &[i32],
    partitions: std::ops::Range<i32>,
    rf: usize,
    start: usize,
) -> BTreeMap<i32, Vec<i32>> {
    if brokers.is_empty() {
        return BTreeMap::new();
    }
    partitions
        .map(|p| {
            let first = start + usize::try_from(p).unwrap_or(0);
            let replicas = (0..rf)
                .map(|j| brokers[(first + j) % brokers.len()])
                .collect();
            (p, replicas)
        })
        .collect()
}

/// Checks an explicit assignment: partitions numbered from 0 without gaps,
/// each with the same number of distinct, registered replicas.
pub fn validate_assignments(
    assignments: &BTreeMap<i32, Vec<i32>>,
    brokers: &[i32],
) -> Result<(), Rejection> {
    let bad = |m: String| Err(Rejection::new(ResponseError::InvalidReplicaAssignment, m));
    let expected: Vec<i32> = (0..i32::try_from(assignments.len()).unwrap_or(i32::MAX)).collect();
    if !assignments.keys().copied().eq(expected) {
        return bad("Partitions should be a consecutive 0-based integer sequence".into());
    }
    let rf = assignments.values().next().map(Vec::len).unwrap_or(0);
    for (p, replicas) in assignments {
        if replicas.is_empty() || replicas.len() != rf {
            return bad(format!(
                "All partitions should have the same number of replicas; partition {p} has {}",
                replicas.len()
            ));
        }
        if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
            return bad(format!(
                "Duplicate brokers not allowed in replica assignment of partition {p}"
            ));
        }
        if let Some(b) = replicas.iter().find(|b| !brokers.contains(b)) {
            return bad(format!(
                "Unknown broker {b} in replica assignment of partition {p}"
            ));
        }
    }
    Ok(())
}

/// Decides the deletion of a topic by name or id; returns the records and
/// the deleted topic's name and id.
pub fn delete_topic(
    image: &MetadataImage,
    name: Option<&str>,
    id: Option<Uuid>,
) -> Result<(Vec<MetadataRecord>, (String, Uuid)), Rejection> {
    let topic = match (name, id) {
        (Some(_), Some(_)) => {
            return Err(Rejection::new(
                ResponseError::InvalidRequest,
                "A topic must be named by name or by id, not both.",
            ))
        }
        (Some(name), None) => image.topic(name).ok_or_else(|| {
            Rejection::new(
                ResponseError::UnknownTopicOrPartition,
                format!("Topic '{name}' does not exist."),
            )
        })?,
        (None, Some(id)) => image.topic_by_id(&id).ok_or_else(|| {
            Rejection::new(
                ResponseError::UnknownTopicId,
                format!("Topic id {id} does not exist."),
            )
        })?,
        (None, None) => {
            return Err(Rejection::new(
                ResponseError::InvalidRequest,
                "A topic must be named by name or by id.",
            ))
        }
    };
    Ok((
        vec![MetadataRecord::RemoveTopic { topic_id: topic.id }],
        (topic.name.clone(), topic.id),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::BrokerRecord;

    fn image_with_brokers(n: i32) -> MetadataImage {
        let mut image = MetadataImage::default();
        let records: Vec<_> = (0..n)
            .map(|id| {
                MetadataRecord::RegisterBroker(BrokerRecord {
                    node_id: id,
                    endpoints: vec![],
                    rack: None,
                    internal_address: String::new(),
                    incarnation: Uuid::nil(),
                })
            })
            .collect();
        image.apply_all(&records);
        image
    }

    fn new_topic(name: &str, partitions: i32, rf: i16) -> NewTopic {
        NewTopic {
            name: name.into(),
            num_partitions: partitions,
            replication_factor: rf,
            assignments: BTreeMap::new(),
            configs: BTreeMap::new(),
        }
    }

    const DEFAULTS: TopicDefaults = TopicDefaults {
        num_partitions: 2,
        replication_factor: 1,
    };

    fn code(r: Result<Vec<MetadataRecord>, Rejection>) -> ResponseError {
        r.unwrap_err().error
    }

    #[test]
    fn names_follow_kafka_rules() {
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"x".repeat(250)] {
            assert_eq!(
                validate_topic_name(bad).unwrap_err().error,
                ResponseError::InvalidTopicException,
                "{bad}"
            );
        }
        for good in ["a", "a.b_c-D9", &"x".repeat(249)] {
            assert!(validate_topic_name(good).is_ok());
        }
    }

    #[test]
    fn defaults_fill_in_partitions_and_replication_factor() {
        let image = image_with_brokers(1);
        let records = create_topic(&image, &new_topic("t", -1, -1), DEFAULTS, Uuid::nil()).unwrap();
        let partitions = records
            .iter()
            .filter(|r| matches!(r, MetadataRecord::Partition(_)))
            .count();
        assert_eq!(partitions, 2);
    }

    #[test]
    fn bad_counts_and_duplicates_get_kafka_errors() {
        let mut image = image_with_brokers(1);
        assert_eq!(
            code(create_topic(
                &image,
                &new_topic("t", 0, 1),
                DEFAULTS,
                Uuid::nil()
            )),
            ResponseError::InvalidPartitions
        );
        assert_eq!(
            code(create_topic(
                &image,
                &new_topic("t", 1, 0),
                DEFAULTS,
                Uuid::nil()
            )),
            ResponseError::InvalidReplicationFactor
        );
        assert_eq!(
            code(create_topic(
                &image,
                &new_topic("t", 1, 3),
                DEFAULTS,
                Uuid::nil()
            )),
            ResponseError::InvalidReplicationFactor
        );
        let records =
            create_topic(&image, &new_topic("a.b", 1, 1), DEFAULTS, Uuid::new_v4()).unwrap();
        image.apply_all(&records);
        assert_eq!(
            code(create_topic(
                &image,
                &new_topic("a.b", 1, 1),
                DEFAULTS,
                Uuid::nil()
            )),
            ResponseError::TopicAlreadyExists
        );
        assert_eq!(
            code(create_topic(
                &image,
                &new_topic("a_b", 1, 1),
                DEFAULTS,
                Uuid::nil()
            )),
            ResponseError::InvalidTopicException
        );
    }

    #[test]
    fn configs_are_validated() {
        let image = image_with_brokers(1);
        let mut t = new_topic("t", 1, 1);
        t.configs.insert("retention.ms".into(), "abc".into());
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidConfig
        );
        t.configs = BTreeMap::from([("no.such.key".into(), "1".into())]);
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidConfig
        );
    }

    #[test]
    fn explicit_assignments_must_be_consistent() {
        let image = image_with_brokers(3);
        let mut t = new_topic("t", -1, -1);
        t.assignments = BTreeMap::from([(0, vec![0, 1]), (1, vec![1, 2])]);
        assert!(create_topic(&image, &t, DEFAULTS, Uuid::nil()).is_ok());
        t.assignments = BTreeMap::from([(0, vec![0, 0])]);
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidReplicaAssignment
        );
        t.assignments = BTreeMap::from([(1, vec![0])]);
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidReplicaAssignment
        );
        t.assignments = BTreeMap::from([(0, vec![7])]);
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidReplicaAssignment
        );
        t.num_partitions = 1;
        t.assignments = BTreeMap::from([(0, vec![0])]);
        assert_eq!(
            code(create_topic(&image, &t, DEFAULTS, Uuid::nil())),
            ResponseError::InvalidRequest
        );
    }

    #[test]
    fn deleting_needs_an_existing_topic_named_one_way() {
        let mut image = image_with_brokers(1);
        let id = Uuid::new_v4();
        image.apply_all(&create_topic(&image, &new_topic("t", 1, 1), DEFAULTS, id).unwrap());
        let (records, (name, found)) = delete_topic(&image, Some("t"), None).unwrap();
        assert_eq!((name.as_str(), found), ("t", id));
        assert_eq!(records, vec![MetadataRecord::RemoveTopic { topic_id: id }]);
        assert!(delete_topic(&image, None, Some(id)).is_ok());
        let err = |r: Result<_, Rejection>| r.unwrap_err().error;
        assert_eq!(
            err(delete_topic(&image, Some("x"), None)),
            ResponseError::UnknownTopicOrPartition
        );
        assert_eq!(
            err(delete_topic(&image, None, Some(Uuid::new_v4()))),
            ResponseError::UnknownTopicId
        );
        assert_eq!(
            err(delete_topic(&image, Some("t"), Some(id))),
            ResponseError::InvalidRequest
        );
    }

    #[test]
    fn replicas_of_a_partition_land_in_different_racks() {
        let mut image = MetadataImage::default();
        for (id, rack) in [(0, "a"), (1, "a"), (2, "b"), (3, "b"), (4, "c"), (5, "c")] {
            image.apply(&MetadataRecord::RegisterBroker(BrokerRecord {
                node_id: id,
                endpoints: vec![],
                rack: Some(rack.to_string()),
                internal_address: String::new(),
                incarnation: Uuid::nil(),
            }));
        }
        let order = placement_order(&image);
        assert_eq!(order, vec![0, 2, 4, 1, 3, 5]);
        let placed = place_replicas(&order, 0..6, 3, 0);
        for replicas in placed.values() {
            let racks: BTreeSet<_> = replicas
                .iter()
                .map(|r| image.brokers[r].rack.clone())
                .collect();
            assert_eq!(racks.len(), 3, "{replicas:?}");
        }
    }

    #[test]
    fn placement_spreads_leaders_round_robin() {
        let placed = place_replicas(&[0, 1, 2], 0..3, 2, 0);
        assert_eq!(placed[&0], vec![0, 1]);
        assert_eq!(placed[&1], vec![1, 2]);
        assert_eq!(placed[&2], vec![2, 0]);
    }
}
