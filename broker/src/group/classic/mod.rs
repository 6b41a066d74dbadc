//! One consumer group's state machine, as Kafka's classic `GroupCoordinator`
//! runs it: Empty → PreparingRebalance → CompletingRebalance → Stable, and
//! Dead once deleted.
//!
//! Everything here is pure: time is passed in, and answers that a request
//! must wait for (a JoinGroup until the rebalance completes, a SyncGroup
//! until the leader sends the assignment) come back as [`Delivery`] values
//! that the coordinator routes to the waiting connections.
//!
//! One file, over the usual size: it is one state machine whose transitions
//! (join, sync, heartbeat, leave, expiry, completion) read and change the
//! same member and generation fields; split by request, each part would
//! need the others' invariants to be read in one pass. Its tests are in
//! `tests.rs` beside it.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

/// The group states Kafka reports in DescribeGroups and ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members; may still hold committed offsets.
    Empty,
    /// Members are (re)joining; the next generation is not formed yet.
    PreparingRebalance,
    /// The generation is formed; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Deleted.
    Dead,
}

impl GroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A member's session and rebalance timeouts and identity from its JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The member id, empty on a first join.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Session timeout in ms.
    pub session_timeout_ms: i32,
    /// Rebalance timeout (`max.poll.interval.ms` for consumers) in ms.
    pub rebalance_timeout_ms: i32,
    /// `consumer` for consumer groups.
    pub protocol_type: String,
    /// Supported assignors in preference order, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Whether the client needs a member id before joining (JoinGroup v4+).
    pub requires_known_member_id: bool,
}

/// A member of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member id.
    pub id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Session timeout in ms.
    pub session_timeout_ms: i32,
    /// Rebalance timeout in ms.
    pub rebalance_timeout_ms: i32,
    /// Supported assignors with metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// The member's assignment in the current generation.
    pub assignment: Bytes,
    /// Last sign of life (heartbeat, join, sync), in ms.
    pub last_heartbeat_ms: i64,
    /// A JoinGroup of this member is waiting for the rebalance to complete.
    pub awaiting_join: bool,
    /// A SyncGroup of this member is waiting for the leader's assignment.
    pub awaiting_sync: bool,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// The error, if any.
    pub error: Option<ResponseError>,
    /// The member's id (assigned by the coordinator).
    pub member_id: String,
    /// The generation formed.
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The assignor the group agreed on.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// The leader already has an assignment and must not compute one (KIP-814).
    pub skip_assignment: bool,
    /// For the leader: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    fn error(error: ResponseError, member_id: &str) -> Self {
        JoinResult {
            error: Some(error),
            member_id: member_id.to_string(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            members: vec![],
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    /// The error, if any.
    pub error: Option<ResponseError>,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The agreed assignor.
    pub protocol_name: Option<String>,
    /// The member's assignment.
    pub assignment: Bytes,
}

impl SyncResult {
    fn error(error: ResponseError) -> Self {
        SyncResult {
            error: Some(error),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// An answer for a request that was waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The JoinGroup of this member completes.
    Join(String, JoinResult),
    /// The SyncGroup of this member completes.
    Sync(String, SyncResult),
}

/// Whether a request is answered now or later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// Answer now.
    Now(T),
    /// The answer comes as a [`Delivery`] for this member id when the group
    /// moves on.
    Later(String),
}

/// Timing settings from the broker config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`.
    pub max_size: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_size: usize::MAX,
        }
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group id.
    pub id: String,
    /// Current state.
    pub state: GroupState,
    /// Current generation.
    pub generation_id: i32,
    /// The protocol type every member shares.
    pub protocol_type: Option<String>,
    /// The assignor chosen for the current generation.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
    /// Static members: instance id to member id.
    pub instances: BTreeMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined, with
    /// the time they were handed out.
    pub pending: BTreeMap<String, i64>,
    /// When the state last changed, in ms.
    pub state_timestamp_ms: i64,
    /// When the current rebalance gives up on members that have not rejoined.
    rebalance_deadline_ms: i64,
    /// The first rebalance of an empty group waits this long for more
    /// members (`group.initial.rebalance.delay.ms`), not for all members.
    initial_join_deadline_ms: Option<i64>,
    /// Set when the group changed in a way that must be persisted.
    pub dirty: bool,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str, now_ms: i64) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            instances: BTreeMap::new(),
            pending: BTreeMap::new(),
            state_timestamp_ms: now_ms,
            rebalance_deadline_ms: 0,
            initial_join_deadline_ms: None,
            dirty: false,
        }
    }

    fn transition(&mut self, state: GroupState, now_ms: i64) {
        tracing::debug!(
            group = %self.id,
            from = self.state.name(),
            to = state.name(),
            generation = self.generation_id,
            members = ?self.members.keys().collect::<Vec<_>>(),
            "group transition"
        );
        self.state = state;
        self.state_timestamp_ms = now_ms;
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> BTreeSet<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return BTreeSet::new();
        };
        let mut set: BTreeSet<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in members {
            let theirs: BTreeSet<String> = m.protocols.iter().map(|(n, _)| n.clone()).collect();
            set = set.intersection(&theirs).cloned().collect();
        }
        set
    }

    /// Whether a joining member's protocols fit the group.
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols();
        protocols.iter().any(|(n, _)| candidates.contains(n))
    }

    /// The assignor most members prefer among those all support, as Kafka's
    /// `selectProtocol` votes.
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        // Ties go to the leader's (else the first member's) preference.
        let preference = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .or_else(|| self.members.values().next())?;
        preference
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| votes.get(n) == Some(&best))
            .map(str::to_string)
    }

    fn max_rebalance_timeout(&self) -> i64 {
        self.members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    fn current_join_result(&self, member_id: &str) -> JoinResult {
        let is_leader = self.leader.as_deref() == Some(member_id);
        let protocol = self.protocol_name.clone().unwrap_or_default();
        JoinResult {
            error: None,
            member_id: member_id.to_string(),
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            skip_assignment: false,
            members: if is_leader {
                self.members
                    .values()
                    .map(|m| {
                        (
                            m.id.clone(),
                            m.instance_id.clone(),
                            m.metadata_for(&protocol),
                        )
                    })
                    .collect()
            } else {
                vec![]
            },
        }
    }

    /// Starts a rebalance now: a group converted from a consumer group
    /// (Kafka's online downgrade) makes its members rejoin under the
    /// classic protocol.
    pub fn start_rebalance(&mut self, now_ms: i64) {
        let mut deliveries = Vec::new();
        self.prepare_rebalance(now_ms, &mut deliveries);
        self.dirty = true;
    }

    /// Starts a rebalance; waiting SyncGroups are told to rejoin.
    fn prepare_rebalance(&mut self, now_ms: i64, deliveries: &mut Vec<Delivery>) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if m.awaiting_sync {
                    m.awaiting_sync = false;
                    deliveries.push(Delivery::Sync(
                        m.id.clone(),
                        SyncResult::error(ResponseError::RebalanceInProgress),
                    ));
                }
            }
        }
        self.initial_join_deadline_ms = None;
        if self.state == GroupState::Empty {
            self.initial_join_deadline_ms = Some(now_ms);
        }
        self.rebalance_deadline_ms = now_ms + self.max_rebalance_timeout();
        self.transition(GroupState::PreparingRebalance, now_ms);
    }

    fn new_member_id(prefix: &str, unique: &str) -> String {
        format!("{prefix}-{unique}")
    }

    fn add_member(&mut self, id: String, request: &JoinRequest, now_ms: i64) {
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        if let Some(instance) = &request.instance_id {
            self.instances.insert(instance.clone(), id.clone());
        }
        self.pending.remove(&id);
        self.members.insert(
            id.clone(),
            Member {
                id,
                instance_id: request.instance_id.clone(),
                client_id: request.client_id.clone(),
                client_host: request.client_host.clone(),
                session_timeout_ms: request.session_timeout_ms,
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                protocols: request.protocols.clone(),
                assignment: Bytes::new(),
                last_heartbeat_ms: now_ms,
                awaiting_join: true,
                awaiting_sync: false,
            },
        );
    }

    /// Handles a JoinGroup. `unique` makes new member ids unique (a UUID in
    /// production, a counter in tests).
    pub fn join(
        &mut self,
        request: &JoinRequest,
        unique: &str,
        limits: &GroupLimits,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Reply<JoinResult> {
        let fail = |e: ResponseError| Reply::Now(JoinResult::error(e, &request.member_id));
        if self.state == GroupState::Dead {
            return fail(ResponseError::CoordinatorNotAvailable);
        }
        if request.session_timeout_ms < limits.min_session_timeout_ms
            || request.session_timeout_ms > limits.max_session_timeout_ms
        {
            return fail(ResponseError::InvalidSessionTimeout);
        }
        if !self.supports(&request.protocol_type, &request.protocols) {
            return fail(ResponseError::InconsistentGroupProtocol);
        }
        if request.member_id.is_empty() {
            self.join_unknown_member(request, unique, limits, now_ms, deliveries)
        } else {
            self.join_known_member(request, now_ms, deliveries)
        }
    }

    fn join_unknown_member(
        &mut self,
        request: &JoinRequest,
        unique: &str,
        limits: &GroupLimits,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Reply<JoinResult> {
        if let Some(instance) = &request.instance_id {
            let id = Self::new_member_id(instance, unique);
            if let Some(old_id) = self.instances.get(instance).cloned() {
                return self.replace_static_member(&old_id, id, request, now_ms, deliveries);
            }
            if self.members.len() >= limits.max_size {
                return Reply::Now(JoinResult::error(ResponseError::GroupMaxSizeReached, ""));
            }
            self.add_member(id.clone(), request, now_ms);
            self.rebalance_for_join(now_ms, deliveries);
            return Reply::Later(id);
        }
        let id = Self::new_member_id(&request.client_id, unique);
        if self.members.len() + self.pending.len() >= limits.max_size {
            return Reply::Now(JoinResult::error(ResponseError::GroupMaxSizeReached, ""));
        }
        if request.requires_known_member_id {
            self.pending.insert(id.clone(), now_ms);
            return Reply::Now(JoinResult::error(ResponseError::MemberIdRequired, &id));
        }
        self.add_member(id.clone(), request, now_ms);
        self.rebalance_for_join(now_ms, deliveries);
        Reply::Later(id)
    }

    /// A static member came back with a new member id: the old id is fenced,
    /// and a stable group hands back the current assignment without a
    /// rebalance when the member's protocols did not change.
    fn replace_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        request: &JoinRequest,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Reply<JoinResult> {
        let Some(mut member) = self.members.remove(old_id) else {
            self.add_member(new_id.clone(), request, now_ms);
            self.rebalance_for_join(now_ms, deliveries);
            return Reply::Later(new_id);
        };
        if member.awaiting_join {
            deliveries.push(Delivery::Join(
                old_id.to_string(),
                JoinResult::error(ResponseError::FencedInstanceId, old_id),
            ));
        }
        if member.awaiting_sync {
            deliveries.push(Delivery::Sync(
                old_id.to_string(),
                SyncResult::error(ResponseError::FencedInstanceId),
            ));
        }
        let unchanged = member.protocols == request.protocols;
        member.id = new_id.clone();
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.protocols = request.protocols.clone();
        member.last_heartbeat_ms = now_ms;
        member.awaiting_join = false;
        member.awaiting_sync = false;
        self.members.insert(new_id.clone(), member);
        if let Some(instance) = &request.instance_id {
            self.instances.insert(instance.clone(), new_id.clone());
        }
        let was_leader = self.leader.as_deref() == Some(old_id);
        if was_leader {
            self.leader = Some(new_id.clone());
        }
        match self.state {
            GroupState::Stable if unchanged => {
                self.dirty = true;
                let mut result = self.current_join_result(&new_id);
                result.skip_assignment = was_leader;
                Reply::Now(result)
            }
            _ => {
                if let Some(m) = self.members.get_mut(&new_id) {
                    m.awaiting_join = true;
                }
                if self.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(now_ms, deliveries);
                }
                Reply::Later(new_id)
            }
        }
    }

    fn join_known_member(
        &mut self,
        request: &JoinRequest,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Reply<JoinResult> {
        let id = request.member_id.as_str();
        if self.pending.contains_key(id) {
            self.add_member(id.to_string(), request, now_ms);
            self.rebalance_for_join(now_ms, deliveries);
            return Reply::Later(id.to_string());
        }
        if let Err(e) = self.check_member(id, request.instance_id.as_deref()) {
            return Reply::Now(JoinResult::error(e, id));
        }
        let leader = self.leader.as_deref() == Some(id);
        let state = self.state;
        let Some(member) = self.members.get_mut(id) else {
            return Reply::Now(JoinResult::error(ResponseError::UnknownMemberId, id));
        };
        let unchanged = member.protocols == request.protocols;
        member.last_heartbeat_ms = now_ms;
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.protocols = request.protocols.clone();
        member.client_id = request.client_id.clone();
        match state {
            GroupState::PreparingRebalance => {
                member.awaiting_join = true;
                Reply::Later(id.to_string())
            }
            GroupState::CompletingRebalance if unchanged => {
                Reply::Now(self.current_join_result(id))
            }
            GroupState::Stable if unchanged && !leader => Reply::Now(self.current_join_result(id)),
            _ => {
                member.awaiting_join = true;
                self.prepare_rebalance(now_ms, deliveries);
                Reply::Later(id.to_string())
            }
        }
    }

    fn rebalance_for_join(&mut self, now_ms: i64, deliveries: &mut Vec<Delivery>) {
        match self.state {
            GroupState::PreparingRebalance => {
                self.rebalance_deadline_ms = self
                    .rebalance_deadline_ms
                    .max(now_ms + self.max_rebalance_timeout());
            }
            _ => self.prepare_rebalance(now_ms, deliveries),
        }
    }

    /// Checks that `member_id` is a member and, for static members, that the
    /// instance id belongs to it.
    fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        if let Some(instance) = instance_id {
            match self.instances.get(instance) {
                Some(current) if current != member_id => {
                    return Err(ResponseError::FencedInstanceId)
                }
                None => return Err(ResponseError::UnknownMemberId),
                _ => {}
            }
        }
        if self.members.contains_key(member_id) {
            Ok(())
        } else {
            Err(ResponseError::UnknownMemberId)
        }
    }

    /// Completes the rebalance if every member has rejoined or time is up;
    /// the initial rebalance of an empty group waits out
    /// `group.initial.rebalance.delay.ms` so more members can join.
    pub fn maybe_complete_join(
        &mut self,
        limits: &GroupLimits,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join);
        let timed_out = now_ms >= self.rebalance_deadline_ms;
        let ready = match self.initial_join_deadline_ms {
            Some(started) => {
                let delay = i64::from(limits.initial_rebalance_delay_ms);
                (all_joined && now_ms >= started + delay) || timed_out
            }
            None => all_joined || timed_out,
        };
        if !ready {
            return;
        }
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.awaiting_join)
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            self.remove_member(&id);
        }
        self.pending.clear();
        self.generation_id += 1;
        self.dirty = true;
        self.initial_join_deadline_ms = None;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.leader = None;
            self.transition(GroupState::Empty, now_ms);
            return;
        }
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.protocol_name = self.select_protocol();
        self.transition(GroupState::CompletingRebalance, now_ms);
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.current_join_result(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.awaiting_join = false;
                m.last_heartbeat_ms = now_ms;
            }
            deliveries.push(Delivery::Join(id, result));
        }
    }

    fn remove_member(&mut self, id: &str) {
        if let Some(m) = self.members.remove(id) {
            if let Some(instance) = m.instance_id {
                if self.instances.get(&instance).map(String::as_str) == Some(id) {
                    self.instances.remove(&instance);
                }
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
    }

    /// Removes a member that left or expired and rebalances the rest.
    fn member_gone(&mut self, id: &str, now_ms: i64, deliveries: &mut Vec<Delivery>) {
        tracing::debug!(group = %self.id, member = %id, state = self.state.name(), "member removed");
        if let Some(m) = self.members.get(id) {
            if m.awaiting_join {
                deliveries.push(Delivery::Join(
                    id.to_string(),
                    JoinResult::error(ResponseError::UnknownMemberId, id),
                ));
            }
            if m.awaiting_sync {
                deliveries.push(Delivery::Sync(
                    id.to_string(),
                    SyncResult::error(ResponseError::UnknownMemberId),
                ));
            }
        }
        self.remove_member(id);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now_ms, deliveries);
            }
            _ => {}
        }
    }

    /// Handles a SyncGroup.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Reply<SyncResult> {
        let fail = |e| Reply::Now(SyncResult::error(e));
        if self.state == GroupState::Dead {
            return fail(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(e) = self.check_member(member_id, instance_id) {
            return fail(e);
        }
        if generation_id != self.generation_id {
            return fail(ResponseError::IllegalGeneration);
        }
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|n| Some(n) != self.protocol_name.as_deref())
        {
            return fail(ResponseError::InconsistentGroupProtocol);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => fail(ResponseError::RebalanceInProgress),
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(member_id) {
                    m.awaiting_sync = true;
                    m.last_heartbeat_ms = now_ms;
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut by_member: BTreeMap<String, Bytes> = assignments.into_iter().collect();
                    let protocol_type = self.protocol_type.clone();
                    let protocol_name = self.protocol_name.clone();
                    for m in self.members.values_mut() {
                        m.assignment = by_member.remove(&m.id).unwrap_or_default();
                        // Every session restarts when the generation becomes
                        // Stable, as in Kafka: a member that synced early
                        // must not expire for the time the leader took.
                        m.last_heartbeat_ms = now_ms;
                        if m.awaiting_sync {
                            m.awaiting_sync = false;
                            deliveries.push(Delivery::Sync(
                                m.id.clone(),
                                SyncResult {
                                    error: None,
                                    protocol_type: protocol_type.clone(),
                                    protocol_name: protocol_name.clone(),
                                    assignment: m.assignment.clone(),
                                },
                            ));
                        }
                    }
                    self.dirty = true;
                    self.transition(GroupState::Stable, now_ms);
                }
                Reply::Later(member_id.to_string())
            }
            GroupState::Stable => {
                let assignment = self
                    .members
                    .get_mut(member_id)
                    .map(|m| {
                        m.last_heartbeat_ms = now_ms;
                        m.assignment.clone()
                    })
                    .unwrap_or_default();
                Reply::Now(SyncResult {
                    error: None,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: self.protocol_name.clone(),
                    assignment,
                })
            }
        }
    }

    /// Handles a Heartbeat; `None` means no error.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
        now_ms: i64,
    ) -> Option<ResponseError> {
        if self.state == GroupState::Dead {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if self.state == GroupState::Empty {
            return Some(ResponseError::UnknownMemberId);
        }
        if let Err(e) = self.check_member(member_id, instance_id) {
            return Some(e);
        }
        if generation_id != self.generation_id {
            return Some(ResponseError::IllegalGeneration);
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat_ms = now_ms;
        }
        match self.state {
            GroupState::PreparingRebalance => Some(ResponseError::RebalanceInProgress),
            _ => None,
        }
    }

    /// Handles one member of a LeaveGroup; `None` means no error.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now_ms: i64,
        deliveries: &mut Vec<Delivery>,
    ) -> Option<ResponseError> {
        if self.state == GroupState::Dead {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        let id = match instance_id {
            Some(instance) => match self.instances.get(instance) {
                None => return Some(ResponseError::UnknownMemberId),
                Some(current) if !member_id.is_empty() && current != member_id => {
                    return Some(ResponseError::FencedInstanceId)
                }
                Some(current) => current.clone(),
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            return None;
        }
        if !self.members.contains_key(&id) {
            return Some(ResponseError::UnknownMemberId);
        }
        self.member_gone(&id, now_ms, deliveries);
        None
    }

    /// Removes members whose session expired (or that never rejoined), the
    /// way Kafka's heartbeat expiration does.
    pub fn expire_members(&mut self, now_ms: i64, deliveries: &mut Vec<Delivery>) {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                !m.awaiting_join
                    && !m.awaiting_sync
                    && m.last_heartbeat_ms + i64::from(m.session_timeout_ms) <= now_ms
            })
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.member_gone(&id, now_ms, deliveries);
        }
        let session = i64::from(
            self.members
                .values()
                .map(|m| m.session_timeout_ms)
                .max()
                .unwrap_or(10_000),
        );
        self.pending
            .retain(|_, since| *since + session.max(300_000) > now_ms);
    }

    /// Validates an OffsetCommit from a member (generation ≥ 0) or a
    /// standalone consumer (generation -1, no member id).
    pub fn check_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ResponseError> {
        if self.state == GroupState::Dead {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if generation_id < 0 && member_id.is_empty() && instance_id.is_none() {
            return if self.state == GroupState::Empty {
                Ok(())
            } else {
                Err(ResponseError::IllegalGeneration)
            };
        }
        if self.state == GroupState::Empty {
            return Err(ResponseError::UnknownMemberId);
        }
        self.check_member(member_id, instance_id)?;
        if generation_id != self.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
        match self.state {
            GroupState::PreparingRebalance | GroupState::CompletingRebalance => {
                Err(ResponseError::RebalanceInProgress)
            }
            _ => Ok(()),
        }
    }

    /// Whether a member's subscription names `topic` (consumer groups).
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return false;
        }
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members.values().any(|m| {
            let mut metadata = m.metadata_for(&protocol);
            if metadata.len() < 2 {
                return false;
            }
            let version = i16::from_be_bytes([metadata[0], metadata[1]]);
            bytes::Buf::advance(&mut metadata, 2);
            ConsumerProtocolSubscription::decode(&mut metadata, version.clamp(0, 3))
                .map(|s| s.topics.iter().any(|t| t.as_str() == topic))
                .unwrap_or(false)
        })
    }
}

#[cfg(test)]
mod tests;
