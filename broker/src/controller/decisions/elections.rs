//! ElectLeaders (KIP-183, KIP-460) and automatic preferred-leader
//! balancing (`auto.leader.rebalance.enable`): moving leadership back to a
//! partition's preferred replica (its first), or electing any replica of a
//! leaderless partition when asked for an unclean election.

use kafka_protocol::error::ResponseError;

use super::Rejection;
use crate::metadata::{MetadataImage, MetadataRecord, PartitionRecord};

/// Kafka's two election types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ElectionType {
    /// Move leadership to the preferred replica if it is in sync.
    Preferred,
    /// Elect a leader for a partition without one, out of sync if need be.
    Unclean,
}

/// One partition to elect for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElectionTarget {
    /// The topic, by name.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// Decides one partition's election: the changed partition, or Kafka's
/// error (`ELECTION_NOT_NEEDED` when it already has the leader asked for).
pub fn elect(
    image: &MetadataImage,
    kind: ElectionType,
    target: &ElectionTarget,
) -> Result<PartitionRecord, Rejection> {
    let p = image
        .topic(&target.topic)
        .and_then(|t| t.partitions.get(&target.partition))
        .ok_or_else(|| {
            Rejection::new(
                ResponseError::UnknownTopicOrPartition,
                format!(
                    "partition {} of topic {} does not exist",
                    target.partition, target.topic
                ),
            )
        })?;
    match kind {
        ElectionType::Preferred => elect_preferred(image, p),
        ElectionType::Unclean => elect_unclean(image, p),
    }
}

fn not_needed(p: &PartitionRecord) -> Rejection {
    Rejection::new(
        ResponseError::ElectionNotNeeded,
        format!(
            "broker {} already leads partition {}",
            p.leader, p.partition
        ),
    )
}

fn elect_preferred(
    image: &MetadataImage,
    p: &PartitionRecord,
) -> Result<PartitionRecord, Rejection> {
    let preferred = p.replicas.first().copied().unwrap_or(-1);
    if p.leader == preferred {
        return Err(not_needed(p));
    }
    if !p.isr.contains(&preferred) || !image.is_live(preferred) {
        return Err(Rejection::new(
            ResponseError::PreferredLeaderNotAvailable,
            format!("the preferred leader {preferred} is not alive and in sync"),
        ));
    }
    Ok(PartitionRecord {
        leader: preferred,
        leader_epoch: p.leader_epoch + 1,
        partition_epoch: p.partition_epoch + 1,
        ..p.clone()
    })
}

fn elect_unclean(image: &MetadataImage, p: &PartitionRecord) -> Result<PartitionRecord, Rejection> {
    if p.leader >= 0 && image.is_live(p.leader) {
        return Err(not_needed(p));
    }
    let live = |r: &i32| image.is_live(*r);
    let (leader, isr) = match p
        .replicas
        .iter()
        .copied()
        .find(|r| p.isr.contains(r) && live(r))
    {
        Some(clean) => (clean, p.isr.clone()),
        None => match p.replicas.iter().copied().find(live) {
            // Out of sync: it becomes the whole ISR, whatever it lacks is lost.
            Some(unclean) => (unclean, vec![unclean]),
            None => {
                return Err(Rejection::new(
                    ResponseError::EligibleLeadersNotAvailable,
                    format!("no replica of partition {} is alive", p.partition),
                ))
            }
        },
    };
    Ok(PartitionRecord {
        leader,
        isr,
        leader_epoch: p.leader_epoch + 1,
        partition_epoch: p.partition_epoch + 1,
        ..p.clone()
    })
}

/// Decides an ElectLeaders request: the records and each partition's
/// outcome. `None` for the targets means every partition, and then only
/// the partitions that needed an election are reported (as Kafka does).
pub fn elect_all(
    image: &MetadataImage,
    kind: ElectionType,
    targets: Option<&[ElectionTarget]>,
) -> (
    Vec<MetadataRecord>,
    Vec<(ElectionTarget, Option<Rejection>)>,
) {
    let all: Vec<ElectionTarget>;
    let (targets, report_not_needed) = match targets {
        Some(t) => (t, true),
        None => {
            all = image
                .topics
                .values()
                .flat_map(|t| {
                    t.partitions.keys().map(|p| ElectionTarget {
                        topic: t.name.clone(),
                        partition: *p,
                    })
                })
                .collect();
            (&all[..], false)
        }
    };
    let mut records = Vec::new();
    let mut outcomes = Vec::new();
    for target in targets {
        match elect(image, kind, target) {
            Ok(p) => {
                records.push(MetadataRecord::Partition(p));
                outcomes.push((target.clone(), None));
            }
            Err(e) if e.error == ResponseError::ElectionNotNeeded && !report_not_needed => {}
            Err(e) => outcomes.push((target.clone(), Some(e))),
        }
    }
    (records, outcomes)
}

/// Automatic leader balancing: for every broker whose share of partitions
/// it prefers but does not lead exceeds `imbalance_percent`, the preferred
/// elections that can happen now (Kafka's `leader.imbalance.*`).
pub fn rebalance_leaders(image: &MetadataImage, imbalance_percent: u32) -> Vec<MetadataRecord> {
    let mut preferred_count = std::collections::BTreeMap::<i32, (u32, u32)>::new();
    for t in image.topics.values() {
        for p in t.partitions.values() {
            if let Some(first) = p.replicas.first() {
                let entry = preferred_count.entry(*first).or_default();
                entry.0 += 1;
                if p.leader != *first {
                    entry.1 += 1;
                }
            }
        }
    }
    let imbalanced: Vec<i32> = preferred_count
        .iter()
        .filter(|(_, (total, off))| *total > 0 && off * 100 > imbalance_percent * total)
        .map(|(b, _)| *b)
        .collect();
    image
        .topics
        .values()
        .flat_map(|t| t.partitions.values())
        .filter(|p| p.replicas.first().is_some_and(|b| imbalanced.contains(b)))
        .filter_map(|p| elect_preferred(image, p).ok())
        .map(MetadataRecord::Partition)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::fixtures;

    fn image(partitions: &[(&[i32], &[i32], i32)]) -> MetadataImage {
        let partitions = partitions
            .iter()
            .enumerate()
            .map(|(i, (replicas, isr, leader))| PartitionRecord {
                leader_epoch: 5,
                partition_epoch: 9,
                ..fixtures::partition(i as i32, replicas, isr, *leader)
            })
            .collect();
        fixtures::image(&[0, 1, 2], partitions)
    }

    fn target(partition: i32) -> ElectionTarget {
        ElectionTarget {
            topic: "t".into(),
            partition,
        }
    }

    #[test]
    fn preferred_elections_move_leadership_to_the_first_replica_when_it_is_in_sync() {
        let image = image(&[
            (&[0, 1, 2], &[0, 1, 2], 1),
            (&[0, 1, 2], &[0, 1, 2], 0),
            (&[2, 1, 0], &[1, 0], 1),
        ]);
        let moved = elect(&image, ElectionType::Preferred, &target(0)).unwrap();
        assert_eq!((moved.leader, moved.leader_epoch), (0, 6));
        let code = |p| {
            elect(&image, ElectionType::Preferred, &target(p))
                .unwrap_err()
                .error
        };
        assert_eq!(code(1), ResponseError::ElectionNotNeeded);
        assert_eq!(code(2), ResponseError::PreferredLeaderNotAvailable);
        assert_eq!(code(7), ResponseError::UnknownTopicOrPartition);
    }

    #[test]
    fn unclean_elections_prefer_an_in_sync_replica_and_otherwise_take_any_live_one() {
        let mut img = image(&[(&[0, 1, 2], &[0], -1), (&[0, 1, 2], &[0, 1], -1)]);
        img.fenced.insert(0);
        let unclean = elect(&img, ElectionType::Unclean, &target(0)).unwrap();
        assert_eq!((unclean.leader, unclean.isr.clone()), (1, vec![1]));
        let clean = elect(&img, ElectionType::Unclean, &target(1)).unwrap();
        assert_eq!((clean.leader, clean.isr), (1, vec![0, 1]));
        let led = image(&[(&[0, 1, 2], &[0, 1, 2], 0)]);
        assert_eq!(
            elect(&led, ElectionType::Unclean, &target(0))
                .unwrap_err()
                .error,
            ResponseError::ElectionNotNeeded
        );
        let mut dead = image(&[(&[0, 1], &[0], -1)]);
        dead.fenced.extend([0, 1]);
        assert_eq!(
            elect(&dead, ElectionType::Unclean, &target(0))
                .unwrap_err()
                .error,
            ResponseError::EligibleLeadersNotAvailable
        );
    }

    #[test]
    fn electing_every_partition_reports_only_those_that_needed_it() {
        let image = image(&[(&[0, 1, 2], &[0, 1, 2], 1), (&[1, 2, 0], &[0, 1, 2], 1)]);
        let (records, outcomes) = elect_all(&image, ElectionType::Preferred, None);
        assert_eq!(records.len(), 1);
        assert_eq!(outcomes, vec![(target(0), None)]);
        let (_, asked) = elect_all(&image, ElectionType::Preferred, Some(&[target(1)]));
        assert_eq!(
            asked[0].1.as_ref().map(|e| e.error),
            Some(ResponseError::ElectionNotNeeded)
        );
    }

    #[test]
    fn leader_balancing_acts_only_above_the_imbalance_threshold() {
        // Broker 0 prefers four partitions and leads three: 25% off.
        let image = image(&[
            (&[0, 1, 2], &[0, 1, 2], 1),
            (&[0, 1, 2], &[0, 1, 2], 0),
            (&[0, 1, 2], &[0, 1, 2], 0),
            (&[0, 1, 2], &[0, 1, 2], 0),
        ]);
        assert_eq!(rebalance_leaders(&image, 10).len(), 1);
        assert!(rebalance_leaders(&image, 25).is_empty());
        assert!(rebalance_leaders(&image, 50).is_empty());
    }
}
