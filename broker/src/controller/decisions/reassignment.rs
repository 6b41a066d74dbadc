//! Partition reassignment (KIP-455) as Kafka's controller does it: the
//! target replicas are added to the replica set while the old ones stay,
//! the new ones catch up and join the ISR, and then, in one step, the
//! replica set becomes the target, the removed replicas leave the ISR and
//! the leader moves if it is not in the target. Every stage is a partition
//! record in the metadata log, so a new controller resumes where the old one
//! stopped.

use kafka_protocol::error::ResponseError;

use super::Rejection;
use crate::metadata::{MetadataImage, MetadataRecord, PartitionRecord};

/// One partition's requested move: a target replica list, or `None` to
/// cancel the move in flight.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Move {
    /// The topic, by name.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The target replicas, preferred leader first; `None` cancels.
    pub target: Option<Vec<i32>>,
}

fn invalid(message: String) -> Rejection {
    Rejection::new(ResponseError::InvalidReplicaAssignment, message)
}

/// The replicas the partition had before its move in flight (all of them
/// when none is in flight).
pub fn original_replicas(p: &PartitionRecord) -> Vec<i32> {
    p.replicas
        .iter()
        .copied()
        .filter(|r| !p.adding_replicas.contains(r))
        .collect()
}

/// Decides one move on `image`: the partition record that starts (or
/// completes at once, or cancels) it, or Kafka's error for it. Without
/// `allow_rf_change` (KIP-860) a target of another size is refused.
pub fn reassign(
    image: &MetadataImage,
    request: &Move,
    allow_rf_change: bool,
) -> Result<Option<PartitionRecord>, Rejection> {
    let current = image
        .topic(&request.topic)
        .and_then(|t| t.partitions.get(&request.partition))
        .ok_or_else(|| {
            Rejection::new(
                ResponseError::UnknownTopicOrPartition,
                format!(
                    "partition {} of topic {} does not exist",
                    request.partition, request.topic
                ),
            )
        })?;
    let in_flight = !current.adding_replicas.is_empty() || !current.removing_replicas.is_empty();
    let original = original_replicas(current);
    let Some(target) = &request.target else {
        if !in_flight {
            return Err(Rejection::new(
                ResponseError::NoReassignmentInProgress,
                format!(
                    "no reassignment of {}-{} is in progress",
                    request.topic, request.partition
                ),
            ));
        }
        return revert(image, current, &original).map(Some);
    };
    check_target(image, target)?;
    if !allow_rf_change && target.len() != original.len() {
        return Err(Rejection::new(
            ResponseError::InvalidReplicationFactor,
            format!(
                "the target has {} replicas and the partition {}; the request does not allow a new replication factor",
                target.len(),
                original.len()
            ),
        ));
    }
    if *target == current.replicas && !in_flight {
        return Ok(None);
    }
    if in_flight && same_set(target, &original) {
        // Back to the original replicas, in the order asked: a cancel.
        return revert(image, current, target).map(Some);
    }
    // A new move replaces one in flight from where the original stood.
    let mut replicas = target.clone();
    replicas.extend(original.iter().copied().filter(|r| !target.contains(r)));
    let staged = PartitionRecord {
        adding_replicas: target
            .iter()
            .copied()
            .filter(|r| !original.contains(r))
            .collect(),
        removing_replicas: original
            .iter()
            .copied()
            .filter(|r| !target.contains(r))
            .collect(),
        isr: current
            .isr
            .iter()
            .copied()
            .filter(|r| replicas.contains(r))
            .collect(),
        replicas,
        partition_epoch: current.partition_epoch + 1,
        ..current.clone()
    };
    Ok(Some(
        complete_if_caught_up(image, &staged).unwrap_or(staged),
    ))
}

fn same_set(a: &[i32], b: &[i32]) -> bool {
    a.len() == b.len() && a.iter().all(|r| b.contains(r))
}

/// Kafka's checks of a manual assignment: not empty, no broker twice, every
/// broker registered.
fn check_target(image: &MetadataImage, target: &[i32]) -> Result<(), Rejection> {
    if target.is_empty() {
        return Err(invalid("the target replica list is empty".into()));
    }
    for (i, r) in target.iter().enumerate() {
        if target[..i].contains(r) {
            return Err(invalid(format!("broker {r} appears twice in the target")));
        }
        if !image.brokers.contains_key(r) {
            return Err(invalid(format!("broker {r} is not registered")));
        }
    }
    Ok(())
}

/// The record that ends a move once every target replica is in the ISR:
/// the replica set is the target, the removed replicas leave the ISR, and a
/// leader outside the target hands over to the first target replica in
/// sync and alive (a new leader epoch). `None` while not caught up or when
/// no move is in flight.
pub fn complete_if_caught_up(
    image: &MetadataImage,
    p: &PartitionRecord,
) -> Option<PartitionRecord> {
    if p.adding_replicas.is_empty() && p.removing_replicas.is_empty() {
        return None;
    }
    let target: Vec<i32> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !p.removing_replicas.contains(r))
        .collect();
    if !target.iter().all(|r| p.isr.contains(r)) {
        return None;
    }
    let isr: Vec<i32> = target.clone();
    let (leader, leader_epoch) = if target.contains(&p.leader) {
        (p.leader, p.leader_epoch)
    } else {
        let next = target.iter().copied().find(|r| image.is_live(*r))?;
        (next, p.leader_epoch + 1)
    };
    Some(PartitionRecord {
        replicas: target,
        isr,
        leader,
        leader_epoch,
        partition_epoch: p.partition_epoch + 1,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
        ..p.clone()
    })
}

/// Cancelling: the original replicas return (in `original`'s order; a
/// plain cancel lists them as the move did, target first, as Kafka does),
/// the added ones leave the ISR, and a leader among the added ones hands
/// back to an original replica in sync. Refused when no original replica
/// is in sync any more.
fn revert(
    image: &MetadataImage,
    current: &PartitionRecord,
    original: &[i32],
) -> Result<PartitionRecord, Rejection> {
    let isr: Vec<i32> = current
        .isr
        .iter()
        .copied()
        .filter(|r| original.contains(r))
        .collect();
    let (leader, leader_epoch) = if original.contains(&current.leader) {
        (current.leader, current.leader_epoch)
    } else {
        let next = original
            .iter()
            .copied()
            .find(|r| isr.contains(r) && image.is_live(*r))
            .ok_or_else(|| {
                invalid(
                    "no replica of the original set is in sync and alive; the move cannot be cancelled now"
                        .into(),
                )
            })?;
        (next, current.leader_epoch + 1)
    };
    Ok(PartitionRecord {
        replicas: original.to_vec(),
        isr,
        leader,
        leader_epoch,
        partition_epoch: current.partition_epoch + 1,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
        ..current.clone()
    })
}

/// Decides every move of one AlterPartitionReassignments request: the
/// records of those that are valid, and each move's outcome in order.
pub fn reassign_all(
    image: &MetadataImage,
    moves: &[Move],
    allow_rf_change: bool,
) -> (Vec<MetadataRecord>, Vec<Option<Rejection>>) {
    let mut records = Vec::new();
    let mut outcomes = Vec::with_capacity(moves.len());
    for m in moves {
        match reassign(image, m, allow_rf_change) {
            Ok(record) => {
                records.extend(record.map(MetadataRecord::Partition));
                outcomes.push(None);
            }
            Err(r) => outcomes.push(Some(r)),
        }
    }
    (records, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::fixtures;

    fn image(brokers: &[i32], replicas: &[i32]) -> MetadataImage {
        let partition = PartitionRecord {
            leader_epoch: 3,
            partition_epoch: 7,
            ..fixtures::partition(0, replicas, replicas, replicas[0])
        };
        fixtures::image(brokers, vec![partition])
    }

    fn to(target: Option<&[i32]>) -> Move {
        Move {
            topic: "t".into(),
            partition: 0,
            target: target.map(<[i32]>::to_vec),
        }
    }

    #[test]
    fn a_move_adds_the_new_replicas_first_and_removes_the_old_ones_once_they_are_in_sync() {
        let image = image(&[0, 1, 2, 3], &[0, 1, 2]);
        let staged = reassign(&image, &to(Some(&[1, 2, 3])), true)
            .unwrap()
            .unwrap();
        assert_eq!(staged.replicas, vec![1, 2, 3, 0]);
        assert_eq!(staged.adding_replicas, vec![3]);
        assert_eq!(staged.removing_replicas, vec![0]);
        assert_eq!((staged.leader, staged.leader_epoch), (0, 3));
        assert_eq!(staged.isr, vec![0, 1, 2]);
        assert_eq!(complete_if_caught_up(&image, &staged), None);

        let caught_up = PartitionRecord {
            isr: vec![0, 1, 2, 3],
            ..staged
        };
        let done = complete_if_caught_up(&image, &caught_up).unwrap();
        assert_eq!(done.replicas, vec![1, 2, 3]);
        assert_eq!(done.isr, vec![1, 2, 3]);
        assert!(done.adding_replicas.is_empty() && done.removing_replicas.is_empty());
        // The leader was removed: the first target replica leads, new epoch.
        assert_eq!((done.leader, done.leader_epoch), (1, 4));
        assert_eq!(done.partition_epoch, caught_up.partition_epoch + 1);
    }

    #[test]
    fn a_move_within_the_isr_completes_at_once() {
        let image = image(&[0, 1, 2], &[0, 1, 2]);
        let done = reassign(&image, &to(Some(&[2, 1])), true).unwrap().unwrap();
        assert_eq!(done.replicas, vec![2, 1]);
        assert_eq!(done.isr, vec![2, 1]);
        assert_eq!((done.leader, done.leader_epoch), (2, 4));
    }

    #[test]
    fn cancelling_restores_the_original_replicas() {
        let image = image(&[0, 1, 2, 3], &[0, 1, 2]);
        let staged = reassign(&image, &to(Some(&[1, 2, 3])), true)
            .unwrap()
            .unwrap();
        let mut during = image.clone();
        during.apply(&MetadataRecord::Partition(PartitionRecord {
            isr: vec![0, 1, 2, 3],
            ..staged.clone()
        }));
        let back = reassign(&during, &to(None), true).unwrap().unwrap();
        assert_eq!(back.replicas, vec![1, 2, 0]);
        assert_eq!(back.isr, vec![0, 1, 2]);
        assert!(back.adding_replicas.is_empty() && back.removing_replicas.is_empty());
        assert_eq!(back.leader, 0);
        // Asking for the original replicas cancels too, in the order asked.
        let same = reassign(&during, &to(Some(&[0, 1, 2])), true)
            .unwrap()
            .unwrap();
        assert_eq!(same.replicas, vec![0, 1, 2]);
        assert!(same.adding_replicas.is_empty() && same.removing_replicas.is_empty());
    }

    #[test]
    fn a_new_move_replaces_the_one_in_flight_from_the_original_replicas() {
        let image = image(&[0, 1, 2, 3, 4], &[0, 1, 2]);
        let staged = reassign(&image, &to(Some(&[1, 2, 3])), true)
            .unwrap()
            .unwrap();
        let mut during = image.clone();
        during.apply(&MetadataRecord::Partition(staged));
        let replaced = reassign(&during, &to(Some(&[0, 1, 4])), true)
            .unwrap()
            .unwrap();
        assert_eq!(replaced.replicas, vec![0, 1, 4, 2]);
        assert_eq!(replaced.adding_replicas, vec![4]);
        assert_eq!(replaced.removing_replicas, vec![2]);
        // Broker 3 was only being added: it is dropped (and leaves the ISR).
        assert!(!replaced.replicas.contains(&3) && !replaced.isr.contains(&3));
    }

    #[test]
    fn bad_targets_get_kafkas_errors() {
        let image = image(&[0, 1, 2], &[0, 1, 2]);
        let code =
            |m: Move, allow: bool| reassign(&image, &m, allow).map(|_| ()).unwrap_err().error;
        assert_eq!(
            code(to(Some(&[])), true),
            ResponseError::InvalidReplicaAssignment
        );
        assert_eq!(
            code(to(Some(&[0, 0, 1])), true),
            ResponseError::InvalidReplicaAssignment
        );
        assert_eq!(
            code(to(Some(&[0, 1, 9])), true),
            ResponseError::InvalidReplicaAssignment
        );
        assert_eq!(
            code(to(Some(&[0, 1])), false),
            ResponseError::InvalidReplicationFactor
        );
        assert_eq!(
            code(to(None), true),
            ResponseError::NoReassignmentInProgress
        );
        let unknown = Move {
            topic: "nope".into(),
            ..to(Some(&[0]))
        };
        assert_eq!(code(unknown, true), ResponseError::UnknownTopicOrPartition);
        assert_eq!(reassign(&image, &to(Some(&[0, 1, 2])), true).unwrap(), None);
    }
}
