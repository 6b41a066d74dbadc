//! Reading the dynamic broker configs an image holds: what the data plane
//! (replication throttles, placement) and the controller's decisions both
//! need, kept beside the image rather than inside either of them.

use super::MetadataImage;

/// The image's key for the cluster-wide default of a dynamic broker config.
pub const CLUSTER_DEFAULT: i32 = -1;

impl MetadataImage {
    /// A dynamic config in force for `broker`: its own value, else the
    /// cluster default, else none (the key's default applies).
    pub fn broker_config(&self, broker: i32, name: &str) -> Option<&str> {
        self.broker_configs
            .get(&broker)
            .and_then(|c| c.get(name))
            .or_else(|| {
                self.broker_configs
                    .get(&CLUSTER_DEFAULT)
                    .and_then(|c| c.get(name))
            })
            .map(String::as_str)
    }

    /// A replication throttle in bytes per second for `broker`, `None` when
    /// unthrottled (unset or Kafka's Long.MAX default).
    pub fn throttle_rate(&self, broker: i32, name: &str) -> Option<u64> {
        self.broker_config(broker, name)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|r| *r < i64::MAX as u64)
    }

    /// Whether `broker` is cordoned (KIP-1066): it takes no new replicas.
    pub fn is_cordoned(&self, broker: i32) -> bool {
        self.broker_config(broker, "cordoned.log.dirs")
            .is_some_and(|v| !v.trim().is_empty())
    }
}
