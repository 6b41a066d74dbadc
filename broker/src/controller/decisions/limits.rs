//! What one admin request may make the cluster hold: Kafka's per-operation
//! caps (`QuorumController.MAX_RECORDS_PER_USER_OP`,
//! `ReplicationControlManager.MAX_PARTITIONS_PER_BATCH`, KAFKA-14996) and
//! weir's ceiling on partition replicas per broker
//! (`weir.max.partitions.per.broker`), checked before anything is written.
//!
//! Counts a client claims are checked first, before a decision builds
//! anything from them; the records a decision produced are checked again,
//! so no user operation commits more than Kafka would.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::Rejection;
use crate::metadata::{MetadataImage, MetadataRecord};

/// The most metadata records one user operation may write, as Kafka's
/// controller allows.
pub const MAX_RECORDS_PER_USER_OP: usize = 10_000;

/// The most partitions one CreateTopics or CreatePartitions request may
/// create, as Kafka's controller allows.
pub const MAX_PARTITIONS_PER_BATCH: i64 = 10_000;

/// The dynamic broker config (cluster default or per broker) capping the
/// partition replicas a broker holds.
pub const MAX_PARTITIONS_PER_BROKER_KEY: &str = "weir.max.partitions.per.broker";

/// Its default: the guidance Kafka's maintainers give for one broker
/// (about 4,000 partition replicas), which also keeps a broker's open
/// segment files far below a default descriptor limit.
pub const DEFAULT_MAX_PARTITIONS_PER_BROKER: u64 = 4_000;

/// Kafka's answer when a request's partitions exceed the batch cap.
pub fn too_many_partitions() -> Rejection {
    Rejection::new(
        ResponseError::PolicyViolation,
        "Excessively large number of partitions per request.",
    )
}

/// Kafka's answer when an operation would write too many records.
pub fn excessively_large() -> Rejection {
    Rejection::new(
        ResponseError::PolicyViolation,
        "Unable to perform excessively large batch operation.",
    )
}

/// Refuses `partitions` new partitions in one request over the batch cap.
pub fn check_new_partitions(partitions: i64) -> Result<(), Rejection> {
    if partitions > MAX_PARTITIONS_PER_BATCH {
        return Err(too_many_partitions());
    }
    Ok(())
}

/// The replica ceiling in force for `broker`.
pub fn max_partitions_per_broker(image: &MetadataImage, broker: i32) -> u64 {
    image
        .broker_config(broker, MAX_PARTITIONS_PER_BROKER_KEY)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_PARTITIONS_PER_BROKER)
}

/// Checks what a user operation decided: at most
/// [`MAX_RECORDS_PER_USER_OP`] records, and no broker pushed over its
/// replica ceiling by the replicas the records add.
pub fn check_user_op(image: &MetadataImage, records: &[MetadataRecord]) -> Result<(), Rejection> {
    if records.len() > MAX_RECORDS_PER_USER_OP {
        return Err(excessively_large());
    }
    let added = added_replicas(image, records);
    if added.is_empty() {
        return Ok(());
    }
    let held = replicas_per_broker(image);
    for (broker, more) in added {
        let now = held.get(&broker).copied().unwrap_or(0);
        let limit = max_partitions_per_broker(image, broker);
        if now + more > limit {
            return Err(Rejection::new(
                ResponseError::PolicyViolation,
                format!(
                    "Broker {broker} would hold {} partition replicas ({now} now), more than \
                     {MAX_PARTITIONS_PER_BROKER_KEY}={limit}.",
                    now + more
                ),
            ));
        }
    }
    Ok(())
}

/// Partition replicas each broker holds now, counting both sides of a move.
fn replicas_per_broker(image: &MetadataImage) -> BTreeMap<i32, u64> {
    let mut held = BTreeMap::new();
    for p in image.topics.values().flat_map(|t| t.partitions.values()) {
        for r in &p.replicas {
            *held.entry(*r).or_insert(0) += 1;
        }
    }
    held
}

/// Replicas the records place on brokers that do not hold them yet.
fn added_replicas(image: &MetadataImage, records: &[MetadataRecord]) -> BTreeMap<i32, u64> {
    let mut added = BTreeMap::new();
    for record in records {
        let MetadataRecord::Partition(p) = record else {
            continue;
        };
        let before = image
            .topics
            .get(&p.topic_id)
            .and_then(|t| t.partitions.get(&p.partition))
            .map(|old| old.replicas.as_slice())
            .unwrap_or(&[]);
        for r in p.replicas.iter().filter(|r| !before.contains(r)) {
            *added.entry(*r).or_insert(0) += 1;
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::decisions::topics::new_partition;
    use crate::metadata::{fixtures, ConfigRecord, ConfigResource};
    use uuid::Uuid;

    fn partitions(topic_id: Uuid, n: i32, replicas: &[i32]) -> Vec<MetadataRecord> {
        (0..n)
            .map(|p| new_partition(topic_id, p, replicas.to_vec()))
            .collect()
    }

    #[test]
    fn the_described_default_is_the_enforced_one() {
        let described = crate::controller::decisions::broker_configs::DYNAMIC_BROKER_CONFIGS
            .iter()
            .find(|d| d.name == MAX_PARTITIONS_PER_BROKER_KEY)
            .expect("described");
        assert_eq!(
            described.default.parse::<u64>().ok(),
            Some(DEFAULT_MAX_PARTITIONS_PER_BROKER)
        );
    }

    #[test]
    fn an_operation_over_kafkas_record_cap_is_a_policy_violation() {
        let image = fixtures::image(&[0], vec![]);
        let records = partitions(Uuid::new_v4(), 10_001, &[0]);
        let r = check_user_op(&image, &records).unwrap_err();
        assert_eq!(r.error, ResponseError::PolicyViolation);
        assert_eq!(
            r.message,
            "Unable to perform excessively large batch operation."
        );
        assert_eq!(
            check_new_partitions(10_001).unwrap_err().error,
            ResponseError::PolicyViolation
        );
        assert!(check_new_partitions(10_000).is_ok());
    }

    #[test]
    fn a_broker_takes_replicas_up_to_its_ceiling_and_no_more() {
        let mut image = fixtures::image(&[0, 1], vec![]);
        image.apply(&MetadataRecord::Config(ConfigRecord {
            resource: ConfigResource::Broker(-1),
            name: MAX_PARTITIONS_PER_BROKER_KEY.into(),
            value: Some("10".into()),
        }));
        let topic = Uuid::new_v4();
        assert!(check_user_op(&image, &partitions(topic, 10, &[0, 1])).is_ok());
        let r = check_user_op(&image, &partitions(topic, 11, &[0])).unwrap_err();
        assert_eq!(r.error, ResponseError::PolicyViolation);
        assert!(
            r.message.contains("Broker 0 would hold 11"),
            "{}",
            r.message
        );
    }

    #[test]
    fn replicas_a_partition_already_has_do_not_count_again() {
        let existing = fixtures::partition(0, &[0], &[0], 0);
        let topic = existing.topic_id;
        let mut image = fixtures::image(&[0, 1], vec![existing]);
        image.apply(&MetadataRecord::Config(ConfigRecord {
            resource: ConfigResource::Broker(-1),
            name: MAX_PARTITIONS_PER_BROKER_KEY.into(),
            value: Some("1".into()),
        }));
        let moved = new_partition(topic, 0, vec![0, 1]);
        assert!(check_user_op(&image, &[moved]).is_ok());
        let grown = new_partition(topic, 1, vec![0]);
        assert!(check_user_op(&image, &[grown]).is_err());
    }
}
