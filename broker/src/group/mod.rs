//! The group coordinator: runs the classic consumer group protocol and keeps
//! committed offsets, like Kafka's `GroupCoordinator` and
//! `GroupMetadataManager`.
//!
//! Group state machines ([`classic`], [`consumer`]) are pure; this module holds them under one
//! lock, parks JoinGroup and SyncGroup requests until their group answers
//! them, drives time (session expiry, rebalance deadlines) from a ticker, and
//! writes every change to `__consumer_offsets` before acknowledging it. The
//! coordinator of a group is the leader of the group's `__consumer_offsets`
//! partition, so moving that leadership moves the group: `persistence`
//! writes the records, and `loading` replays a partition's log when this
//! broker becomes its leader and forgets its groups when it stops being one.
//!
//! One file, over the usual size: the coordinator's entry points (one per
//! group API) share one lock and the parking of waiting requests; the
//! protocols' state machines, persistence and replay are modules of their
//! own.

pub mod classic;
pub mod config;
pub mod consumer;
pub mod expiry;
pub mod loading;
mod persistence;
pub mod records;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use crate::broker::Broker;
use crate::controller::decisions::request::ControllerRequest;
use crate::controller::decisions::topics::{NewTopic, TopicDefaults};
use crate::controller::Rejection;
use crate::time::now_ms;
use classic::{Delivery, Group, GroupState, JoinRequest, JoinResult, Reply, SyncResult};
use config::GroupConfig;
pub use persistence::Durable;
use persistence::{group_record, group_value, member_values, offset_record};
use records::{MemberValue, OffsetValue};

/// The internal topic holding offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Longest group id accepted; Kafka's limit comes from the record key format.
pub const MAX_GROUP_ID_LEN: usize = 32_767;

/// Groups and offsets this coordinator serves.
#[derive(Debug, Default)]
struct Groups {
    /// Live classic groups; a deleted group is removed, so none here is
    /// Dead.
    groups: HashMap<String, Group>,
    /// Consumer groups of the KIP-848 protocol; a group id is in at most
    /// one of the two maps.
    consumer_groups: BTreeMap<String, consumer::ConsumerGroup>,
    /// Committed offsets per group, by (topic, partition).
    offsets: HashMap<String, BTreeMap<(String, i32), OffsetValue>>,
    /// Parked JoinGroup requests by (group, member).
    join_waiters: HashMap<(String, String), oneshot::Sender<JoinResult>>,
    /// Parked SyncGroup requests by (group, member).
    sync_waiters: HashMap<(String, String), oneshot::Sender<SyncResult>>,
    /// When offsets were last checked for expiry.
    last_expiry_check_ms: i64,
    /// The `__consumer_offsets` partitions loaded here, with the leader
    /// epoch they were loaded in.
    loaded: BTreeMap<i32, i32>,
}

/// A SyncGroup request's fields.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The member.
    pub member_id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// The generation the member believes in.
    pub generation_id: i32,
    /// Protocol type (v5+).
    pub protocol_type: Option<String>,
    /// Protocol name (v5+).
    pub protocol_name: Option<String>,
    /// The leader's assignment per member.
    pub assignments: Vec<(String, Bytes)>,
}

/// One offset to commit.
#[derive(Debug, Clone)]
pub struct OffsetCommit {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The committed value.
    pub value: OffsetValue,
}

/// A group's description for DescribeGroups.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// Kafka's name of the group's state.
    pub state: &'static str,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol: String,
    /// Members: id, instance id, client id, host, metadata, assignment.
    pub members: Vec<MemberValue>,
}

/// One group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group id.
    pub id: String,
    /// `consumer` for consumer groups, else what the members joined with.
    pub protocol_type: String,
    /// Kafka's name of its state.
    pub state: &'static str,
    /// `classic` or `consumer` (KIP-848).
    pub group_type: &'static str,
}

/// Why a group-level operation failed.
pub type GroupResult<T> = Result<T, ResponseError>;

/// The group coordinator.
#[derive(Debug)]
pub struct GroupCoordinator {
    config: GroupConfig,
    inner: Mutex<Groups>,
}

impl GroupCoordinator {
    /// A coordinator with nothing loaded yet.
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator {
            config,
            inner: Mutex::new(Groups::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Groups> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `__consumer_offsets` partition of a group.
    pub fn partition_for(&self, group: &str) -> i32 {
        records::partition_for(group, self.config.offsets_partitions)
    }

    /// The largest metadata string a commit may carry.
    pub fn metadata_max_bytes(&self) -> usize {
        self.config.metadata_max_bytes
    }

    /// Checks a group id as Kafka does: the membership APIs need a
    /// non-empty id, while offset commits and fetches, DescribeGroups and
    /// DeleteGroups accept the empty group for backward compatibility.
    pub fn validate_group_id(group: &str, allow_empty: bool) -> GroupResult<()> {
        if (group.is_empty() && !allow_empty) || group.len() > MAX_GROUP_ID_LEN {
            Err(ResponseError::InvalidGroupId)
        } else {
            Ok(())
        }
    }

    /// Creates `__consumer_offsets` if it does not exist yet, as Kafka does
    /// on the first FindCoordinator; returns the broker that coordinates
    /// `group` (the leader of its partition).
    pub async fn coordinator_for(&self, broker: &Broker, group: &str) -> GroupResult<i32> {
        let image = broker.image();
        let topic = match image.topic(OFFSETS_TOPIC) {
            Some(t) => t.clone(),
            None => {
                self.create_offsets_topic(broker).await.map_err(|r| {
                    tracing::error!(error = %r, "creating {OFFSETS_TOPIC} failed");
                    ResponseError::CoordinatorNotAvailable
                })?;
                broker
                    .image()
                    .topic(OFFSETS_TOPIC)
                    .cloned()
                    .ok_or(ResponseError::CoordinatorNotAvailable)?
            }
        };
        let partition = self.partition_for(group);
        match topic.partitions.get(&partition) {
            Some(p) if p.leader >= 0 => Ok(p.leader),
            _ => Err(ResponseError::CoordinatorNotAvailable),
        }
    }

    async fn create_offsets_topic(&self, broker: &Broker) -> Result<(), Rejection> {
        let brokers = i16::try_from(broker.image().live_brokers().len())
            .unwrap_or(i16::MAX)
            .max(1);
        let topic = NewTopic {
            name: OFFSETS_TOPIC.to_string(),
            num_partitions: self.config.offsets_partitions,
            replication_factor: self.config.offsets_replication_factor.min(brokers),
            assignments: Default::default(),
            configs: [
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("segment.bytes".to_string(), "104857600".to_string()),
                ("compression.type".to_string(), "producer".to_string()),
            ]
            .into_iter()
            .collect(),
        };
        let defaults = TopicDefaults {
            num_partitions: self.config.offsets_partitions,
            replication_factor: topic.replication_factor,
        };
        broker
            .control(ControllerRequest::CreateTopic {
                topic,
                defaults,
                validate_only: false,
                if_absent: true,
            })
            .await?;
        tracing::info!(
            partitions = self.config.offsets_partitions,
            "created {OFFSETS_TOPIC}"
        );
        Ok(())
    }

    /// Checks that this broker coordinates `group`.
    fn check_coordinator(&self, broker: &Broker, group: &str) -> GroupResult<()> {
        let image = broker.image();
        let topic = image
            .topic(OFFSETS_TOPIC)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        let partition = self.partition_for(group);
        match topic.partitions.get(&partition) {
            Some(p) if p.leader == broker.config.node_id => {
                if self.lock().loaded.get(&partition) == Some(&p.leader_epoch) {
                    Ok(())
                } else {
                    Err(ResponseError::CoordinatorLoadInProgress)
                }
            }
            Some(p) if p.leader >= 0 => Err(ResponseError::NotCoordinator),
            _ => Err(ResponseError::CoordinatorNotAvailable),
        }
    }

    /// Handles a JoinGroup; waits until the group answers.
    pub async fn join(&self, broker: &Broker, group_id: &str, request: JoinRequest) -> JoinResult {
        let error = |e| JoinResult {
            error: Some(e),
            member_id: request.member_id.clone(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            members: vec![],
        };
        if let Err(e) = Self::validate_group_id(group_id, false)
            .and_then(|_| self.check_coordinator(broker, group_id))
        {
            return error(e);
        }
        let now = now_ms();
        let receiver = {
            let mut inner = self.lock();
            if let Some(result) = self.join_consumer_group(broker, &mut inner, group_id, &request) {
                return result;
            }
            if let Err(e) = self.make_room_for_classic(broker, &mut inner, group_id) {
                return error(e);
            }
            let mut deliveries = Vec::new();
            let unique = uuid::Uuid::new_v4().to_string();
            let group = inner
                .groups
                .entry(group_id.to_string())
                .or_insert_with(|| Group::new(group_id, now));
            let reply = group.join(&request, &unique, &self.config.limits, now, &mut deliveries);
            let parked = park(&mut inner.join_waiters, group_id, reply);
            self.settle(broker, &mut inner, group_id, now, deliveries);
            parked
        };
        answer(receiver, || error(ResponseError::RebalanceInProgress)).await
    }

    /// Handles a SyncGroup; waits for the leader's assignment if needed.
    pub async fn sync(&self, broker: &Broker, group_id: &str, request: SyncRequest) -> SyncResult {
        let error = |e| SyncResult {
            error: Some(e),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        };
        if let Err(e) = Self::validate_group_id(group_id, false)
            .and_then(|_| self.check_coordinator(broker, group_id))
        {
            return error(e);
        }
        let now = now_ms();
        let receiver = {
            let mut inner = self.lock();
            if let Some(result) = self.sync_consumer_group(&inner, group_id, &request) {
                return result;
            }
            let mut deliveries = Vec::new();
            let Some(group) = inner.groups.get_mut(group_id) else {
                return error(ResponseError::UnknownMemberId);
            };
            let reply = group.sync(
                &request.member_id,
                request.instance_id.as_deref(),
                request.generation_id,
                request.protocol_type.as_deref(),
                request.protocol_name.as_deref(),
                request.assignments,
                now,
                &mut deliveries,
            );
            let parked = park(&mut inner.sync_waiters, group_id, reply);
            self.settle(broker, &mut inner, group_id, now, deliveries);
            parked
        };
        answer(receiver, || error(ResponseError::RebalanceInProgress)).await
    }

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> GroupResult<()> {
        Self::validate_group_id(group_id, false)?;
        self.check_coordinator(broker, group_id)?;
        let mut inner = self.lock();
        if let Some(result) = self.heartbeat_consumer_group(
            &mut inner,
            group_id,
            member_id,
            instance_id,
            generation_id,
        ) {
            return result;
        }
        let group = inner
            .groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        match group.heartbeat(member_id, instance_id, generation_id, now_ms()) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Handles a LeaveGroup: one result per leaving member.
    pub fn leave(
        &self,
        broker: &Broker,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> GroupResult<Vec<Option<ResponseError>>> {
        Self::validate_group_id(group_id, false)?;
        self.check_coordinator(broker, group_id)?;
        let now = now_ms();
        let mut inner = self.lock();
        if let Some(results) = self.leave_consumer_group(broker, &mut inner, group_id, members) {
            return Ok(results);
        }
        let mut deliveries = Vec::new();
        let Some(group) = inner.groups.get_mut(group_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        let results = members
            .iter()
            .map(|(member, instance)| {
                group.leave(member, instance.as_deref(), now, &mut deliveries)
            })
            .collect();
        group.maybe_complete_join(&self.config.limits, now, &mut deliveries);
        self.settle(broker, &mut inner, group_id, now, deliveries);
        Ok(results)
    }

    /// Commits offsets for a member of a group, or for a standalone consumer
    /// (generation -1). Per-partition errors come back alongside.
    pub fn commit(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
        commits: Vec<OffsetCommit>,
    ) -> GroupResult<Durable> {
        Self::validate_group_id(group_id, true)?;
        self.check_coordinator(broker, group_id)?;
        let now = now_ms();
        let mut inner = self.lock();
        if let Some(group) = inner.consumer_groups.get(group_id) {
            group.check_commit(member_id, generation_id)?;
        } else {
            let group = inner
                .groups
                .entry(group_id.to_string())
                .or_insert_with(|| Group::new(group_id, now));
            group.check_commit(member_id, instance_id, generation_id)?;
            if generation_id < 0 {
                if let Some(m) = group.members.get_mut(member_id) {
                    m.last_heartbeat_ms = now;
                }
            }
        }
        let records: Vec<(Bytes, Option<Bytes>)> = commits
            .iter()
            .map(|c| offset_record(group_id, &c.topic, c.partition, Some(&c.value)))
            .collect();
        let durable = self.write(broker, group_id, records)?;
        let offsets = inner.offsets.entry(group_id.to_string()).or_default();
        for c in commits {
            offsets.insert((c.topic, c.partition), c.value);
        }
        Ok(durable)
    }

    /// Committed offsets of a group. `member` is the member id and epoch an
    /// OffsetFetch v9+ names, checked against a consumer group.
    pub fn fetch_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        member: Option<(&str, i32)>,
    ) -> GroupResult<BTreeMap<(String, i32), OffsetValue>> {
        Self::validate_group_id(group_id, true)?;
        self.check_coordinator(broker, group_id)?;
        let inner = self.lock();
        if let Some(group) = inner.consumer_groups.get(group_id) {
            group.check_fetch(member)?;
        }
        Ok(inner.offsets.get(group_id).cloned().unwrap_or_default())
    }

    /// Every group, as ListGroups reports it.
    pub fn list(&self) -> Vec<ListedGroup> {
        let inner = self.lock();
        let mut ids: Vec<&String> = inner
            .groups
            .keys()
            .chain(inner.consumer_groups.keys())
            .collect();
        for id in inner.offsets.keys() {
            if !inner.groups.contains_key(id) && !inner.consumer_groups.contains_key(id) {
                ids.push(id);
            }
        }
        ids.sort();
        ids.into_iter()
            .map(|id| {
                if let Some(g) = inner.consumer_groups.get(id) {
                    return ListedGroup {
                        id: id.clone(),
                        protocol_type: "consumer".to_string(),
                        state: g.state().name(),
                        group_type: "consumer",
                    };
                }
                let (protocol_type, state) = match inner.groups.get(id) {
                    Some(g) => (g.protocol_type.clone().unwrap_or_default(), g.state),
                    None => (String::new(), GroupState::Empty),
                };
                ListedGroup {
                    id: id.clone(),
                    protocol_type,
                    state: state.name(),
                    group_type: "classic",
                }
            })
            .collect()
    }

    /// Describes a group; `None` if it does not exist.
    pub fn describe(
        &self,
        broker: &Broker,
        group_id: &str,
    ) -> GroupResult<Option<GroupDescription>> {
        Self::validate_group_id(group_id, true)?;
        self.check_coordinator(broker, group_id)?;
        let inner = self.lock();
        if let Some(g) = inner.consumer_groups.get(group_id) {
            return Ok(Some(consumer::coordinator::classic_view(g)));
        }
        match inner.groups.get(group_id) {
            Some(g) => {
                let protocol = g.protocol_name.clone().unwrap_or_default();
                let stable = g.state == GroupState::Stable;
                Ok(Some(GroupDescription {
                    state: g.state.name(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    protocol: if stable {
                        protocol.clone()
                    } else {
                        String::new()
                    },
                    members: member_values(g, &protocol, stable),
                }))
            }
            None if inner.offsets.contains_key(group_id) => Ok(Some(GroupDescription {
                state: GroupState::Empty.name(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: vec![],
            })),
            _ => Ok(None),
        }
    }

    /// Deletes an empty group and its offsets.
    pub fn delete_group(&self, broker: &Broker, group_id: &str) -> GroupResult<()> {
        Self::validate_group_id(group_id, true)?;
        self.check_coordinator(broker, group_id)?;
        let mut inner = self.lock();
        if !inner.groups.contains_key(group_id)
            && !inner.consumer_groups.contains_key(group_id)
            && !inner.offsets.contains_key(group_id)
        {
            return Err(ResponseError::GroupIdNotFound);
        }
        if inner
            .groups
            .get(group_id)
            .is_some_and(|g| g.state != GroupState::Empty)
            || inner
                .consumer_groups
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
        {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut tombstones: Vec<(Bytes, Option<Bytes>)> = inner
            .offsets
            .get(group_id)
            .into_iter()
            .flat_map(|o| o.keys())
            .map(|(topic, partition)| offset_record(group_id, topic, *partition, None))
            .collect();
        tombstones.push(group_record(group_id, None));
        tombstones.extend(Self::consumer_group_tombstones(&inner, group_id));
        self.write(broker, group_id, tombstones)?;
        inner.offsets.remove(group_id);
        inner.groups.remove(group_id);
        inner.consumer_groups.remove(group_id);
        Ok(())
    }

    /// OffsetDelete: removes committed offsets of partitions the group does
    /// not consume. Returns a per-partition result.
    pub fn delete_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> GroupResult<Vec<Option<ResponseError>>> {
        Self::validate_group_id(group_id, true)?;
        self.check_coordinator(broker, group_id)?;
        let mut inner = self.lock();
        let group = inner.groups.get(group_id).cloned();
        let consumer_group = inner.consumer_groups.get(group_id).cloned();
        if group.is_none() && consumer_group.is_none() && !inner.offsets.contains_key(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        if let Some(g) = &group {
            if g.protocol_type.as_deref().is_some_and(|t| t != "consumer") && !g.members.is_empty()
            {
                return Err(ResponseError::NonEmptyGroup);
            }
        }
        let mut results = Vec::with_capacity(partitions.len());
        let mut tombstones = Vec::new();
        for (topic, partition) in partitions {
            let subscribed = group
                .as_ref()
                .is_some_and(|g| g.state != GroupState::Empty && g.is_subscribed_to(topic))
                || consumer_group
                    .as_ref()
                    .is_some_and(|g| !g.members.is_empty() && g.is_subscribed_to(topic));
            if subscribed {
                results.push(Some(ResponseError::GroupSubscribedToTopic));
            } else {
                tombstones.push(offset_record(group_id, topic, *partition, None));
                results.push(None);
            }
        }
        if !tombstones.is_empty() {
            self.write(broker, group_id, tombstones)?;
        }
        if let Some(offsets) = inner.offsets.get_mut(group_id) {
            for ((topic, partition), result) in partitions.iter().zip(&results) {
                if result.is_none() {
                    offsets.remove(&(topic.clone(), *partition));
                }
            }
        }
        Ok(results)
    }

    /// Moves every group on in time: expires sessions, completes
    /// rebalances whose deadline passed. Runs on a ticker.
    pub fn tick(&self, broker: &Broker) {
        let now = now_ms();
        let mut inner = self.lock();
        let ids: Vec<String> = inner.groups.keys().cloned().collect();
        for id in ids {
            let mut deliveries = Vec::new();
            if let Some(group) = inner.groups.get_mut(&id) {
                group.expire_members(now, &mut deliveries);
            }
            self.settle(broker, &mut inner, &id, now, deliveries);
        }
        self.expire_consumer_members(broker, &mut inner, now);
        if now - inner.last_expiry_check_ms >= self.config.offsets_retention_check_interval_ms {
            inner.last_expiry_check_ms = now;
            self.expire_offsets(broker, &mut inner, now);
        }
    }

    /// Removes expired offsets (tombstones first), and groups left empty
    /// with no offsets, as Kafka's offset expiry does.
    fn expire_offsets(&self, broker: &Broker, inner: &mut Groups, now: i64) {
        let ids: Vec<String> = inner.offsets.keys().cloned().collect();
        for id in ids {
            let Some(offsets) = inner.offsets.get(&id) else {
                continue;
            };
            let gone = expiry::expired(
                inner.groups.get(&id),
                offsets,
                now,
                self.config.offsets_retention_ms,
            );
            if gone.is_empty() {
                continue;
            }
            let all = gone.len() == offsets.len();
            let forget_group = all
                && inner
                    .groups
                    .get(&id)
                    .is_none_or(|g| g.state == GroupState::Empty)
                && inner
                    .consumer_groups
                    .get(&id)
                    .is_none_or(|g| g.members.is_empty());
            let mut tombstones: Vec<(Bytes, Option<Bytes>)> = gone
                .iter()
                .map(|(topic, partition)| offset_record(&id, topic, *partition, None))
                .collect();
            if forget_group {
                tombstones.push(group_record(&id, None));
                tombstones.extend(Self::consumer_group_tombstones(inner, &id));
            }
            if let Err(e) = self.write(broker, &id, tombstones) {
                tracing::warn!(group = %id, error = ?e, "expiring offsets failed");
                continue;
            }
            tracing::info!(group = %id, partitions = gone.len(), "expired committed offsets");
            if let Some(offsets) = inner.offsets.get_mut(&id) {
                for key in &gone {
                    offsets.remove(key);
                }
                if offsets.is_empty() {
                    inner.offsets.remove(&id);
                }
            }
            if forget_group {
                inner.groups.remove(&id);
                inner.consumer_groups.remove(&id);
            }
        }
    }

    /// After a group changed: completes its rebalance if it can, persists
    /// it if needed, and answers parked requests.
    fn settle(
        &self,
        broker: &Broker,
        inner: &mut Groups,
        group_id: &str,
        now: i64,
        mut deliveries: Vec<Delivery>,
    ) {
        let mut persist = None;
        if let Some(group) = inner.groups.get_mut(group_id) {
            group.maybe_complete_join(&self.config.limits, now, &mut deliveries);
            if group.dirty {
                group.dirty = false;
                persist = Some(group_value(group));
            }
        }
        if let Some(value) = persist {
            if let Err(e) = self.write(broker, group_id, vec![group_record(group_id, Some(&value))])
            {
                tracing::error!(group = group_id, error = ?e, "persisting group metadata failed");
            }
        }
        for delivery in deliveries {
            match delivery {
                Delivery::Join(member, result) => {
                    if let Some(tx) = inner.join_waiters.remove(&(group_id.to_string(), member)) {
                        let _ = tx.send(result);
                    }
                }
                Delivery::Sync(member, result) => {
                    if let Some(tx) = inner.sync_waiters.remove(&(group_id.to_string(), member)) {
                        let _ = tx.send(result);
                    }
                }
            }
        }
    }
}

/// Registers a parked request's sender, or hands back an immediate answer.
fn park<T>(
    waiters: &mut HashMap<(String, String), oneshot::Sender<T>>,
    group_id: &str,
    reply: Reply<T>,
) -> Result<oneshot::Receiver<T>, T> {
    match reply {
        Reply::Now(result) => Err(result),
        Reply::Later(member) => {
            let (tx, rx) = oneshot::channel();
            waiters.insert((group_id.to_string(), member), tx);
            Ok(rx)
        }
    }
}

/// Waits for a parked request's answer; a dropped sender (the request was
/// superseded without an answer) tells the client to rejoin.
async fn answer<T>(parked: Result<oneshot::Receiver<T>, T>, rejoin: impl FnOnce() -> T) -> T {
    match parked {
        Err(now) => now,
        Ok(rx) => rx.await.unwrap_or_else(|_| rejoin()),
    }
}
