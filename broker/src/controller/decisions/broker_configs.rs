//! Dynamic broker configs: the keys Kafka lets an admin change on a running
//! broker, per broker (resource name "N") or as the cluster-wide default
//! (resource name ""): the replication throttles, cordoning, and the broker
//! defaults of topic configs (`log.retention.ms`, `min.insync.replicas`, …,
//! Kafka's `DynamicLogConfig`), which reach every topic without an override.
//! Every other broker key is static: set by flags or the properties file.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::configs::{config_records, list_op, AlterOp};
use super::Rejection;
use crate::config::kafka_broker::{self, KafkaBrokerConfig, UpdateMode};
use crate::config::static_broker;
use crate::config::topic::{self, ConfigType};
use crate::metadata::{ConfigResource, MetadataImage, MetadataRecord};

pub use crate::metadata::CLUSTER_DEFAULT;

/// One dynamic broker config as Kafka defines it.
#[derive(Debug, Clone, Copy)]
pub struct DynamicBrokerConfig {
    /// The key.
    pub name: &'static str,
    /// Kafka's default.
    pub default: &'static str,
    /// Its type.
    pub kind: ConfigType,
    /// One line of documentation for DescribeConfigs.
    pub doc: &'static str,
}

/// The broker keys that can change without a restart.
pub const DYNAMIC_BROKER_CONFIGS: &[DynamicBrokerConfig] = &[
    DynamicBrokerConfig {
        name: "leader.replication.throttled.rate",
        default: "9223372036854775807",
        kind: ConfigType::Long,
        doc: "Bytes per second this broker sends, as leader, to followers of throttled replicas.",
    },
    DynamicBrokerConfig {
        name: "follower.replication.throttled.rate",
        default: "9223372036854775807",
        kind: ConfigType::Long,
        doc: "Bytes per second this broker fetches, as follower, for throttled replicas.",
    },
    DynamicBrokerConfig {
        name: "cordoned.log.dirs",
        default: "",
        kind: ConfigType::List,
        doc: "Log directories that take no new replicas (KIP-1066); any value cordons weir's one directory.",
    },
    DynamicBrokerConfig {
        name: super::limits::MAX_PARTITIONS_PER_BROKER_KEY,
        default: "4000",
        kind: ConfigType::Int,
        doc: "The most partition replicas a broker may hold (weir's own key): CreateTopics, CreatePartitions and reassignments that would place more on a broker are refused with POLICY_VIOLATION.",
    },
];

fn definition(name: &str) -> Option<&'static DynamicBrokerConfig> {
    DYNAMIC_BROKER_CONFIGS.iter().find(|d| d.name == name)
}

/// A Kafka config weir has no use for that Kafka lets change at runtime:
/// stored and described back, so Kafka's tools work, but nothing reads it.
/// The static configs weir does read stay static.
fn unused_dynamic(name: &str) -> Option<&'static KafkaBrokerConfig> {
    kafka_broker::by_name(name).filter(|d| {
        d.mode != UpdateMode::ReadOnly
            && static_broker::by_name(name).is_none()
            && topic::by_broker_key(name).is_none()
            && definition(name).is_none()
    })
}

/// The type of a dynamic key, `None` for a static or unknown one.
fn kind(name: &str) -> Option<ConfigType> {
    definition(name)
        .map(|d| d.kind)
        .or_else(|| topic::by_broker_key(name).map(|d| d.kind))
        .or_else(|| unused_dynamic(name).map(|d| d.kind))
}

/// The broker a resource name means: "" the cluster default, else an id.
pub fn resource_broker(name: &str) -> Result<i32, Rejection> {
    if name.is_empty() {
        return Ok(CLUSTER_DEFAULT);
    }
    name.parse::<i32>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            Rejection::new(
                ResponseError::InvalidRequest,
                format!("'{name}' is not a broker id or the empty cluster default"),
            )
        })
}

/// Whether `name` may change dynamically on `broker` (or the cluster
/// default), as Kafka decides it.
fn check_key(broker: i32, name: &str) -> Result<(), Rejection> {
    if topic::by_broker_key(name).is_some() || definition(name).is_some() {
        return Ok(());
    }
    let def = unused_dynamic(name).ok_or_else(|| {
        Rejection::new(
            ResponseError::InvalidRequest,
            format!("Cannot update these configs dynamically: {name}"),
        )
    })?;
    if def.mode == UpdateMode::PerBroker && broker == CLUSTER_DEFAULT {
        return Err(Rejection::new(
            ResponseError::InvalidRequest,
            format!(
                "Cannot update these configs at default cluster level, broker id must be specified: {name}"
            ),
        ));
    }
    Ok(())
}

fn check(broker: i32, name: &str, value: &str) -> Result<(), Rejection> {
    check_key(broker, name)?;
    if let Some(def) = unused_dynamic(name) {
        return topic::validate_type(def.kind, value).map_err(|reason| {
            Rejection::new(
                ResponseError::InvalidConfig,
                format!("Invalid value {value} for configuration {name}: {reason}"),
            )
        });
    }
    if let Some(def) = topic::by_broker_key(name) {
        return topic::validate_value(def, value).map_err(|reason| {
            Rejection::new(
                ResponseError::InvalidConfig,
                format!("Invalid value {value} for configuration {name}: {reason}"),
            )
        });
    }
    let def = definition(name).ok_or_else(|| {
        Rejection::new(
            ResponseError::InvalidRequest,
            format!("Cannot update these configs dynamically: {name}"),
        )
    })?;
    let refused = match def.kind {
        ConfigType::Long if value.trim().parse::<i64>().is_ok_and(|v| v >= 0) => None,
        ConfigType::Long => Some("must be a non-negative 64-bit integer"),
        ConfigType::Int if value.trim().parse::<i32>().is_ok_and(|v| v >= 1) => None,
        ConfigType::Int => Some("must be a positive 32-bit integer"),
        _ => None,
    };
    match refused {
        None => Ok(()),
        Some(why) => Err(Rejection::new(
            ResponseError::InvalidConfig,
            format!("Invalid value {value} for configuration {name}: {why}"),
        )),
    }
}

/// IncrementalAlterConfigs on a BROKER resource.
pub fn alter_broker_configs(
    image: &MetadataImage,
    resource: &str,
    ops: &[(String, AlterOp, Option<String>)],
) -> Result<Vec<MetadataRecord>, Rejection> {
    let broker = resource_broker(resource)?;
    let old = image
        .broker_configs
        .get(&broker)
        .cloned()
        .unwrap_or_default();
    let mut new = old.clone();
    for (name, op, value) in ops {
        match op {
            AlterOp::Set => {
                let v = value.clone().unwrap_or_default();
                check(broker, name, &v)?;
                new.insert(name.clone(), v.trim().to_string());
            }
            AlterOp::Delete => {
                check_key(broker, name)?;
                new.remove(name);
            }
            AlterOp::Append | AlterOp::Subtract => {
                if kind(name) != Some(ConfigType::List) {
                    check_key(broker, name)?;
                    return Err(Rejection::new(
                        ResponseError::InvalidConfig,
                        format!("Config value append/subtract is not allowed for config {name}"),
                    ));
                }
                let current = list_op(
                    new.get(name).map_or("", String::as_str),
                    value.as_deref(),
                    *op == AlterOp::Append,
                );
                if current.is_empty() {
                    new.remove(name);
                } else {
                    check(broker, name, &current)?;
                    new.insert(name.clone(), current);
                }
            }
        }
    }
    Ok(config_records(&ConfigResource::Broker(broker), &old, &new))
}

/// AlterConfigs on a BROKER resource: the given keys become its whole set
/// of dynamic configs.
pub fn replace_broker_configs(
    image: &MetadataImage,
    resource: &str,
    configs: &[(String, Option<String>)],
) -> Result<Vec<MetadataRecord>, Rejection> {
    let broker = resource_broker(resource)?;
    let old = image
        .broker_configs
        .get(&broker)
        .cloned()
        .unwrap_or_default();
    let mut new = BTreeMap::new();
    for (name, value) in configs {
        let v = value.clone().unwrap_or_default();
        check(broker, name, &v)?;
        new.insert(name.clone(), v.trim().to_string());
    }
    Ok(config_records(&ConfigResource::Broker(broker), &old, &new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(image: &mut MetadataImage, records: &[MetadataRecord]) {
        image.apply_all(records);
    }

    #[test]
    fn throttles_are_set_per_broker_or_for_the_cluster_and_static_keys_are_refused() {
        let mut image = MetadataImage::default();
        let set = |name: &str, v: &str| (name.to_string(), AlterOp::Set, Some(v.to_string()));
        let r = alter_broker_configs(
            &image,
            "1",
            &[set("leader.replication.throttled.rate", "1000")],
        )
        .unwrap();
        apply(&mut image, &r);
        let r = alter_broker_configs(
            &image,
            "",
            &[set("leader.replication.throttled.rate", "50")],
        )
        .unwrap();
        apply(&mut image, &r);
        assert_eq!(
            image.throttle_rate(1, "leader.replication.throttled.rate"),
            Some(1000)
        );
        assert_eq!(
            image.throttle_rate(2, "leader.replication.throttled.rate"),
            Some(50)
        );
        assert_eq!(
            image.throttle_rate(2, "follower.replication.throttled.rate"),
            None
        );

        let err = |resource: &str, op| {
            alter_broker_configs(&image, resource, &[op])
                .unwrap_err()
                .error
        };
        assert_eq!(
            err("1", set("num.partitions", "3")),
            ResponseError::InvalidRequest
        );
        assert_eq!(
            err("1", set("leader.replication.throttled.rate", "-5")),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            err("x", set("leader.replication.throttled.rate", "5")),
            ResponseError::InvalidRequest
        );

        let delete = (
            "leader.replication.throttled.rate".to_string(),
            AlterOp::Delete,
            None,
        );
        let r = alter_broker_configs(&image, "1", &[delete]).unwrap();
        apply(&mut image, &r);
        assert_eq!(
            image.throttle_rate(1, "leader.replication.throttled.rate"),
            Some(50)
        );
    }

    #[test]
    fn kafka_configs_weir_does_not_use_change_where_kafka_lets_them() {
        let mut image = MetadataImage::default();
        let set = |name: &str, v: &str| (name.to_string(), AlterOp::Set, Some(v.to_string()));
        let refusal = |image: &MetadataImage, resource: &str, op| {
            let r = alter_broker_configs(image, resource, &[op]).unwrap_err();
            (r.error, r.message)
        };
        // Per broker: only with a broker id.
        let relogin = set("sasl.kerberos.min.time.before.relogin", "58000");
        let (e, m) = refusal(&image, "", relogin.clone());
        assert_eq!(e, ResponseError::InvalidRequest);
        assert!(m.contains("broker id must be specified"), "{m}");
        let r = alter_broker_configs(&image, "1", &[relogin]).unwrap();
        apply(&mut image, &r);
        assert_eq!(
            image.broker_config(1, "sasl.kerberos.min.time.before.relogin"),
            Some("58000")
        );
        // Cluster-wide: also as the cluster default.
        let r = alter_broker_configs(&image, "", &[set("num.network.threads", "5")]).unwrap();
        apply(&mut image, &r);
        assert_eq!(image.broker_config(2, "num.network.threads"), Some("5"));
        // Checked by type, and refused where Kafka needs a restart or weir
        // reads the key only at start.
        assert_eq!(
            refusal(
                &image,
                "1",
                set("sasl.kerberos.min.time.before.relogin", "soon")
            )
            .0,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            refusal(&image, "1", set("background.threads", "x")).0,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            refusal(&image, "1", set("delete.topic.enable", "false")).0,
            ResponseError::InvalidRequest
        );
        assert_eq!(
            refusal(&image, "1", set("max.connections", "10")).0,
            ResponseError::InvalidRequest
        );
        // A delete needs no value, not even for a key without a default.
        let delete = |name: &str| (name.to_string(), AlterOp::Delete, None);
        let r = alter_broker_configs(
            &image,
            "1",
            &[
                delete("sasl.kerberos.min.time.before.relogin"),
                delete("sasl.kerberos.service.name"),
            ],
        );
        assert_eq!(r.map(|r| r.len()), Ok(1));
    }

    #[test]
    fn topic_defaults_are_dynamic_and_checked_like_the_topic_keys() {
        let mut image = MetadataImage::default();
        let op = |name: &str, op, v: &str| (name.to_string(), op, Some(v.to_string()));
        let r = alter_broker_configs(
            &image,
            "",
            &[
                op("log.retention.ms", AlterOp::Set, "60000"),
                op("min.insync.replicas", AlterOp::Set, "2"),
                op("log.cleanup.policy", AlterOp::Append, "compact"),
            ],
        )
        .unwrap();
        apply(&mut image, &r);
        assert_eq!(image.broker_config(3, "log.retention.ms"), Some("60000"));
        assert_eq!(
            image.broker_config(3, "log.cleanup.policy"),
            Some("compact")
        );
        let r = alter_broker_configs(
            &image,
            "",
            &[op("log.cleanup.policy", AlterOp::Append, "delete")],
        )
        .unwrap();
        apply(&mut image, &r);
        assert_eq!(
            image.broker_config(3, "log.cleanup.policy"),
            Some("compact,delete")
        );
        let err = |name: &str, o, v: &str| {
            alter_broker_configs(&image, "", &[op(name, o, v)])
                .unwrap_err()
                .error
        };
        assert_eq!(
            err("min.insync.replicas", AlterOp::Set, "0"),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            err("log.segment.bytes", AlterOp::Set, "ten"),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            err("log.cleanup.policy", AlterOp::Append, "archive"),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            err("log.retention.ms", AlterOp::Append, "5"),
            ResponseError::InvalidConfig
        );
        let delete = ("log.retention.ms".to_string(), AlterOp::Delete, None);
        let r = alter_broker_configs(&image, "", &[delete]).unwrap();
        apply(&mut image, &r);
        assert_eq!(image.broker_config(3, "log.retention.ms"), None);
    }

    #[test]
    fn cordoning_is_a_list_that_can_be_appended_to_and_subtracted_from() {
        let mut image = MetadataImage::default();
        let op = |op, v: &str| ("cordoned.log.dirs".to_string(), op, Some(v.to_string()));
        let r = alter_broker_configs(&image, "2", &[op(AlterOp::Append, "/data")]).unwrap();
        apply(&mut image, &r);
        assert!(image.is_cordoned(2));
        assert!(!image.is_cordoned(1));
        let r = alter_broker_configs(&image, "2", &[op(AlterOp::Subtract, "/data")]).unwrap();
        apply(&mut image, &r);
        assert!(!image.is_cordoned(2));
    }
}
