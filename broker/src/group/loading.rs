//! Moving groups with the leadership of their `__consumer_offsets`
//! partition (Kafka's `onElection` / `onResignation`): a broker that becomes
//! leader of a partition replays its log into groups and offsets before it
//! answers for them; one that stops leading it forgets them, so a client is
//! sent to the new coordinator.

use kafka_protocol::records::RecordBatchDecoder;

use super::{apply_record, GroupCoordinator, Groups, OFFSETS_TOPIC};
use crate::broker::Broker;
use crate::log::LogError;
use crate::partition::{Partition, PartitionError};
use crate::time::now_ms;

impl GroupCoordinator {
    /// Loads the partitions this broker now leads and unloads the ones it
    /// no longer does.
    pub fn follow_leadership(&self, broker: &Broker) -> Result<(), PartitionError> {
        let image = broker.image();
        let Some(topic) = image.topic(OFFSETS_TOPIC) else {
            return Ok(());
        };
        let node = broker.config.node_id;
        let mut inner = self.lock();
        let stale: Vec<i32> = inner
            .loaded
            .iter()
            .filter(|(index, epoch)| {
                topic
                    .partitions
                    .get(index)
                    .is_none_or(|p| p.leader != node || p.leader_epoch != **epoch)
            })
            .map(|(index, _)| *index)
            .collect();
        for index in stale {
            self.unload(&mut inner, index);
        }
        for (index, record) in &topic.partitions {
            if record.leader != node || inner.loaded.contains_key(index) {
                continue;
            }
            let Some(partition) = broker.replicas.partition(topic.id, *index) else {
                continue;
            };
            let records = replay(&mut inner, &partition)?;
            inner.loaded.insert(*index, record.leader_epoch);
            if records > 0 {
                tracing::info!(
                    partition = index,
                    records,
                    "loaded consumer groups and offsets"
                );
            }
        }
        Ok(())
    }

    /// Forgets the groups and offsets of one partition; parked requests
    /// of its groups are answered by the new coordinator after a retry.
    fn unload(&self, inner: &mut Groups, index: i32) {
        inner.loaded.remove(&index);
        let mine = |group: &str| self.partition_for(group) == index;
        inner.groups.retain(|g, _| !mine(g));
        inner.consumer_groups.retain(|g, _| !mine(g));
        inner.offsets.retain(|g, _| !mine(g));
        inner.join_waiters.retain(|(g, _), _| !mine(g));
        inner.sync_waiters.retain(|(g, _), _| !mine(g));
        tracing::info!(
            partition = index,
            "no longer coordinating the groups of this partition"
        );
    }
}

/// Replays one partition's log into `inner`; returns the records read.
fn replay(inner: &mut Groups, partition: &Partition) -> Result<usize, PartitionError> {
    let now = now_ms();
    let mut offset = partition.log_start_offset();
    let end = partition.log_end_offset();
    let mut loaded = 0usize;
    while offset < end {
        let mut buf = partition.read_local(offset, 1 << 20)?;
        if buf.is_empty() {
            break;
        }
        let batches = RecordBatchDecoder::decode_all(&mut buf)
            .map_err(|e| LogError::CorruptMessage(format!("{OFFSETS_TOPIC}: {e:#}")))?;
        let mut next = offset;
        for batch in batches {
            for record in batch.records {
                next = next.max(record.offset + 1);
                if let Err(e) = apply_record(inner, &record, now) {
                    tracing::warn!(error = %e, offset = record.offset, "skipping unreadable {OFFSETS_TOPIC} record");
                }
                loaded += 1;
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(loaded)
}
