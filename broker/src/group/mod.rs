//! The group coordinator: runs the classic consumer group protocol and keeps
//! committed offsets, like Kafka's `GroupCoordinator` and
//! `GroupMetadataManager`.
//!
//! Group state machines ([`state`]) are pure; this module holds them under one
//! lock, parks JoinGroup and SyncGroup requests until their group answers
//! them, drives time (session expiry, rebalance deadlines) from a ticker, and
//! writes every change to `__consumer_offsets` before acknowledging it. The
//! coordinator of a group is the leader of the group's `__consumer_offsets`
//! partition, so moving that leadership moves the group: `loading` replays a
//! partition's log when this broker becomes its leader and forgets its
//! groups when it stops being one.

pub mod consumer;
mod consumer_groups;
pub mod expiry;
pub mod loading;
pub mod records;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{Compression, Record, TimestampType};
use tokio::sync::oneshot;

use crate::broker::Broker;
use crate::config::GroupConfig;
use crate::controller::decisions::request::ControllerRequest;
use crate::controller::decisions::topics::{NewTopic, TopicDefaults};
use crate::controller::Rejection;
use crate::log::batch::encode_one_batch;
use crate::time::now_ms;
use records::{GroupValue, MemberValue, OffsetValue, OffsetsKey};
use state::{Delivery, Group, GroupState, JoinRequest, JoinResult, Reply, SyncResult};

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
            return Ok(Some(consumer_groups::classic_view(g)));
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

    /// Appends records to the group's `__consumer_offsets` partition, as
    /// acks=all: the change counts only once it is in the log; the returned
    /// [`Durable`] waits until every in-sync replica has it.
    fn write(
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
fn offset_record(
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
fn group_record(group: &str, value: Option<&GroupValue>) -> (Bytes, Option<Bytes>) {
    (
        records::encode_key(&OffsetsKey::Group {
            group: group.to_string(),
        }),
        value.map(records::encode_group),
    )
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

fn member_values(group: &Group, protocol: &str, with_assignment: bool) -> Vec<MemberValue> {
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
fn group_value(group: &Group) -> GroupValue {
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

/// Applies one replayed `__consumer_offsets` record.
fn apply_record(inner: &mut Groups, record: &Record, now: i64) -> Result<(), records::RecordError> {
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
            state::Member {
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
