//! The coordinator's side of KIP-848 consumer groups: finds or converts the
//! group a ConsumerGroupHeartbeat names, runs the pure state machine of
//! [`super`] under the coordinator's lock, and expires members on
//! the ticker.
//!
//! Conversion follows Kafka's rules for empty groups: a consumer-protocol
//! member joining an empty classic group replaces it, and a JoinGroup to an
//! empty consumer group replaces that; committed offsets stay either way.
//! Every change is written to the group's `__consumer_offsets` partition
//! in Kafka's record formats ([`super::records`]) before it takes
//! effect, so a coordinator that takes over replays members, epochs and
//! assignments and the members carry on.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignmentPartition;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as SubscriptionPartition;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use uuid::Uuid;

use super::assignor::Assignment;
use super::{
    records, ConsumerGroup, ConsumerGroupLimits, Heartbeat, HeartbeatReply, Refusal, TopicCatalog,
    JOIN_EPOCH,
};
use crate::broker::Broker;
use crate::group::classic::{JoinRequest, JoinResult, SyncResult};
use crate::group::records::MemberValue;
use crate::group::{
    group_record, Durable, GroupCoordinator, GroupDescription, GroupResult, SyncRequest,
    OFFSETS_TOPIC,
};
use crate::metadata::image::MetadataImage;
use crate::time::now_ms;

/// The metadata image as the topics a group can subscribe to.
struct ImageTopics<'a>(&'a MetadataImage);

impl TopicCatalog for ImageTopics<'_> {
    fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
        let topic = self.0.topic(name)?;
        let count = i32::try_from(topic.partitions.len()).ok()?;
        Some((topic.id, count))
    }

    fn names(&self) -> Vec<String> {
        // Internal topics never match a regex subscription.
        self.0
            .topic_names()
            .filter(|n| *n != OFFSETS_TOPIC)
            .map(str::to_string)
            .collect()
    }
}

fn encoded(records: &[records::ConsumerGroupRecord]) -> Vec<(Bytes, Option<Bytes>)> {
    records
        .iter()
        .map(records::ConsumerGroupRecord::encode)
        .collect()
}

fn refusal(error: ResponseError) -> Refusal {
    Refusal {
        error,
        message: String::new(),
    }
}

impl GroupCoordinator {
    /// Handles a ConsumerGroupHeartbeat; the returned write, if any, is on
    /// its way to the in-sync replicas.
    pub fn consumer_heartbeat(
        &self,
        broker: &Broker,
        group_id: &str,
        mut heartbeat: Heartbeat,
    ) -> Result<(HeartbeatReply, Option<Durable>), Refusal> {
        self.check_coordinator(broker, group_id).map_err(refusal)?;
        if heartbeat.member_id.is_empty() {
            // Version 0: the coordinator names a joining member.
            heartbeat.member_id = Uuid::new_v4().to_string();
        }
        let image = broker.image();
        let topics = ImageTopics(&image);
        let now = now_ms();
        let limits = self.limits_for(&image, group_id);
        let mut inner = self.lock();
        let mut writes = Vec::new();
        // A classic group becomes a consumer group when a consumer-protocol
        // member joins it: at once if empty, with its members kept (Kafka's
        // online upgrade) if the migration policy allows and they use the
        // embedded consumer protocol.
        let converted = match inner.groups.get(group_id) {
            None => None,
            Some(classic) => {
                let upgradable = classic.members.is_empty()
                    || (limits.online_upgrade && ConsumerGroup::can_upgrade(classic, &limits));
                if heartbeat.member_epoch != JOIN_EPOCH || !upgradable {
                    return Err(Refusal {
                        error: ResponseError::GroupIdNotFound,
                        message: format!("Group {group_id} is not a consumer group."),
                    });
                }
                writes.push(group_record(group_id, None));
                Some(ConsumerGroup::from_classic(classic, &topics, now))
            }
        };
        let before = if converted.is_some() {
            None
        } else {
            inner.consumer_groups.get(group_id)
        };
        if before.is_none() && converted.is_none() && heartbeat.member_epoch != JOIN_EPOCH {
            // Without the group there is no member: the member rejoins.
            return Err(Refusal {
                error: ResponseError::UnknownMemberId,
                message: format!(
                    "Member {} is not a member of group {group_id}.",
                    heartbeat.member_id
                ),
            });
        }
        let mut group = match (&converted, before) {
            (Some(c), _) => c.clone(),
            (None, Some(b)) => b.clone(),
            (None, None) => ConsumerGroup::new(group_id),
        };
        let leaving = heartbeat.member_epoch < JOIN_EPOCH;
        let reply = group.heartbeat(heartbeat, &topics, &limits, now)?;
        let bumped = before.is_some_and(|b| b.group_epoch != group.group_epoch);
        writes.extend(encoded(&records::diff(before, Some(&group))));
        // The change counts once it is in the log.
        let durable = if writes.is_empty() {
            None
        } else {
            Some(self.write(broker, group_id, writes).map_err(refusal)?)
        };
        if converted.is_some() {
            inner.groups.remove(group_id);
            // Classic requests parked in the old group are told to rejoin.
            inner.join_waiters.retain(|(g, _), _| g != group_id);
            inner.sync_waiters.retain(|(g, _), _| g != group_id);
            tracing::info!(
                group = group_id,
                classic_members = group.members.len().saturating_sub(1),
                "converted a classic group to a consumer group"
            );
        }
        if bumped {
            tracing::info!(
                group = group_id,
                epoch = group.group_epoch,
                members = group.members.len(),
                "consumer group epoch bumped"
            );
        }
        inner.consumer_groups.insert(group_id.to_string(), group);
        if leaving {
            self.maybe_downgrade(broker, &mut inner, group_id, &limits, now);
        }
        Ok((reply, durable))
    }

    /// Kafka's online downgrade: a consumer group left with only classic
    /// members becomes a classic group, which makes them rejoin.
    pub(in crate::group) fn maybe_downgrade(
        &self,
        broker: &Broker,
        inner: &mut crate::group::Groups,
        group_id: &str,
        limits: &ConsumerGroupLimits,
        now: i64,
    ) {
        let Some(group) = inner.consumer_groups.get(group_id) else {
            return;
        };
        if !limits.online_downgrade || !group.only_classic_members() {
            return;
        }
        let mut classic = group.to_classic(now);
        classic.start_rebalance(now);
        classic.dirty = false;
        let mut writes = encoded(&records::diff(Some(group), None));
        writes.push(group_record(
            group_id,
            Some(&crate::group::group_value(&classic)),
        ));
        if let Err(e) = self.write(broker, group_id, writes) {
            tracing::warn!(group = group_id, error = ?e, "downgrading to a classic group failed");
            return;
        }
        tracing::info!(
            group = group_id,
            members = classic.members.len(),
            "converted a consumer group of classic members to a classic group"
        );
        inner.consumer_groups.remove(group_id);
        inner.groups.insert(group_id.to_string(), classic);
    }

    /// The broker's `group.consumer.*` limits.
    pub fn consumer_limits(&self) -> &ConsumerGroupLimits {
        &self.config.consumer
    }

    /// The limits of `group`: the broker's, with the group's own configs
    /// (KIP-848 group configs) over them.
    fn limits_for(&self, image: &MetadataImage, group: &str) -> ConsumerGroupLimits {
        self.config
            .consumer
            .for_group(image.group_configs.get(group))
    }

    /// Whether `group.coordinator.rebalance.protocols` enables KIP-848.
    pub fn consumer_protocol_enabled(&self) -> bool {
        self.config.consumer_protocol
    }

    /// The consumer group `group_id`, for ConsumerGroupDescribe: `Ok(None)`
    /// if there is none, `GROUP_ID_NOT_FOUND` if it is a classic group.
    pub fn consumer_group(
        &self,
        broker: &Broker,
        group_id: &str,
    ) -> GroupResult<Option<ConsumerGroup>> {
        Self::validate_group_id(group_id, false)?;
        self.check_coordinator(broker, group_id)?;
        let inner = self.lock();
        if inner.groups.contains_key(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        Ok(inner.consumer_groups.get(group_id).cloned())
    }

    /// Replaces an empty consumer group with a classic one when a JoinGroup
    /// arrives; a consumer group with members refuses the classic protocol.
    pub(in crate::group) fn make_room_for_classic(
        &self,
        broker: &Broker,
        inner: &mut crate::group::Groups,
        group_id: &str,
    ) -> GroupResult<()> {
        match inner.consumer_groups.get(group_id) {
            Some(g) if !g.members.is_empty() => Err(ResponseError::InconsistentGroupProtocol),
            Some(g) => {
                self.write(broker, group_id, encoded(&records::diff(Some(g), None)))?;
                inner.consumer_groups.remove(group_id);
                tracing::info!(
                    group = group_id,
                    "converted an empty consumer group to a classic group"
                );
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Removes consumer group members whose session expired or who did not
    /// revoke in time.
    pub(in crate::group) fn expire_consumer_members(
        &self,
        broker: &Broker,
        inner: &mut crate::group::Groups,
        now: i64,
    ) {
        let image = broker.image();
        let mut shrunk = Vec::new();
        for group in inner.consumer_groups.values_mut() {
            let limits = self.limits_for(&image, &group.id);
            let expired = group.expired_members(&limits, now);
            if expired.is_empty() {
                continue;
            }
            let before = group.clone();
            for member in expired {
                tracing::info!(group = %group.id, member = %member, "consumer group member expired");
                group.remove_member(&member);
            }
            let writes = encoded(&records::diff(Some(&before), Some(group)));
            // Removed here either way: a coordinator that takes over after a
            // failed write replays the member and expires it in turn.
            if let Err(e) = self.write(broker, &group.id, writes) {
                tracing::warn!(group = %group.id, error = ?e, "persisting expired members failed");
            }
            shrunk.push(group.id.clone());
        }
        for id in shrunk {
            let limits = self.limits_for(&image, &id);
            self.maybe_downgrade(broker, inner, &id, &limits, now);
        }
    }

    /// The tombstones that delete a consumer group's records.
    pub(in crate::group) fn consumer_group_tombstones(
        inner: &crate::group::Groups,
        group_id: &str,
    ) -> Vec<(Bytes, Option<Bytes>)> {
        inner
            .consumer_groups
            .get(group_id)
            .map(|g| encoded(&records::diff(Some(g), None)))
            .unwrap_or_default()
    }
}

/// A consumer group as DescribeGroups shows it, so tools that speak only
/// the classic API still see members, subscriptions and assignments (in the
/// embedded consumer protocol, as Kafka's `asDescribedGroup` encodes them).
pub(in crate::group) fn classic_view(group: &ConsumerGroup) -> GroupDescription {
    let names = |a: &Assignment| -> Vec<(String, Vec<i32>)> {
        a.iter()
            .filter_map(|(id, ps)| {
                let (name, _) = group.subscribed_topics.get(id)?;
                Some((name.clone(), ps.iter().copied().collect()))
            })
            .collect()
    };
    let members = group
        .members
        .values()
        .map(|m| {
            let held = names(&m.holding.assigned);
            let subscription = ConsumerProtocolSubscription::default()
                .with_topics(
                    m.subscribed_topic_names
                        .iter()
                        .map(|t| StrBytes::from_string(t.clone()))
                        .collect(),
                )
                .with_owned_partitions(
                    held.iter()
                        .map(|(t, ps)| {
                            SubscriptionPartition::default()
                                .with_topic(TopicName(StrBytes::from_string(t.clone())))
                                .with_partitions(ps.clone())
                        })
                        .collect(),
                )
                .with_generation_id(m.holding.epoch)
                .with_rack_id(m.rack_id.clone().map(StrBytes::from_string));
            let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
                held.iter()
                    .map(|(t, ps)| {
                        AssignmentPartition::default()
                            .with_topic(TopicName(StrBytes::from_string(t.clone())))
                            .with_partitions(ps.clone())
                    })
                    .collect(),
            );
            MemberValue {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: 0,
                subscription: embedded(&subscription, 3),
                assignment: embedded(&assignment, 3),
            }
        })
        .collect();
    GroupDescription {
        state: group.state().name(),
        protocol_type: "consumer".to_string(),
        protocol: group
            .assignor
            .map(|a| a.name().to_string())
            .unwrap_or_default(),
        members,
    }
}

/// The embedded consumer protocol's framing: a version, then the message.
fn embedded<M: Encodable>(message: &M, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    if let Err(e) = message.encode(&mut buf, version) {
        tracing::error!(error = %e, "encoding an embedded consumer protocol message failed");
        return Bytes::new();
    }
    buf.freeze()
}

/// Classic-protocol requests to a consumer group (after an online upgrade).
impl GroupCoordinator {
    /// A JoinGroup to a consumer group with members; `None` when the group
    /// is not one and the classic coordinator handles the request.
    pub(in crate::group) fn join_consumer_group(
        &self,
        broker: &Broker,
        inner: &mut crate::group::Groups,
        group_id: &str,
        request: &JoinRequest,
    ) -> Option<JoinResult> {
        let group = inner.consumer_groups.get(group_id)?;
        if group.members.is_empty() {
            return None;
        }
        let reply = |error: Option<ResponseError>, member_id: String, generation_id: i32, name| {
            JoinResult {
                error,
                member_id,
                generation_id,
                protocol_type: error.is_none().then(|| "consumer".to_string()),
                protocol_name: name,
                leader: String::new(),
                skip_assignment: false,
                members: vec![],
            }
        };
        if request.member_id.is_empty() && request.requires_known_member_id {
            let id = Uuid::new_v4().to_string();
            return Some(reply(Some(ResponseError::MemberIdRequired), id, -1, None));
        }
        let member_id = if request.member_id.is_empty() {
            Uuid::new_v4().to_string()
        } else {
            request.member_id.clone()
        };
        let image = broker.image();
        let limits = self.limits_for(&image, group_id);
        let now = now_ms();
        let mut next = group.clone();
        let (epoch, protocol) =
            match next.classic_join(&member_id, request, &ImageTopics(&image), &limits, now) {
                Ok(r) => r,
                Err(e) => return Some(reply(Some(e), member_id, -1, None)),
            };
        let writes = encoded(&records::diff(Some(group), Some(&next)));
        if !writes.is_empty() {
            if let Err(e) = self.write(broker, group_id, writes) {
                return Some(reply(Some(e), member_id, -1, None));
            }
        }
        inner.consumer_groups.insert(group_id.to_string(), next);
        Some(reply(None, member_id, epoch, Some(protocol)))
    }

    /// A SyncGroup to a consumer group; `None` when the group is not one.
    pub(in crate::group) fn sync_consumer_group(
        &self,
        inner: &crate::group::Groups,
        group_id: &str,
        request: &SyncRequest,
    ) -> Option<SyncResult> {
        let group = inner.consumer_groups.get(group_id)?;
        Some(
            match group.classic_sync(
                &request.member_id,
                request.instance_id.as_deref(),
                request.generation_id,
            ) {
                Ok((protocol, assignment)) => SyncResult {
                    error: None,
                    protocol_type: Some("consumer".to_string()),
                    protocol_name: Some(protocol),
                    assignment,
                },
                Err(e) => SyncResult {
                    error: Some(e),
                    protocol_type: None,
                    protocol_name: None,
                    assignment: Bytes::new(),
                },
            },
        )
    }

    /// A Heartbeat to a consumer group; `None` when the group is not one.
    pub(in crate::group) fn heartbeat_consumer_group(
        &self,
        inner: &mut crate::group::Groups,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Option<GroupResult<()>> {
        let group = inner.consumer_groups.get_mut(group_id)?;
        Some(group.classic_heartbeat(member_id, instance_id, generation_id, now_ms()))
    }

    /// A LeaveGroup to a consumer group; `None` when the group is not one.
    pub(in crate::group) fn leave_consumer_group(
        &self,
        broker: &Broker,
        inner: &mut crate::group::Groups,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Option<Vec<Option<ResponseError>>> {
        let group = inner.consumer_groups.get(group_id)?;
        let mut next = group.clone();
        let results = members
            .iter()
            .map(|(member, instance)| next.classic_leave(member, instance.as_deref()).err())
            .collect();
        let writes = encoded(&records::diff(Some(group), Some(&next)));
        if !writes.is_empty() {
            if let Err(e) = self.write(broker, group_id, writes) {
                return Some(members.iter().map(|_| Some(e)).collect());
            }
        }
        inner.consumer_groups.insert(group_id.to_string(), next);
        let image = broker.image();
        let limits = self.limits_for(&image, group_id);
        self.maybe_downgrade(broker, inner, group_id, &limits, now_ms());
        Some(results)
    }
}
