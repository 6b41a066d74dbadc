//! Which broker configs change without a restart, and what to send to
//! change them. Kafka lets an admin change the broker defaults of topic
//! configs on a running cluster (its `DynamicLogConfig`); the operator
//! applies those keys of `spec.config` as cluster-wide dynamic defaults
//! through the admin API, and only the other (static) keys go into
//! `server.properties` and its hash, whose change rolls the brokers.

use std::collections::BTreeMap;

/// The broker keys a running cluster accepts as cluster-wide defaults: each
/// sets the default of a topic config (`log.retention.ms` for
/// `retention.ms`), the same set as the broker's topic config table, plus
/// weir's cluster-wide ceiling on partition replicas per broker.
pub const LIVE_KEYS: &[&str] = &[
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleanup.policy",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.local.retention.bytes",
    "log.local.retention.ms",
    "log.message.timestamp.after.max.ms",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.type",
    "log.preallocate",
    "log.retention.bytes",
    "log.retention.ms",
    "log.roll.jitter.ms",
    "log.roll.ms",
    "log.segment.bytes",
    "log.segment.delete.delay.ms",
    "message.max.bytes",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "weir.max.partitions.per.broker",
];

/// Whether `key` is applied live rather than by a restart.
pub fn is_live(key: &str) -> bool {
    LIVE_KEYS.contains(&key)
}

/// The keys of `config` that need a restart to change.
pub fn static_part(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    config
        .iter()
        .filter(|(k, _)| !is_live(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The keys of `config` applied through the admin API.
pub fn live_part(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    config
        .iter()
        .filter(|(k, _)| is_live(k))
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .collect()
}

/// What to send to bring the cluster-wide defaults in line with the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveChange {
    /// Keys to set, with their values.
    pub set: Vec<(String, String)>,
    /// Keys the spec no longer sets: their cluster-wide default goes.
    pub removed: Vec<String>,
}

impl LiveChange {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }

    /// One line for an Event.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.extend(self.removed.iter().map(|k| format!("{k} removed")));
        parts.join(", ")
    }
}

/// The change from the cluster-wide defaults in force (`current`, as the
/// brokers report them) to the live keys of the spec. Keys outside
/// [`LIVE_KEYS`] (the rebalancing throttles, set by the operator while
/// replicas move) are left alone.
pub fn change(
    desired: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> LiveChange {
    let set = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed = current
        .keys()
        .filter(|k| is_live(k) && !desired.contains_key(*k))
        .cloned()
        .collect();
    LiveChange { set, removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn topic_defaults_are_live_and_everything_else_needs_a_restart() {
        let spec = map(&[
            ("log.retention.ms", "1000"),
            ("min.insync.replicas", "2"),
            ("num.partitions", "6"),
            ("log.retention.hours", "1"),
        ]);
        assert_eq!(
            live_part(&spec),
            map(&[("log.retention.ms", "1000"), ("min.insync.replicas", "2")])
        );
        assert_eq!(
            static_part(&spec),
            map(&[("log.retention.hours", "1"), ("num.partitions", "6")])
        );
    }

    #[test]
    fn only_differences_are_sent_and_throttles_are_not_touched() {
        let desired = map(&[("log.retention.ms", "1000"), ("min.insync.replicas", "2")]);
        let current = map(&[
            ("min.insync.replicas", "2"),
            ("log.segment.bytes", "1048576"),
            ("leader.replication.throttled.rate", "5000"),
        ]);
        let change = change(&desired, &current);
        assert_eq!(
            change,
            LiveChange {
                set: vec![("log.retention.ms".into(), "1000".into())],
                removed: vec!["log.segment.bytes".into()],
            }
        );
        assert_eq!(
            change.describe(),
            "log.retention.ms=1000, log.segment.bytes removed"
        );
        assert!(super::change(&desired, &desired).is_empty());
    }
}
