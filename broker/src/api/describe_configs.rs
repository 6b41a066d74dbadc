//! DescribeConfigs: the effective configuration of topics and of this broker,
//! with where each value comes from.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::config::effective::{BrokerLogDefaults, ConfigSource};
use crate::config::kafka_broker::{self, KafkaBrokerConfig, UpdateMode, KAFKA_BROKER_CONFIGS};
use crate::config::static_broker::STATIC_BROKER_CONFIGS;
use crate::config::topic::{by_broker_key, ConfigType, TOPIC_CONFIGS};
use crate::controller::decisions::broker_configs::{CLUSTER_DEFAULT, DYNAMIC_BROKER_CONFIGS};
use crate::controller::decisions::group_configs::{GROUP_CONFIGS, GROUP_CONFIG_TYPE};

/// Kafka's resource type codes.
pub mod resource_type {
    /// A topic.
    pub const TOPIC: i8 = 2;
    /// A broker.
    pub const BROKER: i8 = 4;
    /// A consumer group (KIP-848 group configs).
    pub const GROUP: i8 = 32;
}

/// One config entry before encoding.
struct Entry {
    name: String,
    /// `None` for a config with no value (Kafka's null).
    value: Option<String>,
    source: ConfigSource,
    kind: ConfigType,
    read_only: bool,
    doc: &'static str,
    synonyms: Vec<(String, String, ConfigSource)>,
}

/// Handles a DescribeConfigs request.
pub fn handle(
    broker: &Broker,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let entries = match r.resource_type {
                resource_type::TOPIC => topic_entries(broker, &name),
                resource_type::BROKER => broker_entries(broker, &name),
                resource_type::GROUP => Ok(group_entries(broker, &name)),
                other => Err((
                    ResponseError::InvalidRequest,
                    format!("Resource type {other} is not supported by DescribeConfigs in weir"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match entries {
                Err((e, message)) => {
                    count_error(broker, ApiKey::DescribeConfigs, e);
                    result
                        .with_error_code(e.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                }
                Ok(entries) => {
                    let wanted = r.configuration_keys.as_ref();
                    let configs = entries
                        .into_iter()
                        .filter(|e| {
                            wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name))
                        })
                        .map(|e| {
                            encode(
                                e,
                                version,
                                request.include_synonyms,
                                request.include_documentation,
                            )
                        })
                        .collect();
                    result.with_configs(configs)
                }
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn encode(
    e: Entry,
    version: i16,
    include_synonyms: bool,
    include_documentation: bool,
) -> DescribeConfigsResourceResult {
    // As in Kafka, a secret is described without its value, also among
    // its synonyms.
    let sensitive = e.kind == ConfigType::Password;
    let shown = |v: String| (!sensitive).then(|| StrBytes::from_string(v));
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.and_then(shown))
        .with_read_only(e.read_only)
        .with_is_sensitive(sensitive)
        .with_config_source(e.source.code());
    if include_synonyms {
        r.synonyms = e
            .synonyms
            .into_iter()
            .map(|(name, value, source)| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(name))
                    .with_value(shown(value))
                    .with_source(source.code())
            })
            .collect();
    }
    if version >= 3 {
        r.config_type = e.kind.code();
        if include_documentation {
            r.documentation = Some(StrBytes::from_static_str(e.doc));
        }
    }
    r
}

fn topic_entries(broker: &Broker, name: &str) -> Result<Vec<Entry>, (ResponseError, String)> {
    let image = broker.image();
    let topic = image.topic(name).ok_or_else(|| {
        (
            ResponseError::UnknownTopicOrPartition,
            format!("Topic '{name}' does not exist."),
        )
    })?;
    let defaults = broker.log_defaults(&image);
    let effective =
        crate::config::effective::EffectiveTopicConfig::resolve(&topic.configs, &defaults);
    Ok(effective
        .entries()
        .iter()
        .map(|e| {
            let mut synonyms = Vec::new();
            if let Some(v) = topic.configs.get(e.def.name) {
                synonyms.push((e.def.name.to_string(), v.clone(), ConfigSource::Topic));
            }
            synonyms.extend(broker_synonyms(&defaults, e.def.broker_key, e.def.default));
            Entry {
                name: e.def.name.to_string(),
                value: Some(e.value.clone()),
                source: e.source,
                kind: e.def.kind,
                read_only: false,
                doc: e.def.doc,
                synonyms,
            }
        })
        .collect())
}

/// A broker-level default of a topic config as synonyms: every layer that
/// sets it, then Kafka's default; never empty.
fn broker_synonyms(
    defaults: &BrokerLogDefaults,
    broker_key: &str,
    default: &str,
) -> Vec<(String, String, ConfigSource)> {
    defaults
        .synonyms(broker_key)
        .map(|(v, source)| (broker_key.to_string(), v.to_string(), source))
        .chain(std::iter::once((
            broker_key.to_string(),
            default.to_string(),
            ConfigSource::Default,
        )))
        .collect()
}

/// The cluster-wide default resource (name ""): as in Kafka, only the
/// dynamic defaults an admin set.
fn cluster_default_entries(broker: &Broker) -> Vec<Entry> {
    let image = broker.image();
    let Some(set) = image.broker_configs.get(&CLUSTER_DEFAULT) else {
        return Vec::new();
    };
    set.iter()
        .filter_map(|(name, value)| {
            let (kind, doc) = match DYNAMIC_BROKER_CONFIGS.iter().find(|d| d.name == name) {
                Some(d) => (d.kind, d.doc),
                None => by_broker_key(name)
                    .map(|d| (d.kind, d.doc))
                    .or_else(|| kafka_broker::by_name(name).map(|d| (d.kind, kafka_broker::DOC)))?,
            };
            Some(Entry {
                name: name.clone(),
                value: Some(value.clone()),
                source: ConfigSource::DynamicDefaultBroker,
                kind,
                read_only: false,
                doc,
                synonyms: vec![(
                    name.clone(),
                    value.clone(),
                    ConfigSource::DynamicDefaultBroker,
                )],
            })
        })
        .collect()
}

/// A group's configs: its own values, else the broker defaults they stand
/// in for.
fn group_entries(broker: &Broker, group: &str) -> Vec<Entry> {
    let image = broker.image();
    let own = image.group_configs.get(group);
    let limits = broker.groups.consumer_limits();
    GROUP_CONFIGS
        .iter()
        .map(|(name, broker_key, doc)| {
            let default = match *name {
                "consumer.session.timeout.ms" => limits.session_timeout_ms,
                _ => limits.heartbeat_interval_ms,
            }
            .to_string();
            let set = own.and_then(|c| c.get(*name)).cloned();
            let mut synonyms = Vec::new();
            if let Some(v) = &set {
                synonyms.push((name.to_string(), v.clone(), ConfigSource::Group));
            }
            let static_source = if broker.config.static_props.contains_key(*broker_key) {
                ConfigSource::Broker
            } else {
                ConfigSource::Default
            };
            synonyms.push((broker_key.to_string(), default.clone(), static_source));
            Entry {
                name: name.to_string(),
                value: Some(set.clone().unwrap_or(default)),
                source: if set.is_some() {
                    ConfigSource::Group
                } else {
                    ConfigSource::Default
                },
                kind: GROUP_CONFIG_TYPE,
                read_only: false,
                doc,
                synonyms,
            }
        })
        .collect()
}

fn broker_entries(broker: &Broker, name: &str) -> Result<Vec<Entry>, (ResponseError, String)> {
    let id = broker.config.node_id;
    if name.is_empty() {
        return Ok(cluster_default_entries(broker));
    }
    if name != id.to_string() {
        return Err((
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {id} or empty string, but received {name}"),
        ));
    }
    let c = &broker.config;
    let join = |ls: &[crate::config::Listener]| {
        ls.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // Values the broker computes (a flag, a default address) are shown as
    // it runs with them; everything else as set or at Kafka's default.
    let computed = [
        ("node.id", Some(id.to_string())),
        ("listeners", Some(join(&c.listeners))),
        ("advertised.listeners", Some(join(&c.advertised_listeners))),
        ("log.dirs", Some(c.data_dir.display().to_string())),
        ("broker.rack", c.rack.clone()),
    ];
    let mut entries = Vec::new();
    for def in STATIC_BROKER_CONFIGS {
        let set = c.static_props.get(def.name);
        let value = match computed.iter().find(|(n, _)| *n == def.name) {
            Some((_, v)) => v.clone(),
            None => set.cloned().or_else(|| def.default.map(str::to_string)),
        };
        let mut synonyms = Vec::new();
        if let Some(v) = set {
            synonyms.push((def.name.to_string(), v.clone(), ConfigSource::Broker));
        }
        if let Some(d) = def.default {
            synonyms.push((def.name.to_string(), d.to_string(), ConfigSource::Default));
        }
        entries.push(Entry {
            name: def.name.to_string(),
            value,
            source: if set.is_some() {
                ConfigSource::Broker
            } else {
                ConfigSource::Default
            },
            kind: def.kind,
            read_only: true,
            doc: def.doc,
            synonyms,
        });
    }
    let image = broker.image();
    for def in DYNAMIC_BROKER_CONFIGS {
        let mut synonyms = dynamic_synonyms(&image, id, def.name, UpdateMode::ClusterWide);
        synonyms.push((
            def.name.to_string(),
            def.default.to_string(),
            ConfigSource::Default,
        ));
        let (value, source) = (synonyms[0].1.clone(), synonyms[0].2);
        entries.push(Entry {
            name: def.name.to_string(),
            value: Some(value),
            source,
            synonyms,
            kind: def.kind,
            read_only: false,
            doc: def.doc,
        });
    }
    let defaults = broker.log_defaults(&image);
    for def in TOPIC_CONFIGS.iter().filter(|d| !d.broker_key.is_empty()) {
        let synonyms = broker_synonyms(&defaults, def.broker_key, def.default);
        let (value, source) = (synonyms[0].1.clone(), synonyms[0].2);
        entries.push(Entry {
            name: def.broker_key.to_string(),
            value: Some(value),
            source,
            synonyms,
            kind: def.kind,
            read_only: false,
            doc: def.doc,
        });
    }
    let listed: std::collections::HashSet<String> =
        entries.iter().map(|e| e.name.clone()).collect();
    entries.extend(
        KAFKA_BROKER_CONFIGS
            .iter()
            .filter(|def| !listed.contains(def.name))
            .map(|def| kafka_entry(broker, &image, def)),
    );
    Ok(entries)
}

/// The dynamic values of `name` in force on broker `id`, as synonyms in
/// Kafka's order: its own, then the cluster default's, as far as `mode`
/// lets the key be set there.
fn dynamic_synonyms(
    image: &crate::metadata::MetadataImage,
    id: i32,
    name: &str,
    mode: UpdateMode,
) -> Vec<(String, String, ConfigSource)> {
    let layers = [
        (
            id,
            ConfigSource::DynamicBroker,
            mode != UpdateMode::ReadOnly,
        ),
        (
            CLUSTER_DEFAULT,
            ConfigSource::DynamicDefaultBroker,
            mode == UpdateMode::ClusterWide,
        ),
    ];
    layers
        .into_iter()
        .filter(|(_, _, settable)| *settable)
        .filter_map(|(broker, source, _)| {
            let value = image.broker_configs.get(&broker)?.get(name)?;
            Some((name.to_string(), value.clone(), source))
        })
        .collect()
}

/// A Kafka broker config weir has no use for: a dynamic value an admin set,
/// else the properties file's, else Kafka's default.
fn kafka_entry(
    broker: &Broker,
    image: &crate::metadata::MetadataImage,
    def: &KafkaBrokerConfig,
) -> Entry {
    let mut synonyms = dynamic_synonyms(image, broker.config.node_id, def.name, def.mode);
    if let Some(v) = broker.config.static_props.get(def.name) {
        synonyms.push((def.name.to_string(), v.clone(), ConfigSource::Broker));
    }
    if let Some(d) = def.default {
        synonyms.push((def.name.to_string(), d.to_string(), ConfigSource::Default));
    }
    let (value, source) = synonyms
        .first()
        .map_or((None, ConfigSource::Default), |(_, v, s)| {
            (Some(v.clone()), *s)
        });
    Entry {
        name: def.name.to_string(),
        value,
        source,
        kind: def.kind,
        read_only: def.mode == UpdateMode::ReadOnly,
        doc: kafka_broker::DOC,
        synonyms,
    }
}
