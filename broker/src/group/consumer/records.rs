//! Consumer groups in `__consumer_offsets`, in Kafka's own record schemas
//! (keys 3 to 8 with value version 0, flexible encoding), so a coordinator
//! that takes over a group's partition replays its members, epochs and
//! assignments and the members carry on without rejoining.
//!
//! [`diff`] decides which records a change needs, as Kafka's
//! `GroupMetadataManager` emits them: a new or changed member's metadata
//! first, its assignment after; a departing member's assignment, target and
//! metadata tombstoned in that order. [`ConsumerGroupRecord::apply`]
//! replays one record. Every read is bounds-checked.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::assignor::Assignment;
use super::classic::ClassicMetadata;
use super::reconcile::{Holding, MemberState};
use super::{ConsumerGroup, ConsumerMember};
use crate::group::records::{put_string, Reader, RecordError};

const METADATA: i16 = 3;
const PARTITION_METADATA: i16 = 4;
const MEMBER_METADATA: i16 = 5;
const TARGET_METADATA: i16 = 6;
const TARGET_MEMBER: i16 = 7;
const CURRENT_ASSIGNMENT: i16 = 8;

/// A member's metadata as Kafka stores it (ConsumerGroupMemberMetadataValue).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadata {
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Subscribed names.
    pub subscribed_topic_names: Vec<String>,
    /// Subscribed regex.
    pub subscribed_topic_regex: Option<String>,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Requested assignor.
    pub server_assignor: Option<String>,
    /// A classic member's session timeout and protocols (tagged field 0).
    pub classic: Option<ClassicMetadata>,
}

impl MemberMetadata {
    fn of(m: &ConsumerMember) -> Self {
        MemberMetadata {
            instance_id: m.instance_id.clone(),
            rack_id: m.rack_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            subscribed_topic_names: m.subscribed_topic_names.clone(),
            subscribed_topic_regex: m.subscribed_topic_regex.clone(),
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            server_assignor: m.server_assignor.clone(),
            classic: m.classic.clone(),
        }
    }
}

/// One consumer group record; `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerGroupRecord {
    /// The group epoch (key 3).
    Epoch(String, Option<i32>),
    /// The subscribed topics: id → (name, partitions) (key 4).
    Topics(String, Option<BTreeMap<Uuid, (String, i32)>>),
    /// A member's metadata (key 5).
    Member(String, String, Option<MemberMetadata>),
    /// The target assignment's epoch (key 6).
    TargetEpoch(String, Option<i32>),
    /// A member's target assignment (key 7).
    Target(String, String, Option<Assignment>),
    /// A member's current assignment (key 8).
    Current(String, String, Option<Holding>),
}

/// The records that turn `before` into `after` (`before` is `None` for a
/// new group; `after` `None` for a deleted one).
pub fn diff(
    before: Option<&ConsumerGroup>,
    after: Option<&ConsumerGroup>,
) -> Vec<ConsumerGroupRecord> {
    use ConsumerGroupRecord as R;
    let empty = ConsumerGroup::default();
    let (old, new) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let id = before.or(after).map(|g| g.id.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for (mid, m) in &new.members {
        let was = old.members.get(mid);
        let meta = MemberMetadata::of(m);
        if was.map(MemberMetadata::of) != Some(meta.clone()) {
            out.push(R::Member(id.clone(), mid.clone(), Some(meta)));
        }
    }
    if after.is_some() && (before.is_none() || old.subscribed_topics != new.subscribed_topics) {
        out.push(R::Topics(id.clone(), Some(new.subscribed_topics.clone())));
    }
    if after.is_some() && (before.is_none() || old.group_epoch != new.group_epoch) {
        out.push(R::Epoch(id.clone(), Some(new.group_epoch)));
    }
    for (mid, t) in &new.target {
        if old.target.get(mid) != Some(t) {
            out.push(R::Target(id.clone(), mid.clone(), Some(t.clone())));
        }
    }
    if after.is_some() && (before.is_none() || old.assignment_epoch != new.assignment_epoch) {
        out.push(R::TargetEpoch(id.clone(), Some(new.assignment_epoch)));
    }
    for (mid, m) in &new.members {
        if old.members.get(mid).map(|o| &o.holding) != Some(&m.holding) {
            out.push(R::Current(id.clone(), mid.clone(), Some(m.holding.clone())));
        }
    }
    for mid in old.members.keys().filter(|m| !new.members.contains_key(*m)) {
        out.push(R::Current(id.clone(), mid.clone(), None));
    }
    for mid in old.target.keys().filter(|m| !new.target.contains_key(*m)) {
        out.push(R::Target(id.clone(), mid.clone(), None));
    }
    for mid in old.members.keys().filter(|m| !new.members.contains_key(*m)) {
        out.push(R::Member(id.clone(), mid.clone(), None));
    }
    if after.is_none() && before.is_some() {
        out.push(R::TargetEpoch(id.clone(), None));
        out.push(R::Topics(id.clone(), None));
        out.push(R::Epoch(id, None));
    }
    out
}

impl ConsumerGroupRecord {
    /// Replays the record into `groups`; a member's session starts at `now`.
    pub fn apply(self, groups: &mut BTreeMap<String, ConsumerGroup>, now: i64) {
        use ConsumerGroupRecord as R;
        match self {
            R::Epoch(id, None) => {
                groups.remove(&id);
            }
            R::Epoch(id, Some(epoch)) => entry(groups, &id).group_epoch = epoch,
            R::Topics(id, topics) => {
                if let Some(g) = groups.get_mut(&id) {
                    g.subscribed_topics = topics.unwrap_or_default();
                } else if let Some(t) = topics {
                    entry(groups, &id).subscribed_topics = t;
                }
            }
            R::TargetEpoch(id, epoch) => {
                if let Some(e) = epoch {
                    entry(groups, &id).assignment_epoch = e;
                }
            }
            R::Member(id, member, None) => {
                if let Some(g) = groups.get_mut(&id) {
                    g.members.remove(&member);
                }
            }
            R::Member(id, member, Some(meta)) => {
                let g = entry(groups, &id);
                let m = g
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| ConsumerMember {
                        id: member,
                        last_heartbeat_ms: now,
                        ..Default::default()
                    });
                m.instance_id = meta.instance_id;
                m.rack_id = meta.rack_id;
                m.client_id = meta.client_id;
                m.client_host = meta.client_host;
                m.subscribed_topic_names = meta.subscribed_topic_names;
                m.subscribed_topic_regex = meta.subscribed_topic_regex;
                m.rebalance_timeout_ms = meta.rebalance_timeout_ms;
                m.server_assignor = meta.server_assignor;
                m.classic = meta.classic;
            }
            R::Target(id, member, None) => {
                if let Some(g) = groups.get_mut(&id) {
                    g.target.remove(&member);
                }
            }
            R::Target(id, member, Some(a)) => {
                entry(groups, &id).target.insert(member, a);
            }
            R::Current(id, member, holding) => {
                if let Some(m) = groups.get_mut(&id).and_then(|g| g.members.get_mut(&member)) {
                    m.holding = holding.unwrap_or_default();
                    m.revoke_deadline_ms = (m.holding.state == MemberState::UnrevokedPartitions)
                        .then(|| now + i64::from(m.rebalance_timeout_ms.max(0)));
                }
            }
        }
    }

    /// The record's key and value, in Kafka's format.
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        use ConsumerGroupRecord as R;
        let (version, group, member) = match self {
            R::Epoch(g, _) => (METADATA, g, None),
            R::Topics(g, _) => (PARTITION_METADATA, g, None),
            R::Member(g, m, _) => (MEMBER_METADATA, g, Some(m)),
            R::TargetEpoch(g, _) => (TARGET_METADATA, g, None),
            R::Target(g, m, _) => (TARGET_MEMBER, g, Some(m)),
            R::Current(g, m, _) => (CURRENT_ASSIGNMENT, g, Some(m)),
        };
        let mut key = BytesMut::new();
        key.put_i16(version);
        put_string(&mut key, Some(group));
        if let Some(m) = member {
            put_string(&mut key, Some(m));
        }
        let mut w = Writer(BytesMut::new());
        w.0.put_i16(0);
        match self {
            R::Epoch(_, Some(e)) | R::TargetEpoch(_, Some(e)) => w.0.put_i32(*e),
            R::Topics(_, Some(topics)) => {
                w.len(topics.len());
                for (id, (name, count)) in topics {
                    w.0.put_slice(id.as_bytes());
                    w.string(Some(name));
                    w.0.put_i32(*count);
                    w.len(0);
                    w.tags();
                }
            }
            R::Member(_, _, Some(m)) => {
                w.string(m.instance_id.as_deref());
                w.string(m.rack_id.as_deref());
                w.string(Some(&m.client_id));
                w.string(Some(&m.client_host));
                w.len(m.subscribed_topic_names.len());
                for n in &m.subscribed_topic_names {
                    w.string(Some(n));
                }
                w.string(m.subscribed_topic_regex.as_deref());
                w.0.put_i32(m.rebalance_timeout_ms);
                w.string(m.server_assignor.as_deref());
                match &m.classic {
                    None => w.tags(),
                    Some(c) => {
                        let mut inner = Writer(BytesMut::new());
                        inner.0.put_i32(c.session_timeout_ms);
                        inner.len(c.protocols.len());
                        for (name, metadata) in &c.protocols {
                            inner.string(Some(name));
                            inner.len(metadata.len());
                            inner.0.put_slice(metadata);
                            inner.tags();
                        }
                        inner.tags();
                        w.uvarint(1);
                        w.uvarint(0);
                        w.uvarint(inner.0.len() as u64);
                        w.0.put_slice(&inner.0);
                    }
                }
                return (key.freeze(), Some(w.0.freeze()));
            }
            R::Target(_, _, Some(a)) => w.assignment(a),
            R::Current(_, _, Some(h)) => {
                w.0.put_i32(h.epoch);
                w.0.put_i32(h.previous_epoch);
                w.0.put_i8(match h.state {
                    MemberState::Stable => 0,
                    MemberState::UnrevokedPartitions => 1,
                    MemberState::UnreleasedPartitions => 2,
                });
                w.assignment(&h.assigned);
                w.assignment(&h.revoking);
            }
            _ => return (key.freeze(), None),
        }
        w.tags();
        (key.freeze(), Some(w.0.freeze()))
    }

    /// Reads a record whose key version is 3 to 8; `Ok(None)` for any other
    /// key version (offsets and classic groups are read elsewhere).
    pub fn decode(key: Bytes, value: Option<Bytes>) -> Result<Option<Self>, RecordError> {
        use ConsumerGroupRecord as R;
        let mut k = Reader(key);
        let version = k.i16()?;
        if !(METADATA..=CURRENT_ASSIGNMENT).contains(&version) {
            return Ok(None);
        }
        let group = k.string()?;
        let member = if matches!(
            version,
            MEMBER_METADATA | TARGET_MEMBER | CURRENT_ASSIGNMENT
        ) {
            k.string()?
        } else {
            String::new()
        };
        let Some(value) = value else {
            return Ok(Some(match version {
                METADATA => R::Epoch(group, None),
                PARTITION_METADATA => R::Topics(group, None),
                MEMBER_METADATA => R::Member(group, member, None),
                TARGET_METADATA => R::TargetEpoch(group, None),
                TARGET_MEMBER => R::Target(group, member, None),
                _ => R::Current(group, member, None),
            }));
        };
        let mut r = Reader(value);
        let value_version = r.i16()?;
        if value_version != 0 {
            return Err(RecordError::new(format!(
                "consumer group record {version} has value version {value_version}"
            )));
        }
        let record = match version {
            METADATA => R::Epoch(group, Some(r.i32()?)),
            PARTITION_METADATA => {
                let mut topics = BTreeMap::new();
                for _ in 0..r.len()? {
                    let id = r.uuid()?;
                    let name = r.compact_string()?.unwrap_or_default();
                    let count = r.i32()?;
                    for _ in 0..r.len()? {
                        r.i32()?;
                        for _ in 0..r.len()? {
                            r.compact_string()?;
                        }
                        r.tags()?;
                    }
                    r.tags()?;
                    topics.insert(id, (name, count));
                }
                R::Topics(group, Some(topics))
            }
            MEMBER_METADATA => {
                let instance_id = r.compact_string()?;
                let rack_id = r.compact_string()?;
                let client_id = r.compact_string()?.unwrap_or_default();
                let client_host = r.compact_string()?.unwrap_or_default();
                let mut subscribed_topic_names = Vec::new();
                for _ in 0..r.len()? {
                    subscribed_topic_names.push(r.compact_string()?.unwrap_or_default());
                }
                let subscribed_topic_regex = r.compact_string()?;
                let rebalance_timeout_ms = r.i32()?;
                let server_assignor = r.compact_string()?;
                R::Member(
                    group,
                    member,
                    Some(MemberMetadata {
                        instance_id,
                        rack_id,
                        client_id,
                        client_host,
                        subscribed_topic_names,
                        subscribed_topic_regex,
                        rebalance_timeout_ms,
                        server_assignor,
                        classic: r.classic_tag()?,
                    }),
                )
            }
            TARGET_METADATA => R::TargetEpoch(group, Some(r.i32()?)),
            TARGET_MEMBER => R::Target(group, member, Some(r.assignment()?)),
            _ => {
                let epoch = r.i32()?;
                let previous_epoch = r.i32()?;
                let state = match r.i8()? {
                    1 => MemberState::UnrevokedPartitions,
                    2 => MemberState::UnreleasedPartitions,
                    // Unknown states reconcile from scratch, as Kafka does.
                    _ => MemberState::Stable,
                };
                R::Current(
                    group,
                    member,
                    Some(Holding {
                        epoch,
                        previous_epoch,
                        state,
                        assigned: r.assignment()?,
                        revoking: r.assignment()?,
                    }),
                )
            }
        };
        // Every value ends with its tagged fields (the member value reads
        // its own, where tag 0 is a classic member's metadata).
        if version != MEMBER_METADATA {
            r.tags()?;
        }
        Ok(Some(record))
    }
}

fn entry<'a>(groups: &'a mut BTreeMap<String, ConsumerGroup>, id: &str) -> &'a mut ConsumerGroup {
    groups
        .entry(id.to_string())
        .or_insert_with(|| ConsumerGroup::new(id))
}

/// Kafka's flexible encoding: varint lengths, compact strings and arrays,
/// tagged fields.
struct Writer(BytesMut);

impl Writer {
    fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.put_u8(v as u8);
    }
    fn len(&mut self, n: usize) {
        self.uvarint(n as u64 + 1);
    }
    fn string(&mut self, s: Option<&str>) {
        match s {
            None => self.uvarint(0),
            Some(s) => {
                self.len(s.len());
                self.0.put_slice(s.as_bytes());
            }
        }
    }
    fn tags(&mut self) {
        self.uvarint(0);
    }
    fn assignment(&mut self, a: &Assignment) {
        self.len(a.len());
        for (id, ps) in a {
            self.0.put_slice(id.as_bytes());
            self.len(ps.len());
            for p in ps {
                self.0.put_i32(*p);
            }
            self.tags();
        }
    }
}

impl Reader {
    fn i8(&mut self) -> Result<i8, RecordError> {
        self.need(1)?;
        Ok(self.0.get_i8())
    }
    fn uuid(&mut self) -> Result<Uuid, RecordError> {
        self.need(16)?;
        let mut raw = [0u8; 16];
        self.0.copy_to_slice(&mut raw);
        Ok(Uuid::from_bytes(raw))
    }
    fn uvarint(&mut self) -> Result<u64, RecordError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            self.need(1)?;
            let b = self.0.get_u8();
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(RecordError::new("varint longer than 64 bits"))
    }
    /// A compact length (n + 1, 0 meaning null); each element takes at
    /// least one byte, so a length beyond what is left is refused before
    /// anything is allocated.
    fn len(&mut self) -> Result<usize, RecordError> {
        let n = self.uvarint()?.saturating_sub(1);
        let n = usize::try_from(n).map_err(|_| RecordError::new("length out of range"))?;
        self.need(n)?;
        Ok(n)
    }
    fn compact_string(&mut self) -> Result<Option<String>, RecordError> {
        let raw = self.uvarint()?;
        if raw == 0 {
            return Ok(None);
        }
        let len = usize::try_from(raw - 1).map_err(|_| RecordError::new("length out of range"))?;
        self.need(len)?;
        String::from_utf8(self.0.split_to(len).to_vec())
            .map(Some)
            .map_err(RecordError::new)
    }
    fn tags(&mut self) -> Result<(), RecordError> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?)
                .map_err(|_| RecordError::new("tag size out of range"))?;
            self.need(size)?;
            self.0.advance(size);
        }
        Ok(())
    }
    /// The member value's tagged fields, where tag 0 holds a classic
    /// member's metadata; other tags are skipped.
    fn classic_tag(&mut self) -> Result<Option<ClassicMetadata>, RecordError> {
        let mut classic = None;
        for _ in 0..self.uvarint()? {
            let tag = self.uvarint()?;
            let size = usize::try_from(self.uvarint()?)
                .map_err(|_| RecordError::new("tag size out of range"))?;
            self.need(size)?;
            let mut field = Reader(self.0.split_to(size));
            if tag == 0 {
                let session_timeout_ms = field.i32()?;
                let mut protocols = Vec::new();
                for _ in 0..field.len()? {
                    let name = field.compact_string()?.unwrap_or_default();
                    let len = field.len()?;
                    let metadata = field.0.split_to(len);
                    field.tags()?;
                    protocols.push((name, metadata));
                }
                classic = Some(ClassicMetadata {
                    session_timeout_ms,
                    protocols,
                });
            }
        }
        Ok(classic)
    }
    fn assignment(&mut self) -> Result<Assignment, RecordError> {
        let mut a = Assignment::new();
        for _ in 0..self.len()? {
            let id = self.uuid()?;
            let mut ps = BTreeSet::new();
            for _ in 0..self.len()? {
                ps.insert(self.i32()?);
            }
            self.tags()?;
            a.insert(id, ps);
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::consumer::{ConsumerGroupLimits, Heartbeat, TopicCatalog};

    struct Topics;

    impl TopicCatalog for Topics {
        fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
            (name == "orders").then_some((Uuid::from_u128(1), 5))
        }
        fn names(&self) -> Vec<String> {
            vec!["orders".to_string()]
        }
    }

    fn topics() -> Topics {
        Topics
    }

    /// Three members, one of them still waiting to revoke.
    fn joined_group(cat: &Topics) -> ConsumerGroup {
        let limits = ConsumerGroupLimits::default();
        let mut group = ConsumerGroup::new("g");
        for (i, m) in ["a", "b", "c"].into_iter().enumerate() {
            let hb = Heartbeat {
                member_id: m.to_string(),
                member_epoch: 0,
                instance_id: (i == 1).then(|| "pod-1".to_string()),
                rack_id: Some("r1".to_string()),
                rebalance_timeout_ms: 30_000,
                subscribed_topic_names: Some(vec!["orders".to_string()]),
                subscribed_topic_regex: (i == 2).then(|| "ord.*".to_string()),
                server_assignor: Some("range".to_string()),
                owned: Some(Assignment::new()),
                client_id: format!("client-{m}"),
                client_host: "/127.0.0.1".to_string(),
            };
            group.heartbeat(hb, cat, &limits, 0).expect("join");
        }
        group
    }

    fn replay(records: Vec<ConsumerGroupRecord>, now: i64) -> BTreeMap<String, ConsumerGroup> {
        let mut groups = BTreeMap::new();
        for r in records {
            let (k, v) = r.encode();
            let decoded = ConsumerGroupRecord::decode(k, v)
                .expect("decodes")
                .expect("a consumer group record");
            assert_eq!(decoded, r);
            decoded.apply(&mut groups, now);
        }
        groups
    }

    #[test]
    fn a_replayed_group_equals_the_group_it_was_written_from() {
        let cat = topics();
        let group = joined_group(&cat);
        let mut restored = replay(diff(None, Some(&group)), 0);
        let mut back = restored.remove("g").expect("group replayed");
        back.assignor = group.assignor;
        for m in back.members.values_mut() {
            m.last_heartbeat_ms = group.members[&m.id].last_heartbeat_ms;
            m.revoke_deadline_ms = group.members[&m.id].revoke_deadline_ms;
        }
        assert_eq!(back, group);
    }

    #[test]
    fn a_departed_member_is_tombstoned_and_a_deleted_group_disappears() {
        let cat = topics();
        let group = joined_group(&cat);
        let mut smaller = group.clone();
        smaller.remove_member("b");
        let mut records = diff(None, Some(&group));
        records.extend(diff(Some(&group), Some(&smaller)));
        let restored = replay(records.clone(), 0);
        assert!(!restored["g"].members.contains_key("b"));
        assert!(!restored["g"].target.contains_key("b"));
        records.extend(diff(Some(&smaller), None));
        assert!(replay(records, 0).is_empty());
    }

    #[test]
    fn truncated_or_hostile_values_are_errors_not_panics() {
        let group = joined_group(&topics());
        for r in diff(None, Some(&group)) {
            let (k, v) = r.encode();
            let Some(v) = v else { continue };
            for cut in 0..v.len() {
                assert!(
                    ConsumerGroupRecord::decode(k.clone(), Some(v.slice(..cut))).is_err(),
                    "a value cut to {cut} of {} bytes decoded",
                    v.len()
                );
            }
        }
        let key = ConsumerGroupRecord::Target("g".into(), "m".into(), None)
            .encode()
            .0;
        let huge = Bytes::from_static(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(ConsumerGroupRecord::decode(key, Some(huge)).is_err());
    }
}
