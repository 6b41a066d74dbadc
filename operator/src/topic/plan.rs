//! What to do to a topic: a pure function from the `KafkaTopic` spec and the
//! topic as the cluster has it to the admin calls to make, or the reason it
//! cannot be done (what Kafka cannot do touches nothing).

use std::collections::BTreeMap;

use crate::kafka::TopicState;

/// One admin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// CreateTopics.
    Create {
        /// Partitions.
        partitions: i32,
        /// Replication factor.
        replication_factor: i16,
        /// Topic configs.
        configs: BTreeMap<String, String>,
    },
    /// CreatePartitions up to this count.
    AddPartitions(i32),
    /// IncrementalAlterConfigs.
    AlterConfigs {
        /// Keys to set.
        set: BTreeMap<String, String>,
        /// Keys to return to the default.
        delete: Vec<String>,
    },
}

/// Why the spec cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Kafka cannot remove partitions.
    #[error("the topic has {current} partitions; Kafka cannot reduce them to {wanted}")]
    CannotShrink {
        /// Partitions now.
        current: i32,
        /// Partitions asked for.
        wanted: i32,
    },
    /// Changing the replication factor needs a partition reassignment, which
    /// weir does not do yet.
    #[error("the topic has replication factor {current}; changing it to {wanted} needs a reassignment, which is not supported yet")]
    ReplicationFactorChange {
        /// Replication factor now.
        current: i32,
        /// Replication factor asked for.
        wanted: i32,
    },
    /// The replication factor does not fit Kafka's type.
    #[error("replicationFactor {0} is out of range")]
    BadReplicationFactor(i32),
}

/// The steps that bring `current` to the spec.
pub fn plan(
    partitions: i32,
    replication_factor: i32,
    configs: &BTreeMap<String, String>,
    current: Option<&TopicState>,
) -> Result<Vec<Step>, Refusal> {
    let rf = i16::try_from(replication_factor)
        .map_err(|_| Refusal::BadReplicationFactor(replication_factor))?;
    let Some(current) = current else {
        return Ok(vec![Step::Create {
            partitions,
            replication_factor: rf,
            configs: configs.clone(),
        }]);
    };
    if partitions < current.partitions {
        return Err(Refusal::CannotShrink {
            current: current.partitions,
            wanted: partitions,
        });
    }
    if replication_factor != current.replication_factor {
        return Err(Refusal::ReplicationFactorChange {
            current: current.replication_factor,
            wanted: replication_factor,
        });
    }
    let mut steps = Vec::new();
    if partitions > current.partitions {
        steps.push(Step::AddPartitions(partitions));
    }
    let set: BTreeMap<String, String> = configs
        .iter()
        .filter(|(k, v)| current.configs.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete: Vec<String> = current
        .configs
        .keys()
        .filter(|k| !configs.contains_key(*k))
        .cloned()
        .collect();
    if !set.is_empty() || !delete.is_empty() {
        steps.push(Step::AlterConfigs { set, delete });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(partitions: i32, rf: i32, configs: &[(&str, &str)]) -> TopicState {
        TopicState {
            topic_id: "id".into(),
            partitions,
            replication_factor: rf,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_missing_topic_is_created_with_its_configs() {
        let wanted = configs(&[("retention.ms", "1000")]);
        assert_eq!(
            plan(6, 1, &wanted, None),
            Ok(vec![Step::Create {
                partitions: 6,
                replication_factor: 1,
                configs: wanted.clone()
            }])
        );
    }

    #[test]
    fn partitions_grow_and_configs_converge() {
        let current = state(
            3,
            1,
            &[("retention.ms", "1000"), ("cleanup.policy", "compact")],
        );
        let wanted = configs(&[("retention.ms", "2000")]);
        assert_eq!(
            plan(6, 1, &wanted, Some(&current)),
            Ok(vec![
                Step::AddPartitions(6),
                Step::AlterConfigs {
                    set: wanted.clone(),
                    delete: vec!["cleanup.policy".into()]
                }
            ])
        );
        let settled = state(6, 1, &[("retention.ms", "2000")]);
        assert_eq!(plan(6, 1, &wanted, Some(&settled)), Ok(vec![]));
    }

    #[test]
    fn what_kafka_cannot_do_is_refused() {
        let current = state(6, 1, &[]);
        assert!(matches!(
            plan(3, 1, &BTreeMap::new(), Some(&current)),
            Err(Refusal::CannotShrink {
                current: 6,
                wanted: 3
            })
        ));
        assert!(matches!(
            plan(6, 3, &BTreeMap::new(), Some(&current)),
            Err(Refusal::ReplicationFactorChange { .. })
        ));
        assert!(plan(1, 70_000, &BTreeMap::new(), None).is_err());
    }
}
