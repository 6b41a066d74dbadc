//! Moving groups with the leadership of their `__consumer_offsets`
//! partition (Kafka's `onElection` / `onResignation`): a broker that becomes
//! leader of a partition replays its log into groups and offsets before it
//! answers for them; one that stops leading it forgets them, so a client is
//! sent to the new coordinator.

use kafka_protocol::records::RecordBatchDecoder;

use kafka_protocol::records::Record;

use super::classic::{self, Group, GroupState};
use super::records::{self, GroupValue, OffsetsKey};
use super::{consumer, GroupCoordinator, Groups, OFFSETS_TOPIC};
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

/// Applies one replayed `__consumer_offsets` record.
pub(super) fn apply_record(
    inner: &mut Groups,
    record: &Record,
    now: i64,
) -> Result<(), records::RecordError> {
    let Some(key) = record.key.clone() else {
        return Ok(());
    };
    let Some(key) = records::decode_key(key.clone())? else {
        let value = record.value.clone();
        if let Some(r) = consumer::records::ConsumerGroupRecord::decode(key, value)? {
            r.apply(&mut inner.consumer_groups, now);
        }
        return Ok(());
    };
    match key {
        OffsetsKey::Offset {
            group,
            topic,
            partition,
        } => match record.value.clone() {
            Some(value) => {
                let value = records::decode_offset(value)?;
                inner
                    .offsets
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), value);
            }
            None => {
                if let Some(offsets) = inner.offsets.get_mut(&group) {
                    offsets.remove(&(topic, partition));
                    if offsets.is_empty() {
                        inner.offsets.remove(&group);
                    }
                }
            }
        },
        OffsetsKey::Group { group } => match record.value.clone() {
            Some(value) => {
                let value = records::decode_group(value)?;
                inner
                    .groups
                    .insert(group.clone(), restore_group(&group, value, now));
            }
            None => {
                inner.groups.remove(&group);
            }
        },
    }
    Ok(())
}

/// Rebuilds a group from its stored form. Members get a fresh session, so
/// consumers that keep heartbeating across a coordinator restart stay in
/// their generation, and those that are gone expire as usual.
fn restore_group(id: &str, value: GroupValue, now: i64) -> Group {
    let mut group = Group::new(id, now);
    group.generation_id = value.generation;
    group.protocol_type = (!value.protocol_type.is_empty()).then_some(value.protocol_type);
    group.protocol_name = value.protocol.clone();
    group.leader = value.leader;
    let protocol = value.protocol.unwrap_or_default();
    for m in value.members {
        if let Some(instance) = &m.instance_id {
            group
                .instances
                .insert(instance.clone(), m.member_id.clone());
        }
        group.members.insert(
            m.member_id.clone(),
            classic::Member {
                id: m.member_id,
                instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocols: vec![(protocol.clone(), m.subscription)],
                assignment: m.assignment,
                last_heartbeat_ms: now,
                awaiting_join: false,
                awaiting_sync: false,
            },
        );
    }
    group.state = if group.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    // Offset expiry of an empty group counts from when it became empty.
    if value.current_state_timestamp > 0 {
        group.state_timestamp_ms = value.current_state_timestamp;
    }
    group
}
