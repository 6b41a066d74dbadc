//! The records of `__consumer_offsets`, in Kafka's own key and value schemas
//! (offset commit key v1 / value v3, group metadata key v2 / value v3), so
//! Kafka's tools can read the topic and compaction keys them the same way.
//! `kafka-protocol` does not ship these internal schemas (nor expose its
//! primitive codecs), so the few primitives they need are here: big-endian
//! integers, i16-length strings and i32-length bytes, every read bounds-checked.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed __consumer_offsets record: {0}")]
pub struct RecordError(String);

impl RecordError {
    /// An error saying what is wrong with a record.
    pub fn new(e: impl std::fmt::Display) -> Self {
        RecordError(e.to_string())
    }
}

fn err(e: impl std::fmt::Display) -> RecordError {
    RecordError(e.to_string())
}

/// Bounds-checked reads of Kafka's primitive types; the consumer group
/// records add the flexible ones in `consumer::records`.
pub(crate) struct Reader(pub(crate) Bytes);

impl Reader {
    pub(crate) fn need(&self, n: usize) -> Result<(), RecordError> {
        if self.0.remaining() < n {
            Err(err(format!(
                "needs {n} more bytes, {} left",
                self.0.remaining()
            )))
        } else {
            Ok(())
        }
    }
    pub(crate) fn i16(&mut self) -> Result<i16, RecordError> {
        self.need(2)?;
        Ok(self.0.get_i16())
    }
    pub(crate) fn i32(&mut self) -> Result<i32, RecordError> {
        self.need(4)?;
        Ok(self.0.get_i32())
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        self.need(8)?;
        Ok(self.0.get_i64())
    }
    fn nullable_string(&mut self) -> Result<Option<String>, RecordError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let len = usize::try_from(len).unwrap_or(0);
        self.need(len)?;
        let raw = self.0.split_to(len);
        String::from_utf8(raw.to_vec()).map(Some).map_err(err)
    }
    pub(crate) fn string(&mut self) -> Result<String, RecordError> {
        self.nullable_string()?
            .ok_or_else(|| err("null where a string is required"))
    }
    fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Bytes::new());
        }
        let len = usize::try_from(len).unwrap_or(0);
        self.need(len)?;
        Ok(self.0.split_to(len))
    }
}

pub(crate) fn put_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        None => buf.put_i16(-1),
        Some(s) => {
            // Kafka strings are at most i16::MAX bytes; longer ones are cut
            // at a character boundary rather than corrupting the record.
            let mut end = s.len().min(i16::MAX as usize);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            buf.put_i16(i16::try_from(end).unwrap_or(i16::MAX));
            buf.put_slice(&s.as_bytes()[..end]);
        }
    }
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
    buf.put_slice(b);
}

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OffsetsKey {
    /// A committed offset of one partition.
    Offset {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A group's membership and assignment.
    Group {
        /// The group.
        group: String,
    },
}

impl OffsetsKey {
    /// The group the record belongs to.
    pub fn group(&self) -> &str {
        match self {
            OffsetsKey::Offset { group, .. } | OffsetsKey::Group { group } => group,
        }
    }
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    /// The next offset to consume.
    pub offset: i64,
    /// Leader epoch of the last consumed record, or -1.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
    /// When it was committed, in ms.
    pub commit_timestamp: i64,
}

/// A member as stored in the group metadata value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Rebalance timeout in ms.
    pub rebalance_timeout_ms: i32,
    /// Session timeout in ms.
    pub session_timeout_ms: i32,
    /// Metadata for the chosen protocol.
    pub subscription: Bytes,
    /// The member's assignment.
    pub assignment: Bytes,
}

/// A group's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// Protocol type (`consumer`), empty for offset-only groups.
    pub protocol_type: String,
    /// Generation.
    pub generation: i32,
    /// Chosen protocol.
    pub protocol: Option<String>,
    /// Leader member id.
    pub leader: Option<String>,
    /// When the state last changed.
    pub current_state_timestamp: i64,
    /// Members.
    pub members: Vec<MemberValue>,
}

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

/// Encodes a key.
pub fn encode_key(key: &OffsetsKey) -> Bytes {
    let mut buf = BytesMut::new();
    match key {
        OffsetsKey::Offset {
            group,
            topic,
            partition,
        } => {
            buf.put_i16(OFFSET_KEY_VERSION);
            put_string(&mut buf, Some(group));
            put_string(&mut buf, Some(topic));
            buf.put_i32(*partition);
        }
        OffsetsKey::Group { group } => {
            buf.put_i16(GROUP_KEY_VERSION);
            put_string(&mut buf, Some(group));
        }
    }
    buf.freeze()
}

/// Decodes a key; `Ok(None)` for key versions this broker does not use
/// (transaction or share-group records written by other software).
pub fn decode_key(buf: Bytes) -> Result<Option<OffsetsKey>, RecordError> {
    let mut r = Reader(buf);
    match r.i16()? {
        0 | 1 => Ok(Some(OffsetsKey::Offset {
            group: r.string()?,
            topic: r.string()?,
            partition: r.i32()?,
        })),
        2 => Ok(Some(OffsetsKey::Group { group: r.string()? })),
        _ => Ok(None),
    }
}

/// Encodes a committed offset.
pub fn encode_offset(value: &OffsetValue) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_VALUE_VERSION);
    buf.put_i64(value.offset);
    buf.put_i32(value.leader_epoch);
    put_string(&mut buf, Some(&value.metadata));
    buf.put_i64(value.commit_timestamp);
    buf.freeze()
}

/// Decodes a committed offset (value versions 0 to 3; v1's expiry time is
/// read and ignored).
pub fn decode_offset(buf: Bytes) -> Result<OffsetValue, RecordError> {
    let mut r = Reader(buf);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(err(format!("offset value version {version}")));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    if version == 1 {
        r.i64()?;
    }
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

/// Encodes a group's state.
pub fn encode_group(value: &GroupValue) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_VALUE_VERSION);
    put_string(&mut buf, Some(&value.protocol_type));
    buf.put_i32(value.generation);
    put_string(&mut buf, value.protocol.as_deref());
    put_string(&mut buf, value.leader.as_deref());
    buf.put_i64(value.current_state_timestamp);
    buf.put_i32(i32::try_from(value.members.len()).unwrap_or(i32::MAX));
    for m in &value.members {
        put_string(&mut buf, Some(&m.member_id));
        put_string(&mut buf, m.instance_id.as_deref());
        put_string(&mut buf, Some(&m.client_id));
        put_string(&mut buf, Some(&m.client_host));
        buf.put_i32(m.rebalance_timeout_ms);
        buf.put_i32(m.session_timeout_ms);
        put_bytes(&mut buf, &m.subscription);
        put_bytes(&mut buf, &m.assignment);
    }
    buf.freeze()
}

/// Decodes a group's state (value version 3).
pub fn decode_group(buf: Bytes) -> Result<GroupValue, RecordError> {
    let mut r = Reader(buf);
    let version = r.i16()?;
    if version != GROUP_VALUE_VERSION {
        return Err(err(format!("group value version {version}")));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = r.i64()?;
    let count = r.i32()?;
    let mut members = Vec::new();
    for _ in 0..count.max(0) {
        members.push(MemberValue {
            member_id: r.string()?,
            instance_id: r.nullable_string()?,
            client_id: r.string()?,
            client_host: r.string()?,
            rebalance_timeout_ms: r.i32()?,
            session_timeout_ms: r.i32()?,
            subscription: r.bytes()?,
            assignment: r.bytes()?,
        });
    }
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

/// Java's `String.hashCode`, which Kafka uses to map a group to its
/// `__consumer_offsets` partition.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of a group, as Kafka computes it
/// (`Utils.abs(groupId.hashCode) % partitions`).
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let h = java_string_hash(group);
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let key = OffsetsKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        assert_eq!(decode_key(encode_key(&key)).unwrap(), Some(key));
        let group_key = OffsetsKey::Group { group: "g".into() };
        assert_eq!(decode_key(encode_key(&group_key)).unwrap(), Some(group_key));
        let offset = OffsetValue {
            offset: 42,
            leader_epoch: 1,
            metadata: "meta".into(),
            commit_timestamp: 7,
        };
        assert_eq!(decode_offset(encode_offset(&offset)).unwrap(), offset);
        let group = GroupValue {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp: 9,
            members: vec![MemberValue {
                member_id: "m-1".into(),
                instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(decode_group(encode_group(&group)).unwrap(), group);
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let bytes = encode_offset(&OffsetValue {
            offset: 1,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 0,
        });
        for cut in 0..bytes.len() {
            assert!(decode_offset(bytes.slice(..cut)).is_err());
        }
        assert!(decode_key(Bytes::from_static(&[0])).is_err());
    }

    #[test]
    fn groups_map_to_partitions_as_kafka_does() {
        // Values computed with Java: Math.abs("my-group".hashCode()) % 50.
        assert_eq!(java_string_hash("my-group"), -1_906_497_762);
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
    }
}
