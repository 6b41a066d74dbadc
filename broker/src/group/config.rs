//! The group coordinator's settings, under Kafka's keys (`group.*`,
//! `offsets.*`), read from the broker's properties.

use std::collections::BTreeMap;

use super::classic::GroupLimits;
use super::consumer::ConsumerGroupLimits;
use crate::properties::{invalid, parse, ConfigError};

/// Settings of the group coordinator, under Kafka's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// Session and rebalance limits (`group.*`).
    pub limits: GroupLimits,
    /// `offsets.topic.num.partitions`.
    pub offsets_partitions: i32,
    /// `offsets.topic.replication.factor`, capped at the brokers present.
    pub offsets_replication_factor: i16,
    /// `offset.metadata.max.bytes`.
    pub metadata_max_bytes: usize,
    /// `offsets.retention.minutes`, in ms.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`.
    pub offsets_retention_check_interval_ms: i64,
    /// KIP-848 consumer group limits (`group.consumer.*`).
    pub consumer: ConsumerGroupLimits,
    /// Whether `group.coordinator.rebalance.protocols` enables the
    /// consumer protocol.
    pub consumer_protocol: bool,
}

impl GroupConfig {
    /// Reads the coordinator's keys, refusing what Kafka refuses at start.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let positive = |key: &str, default: i64| -> Result<i64, ConfigError> {
            let v: i64 = parse(props, key, default)?;
            if v < 0 {
                return Err(invalid(key, &v.to_string(), "must not be negative"));
            }
            Ok(v)
        };
        let offsets_partitions = positive("offsets.topic.num.partitions", 50)?;
        if offsets_partitions < 1 {
            return Err(invalid(
                "offsets.topic.num.partitions",
                "0",
                "must be at least 1",
            ));
        }
        let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        let (consumer, consumer_protocol) = super::consumer::config::parse_consumer_groups(props)?;
        Ok(GroupConfig {
            consumer,
            consumer_protocol,
            limits: GroupLimits {
                min_session_timeout_ms: to_i32(positive("group.min.session.timeout.ms", 6_000)?),
                max_session_timeout_ms: to_i32(positive(
                    "group.max.session.timeout.ms",
                    1_800_000,
                )?),
                initial_rebalance_delay_ms: to_i32(positive(
                    "group.initial.rebalance.delay.ms",
                    3_000,
                )?),
                max_size: usize::try_from(positive("group.max.size", i64::from(i32::MAX))?)
                    .unwrap_or(usize::MAX),
            },
            offsets_partitions: to_i32(offsets_partitions),
            offsets_replication_factor: i16::try_from(
                positive("offsets.topic.replication.factor", 3)?.max(1),
            )
            .unwrap_or(i16::MAX),
            metadata_max_bytes: usize::try_from(positive("offset.metadata.max.bytes", 4096)?)
                .unwrap_or(usize::MAX),
            offsets_retention_ms: positive("offsets.retention.minutes", 10_080)?
                .saturating_mul(60_000),
            offsets_retention_check_interval_ms: positive(
                "offsets.retention.check.interval.ms",
                600_000,
            )?
            .max(1),
        })
    }
}
