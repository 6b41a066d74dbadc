//! What to do to a topic: a pure function from the `KafkaTopic` spec and the
//! topic as the cluster has it to the admin calls to make, or the reason it
//! cannot be done (what Kafka cannot do touches nothing).

use std::collections::BTreeMap;

use crate::kafka::TopicState;
use crate::placement::{BrokerSlot, Placement};

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
    /// AlterPartitionReassignments: each partition to these replicas (a
    /// replication factor change).
    Reassign(Vec<(i32, Vec<i32>)>),
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
    /// More replicas than live brokers to hold them.
    #[error("replication factor {wanted} needs {wanted} brokers; the cluster has {brokers} live")]
    TooFewBrokers {
        /// Replication factor asked for.
        wanted: i32,
        /// Live brokers.
        brokers: usize,
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
    let mut steps = Vec::new();
    if replication_factor != current.replication_factor {
        steps.push(Step::Reassign(replica_targets(
            &current.assignments,
            &current.brokers,
            replication_factor,
        )?));
    }
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

/// New replicas for every partition at `rf`, placed as the cluster's
/// rebalancing places them (`crate::placement`): a higher factor adds to
/// each partition a broker in a rack it does not use yet, least loaded
/// first; a lower one drops a replica whose rack another shares, else the
/// last, never the preferred leader.
pub fn replica_targets(
    assignments: &[Vec<i32>],
    brokers: &[BrokerSlot],
    rf: i32,
) -> Result<Vec<(i32, Vec<i32>)>, Refusal> {
    let wanted = usize::try_from(rf).map_err(|_| Refusal::BadReplicationFactor(rf))?;
    if wanted == 0 || wanted > brokers.len() {
        return Err(Refusal::TooFewBrokers {
            wanted: rf,
            brokers: brokers.len(),
        });
    }
    let mut placement = Placement::new(brokers, assignments);
    let mut out = Vec::new();
    for (index, replicas) in assignments.iter().enumerate() {
        let mut target = replicas.clone();
        while target.len() > wanted {
            let Some(at) = placement.to_drop(&target) else {
                break;
            };
            placement.remove(target.remove(at));
        }
        while target.len() < wanted {
            let Some(next) = placement.destination(&target, None) else {
                break;
            };
            target.push(next);
            placement.add(next);
        }
        if target != *replicas {
            out.push((i32::try_from(index).unwrap_or(i32::MAX), target));
        }
    }
    Ok(out)
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
            assignments: (0..partitions).map(|p| vec![p % 3]).collect(),
            brokers: slots(&[(0, None)]),
        }
    }

    fn slots(brokers: &[(i32, Option<&str>)]) -> Vec<BrokerSlot> {
        brokers
            .iter()
            .map(|(id, rack)| BrokerSlot {
                id: *id,
                rack: rack.map(str::to_string),
            })
            .collect()
    }

    fn plain(ids: &[i32]) -> Vec<BrokerSlot> {
        slots(&ids.iter().map(|id| (*id, None)).collect::<Vec<_>>())
    }

    #[test]
    fn a_new_replication_factor_reassigns_spreading_the_added_replicas() {
        let assignments = vec![vec![0, 1], vec![1, 2], vec![2, 0], vec![0, 1]];
        let up = replica_targets(&assignments, &plain(&[0, 1, 2, 3]), 3).unwrap();
        assert_eq!(up.len(), 4);
        let on_3 = up.iter().filter(|(_, r)| r.contains(&3)).count();
        assert!(
            on_3 >= 3,
            "the empty broker takes the added replicas first: {up:?}"
        );
        assert!(up
            .iter()
            .all(|(p, r)| r[..2] == assignments[*p as usize][..]));
        let down = replica_targets(&assignments, &plain(&[0, 1, 2, 3]), 1).unwrap();
        assert_eq!(
            down,
            vec![(0, vec![0]), (1, vec![1]), (2, vec![2]), (3, vec![0])]
        );
        assert!(replica_targets(&assignments, &plain(&[0, 1]), 3).is_err());
    }

    #[test]
    fn a_new_replication_factor_spreads_replicas_over_racks() {
        let brokers = slots(&[
            (0, Some("a")),
            (1, Some("a")),
            (2, Some("b")),
            (3, Some("b")),
        ]);
        let up = replica_targets(&[vec![0], vec![1]], &brokers, 2).unwrap();
        assert_eq!(up, vec![(0, vec![0, 2]), (1, vec![1, 3])]);
        let down = replica_targets(&[vec![0, 1, 2]], &brokers, 2).unwrap();
        assert_eq!(down, vec![(0, vec![0, 2])], "the rack duplicate goes");
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
            Err(Refusal::TooFewBrokers { .. })
        ));
        assert!(plan(1, 70_000, &BTreeMap::new(), None).is_err());
    }
}
