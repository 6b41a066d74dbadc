//! Deciding AlterPartition: a partition leader's request to change the ISR.
//! The controller accepts it only from the current leader in its current
//! epochs, so a deposed leader (paused, partitioned) cannot shrink the ISR
//! of a partition it no longer leads.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::{reassignment, Rejection};
use crate::metadata::{MetadataImage, MetadataRecord, PartitionRecord};

/// What a leader asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IsrChange {
    /// The asking broker, which must lead the partition.
    pub broker_id: i32,
    /// The topic.
    pub topic_id: Uuid,
    /// The partition.
    pub partition: i32,
    /// The leader epoch the leader is in.
    pub leader_epoch: i32,
    /// The partition epoch the change builds on.
    pub partition_epoch: i32,
    /// The ISR wanted.
    pub isr: Vec<i32>,
}

/// The partition record with the new ISR, or why not (Kafka's errors).
pub fn alter_partition(
    image: &MetadataImage,
    change: &IsrChange,
) -> Result<Vec<MetadataRecord>, Rejection> {
    let reject = |e: ResponseError, m: String| Err(Rejection::new(e, m));
    let Some(current) = image
        .topic_by_id(&change.topic_id)
        .and_then(|t| t.partitions.get(&change.partition))
    else {
        return reject(
            ResponseError::UnknownTopicOrPartition,
            format!(
                "partition {} of topic {} does not exist",
                change.partition, change.topic_id
            ),
        );
    };
    if change.broker_id != current.leader {
        return reject(
            ResponseError::InvalidRequest,
            format!(
                "broker {} does not lead the partition; {} does",
                change.broker_id, current.leader
            ),
        );
    }
    if change.leader_epoch < current.leader_epoch {
        return reject(
            ResponseError::FencedLeaderEpoch,
            format!(
                "leader epoch {} is older than {}",
                change.leader_epoch, current.leader_epoch
            ),
        );
    }
    if change.leader_epoch > current.leader_epoch {
        return reject(
            ResponseError::NotLeaderOrFollower,
            format!(
                "leader epoch {} is newer than {}",
                change.leader_epoch, current.leader_epoch
            ),
        );
    }
    if change.partition_epoch != current.partition_epoch {
        return reject(
            ResponseError::InvalidUpdateVersion,
            format!(
                "partition epoch {} is not the current {}",
                change.partition_epoch, current.partition_epoch
            ),
        );
    }
    if !change.isr.contains(&current.leader)
        || change.isr.iter().any(|r| !current.replicas.contains(r))
    {
        return reject(
            ResponseError::InvalidRequest,
            format!(
                "ISR {:?} must hold the leader and only replicas of {:?}",
                change.isr, current.replicas
            ),
        );
    }
    let joining: Vec<i32> = change
        .isr
        .iter()
        .copied()
        .filter(|r| !current.isr.contains(r))
        .collect();
    if let Some(r) = joining.iter().find(|r| !image.is_live(**r)) {
        return reject(
            ResponseError::IneligibleReplica,
            format!("broker {r} is fenced or shutting down and cannot join the ISR"),
        );
    }
    let mut isr: Vec<i32> = current
        .replicas
        .iter()
        .copied()
        .filter(|r| change.isr.contains(r))
        .collect();
    isr.dedup();
    if isr == current.isr {
        return Ok(Vec::new());
    }
    let changed = PartitionRecord {
        isr,
        partition_epoch: current.partition_epoch + 1,
        ..current.clone()
    };
    // The replica a reassignment waited for joined: the move completes in
    // the same record.
    let record = reassignment::complete_if_caught_up(image, &changed).unwrap_or(changed);
    Ok(vec![MetadataRecord::Partition(record)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::fixtures;

    fn image() -> (MetadataImage, Uuid) {
        let partition = PartitionRecord {
            leader_epoch: 3,
            partition_epoch: 5,
            ..fixtures::partition(0, &[0, 1, 2], &[0, 1, 2], 0)
        };
        (
            fixtures::image(&[0, 1, 2], vec![partition]),
            fixtures::TOPIC_ID,
        )
    }

    fn change(id: Uuid, isr: Vec<i32>) -> IsrChange {
        IsrChange {
            broker_id: 0,
            topic_id: id,
            partition: 0,
            leader_epoch: 3,
            partition_epoch: 5,
            isr,
        }
    }

    fn code(r: Result<Vec<MetadataRecord>, Rejection>) -> ResponseError {
        r.err().map(|e| e.error).expect("a rejection")
    }

    #[test]
    fn the_leader_shrinks_the_isr_and_the_partition_epoch_moves() {
        let (image, id) = image();
        let records = alter_partition(&image, &change(id, vec![2, 0])).expect("accepted");
        let [MetadataRecord::Partition(p)] = records.as_slice() else {
            panic!("one partition record: {records:?}");
        };
        assert_eq!(p.isr, vec![0, 2]);
        assert_eq!(p.partition_epoch, 6);
        assert_eq!(p.leader_epoch, 3);
    }

    #[test]
    fn only_the_current_leader_in_its_current_epochs_may_change_it() {
        let (image, id) = image();
        let mut c = change(id, vec![0, 1]);
        c.broker_id = 1;
        assert_eq!(
            code(alter_partition(&image, &c)),
            ResponseError::InvalidRequest
        );
        let mut c = change(id, vec![0, 1]);
        c.leader_epoch = 2;
        assert_eq!(
            code(alter_partition(&image, &c)),
            ResponseError::FencedLeaderEpoch
        );
        let mut c = change(id, vec![0, 1]);
        c.partition_epoch = 4;
        assert_eq!(
            code(alter_partition(&image, &c)),
            ResponseError::InvalidUpdateVersion
        );
        assert_eq!(
            code(alter_partition(&image, &change(id, vec![1, 2]))),
            ResponseError::InvalidRequest
        );
        assert_eq!(
            code(alter_partition(&image, &change(id, vec![0, 9]))),
            ResponseError::InvalidRequest
        );
    }

    #[test]
    fn an_unchanged_isr_commits_nothing() {
        let (image, id) = image();
        assert_eq!(
            alter_partition(&image, &change(id, vec![0, 1, 2])),
            Ok(vec![])
        );
    }
}
