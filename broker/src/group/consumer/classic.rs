//! Classic-protocol members inside a consumer group, Kafka's online
//! upgrade: when a consumer-protocol member joins a classic group with
//! members, the group becomes a consumer group and its classic members stay
//! in it, served through JoinGroup, SyncGroup and Heartbeat. The coordinator
//! computes their assignment like everyone else's; a classic member learns
//! of a new target from `REBALANCE_IN_PROGRESS` on its heartbeat, rejoins
//! reporting what it still owns, and gets its share from SyncGroup. So an
//! application can roll from the classic to the consumer protocol one
//! instance at a time.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::assignor::Assignment;
use super::reconcile::{Holding, MemberState};
use super::{ConsumerGroup, ConsumerGroupLimits, ConsumerMember, TopicCatalog};
use crate::group::classic::{Group, GroupState, JoinRequest};

/// What a classic member joined with (Kafka's `ClassicMemberMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassicMetadata {
    /// The session timeout it asked for.
    pub session_timeout_ms: i32,
    /// Its assignors with their embedded subscriptions, in preference order.
    pub protocols: Vec<(String, Bytes)>,
}

/// A subscription decoded from a classic member's metadata.
struct Subscription {
    topics: Vec<String>,
    owned: Vec<(String, Vec<i32>)>,
    rack: Option<String>,
}

fn decode_subscription(metadata: &Bytes) -> Result<Subscription, ResponseError> {
    let mut buf = metadata.clone();
    if buf.remaining() < 2 {
        return Err(ResponseError::InconsistentGroupProtocol);
    }
    let version = buf.get_i16();
    let s = ConsumerProtocolSubscription::decode(&mut buf, version.clamp(0, 3))
        .map_err(|_| ResponseError::InconsistentGroupProtocol)?;
    Ok(Subscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
        owned: s
            .owned_partitions
            .iter()
            .map(|tp| (tp.topic.0.to_string(), tp.partitions.clone()))
            .collect(),
        rack: s.rack_id.map(|r| r.to_string()),
    })
}

fn decode_assignment(assignment: &Bytes) -> Vec<(String, Vec<i32>)> {
    let mut buf = assignment.clone();
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16();
    ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3))
        .map(|a| {
            a.assigned_partitions
                .iter()
                .map(|tp| (tp.topic.0.to_string(), tp.partitions.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn by_id(named: &[(String, Vec<i32>)], topics: &dyn TopicCatalog) -> Assignment {
    let mut out = Assignment::new();
    for (name, partitions) in named {
        if let Some((id, count)) = topics.lookup(name) {
            let ps: BTreeSet<i32> = partitions.iter().copied().filter(|p| *p < count).collect();
            if !ps.is_empty() {
                out.entry(id).or_default().extend(ps);
            }
        }
    }
    out
}

impl ConsumerGroup {
    /// Whether Kafka's online upgrade can turn `classic` into a consumer
    /// group: its members use the embedded consumer protocol and fit.
    pub fn can_upgrade(classic: &Group, limits: &ConsumerGroupLimits) -> bool {
        classic.protocol_type.as_deref() == Some("consumer")
            && classic.members.len() <= limits.max_size
            && classic.members.values().all(|m| {
                m.protocols
                    .first()
                    .is_some_and(|(_, meta)| decode_subscription(meta).is_ok())
            })
    }

    /// The consumer group a classic group becomes: its members keep their
    /// generation as epoch and their assignment as current and target.
    pub fn from_classic(classic: &Group, topics: &dyn TopicCatalog, now: i64) -> ConsumerGroup {
        let mut group = ConsumerGroup::new(&classic.id);
        let generation = classic.generation_id.max(0);
        group.group_epoch = generation;
        group.assignment_epoch = generation;
        for m in classic.members.values() {
            let subscription = m
                .protocols
                .first()
                .and_then(|(_, meta)| decode_subscription(meta).ok());
            let assigned = by_id(&decode_assignment(&m.assignment), topics);
            group.target.insert(m.id.clone(), assigned.clone());
            group.members.insert(
                m.id.clone(),
                ConsumerMember {
                    id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: subscription.as_ref().and_then(|s| s.rack.clone()),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    subscribed_topic_names: subscription
                        .map(|s| {
                            let mut t = s.topics;
                            t.sort();
                            t.dedup();
                            t
                        })
                        .unwrap_or_default(),
                    holding: Holding {
                        epoch: generation,
                        previous_epoch: generation,
                        state: MemberState::Stable,
                        assigned,
                        revoking: Assignment::new(),
                    },
                    last_heartbeat_ms: now,
                    classic: Some(ClassicMetadata {
                        session_timeout_ms: m.session_timeout_ms,
                        protocols: m.protocols.clone(),
                    }),
                    ..Default::default()
                },
            );
        }
        group.subscribed_topics = group.resolve_subscriptions(topics).unwrap_or_default();
        group
    }

    /// Whether every member speaks the classic protocol, so the group can
    /// go back to being a classic group (Kafka's online downgrade).
    pub fn only_classic_members(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(|m| m.classic.is_some())
    }

    /// Handles a classic member's JoinGroup: answers at once with its
    /// epoch as the generation; SyncGroup then hands it its partitions.
    /// `member_id` is the request's, or the one the coordinator named for a
    /// member that joined without one.
    pub fn classic_join(
        &mut self,
        member_id: &str,
        join: &JoinRequest,
        topics: &dyn TopicCatalog,
        limits: &ConsumerGroupLimits,
        now: i64,
    ) -> Result<(i32, String), ResponseError> {
        if join.protocol_type != "consumer" || join.protocols.is_empty() {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let subscription = decode_subscription(&join.protocols[0].1)?;
        let existing = match &join.instance_id {
            Some(instance) => self.static_member(instance).map(|m| m.id.clone()),
            None => self
                .members
                .contains_key(member_id)
                .then(|| member_id.to_string()),
        };
        let previous = match existing {
            Some(id) if id != member_id => {
                // A restarted static instance takes its predecessor's place.
                let old = self.members.remove(&id);
                if let Some(target) = self.target.remove(&id) {
                    self.target.insert(member_id.to_string(), target);
                }
                old.map(|m| ConsumerMember {
                    id: member_id.to_string(),
                    holding: Holding::default(),
                    ..m
                })
            }
            Some(id) => self.members.get(&id).cloned(),
            None => {
                if self.members.len() >= limits.max_size {
                    return Err(ResponseError::GroupMaxSizeReached);
                }
                None
            }
        };
        let mut member = previous.clone().unwrap_or_else(|| ConsumerMember {
            id: member_id.to_string(),
            ..Default::default()
        });
        let mut names = subscription.topics.clone();
        names.sort();
        names.dedup();
        let bump = previous.is_none() || names != member.subscribed_topic_names;
        member.subscribed_topic_names = names;
        member.subscribed_topic_regex = None;
        member.instance_id = join.instance_id.clone();
        member.rack_id = subscription.rack.clone();
        member.client_id = join.client_id.clone();
        member.client_host = join.client_host.clone();
        member.rebalance_timeout_ms = join.rebalance_timeout_ms;
        member.server_assignor = None;
        member.last_heartbeat_ms = now;
        member.classic = Some(ClassicMetadata {
            session_timeout_ms: join.session_timeout_ms,
            protocols: join.protocols.clone(),
        });
        let owned = by_id(&subscription.owned, topics);
        let holding = self
            .advance(&member, bump, Some(&owned), topics, limits)
            .map_err(|r| r.error)?;
        let deadline = (holding.state == MemberState::UnrevokedPartitions)
            .then(|| now + i64::from(member.rebalance_timeout_ms.max(0)));
        let epoch = holding.epoch;
        if let Some(m) = self.members.get_mut(&member.id) {
            m.holding = holding;
            m.revoke_deadline_ms = deadline;
        }
        Ok((epoch, join.protocols[0].0.clone()))
    }

    /// The classic member a request names, checked as Kafka's
    /// `validateConsumerGroupMember` does.
    fn classic_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<&ConsumerMember, ResponseError> {
        let member = match instance_id {
            Some(instance) => {
                let m = self
                    .static_member(instance)
                    .ok_or(ResponseError::UnknownMemberId)?;
                if m.id != member_id {
                    return Err(ResponseError::FencedInstanceId);
                }
                m
            }
            None => self
                .members
                .get(member_id)
                .ok_or(ResponseError::UnknownMemberId)?,
        };
        if member.classic.is_none() {
            // A consumer-protocol member has no business with the classic APIs.
            return Err(ResponseError::UnknownMemberId);
        }
        Ok(member)
    }

    /// Handles a classic member's SyncGroup: its assigned partitions in the
    /// embedded consumer protocol, at the version it subscribed with.
    pub fn classic_sync(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(String, Bytes), ResponseError> {
        let member = self.classic_member(member_id, instance_id)?;
        if generation != member.holding.epoch {
            return Err(ResponseError::IllegalGeneration);
        }
        let (protocol, metadata) = member
            .classic
            .as_ref()
            .and_then(|c| c.protocols.first())
            .cloned()
            .ok_or(ResponseError::InconsistentGroupProtocol)?;
        let version = if metadata.len() >= 2 {
            i16::from_be_bytes([metadata[0], metadata[1]]).clamp(0, 3)
        } else {
            0
        };
        let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
            member
                .holding
                .assigned
                .iter()
                .filter_map(|(id, ps)| {
                    let (name, _) = self.subscribed_topics.get(id)?;
                    Some(
                        TopicPartition::default()
                            .with_topic(TopicName(StrBytes::from_string(name.clone())))
                            .with_partitions(ps.iter().copied().collect()),
                    )
                })
                .collect(),
        );
        let mut buf = BytesMut::new();
        buf.put_i16(version);
        assignment
            .encode(&mut buf, version)
            .map_err(|_| ResponseError::UnknownServerError)?;
        Ok((protocol, buf.freeze()))
    }

    /// Handles a classic member's Heartbeat: `REBALANCE_IN_PROGRESS` tells
    /// it to rejoin when its assignment has to move.
    pub fn classic_heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: i64,
    ) -> Result<(), ResponseError> {
        let member = self.classic_member(member_id, instance_id)?;
        if generation != member.holding.epoch {
            return Err(ResponseError::IllegalGeneration);
        }
        let id = member.id.clone();
        let behind =
            member.holding.epoch < self.group_epoch || member.holding.state != MemberState::Stable;
        if let Some(m) = self.members.get_mut(&id) {
            m.last_heartbeat_ms = now;
        }
        if behind {
            Err(ResponseError::RebalanceInProgress)
        } else {
            Ok(())
        }
    }

    /// Handles a classic member's LeaveGroup.
    pub fn classic_leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        let id = self.classic_member(member_id, instance_id)?.id.clone();
        self.remove_member(&id);
        Ok(())
    }

    /// The classic group a consumer group of classic members becomes
    /// (Kafka's online downgrade): the members and their current
    /// assignments carry over, and a rebalance makes them rejoin.
    pub fn to_classic(&self, now: i64) -> Group {
        let mut group = Group::new(&self.id, now);
        group.generation_id = self.group_epoch;
        group.protocol_type = Some("consumer".to_string());
        let protocols: BTreeMap<&str, usize> = self
            .members
            .values()
            .filter_map(|m| m.classic.as_ref())
            .filter_map(|c| c.protocols.first())
            .fold(BTreeMap::new(), |mut votes, (name, _)| {
                *votes.entry(name.as_str()).or_default() += 1;
                votes
            });
        group.protocol_name = protocols
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(name, _)| name.to_string());
        for m in self.members.values() {
            let Some(classic) = &m.classic else {
                continue;
            };
            let assignment = self
                .classic_sync(&m.id, m.instance_id.as_deref(), m.holding.epoch)
                .map(|(_, a)| a)
                .unwrap_or_default();
            if let Some(instance) = &m.instance_id {
                group.instances.insert(instance.clone(), m.id.clone());
            }
            group.members.insert(
                m.id.clone(),
                crate::group::classic::Member {
                    id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: classic.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols: classic.protocols.clone(),
                    assignment,
                    last_heartbeat_ms: now,
                    awaiting_join: false,
                    awaiting_sync: false,
                },
            );
        }
        group.leader = group.members.keys().next().cloned();
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::consumer::records::{diff, ConsumerGroupRecord};
    use crate::group::consumer::{Heartbeat, JOIN_EPOCH};
    use uuid::Uuid;

    struct Topics;

    impl TopicCatalog for Topics {
        fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
            (name == "t").then_some((Uuid::from_u128(9), 4))
        }
        fn names(&self) -> Vec<String> {
            vec!["t".to_string()]
        }
    }

    fn subscription(owned: &[i32]) -> Bytes {
        use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as Owned;
        let s = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("t")])
            .with_owned_partitions(if owned.is_empty() {
                vec![]
            } else {
                vec![Owned::default()
                    .with_topic(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(owned.to_vec())]
            });
        let mut buf = BytesMut::new();
        buf.put_i16(1);
        s.encode(&mut buf, 1).expect("encodes");
        buf.freeze()
    }

    fn join(member: &str, owned: &[i32]) -> JoinRequest {
        JoinRequest {
            member_id: member.to_string(),
            instance_id: None,
            client_id: "c".to_string(),
            client_host: "/h".to_string(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".to_string(),
            protocols: vec![("cooperative-sticky".to_string(), subscription(owned))],
            requires_known_member_id: false,
        }
    }

    fn partitions(bytes: &Bytes) -> Vec<i32> {
        decode_assignment(bytes)
            .into_iter()
            .flat_map(|(_, ps)| ps)
            .collect()
    }

    #[test]
    fn a_classic_member_is_told_to_rejoin_when_a_consumer_member_arrives() {
        let limits = ConsumerGroupLimits::default();
        let mut group = ConsumerGroup::new("g");
        let (epoch, protocol) = group
            .classic_join("old", &join("old", &[]), &Topics, &limits, 0)
            .expect("join");
        assert_eq!(protocol, "cooperative-sticky");
        let (_, assignment) = group.classic_sync("old", None, epoch).expect("sync");
        assert_eq!(partitions(&assignment), vec![0, 1, 2, 3]);
        assert_eq!(group.classic_heartbeat("old", None, epoch, 1), Ok(()));

        let hb = Heartbeat {
            member_id: "new".to_string(),
            member_epoch: JOIN_EPOCH,
            rebalance_timeout_ms: 30_000,
            subscribed_topic_names: Some(vec!["t".to_string()]),
            owned: Some(Assignment::new()),
            ..Default::default()
        };
        let reply = group.heartbeat(hb, &Topics, &limits, 2).expect("join");
        assert_eq!(
            reply.assignment.map(|a| a.len()),
            Some(0),
            "waits for the classic member"
        );
        assert_eq!(
            group.classic_heartbeat("old", None, epoch, 3),
            Err(ResponseError::RebalanceInProgress)
        );
        // The cooperative member rejoins still owning all four: it keeps
        // two and must give up the others before the new member gets them.
        let (same, _) = group
            .classic_join("old", &join("old", &[0, 1, 2, 3]), &Topics, &limits, 4)
            .expect("rejoin");
        assert_eq!(same, epoch);
        let (_, kept) = group.classic_sync("old", None, same).expect("sync");
        assert_eq!(partitions(&kept).len(), 2);
        let owned: Vec<i32> = partitions(&kept);
        let (next, _) = group
            .classic_join("old", &join("old", &owned), &Topics, &limits, 5)
            .expect("rejoin after revoking");
        assert!(next > epoch);
        assert_eq!(group.classic_heartbeat("old", None, next, 6), Ok(()));
    }

    #[test]
    fn classic_members_survive_a_replay_and_convert_back_to_a_classic_group() {
        let limits = ConsumerGroupLimits::default();
        let mut group = ConsumerGroup::new("g");
        group
            .classic_join("a", &join("a", &[]), &Topics, &limits, 0)
            .expect("join");
        let mut replayed = std::collections::BTreeMap::new();
        for r in diff(None, Some(&group)) {
            let (k, v) = r.encode();
            ConsumerGroupRecord::decode(k, v)
                .expect("decodes")
                .expect("a consumer group record")
                .apply(&mut replayed, 0);
        }
        assert_eq!(
            replayed["g"].members["a"].classic,
            group.members["a"].classic
        );
        assert!(group.only_classic_members());
        let classic = group.to_classic(0);
        assert_eq!(classic.generation_id, group.group_epoch);
        assert_eq!(
            partitions(&classic.members["a"].assignment),
            vec![0, 1, 2, 3]
        );
        let back = ConsumerGroup::from_classic(&classic, &Topics, 0);
        assert_eq!(
            back.members["a"].holding.assigned,
            group.members["a"].holding.assigned
        );
    }
}
