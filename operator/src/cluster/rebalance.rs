//! The rebalancing plan: given the brokers that should hold data (with
//! their racks) and every partition's replicas and size, the reassignments
//! that drain brokers outside that set and even out replicas and preferred
//! leaders, moving as few bytes as it can and never putting two replicas of
//! a partition in one rack while another rack has room. Pure: the operator
//! carries the moves out with AlterPartitionReassignments on scale up and
//! scale down.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::placement::BrokerSlot;
use crate::placement::Placement;

/// A partition as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLoad {
    /// Its topic.
    pub topic: String,
    /// Its index.
    pub partition: i32,
    /// Its replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// Bytes one replica holds: what moving it costs.
    pub size: u64,
}

/// A reassignment to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMove {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The target replicas, preferred leader first.
    pub target: Vec<i32>,
    /// Replica bytes this move copies (0 for a reordering).
    pub bytes: u64,
}

/// Why no plan exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A partition has more replicas than there are brokers to hold them.
    #[error(
        "{topic}-{partition} has {replicas} replicas but only {brokers} brokers would be left"
    )]
    TooFewBrokers {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Its replication factor.
        replicas: usize,
        /// The brokers in the plan.
        brokers: usize,
    },
}

/// Plans the moves: first every replica on a broker outside `brokers`,
/// then, while one broker holds two replicas more than another, the
/// smallest replica that can go from the fullest to the emptiest without
/// crowding a rack, and last the preferred leaders, evened out by
/// reordering replicas (which moves no data).
pub fn plan(
    brokers: &[BrokerSlot],
    partitions: &[PartitionLoad],
) -> Result<Vec<PlannedMove>, PlanError> {
    let ids: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
    for p in partitions {
        if p.replicas.len() > ids.len() {
            return Err(PlanError::TooFewBrokers {
                topic: p.topic.clone(),
                partition: p.partition,
                replicas: p.replicas.len(),
                brokers: ids.len(),
            });
        }
    }
    let mut assigned: Vec<Vec<i32>> = partitions.iter().map(|p| p.replicas.clone()).collect();
    let mut state = Placement::new(brokers, &assigned);
    // Drain: replicas on brokers that go, biggest partitions first so they
    // get the emptiest brokers.
    let mut order: Vec<usize> = (0..partitions.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(partitions[*i].size));
    for &i in &order {
        for at in 0..assigned[i].len() {
            if ids.contains(&assigned[i][at]) {
                continue;
            }
            if let Some(to) = state.destination(&assigned[i], Some(at)) {
                assigned[i][at] = to;
                state.add(to);
            }
        }
    }
    balance_replicas(&mut state, partitions, &mut assigned);
    balance_leaders(&ids, &mut assigned);
    Ok(partitions
        .iter()
        .zip(assigned)
        .filter(|(p, target)| p.replicas != *target)
        .map(|(p, target)| PlannedMove {
            bytes: p.size * target.iter().filter(|r| !p.replicas.contains(r)).count() as u64,
            topic: p.topic.clone(),
            partition: p.partition,
            target,
        })
        .collect())
}

fn balance_replicas(
    state: &mut Placement<'_>,
    partitions: &[PartitionLoad],
    assigned: &mut [Vec<i32>],
) {
    // Replicas per (topic, broker): among equally cheap moves, the one
    // from the topic most crowded on the fullest broker goes first, so each
    // topic (and its traffic) spreads over the added brokers too.
    let mut per_topic: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for (p, replicas) in partitions.iter().zip(assigned.iter()) {
        for r in replicas {
            *per_topic.entry((p.topic.as_str(), *r)).or_default() += 1;
        }
    }
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for (p, replicas) in partitions.iter().zip(assigned.iter()) {
        *totals.entry(p.topic.as_str()).or_default() += replicas.len() as i64;
    }
    // Each step lowers the spread between the fullest and emptiest broker
    // or stops, so this ends; the bound guards against a rack deadlock.
    for _ in 0..partitions.len() * 4 + 16 {
        let (Some((&full, &high)), Some((&empty, &low))) = (
            state
                .load
                .iter()
                .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id))),
            state.load.iter().min_by_key(|(id, n)| (**n, **id)),
        ) else {
            return;
        };
        if high <= low + 1 {
            return;
        }
        let candidate = (0..partitions.len())
            .filter_map(|i| {
                let at = assigned[i].iter().position(|r| *r == full)?;
                if assigned[i].contains(&empty) {
                    return None;
                }
                // The move may not put two replicas in one rack where the
                // partition had them apart.
                let before = state.racks_of(&assigned[i], None).len();
                let mut after = assigned[i].clone();
                after[at] = empty;
                if state.racks_of(&after, None).len() < before {
                    return None;
                }
                let topic = partitions[i].topic.as_str();
                // Relative to the topic's size, so a small topic is not
                // left behind a big one.
                let crowding = (per_topic.get(&(topic, full)).copied().unwrap_or(0)
                    - per_topic.get(&(topic, empty)).copied().unwrap_or(0))
                    * 1000
                    / totals.get(topic).copied().unwrap_or(1).max(1);
                Some((partitions[i].size, std::cmp::Reverse(crowding), i, at))
            })
            .min();
        let Some((_, _, i, at)) = candidate else {
            return;
        };
        assigned[i][at] = empty;
        state.shift(full, empty);
        let topic = partitions[i].topic.as_str();
        *per_topic.entry((topic, full)).or_default() -= 1;
        *per_topic.entry((topic, empty)).or_default() += 1;
    }
}

fn balance_leaders(ids: &BTreeSet<i32>, assigned: &mut [Vec<i32>]) {
    let mut leads: BTreeMap<i32, usize> = ids.iter().map(|id| (*id, 0)).collect();
    for replicas in assigned.iter() {
        if let Some(first) = replicas.first() {
            *leads.entry(*first).or_default() += 1;
        }
    }
    for _ in 0..assigned.len() * 2 + 4 {
        let (Some((&over, &high)), Some((&under, &low))) = (
            leads
                .iter()
                .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id))),
            leads.iter().min_by_key(|(id, n)| (**n, **id)),
        ) else {
            return;
        };
        if high <= low + 1 {
            return;
        }
        let Some(i) = (0..assigned.len())
            .find(|i| assigned[*i].first() == Some(&over) && assigned[*i].contains(&under))
        else {
            return;
        };
        if let Some(at) = assigned[i].iter().position(|r| *r == under) {
            assigned[i].swap(0, at);
            *leads.entry(over).or_default() -= 1;
            *leads.entry(under).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(ids: &[i32]) -> Vec<BrokerSlot> {
        ids.iter()
            .map(|id| BrokerSlot {
                id: *id,
                rack: None,
            })
            .collect()
    }

    fn racked(ids: &[(i32, &str)]) -> Vec<BrokerSlot> {
        ids.iter()
            .map(|(id, rack)| BrokerSlot {
                id: *id,
                rack: Some(rack.to_string()),
            })
            .collect()
    }

    fn partitions(replicas: &[(&[i32], u64)]) -> Vec<PartitionLoad> {
        replicas
            .iter()
            .enumerate()
            .map(|(i, (r, size))| PartitionLoad {
                topic: "t".into(),
                partition: i as i32,
                replicas: r.to_vec(),
                size: *size,
            })
            .collect()
    }

    /// Replicas per broker after the plan.
    fn load_after(parts: &[PartitionLoad], moves: &[PlannedMove]) -> BTreeMap<i32, usize> {
        let mut load = BTreeMap::new();
        for p in parts {
            let target = moves
                .iter()
                .find(|m| m.partition == p.partition)
                .map_or(&p.replicas, |m| &m.target);
            for r in target {
                *load.entry(*r).or_insert(0) += 1;
            }
        }
        load
    }

    fn leaders_after(parts: &[PartitionLoad], moves: &[PlannedMove]) -> BTreeMap<i32, usize> {
        let mut leads = BTreeMap::new();
        for p in parts {
            let target = moves
                .iter()
                .find(|m| m.partition == p.partition)
                .map_or(&p.replicas, |m| &m.target);
            *leads.entry(target[0]).or_insert(0) += 1;
        }
        leads
    }

    #[test]
    fn a_balanced_cluster_needs_no_move() {
        let parts = partitions(&[(&[0, 1, 2], 10), (&[1, 2, 0], 10), (&[2, 0, 1], 10)]);
        assert_eq!(plan(&brokers(&[0, 1, 2]), &parts), Ok(vec![]));
    }

    #[test]
    fn scaling_up_moves_a_fair_share_onto_the_new_broker_choosing_the_smallest_replicas() {
        let parts = partitions(&[
            (&[0, 1, 2], 100),
            (&[1, 2, 0], 5),
            (&[2, 0, 1], 100),
            (&[0, 2, 1], 7),
        ]);
        let moves = plan(&brokers(&[0, 1, 2, 3]), &parts).unwrap();
        let load = load_after(&parts, &moves);
        assert_eq!(load.values().copied().collect::<Vec<_>>(), vec![3, 3, 3, 3]);
        let bytes: u64 = moves.iter().map(|m| m.bytes).sum();
        // Three replicas must move, each of another partition (broker 3
        // can hold one replica of each): the two small ones and one big.
        assert_eq!(bytes, 5 + 7 + 100, "{moves:?}");
        let leads = leaders_after(&parts, &moves);
        assert!(leads.values().all(|n| *n == 1), "{leads:?}");
    }

    #[test]
    fn scaling_down_drains_the_brokers_that_go() {
        let parts = partitions(&[
            (&[3, 0, 1], 10),
            (&[0, 1, 3], 10),
            (&[1, 2, 0], 10),
            (&[2, 3, 1], 10),
        ]);
        let moves = plan(&brokers(&[0, 1, 2]), &parts).unwrap();
        let load = load_after(&parts, &moves);
        assert!(!load.contains_key(&3), "{load:?}");
        assert_eq!(load.values().sum::<usize>(), 12);
        assert!(load.values().all(|n| *n == 4), "{load:?}");
    }

    #[test]
    fn a_skewed_cluster_is_evened_out() {
        let parts = partitions(&[
            (&[0], 1),
            (&[0], 1),
            (&[0], 1),
            (&[0], 1),
            (&[0], 1),
            (&[0], 1),
        ]);
        let moves = plan(&brokers(&[0, 1, 2]), &parts).unwrap();
        assert_eq!(moves.len(), 4);
        let load = load_after(&parts, &moves);
        assert_eq!(load.values().copied().collect::<Vec<_>>(), vec![2, 2, 2]);
    }

    #[test]
    fn moves_never_crowd_a_rack_that_had_its_replicas_apart() {
        let b = racked(&[(0, "a"), (1, "b"), (2, "a"), (3, "b")]);
        let parts = partitions(&[(&[0, 1], 10), (&[0, 1], 10), (&[0, 1], 10), (&[0, 1], 10)]);
        let moves = plan(&b, &parts).unwrap();
        let load = load_after(&parts, &moves);
        assert_eq!(load.values().copied().collect::<Vec<_>>(), vec![2, 2, 2, 2]);
        let rack = |id: i32| if id % 2 == 0 { "a" } else { "b" };
        for p in &parts {
            let target = moves
                .iter()
                .find(|m| m.partition == p.partition)
                .map_or(&p.replicas, |m| &m.target);
            assert_ne!(rack(target[0]), rack(target[1]), "{target:?}");
        }
    }

    #[test]
    fn a_drained_replica_goes_to_a_rack_the_partition_does_not_use() {
        let b = racked(&[(0, "a"), (1, "a"), (2, "b")]);
        let parts = partitions(&[(&[0, 9], 10)]);
        let moves = plan(&b, &parts).unwrap();
        assert_eq!(moves[0].target.len(), 2);
        assert!(moves[0].target.contains(&2), "{moves:?}");
    }

    #[test]
    fn preferred_leaders_are_evened_out_by_reordering_alone() {
        let parts = partitions(&[(&[0, 1, 2], 10), (&[0, 1, 2], 10), (&[0, 1, 2], 10)]);
        let moves = plan(&brokers(&[0, 1, 2]), &parts).unwrap();
        assert!(moves.iter().all(|m| m.bytes == 0), "{moves:?}");
        let leads = leaders_after(&parts, &moves);
        assert!(leads.values().all(|n| *n == 1), "{leads:?}");
    }

    #[test]
    fn too_few_brokers_for_a_replication_factor_is_refused() {
        let parts = partitions(&[(&[0, 1, 2], 10)]);
        assert_eq!(
            plan(&brokers(&[0, 1]), &parts),
            Err(PlanError::TooFewBrokers {
                topic: "t".into(),
                partition: 0,
                replicas: 3,
                brokers: 2,
            })
        );
    }

    #[test]
    fn every_topic_spreads_over_added_brokers_not_only_the_first_ones() {
        let mut partitions = Vec::new();
        for (topic, count) in [("a", 6), ("big", 50)] {
            for p in 0..count {
                partitions.push(PartitionLoad {
                    topic: topic.into(),
                    partition: p,
                    replicas: vec![p % 3, (p + 1) % 3, (p + 2) % 3],
                    size: 1,
                });
            }
        }
        let moves = plan(&brokers(&[0, 1, 2, 3, 4]), &partitions).unwrap();
        for topic in ["a", "big"] {
            for new in [3, 4] {
                let held = moves
                    .iter()
                    .filter(|m| m.topic == topic && m.target.contains(&new))
                    .count();
                assert!(
                    held >= 2,
                    "{topic} has {held} replicas on broker {new}: {moves:?}"
                );
            }
        }
    }
}
