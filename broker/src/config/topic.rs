//! Topic-level configuration: Kafka's topic keys, their defaults, the broker
//! keys that supply a cluster-wide default, and validation of values.
//!
//! Keeping one table means CreateTopics, AlterConfigs, DescribeConfigs and the
//! log all agree on what a key means, so a Kafka user's knowledge carries over.

/// The value type Kafka declares for a config; DescribeConfigs v3+ reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false`.
    Boolean,
    /// Free-form or enumerated string.
    String,
    /// 32-bit integer.
    Int,
    /// 16-bit integer.
    Short,
    /// 64-bit integer.
    Long,
    /// Floating point number.
    Double,
    /// Comma-separated list.
    List,
    /// A Java class name (Kafka's plug-in points).
    Class,
    /// A secret: described without its value.
    Password,
}

impl ConfigType {
    /// The code DescribeConfigs uses for this type (Kafka's `ConfigType`).
    pub fn code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Short => 4,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }
}

/// The allowed values of a config, checked on every create and alter.
#[derive(Debug, Clone, Copy)]
pub enum Validator {
    /// Any value that parses as the config's type.
    Any,
    /// An integer at least this large.
    AtLeast(i64),
    /// An integer in this closed range, or the value given (a default
    /// that means "the codec's own").
    IntRange(i64, i64, Option<i64>),
    /// A double in this closed range.
    DoubleRange(f64, f64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A non-empty comma-separated list drawn from these strings.
    ListOf(&'static [&'static str]),
    /// Kafka's throttled-replica list: empty, `*`, or `partition:broker`
    /// pairs separated by commas.
    ThrottledReplicas,
    /// Any value of the type but this one, refused with this reason (a
    /// feature the broker does not have, as Kafka refuses it when off).
    Not(&'static str, &'static str),
}

/// One topic config key as Kafka defines it.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    /// The topic-level key, e.g. `retention.ms`.
    pub name: &'static str,
    /// The broker key whose value is the cluster-wide default, e.g.
    /// `log.retention.ms`; empty for topic keys without one.
    pub broker_key: &'static str,
    /// Kafka's default when neither the topic nor the broker sets it.
    pub default: &'static str,
    /// The declared type.
    pub kind: ConfigType,
    /// The allowed values.
    pub validator: Validator,
    /// One line of documentation, returned by DescribeConfigs v3+.
    pub doc: &'static str,
}

const I64_MAX: &str = "9223372036854775807";

/// Every topic config weir understands, with Kafka 4's names and defaults.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef {
        name: "cleanup.policy",
        broker_key: "log.cleanup.policy",
        default: "delete",
        kind: ConfigType::List,
        validator: Validator::ListOf(&["compact", "delete"]),
        doc: "Retention policy for old log segments: delete, compact, or both.",
    },
    TopicConfigDef {
        name: "compression.type",
        broker_key: "compression.type",
        default: "producer",
        kind: ConfigType::String,
        validator: Validator::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        doc: "The compression of the topic's batches: 'producer' keeps what the producer sent (no recompression), a codec (or 'uncompressed') makes the broker recompress batches that differ.",
    },
    TopicConfigDef {
        name: "compression.gzip.level",
        broker_key: "compression.gzip.level",
        default: "-1",
        kind: ConfigType::Int,
        validator: Validator::IntRange(1, 9, Some(-1)),
        doc: "The gzip level the broker recompresses with when compression.type is gzip (-1: the codec's default).",
    },
    TopicConfigDef {
        name: "compression.lz4.level",
        broker_key: "compression.lz4.level",
        default: "9",
        kind: ConfigType::Int,
        validator: Validator::IntRange(1, 17, None),
        doc: "The lz4 level the broker recompresses with when compression.type is lz4.",
    },
    TopicConfigDef {
        name: "compression.zstd.level",
        broker_key: "compression.zstd.level",
        default: "3",
        kind: ConfigType::Int,
        validator: Validator::IntRange(-131072, 22, None),
        doc: "The zstd level the broker recompresses with when compression.type is zstd.",
    },
    TopicConfigDef {
        name: "delete.retention.ms",
        broker_key: "log.cleaner.delete.retention.ms",
        default: "86400000",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "How long tombstones are retained in a compacted topic.",
    },
    TopicConfigDef {
        name: "file.delete.delay.ms",
        broker_key: "log.segment.delete.delay.ms",
        default: "60000",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "Time to wait before deleting a file from the filesystem.",
    },
    TopicConfigDef {
        name: "flush.messages",
        broker_key: "log.flush.interval.messages",
        default: I64_MAX,
        kind: ConfigType::Long,
        validator: Validator::AtLeast(1),
        doc: "Force an fsync after this many messages; durability normally comes from replication.",
    },
    TopicConfigDef {
        name: "flush.ms",
        broker_key: "log.flush.interval.ms",
        default: I64_MAX,
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "Force an fsync after this much time; durability normally comes from replication.",
    },
    TopicConfigDef {
        name: "follower.replication.throttled.replicas",
        broker_key: "",
        default: "",
        kind: ConfigType::List,
        validator: Validator::ThrottledReplicas,
        doc: "Replicas (partition:broker, or *) whose fetches as followers are throttled to follower.replication.throttled.rate.",
    },
    TopicConfigDef {
        name: "index.interval.bytes",
        broker_key: "log.index.interval.bytes",
        default: "4096",
        kind: ConfigType::Int,
        validator: Validator::AtLeast(0),
        doc: "How many bytes of log to write between offset index entries.",
    },
    TopicConfigDef {
        name: "leader.replication.throttled.replicas",
        broker_key: "",
        default: "",
        kind: ConfigType::List,
        validator: Validator::ThrottledReplicas,
        doc: "Replicas (partition:broker, or *) that the leader serves within leader.replication.throttled.rate.",
    },
    TopicConfigDef {
        name: "max.compaction.lag.ms",
        broker_key: "log.cleaner.max.compaction.lag.ms",
        default: I64_MAX,
        kind: ConfigType::Long,
        validator: Validator::AtLeast(1),
        doc: "The longest a message stays ineligible for compaction.",
    },
    TopicConfigDef {
        name: "max.message.bytes",
        broker_key: "message.max.bytes",
        default: "1048588",
        kind: ConfigType::Int,
        validator: Validator::AtLeast(0),
        doc: "The largest record batch size allowed.",
    },
    TopicConfigDef {
        name: "message.timestamp.after.max.ms",
        broker_key: "log.message.timestamp.after.max.ms",
        default: "3600000",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "How far a CreateTime timestamp may be ahead of the broker's clock.",
    },
    TopicConfigDef {
        name: "message.timestamp.before.max.ms",
        broker_key: "log.message.timestamp.before.max.ms",
        default: I64_MAX,
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "How far a CreateTime timestamp may be behind the broker's clock.",
    },
    TopicConfigDef {
        name: "message.timestamp.type",
        broker_key: "log.message.timestamp.type",
        default: "CreateTime",
        kind: ConfigType::String,
        validator: Validator::OneOf(&["CreateTime", "LogAppendTime"]),
        doc: "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
    },
    TopicConfigDef {
        name: "min.cleanable.dirty.ratio",
        broker_key: "log.cleaner.min.cleanable.ratio",
        default: "0.5",
        kind: ConfigType::Double,
        validator: Validator::DoubleRange(0.0, 1.0),
        doc: "The dirty fraction of a compacted log that triggers cleaning.",
    },
    TopicConfigDef {
        name: "min.compaction.lag.ms",
        broker_key: "log.cleaner.min.compaction.lag.ms",
        default: "0",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "The shortest a message stays uncompacted.",
    },
    TopicConfigDef {
        name: "min.insync.replicas",
        broker_key: "min.insync.replicas",
        default: "1",
        kind: ConfigType::Int,
        validator: Validator::AtLeast(1),
        doc: "The fewest in-sync replicas an acks=all produce needs.",
    },
    TopicConfigDef {
        name: "local.retention.bytes",
        broker_key: "log.local.retention.bytes",
        default: "-2",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(-2),
        doc: "With tiered storage, the bytes kept locally (-2: retention.bytes). weir has no tiered storage, so every log is local and this has no effect.",
    },
    TopicConfigDef {
        name: "local.retention.ms",
        broker_key: "log.local.retention.ms",
        default: "-2",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(-2),
        doc: "With tiered storage, how long segments stay local (-2: retention.ms). weir has no tiered storage, so every log is local and this has no effect.",
    },
    TopicConfigDef {
        name: "preallocate",
        broker_key: "log.preallocate",
        default: "false",
        kind: ConfigType::Boolean,
        validator: Validator::Any,
        doc: "Whether to preallocate segment files.",
    },
    TopicConfigDef {
        name: "remote.log.copy.disable",
        broker_key: "",
        default: "false",
        kind: ConfigType::Boolean,
        validator: Validator::Any,
        doc: "With tiered storage, stops copying segments to remote storage; without it (weir), no effect.",
    },
    TopicConfigDef {
        name: "remote.log.delete.on.disable",
        broker_key: "",
        default: "false",
        kind: ConfigType::Boolean,
        validator: Validator::Any,
        doc: "With tiered storage, deletes remote segments when it is turned off; without it (weir), no effect.",
    },
    TopicConfigDef {
        name: "remote.storage.enable",
        broker_key: "",
        default: "false",
        kind: ConfigType::Boolean,
        validator: Validator::Not(
            "true",
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.",
        ),
        doc: "Tiered storage for the topic; weir has none, so only false is accepted.",
    },
    TopicConfigDef {
        name: "retention.bytes",
        broker_key: "log.retention.bytes",
        default: "-1",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(-1),
        doc: "The largest a partition may grow before old segments are deleted; -1 for no limit.",
    },
    TopicConfigDef {
        name: "retention.ms",
        broker_key: "log.retention.ms",
        default: "604800000",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(-1),
        doc: "How long a segment is kept before it is deleted; -1 for no limit.",
    },
    TopicConfigDef {
        name: "segment.bytes",
        broker_key: "log.segment.bytes",
        default: "1073741824",
        kind: ConfigType::Int,
        validator: Validator::AtLeast(14),
        doc: "The size of a log segment file.",
    },
    TopicConfigDef {
        name: "segment.index.bytes",
        broker_key: "log.index.size.max.bytes",
        default: "10485760",
        kind: ConfigType::Int,
        validator: Validator::AtLeast(4),
        doc: "The size of the offset index of a segment.",
    },
    TopicConfigDef {
        name: "segment.jitter.ms",
        broker_key: "log.roll.jitter.ms",
        default: "0",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(0),
        doc: "The largest random jitter subtracted from segment.ms.",
    },
    TopicConfigDef {
        name: "segment.ms",
        broker_key: "log.roll.ms",
        default: "604800000",
        kind: ConfigType::Long,
        validator: Validator::AtLeast(1),
        doc: "How long before a segment is rolled even if it is not full.",
    },
    TopicConfigDef {
        name: "unclean.leader.election.enable",
        broker_key: "unclean.leader.election.enable",
        default: "false",
        kind: ConfigType::Boolean,
        validator: Validator::Any,
        doc: "Whether a replica outside the ISR may become leader, at the risk of losing data.",
    },
];

/// Parses a throttled-replica list of `partition:broker` pairs; `None`
/// when an item is not one.
pub fn parse_throttled(value: &str) -> Option<Vec<(i32, i32)>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (p, b) = item.split_once(':')?;
            Some((p.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect()
}

/// Whether `value`, a throttled-replica list, names `partition` on `broker`.
pub fn is_throttled(value: &str, partition: i32, broker: i32) -> bool {
    let value = value.trim();
    value == "*" || parse_throttled(value).is_some_and(|pairs| pairs.contains(&(partition, broker)))
}

/// Why a topic config was refused; the admin APIs answer INVALID_CONFIG with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicConfigError {
    /// The key is not a topic config.
    #[error("Unknown topic config name: {0}")]
    UnknownKey(String),
    /// The value does not parse or is out of range.
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    InvalidValue {
        /// The config key.
        name: String,
        /// The refused value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Looks up the definition of a topic config key.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Looks up a topic config by the broker key that sets its default
/// (`log.retention.ms` for `retention.ms`).
pub fn by_broker_key(key: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS
        .iter()
        .find(|d| !d.broker_key.is_empty() && d.broker_key == key)
}

/// Checks one key and value against Kafka's definition.
pub fn validate(name: &str, value: &str) -> Result<(), TopicConfigError> {
    let def = definition(name).ok_or_else(|| TopicConfigError::UnknownKey(name.to_string()))?;
    validate_value(def, value).map_err(|reason| TopicConfigError::InvalidValue {
        name: name.to_string(),
        value: value.to_string(),
        reason,
    })
}

/// Checks `value` has the shape of `kind` (Kafka's `ConfigDef.parseType`),
/// without a config's own bounds.
pub fn validate_type(kind: ConfigType, value: &str) -> Result<(), String> {
    parse_number(kind, value).map(|_| ())
}

/// The number `value` holds, for the numeric kinds; a value of the wrong
/// shape is refused with Kafka's words.
fn parse_number(kind: ConfigType, value: &str) -> Result<Option<i64>, String> {
    let trimmed = value.trim();
    Ok(match kind {
        ConfigType::Int => Some(
            trimmed
                .parse::<i32>()
                .map(i64::from)
                .map_err(|_| "Expected value to be a 32-bit integer".to_string())?,
        ),
        ConfigType::Short => Some(
            trimmed
                .parse::<i16>()
                .map(i64::from)
                .map_err(|_| "Expected value to be a 16-bit integer".to_string())?,
        ),
        ConfigType::Long => Some(
            trimmed
                .parse::<i64>()
                .map_err(|_| "Expected value to be a 64-bit integer".to_string())?,
        ),
        ConfigType::Boolean => {
            if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                return Err("Expected value to be either true or false".to_string());
            }
            None
        }
        ConfigType::Double => {
            trimmed
                .parse::<f64>()
                .map_err(|_| "Expected value to be a double".to_string())?;
            None
        }
        ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => None,
    })
}

pub(crate) fn validate_value(def: &TopicConfigDef, value: &str) -> Result<(), String> {
    let trimmed = value.trim();
    let number = parse_number(def.kind, value)?;
    match def.validator {
        Validator::Any => Ok(()),
        Validator::AtLeast(min) => match number {
            Some(n) if n < min => Err(format!("Value must be at least {min}")),
            _ => Ok(()),
        },
        Validator::IntRange(lo, hi, also) => match number {
            Some(n) if !(lo..=hi).contains(&n) && Some(n) != also => {
                Err(format!("Value must be between {lo} and {hi}"))
            }
            _ => Ok(()),
        },
        Validator::DoubleRange(lo, hi) => match trimmed.parse::<f64>() {
            Ok(d) if (lo..=hi).contains(&d) => Ok(()),
            Ok(_) => Err(format!("Value must be between {lo} and {hi}")),
            Err(_) => Err("Expected value to be a number".to_string()),
        },
        Validator::OneOf(allowed) => {
            if allowed.contains(&trimmed) {
                Ok(())
            } else {
                Err(format!("String must be one of: {}", allowed.join(", ")))
            }
        }
        Validator::Not(refused, reason) => {
            if trimmed.eq_ignore_ascii_case(refused) {
                Err(reason.to_string())
            } else {
                Ok(())
            }
        }
        Validator::ThrottledReplicas => {
            if trimmed.is_empty() || trimmed == "*" || parse_throttled(trimmed).is_some() {
                Ok(())
            } else {
                Err("must be *, or partition:broker pairs separated by commas".to_string())
            }
        }
        Validator::ListOf(allowed) => {
            let items: Vec<&str> = trimmed.split(',').map(str::trim).collect();
            if items.iter().any(|i| i.is_empty()) {
                return Err("List must not be empty or contain empty items".to_string());
            }
            match items.iter().find(|i| !allowed.contains(i)) {
                Some(bad) => Err(format!(
                    "Invalid value {bad}; list items must be among: {}",
                    allowed.join(", ")
                )),
                None => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_refused() {
        assert_eq!(
            validate("retention.hours", "1"),
            Err(TopicConfigError::UnknownKey("retention.hours".into()))
        );
    }

    #[test]
    fn non_numeric_and_out_of_range_values_are_refused() {
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("segment.bytes", "3000000000").is_err());
        assert!(validate("min.insync.replicas", "0").is_err());
    }

    #[test]
    fn tiered_storage_keys_are_known_but_remote_storage_cannot_be_enabled() {
        assert!(validate("remote.storage.enable", "false").is_ok());
        assert!(validate("remote.storage.enable", "true").is_err());
        assert!(validate("local.retention.ms", "-2").is_ok());
        assert!(validate("local.retention.ms", "-3").is_err());
        assert!(validate("remote.log.copy.disable", "true").is_ok());
    }

    #[test]
    fn compression_takes_kafkas_codecs_and_levels() {
        for codec in ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"] {
            assert!(validate("compression.type", codec).is_ok(), "{codec}");
        }
        assert!(validate("compression.type", "none").is_err());
        assert!(validate("compression.type", "GZIP").is_err());
        assert!(validate("compression.gzip.level", "-1").is_ok());
        assert!(validate("compression.gzip.level", "9").is_ok());
        assert!(validate("compression.gzip.level", "0").is_err());
        assert!(validate("compression.lz4.level", "17").is_ok());
        assert!(validate("compression.lz4.level", "18").is_err());
        assert!(validate("compression.zstd.level", "-5").is_ok());
        assert!(validate("compression.zstd.level", "23").is_err());
    }

    #[test]
    fn enumerations_and_lists_are_checked() {
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "compact,").is_err());
        assert!(validate("cleanup.policy", "archive").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("message.timestamp.type", "logappendtime").is_err());
        assert!(validate("unclean.leader.election.enable", "yes").is_err());
        assert!(validate("min.cleanable.dirty.ratio", "1.5").is_err());
    }

    #[test]
    fn every_default_passes_its_own_validator() {
        for def in TOPIC_CONFIGS {
            assert!(validate(def.name, def.default).is_ok(), "{}", def.name);
        }
    }
}
