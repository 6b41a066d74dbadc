//! A topic's configuration in force: each key from the topic's override,
//! else from the broker-level default that Kafka layers as dynamic for this
//! broker, dynamic for the whole cluster, then the properties file, else
//! Kafka's own default. DescribeConfigs reports the same layers as synonyms.

use std::collections::BTreeMap;

use super::topic::{definition, validate_value, TopicConfigDef, TOPIC_CONFIGS};
use kafka_protocol::records::Compression;

use crate::log::codec::TopicCompression;
use crate::log::{LogConfig, TimestampType};

/// The broker-level defaults of topic configs, keyed by broker key
/// (`log.retention.ms`), each layer with its source, highest precedence
/// first.
#[derive(Debug, Clone, Default)]
pub struct BrokerLogDefaults {
    layers: Vec<(ConfigSource, BTreeMap<String, String>)>,
}

impl BrokerLogDefaults {
    /// The layers of one broker: its own dynamic configs, the cluster-wide
    /// dynamic ones, its properties file. Keys that are not topic defaults
    /// (throttles, cordoning) are never looked up.
    pub fn new(
        own: Option<&BTreeMap<String, String>>,
        cluster: Option<&BTreeMap<String, String>>,
        properties: &BTreeMap<String, String>,
    ) -> Self {
        let mut layers = Vec::new();
        if let Some(own) = own {
            layers.push((ConfigSource::DynamicBroker, own.clone()));
        }
        if let Some(cluster) = cluster {
            layers.push((ConfigSource::DynamicDefaultBroker, cluster.clone()));
        }
        layers.push((ConfigSource::Broker, properties.clone()));
        BrokerLogDefaults { layers }
    }

    /// Every value set for `broker_key`, highest precedence first.
    pub fn synonyms<'a>(
        &'a self,
        broker_key: &'a str,
    ) -> impl Iterator<Item = (&'a str, ConfigSource)> + 'a {
        self.layers.iter().filter_map(move |(source, values)| {
            (!broker_key.is_empty())
                .then(|| values.get(broker_key))
                .flatten()
                .map(|v| (v.as_str(), *source))
        })
    }
}

/// Where an effective config value came from, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic (DYNAMIC_TOPIC_CONFIG).
    Topic,
    /// Set in the broker's configuration (STATIC_BROKER_CONFIG).
    Broker,
    /// Set dynamically for this broker (DYNAMIC_BROKER_CONFIG).
    DynamicBroker,
    /// Set dynamically for every broker (DYNAMIC_DEFAULT_BROKER_CONFIG).
    DynamicDefaultBroker,
    /// Kafka's built-in default (DEFAULT_CONFIG).
    Default,
    /// Set on a consumer group (GROUP_CONFIG).
    Group,
}

impl ConfigSource {
    /// The code DescribeConfigs v1+ uses for this source.
    pub fn code(self) -> i8 {
        match self {
            ConfigSource::Topic => 1,
            ConfigSource::Broker => 4,
            ConfigSource::DynamicBroker => 2,
            ConfigSource::DynamicDefaultBroker => 3,
            ConfigSource::Default => 5,
            ConfigSource::Group => 8,
        }
    }
}

/// One resolved topic config value and its origin.
#[derive(Debug, Clone)]
pub struct EffectiveEntry {
    /// The definition of the key.
    pub def: &'static TopicConfigDef,
    /// The value in force.
    pub value: String,
    /// Where the value came from.
    pub source: ConfigSource,
}

/// A topic's configuration with every key resolved: topic override, else the
/// broker's default (dynamic for this broker, dynamic for the cluster,
/// static), else Kafka's.
#[derive(Debug, Clone)]
pub struct EffectiveTopicConfig {
    entries: Vec<EffectiveEntry>,
}

impl EffectiveTopicConfig {
    /// Resolves every key from the topic's overrides and the broker's
    /// defaults. Invalid stored values fall back to the next source.
    pub fn resolve(topic: &BTreeMap<String, String>, broker_defaults: &BrokerLogDefaults) -> Self {
        let entries = TOPIC_CONFIGS
            .iter()
            .map(|def| {
                let (value, source) = topic
                    .get(def.name)
                    .map(|v| (v.as_str(), ConfigSource::Topic))
                    .into_iter()
                    .chain(broker_defaults.synonyms(def.broker_key))
                    .find(|(v, _)| validate_value(def, v).is_ok())
                    .unwrap_or((def.default, ConfigSource::Default));
                EffectiveEntry {
                    def,
                    value: value.to_string(),
                    source,
                }
            })
            .collect();
        EffectiveTopicConfig { entries }
    }

    /// All entries, in the order of [`TOPIC_CONFIGS`].
    pub fn entries(&self) -> &[EffectiveEntry] {
        &self.entries
    }

    /// The value of one key.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.def.name == name)
            .map(|e| e.value.as_str())
    }

    fn long(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| definition(name).and_then(|d| d.default.parse().ok()))
            .unwrap_or(0)
    }

    /// `min.insync.replicas`, which acks=all produce checks against the ISR.
    pub fn min_insync_replicas(&self) -> i32 {
        i32::try_from(self.long("min.insync.replicas")).unwrap_or(1)
    }

    /// `compression.type` with the level of its codec.
    fn compression(&self) -> TopicCompression {
        let level = |key: &str| i32::try_from(self.long(key)).ok();
        match self.get("compression.type").unwrap_or("producer") {
            "uncompressed" => TopicCompression::Codec(Compression::None, None),
            "gzip" => TopicCompression::Codec(Compression::Gzip, level("compression.gzip.level")),
            "snappy" => TopicCompression::Codec(Compression::Snappy, None),
            "lz4" => TopicCompression::Codec(Compression::Lz4, level("compression.lz4.level")),
            "zstd" => TopicCompression::Codec(Compression::Zstd, level("compression.zstd.level")),
            _ => TopicCompression::Producer,
        }
    }

    /// The settings the partition log needs.
    pub fn log_config(&self) -> LogConfig {
        let policy = self.get("cleanup.policy").unwrap_or("delete");
        let clamp_u32 = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        LogConfig {
            segment_bytes: u64::try_from(self.long("segment.bytes")).unwrap_or(1 << 30),
            segment_ms: self.long("segment.ms"),
            retention_ms: self.long("retention.ms"),
            retention_bytes: self.long("retention.bytes"),
            index_interval_bytes: clamp_u32(self.long("index.interval.bytes")),
            segment_index_bytes: clamp_u32(self.long("segment.index.bytes")),
            max_message_bytes: clamp_u32(self.long("max.message.bytes")),
            timestamp_type: if self.get("message.timestamp.type") == Some("LogAppendTime") {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            timestamp_before_max_ms: self.long("message.timestamp.before.max.ms"),
            timestamp_after_max_ms: self.long("message.timestamp.after.max.ms"),
            compact: policy.split(',').any(|p| p.trim() == "compact"),
            delete: policy.split(',').any(|p| p.trim() == "delete"),
            delete_retention_ms: self.long("delete.retention.ms"),
            min_cleanable_dirty_ratio: self
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.5),
            min_compaction_lag_ms: self.long("min.compaction.lag.ms"),
            compression: self.compression(),
        }
    }
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
    fn topic_override_beats_broker_default_beats_kafka_default() {
        let topic = map(&[("retention.ms", "1000")]);
        let broker = map(&[
            ("log.retention.ms", "2000"),
            ("log.segment.bytes", "1048576"),
        ]);
        let cfg =
            EffectiveTopicConfig::resolve(&topic, &BrokerLogDefaults::new(None, None, &broker));
        assert_eq!(cfg.get("retention.ms"), Some("1000"));
        assert_eq!(cfg.get("segment.bytes"), Some("1048576"));
        assert_eq!(cfg.get("max.message.bytes"), Some("1048588"));
        let log = cfg.log_config();
        assert_eq!(log.retention_ms, 1000);
        assert_eq!(log.segment_bytes, 1_048_576);
        assert!(log.delete && !log.compact);
    }

    #[test]
    fn a_dynamic_broker_value_beats_the_cluster_default_which_beats_the_properties() {
        let own = map(&[("log.retention.ms", "1")]);
        let cluster = map(&[("log.retention.ms", "2"), ("log.segment.bytes", "2000000")]);
        let properties = map(&[
            ("log.retention.ms", "3"),
            ("log.segment.bytes", "3000000"),
            ("min.insync.replicas", "2"),
        ]);
        let layers = BrokerLogDefaults::new(Some(&own), Some(&cluster), &properties);
        let cfg = EffectiveTopicConfig::resolve(&BTreeMap::new(), &layers);
        let source = |name: &str| {
            cfg.entries()
                .iter()
                .find(|e| e.def.name == name)
                .map(|e| (e.value.as_str(), e.source))
        };
        assert_eq!(
            source("retention.ms"),
            Some(("1", ConfigSource::DynamicBroker))
        );
        assert_eq!(
            source("segment.bytes"),
            Some(("2000000", ConfigSource::DynamicDefaultBroker))
        );
        assert_eq!(
            source("min.insync.replicas"),
            Some(("2", ConfigSource::Broker))
        );
        assert_eq!(
            source("retention.bytes"),
            Some(("-1", ConfigSource::Default))
        );
        let synonyms: Vec<_> = layers.synonyms("log.retention.ms").collect();
        assert_eq!(
            synonyms,
            [
                ("1", ConfigSource::DynamicBroker),
                ("2", ConfigSource::DynamicDefaultBroker),
                ("3", ConfigSource::Broker)
            ]
        );
    }

    #[test]
    fn an_invalid_layer_falls_through_to_the_next() {
        let cluster = map(&[("log.segment.bytes", "12")]);
        let properties = map(&[("log.segment.bytes", "3000000")]);
        let layers = BrokerLogDefaults::new(None, Some(&cluster), &properties);
        let cfg = EffectiveTopicConfig::resolve(&BTreeMap::new(), &layers);
        assert_eq!(cfg.get("segment.bytes"), Some("3000000"));
    }
}
