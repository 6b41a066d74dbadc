//! Writing group state to `__consumer_offsets`: every change a coordinator
//! makes is appended to the group's partition, as acks=all, before it takes
//! effect, in Kafka's record formats (`records`). Replaying those records on
//! a new coordinator is `loading`'s.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{Compression, Record, TimestampType};

use super::classic::Group;
use super::records::{self, GroupValue, MemberValue, OffsetValue, OffsetsKey};
use super::{GroupCoordinator, GroupResult, OFFSETS_TOPIC};
use crate::broker::Broker;
use crate::log::batch::encode_one_batch;
use crate::time::now_ms;

impl GroupCoordinator {
    /// Appends records to the group's `__consumer_offsets` partition, as
    /// acks=all: the change counts only once it is in the log; the returned
    /// [`Durable`] waits until every in-sync replica has it.
    pub(super) fn write(
        &self,
        broker: &Broker,
        group_id: &str,
        records: Vec<(Bytes, Option<Bytes>)>,
    ) -> GroupResult<Durable> {
        let image = broker.image();
        let topic = image
            .topic(OFFSETS_TOPIC)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        let partition = broker
            .replicas
            .partition(topic.id, self.partition_for(group_id))
            .ok_or(ResponseError::NotCoordinator)?;
        let now = now_ms();
        let mut records: Vec<Record> = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i64::try_from(i).unwrap_or(0),
                sequence: -1,
                timestamp: now,
                key: Some(key),
                value,
                headers: Default::default(),
            })
            .collect();
        let batch = encode_one_batch(&mut records, Compression::None).map_err(|e| {
            tracing::error!(error = %e, "encoding {OFFSETS_TOPIC} records failed");
            ResponseError::UnknownServerError
        })?;
        let (info, epoch) = partition.append(batch.freeze(), -1, now).map_err(|e| {
            tracing::error!(error = %e, group = group_id, "writing {OFFSETS_TOPIC} failed");
            match e.error_code() {
                ResponseError::NotEnoughReplicas | ResponseError::NotLeaderOrFollower => {
                    ResponseError::NotCoordinator
                }
                ResponseError::MessageTooLarge | ResponseError::RecordListTooLarge => {
                    ResponseError::InvalidCommitOffsetSize
                }
                _ => ResponseError::UnknownServerError,
            }
        })?;
        broker.replicas.notify_appended();
        Ok(Durable {
            partition,
            end: info.last_offset + 1,
            epoch,
        })
    }
}

/// A `__consumer_offsets` write on its way to the ISR.
#[derive(Debug)]
pub struct Durable {
    partition: std::sync::Arc<crate::partition::Partition>,
    end: i64,
    epoch: i32,
}

impl Durable {
    /// Waits until every in-sync replica has the write, so a new
    /// coordinator after a failover still has it. Errors are the ones Kafka
    /// gives a commit that did not replicate.
    pub async fn replicated(self, timeout: std::time::Duration) -> GroupResult<()> {
        self.partition
            .wait_for_isr(self.end, self.epoch, timeout)
            .await
            .map_err(|e| match e.error_code() {
                ResponseError::NotLeaderOrFollower => ResponseError::NotCoordinator,
                _ => ResponseError::CoordinatorNotAvailable,
            })
    }
}

/// A `__consumer_offsets` record for one committed offset; `None` is the
/// tombstone that removes it.
pub(super) fn offset_record(
    group: &str,
    topic: &str,
    partition: i32,
    value: Option<&OffsetValue>,
) -> (Bytes, Option<Bytes>) {
    (
        records::encode_key(&OffsetsKey::Offset {
            group: group.to_string(),
            topic: topic.to_string(),
            partition,
        }),
        value.map(records::encode_offset),
    )
}

/// A `__consumer_offsets` record for a group's metadata; `None` is the
/// tombstone that removes it.
pub(super) fn group_record(group: &str, value: Option<&GroupValue>) -> (Bytes, Option<Bytes>) {
    (
        records::encode_key(&OffsetsKey::Group {
            group: group.to_string(),
        }),
        value.map(records::encode_group),
    )
}

pub(super) fn member_values(
    group: &Group,
    protocol: &str,
    with_assignment: bool,
) -> Vec<MemberValue> {
    group
        .members
        .values()
        .map(|m| MemberValue {
            member_id: m.id.clone(),
            instance_id: m.instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            session_timeout_ms: m.session_timeout_ms,
            subscription: m
                .protocols
                .iter()
                .find(|(n, _)| n == protocol)
                .map(|(_, b)| b.clone())
                .unwrap_or_default(),
            assignment: if with_assignment {
                m.assignment.clone()
            } else {
                Bytes::new()
            },
        })
        .collect()
}

/// The stored form of a group.
pub(super) fn group_value(group: &Group) -> GroupValue {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    GroupValue {
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation_id,
        protocol: group.protocol_name.clone(),
        leader: group.leader.clone(),
        current_state_timestamp: group.state_timestamp_ms,
        members: member_values(group, &protocol, true),
    }
}
