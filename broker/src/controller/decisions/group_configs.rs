//! Dynamic group configs (KIP-848): a consumer group's own session timeout
//! and heartbeat interval, set with IncrementalAlterConfigs on a GROUP
//! resource and kept in the metadata log like topic configs, so every
//! coordinator the group moves to applies them. Values must lie within the
//! broker's `group.consumer.{min,max}.*` bounds, as Kafka checks them.

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};

use super::configs::{config_records, AlterOp};
use super::Rejection;
use crate::config::topic::ConfigType;
use crate::metadata::{ConfigResource, MetadataImage, MetadataRecord};

/// The group keys Kafka 4 has for consumer groups, with their broker
/// defaults' names.
pub const GROUP_CONFIGS: &[(&str, &str, &str)] = &[
    (
        "consumer.session.timeout.ms",
        "group.consumer.session.timeout.ms",
        "The timeout to detect client failures when using the consumer group protocol.",
    ),
    (
        "consumer.heartbeat.interval.ms",
        "group.consumer.heartbeat.interval.ms",
        "The heartbeat interval given to the members of a consumer group.",
    ),
];

/// The type of every group config.
pub const GROUP_CONFIG_TYPE: ConfigType = ConfigType::Int;

/// The broker bounds a group config must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfigBounds {
    /// `group.consumer.min.session.timeout.ms` and `max`.
    pub session_timeout_ms: (i32, i32),
    /// `group.consumer.min.heartbeat.interval.ms` and `max`.
    pub heartbeat_interval_ms: (i32, i32),
}

fn check(name: &str, value: &str, bounds: &GroupConfigBounds) -> Result<(), Rejection> {
    let (lo, hi) = match name {
        "consumer.session.timeout.ms" => bounds.session_timeout_ms,
        "consumer.heartbeat.interval.ms" => bounds.heartbeat_interval_ms,
        _ => {
            return Err(Rejection::new(
                ResponseError::InvalidConfig,
                format!("Unknown group config name: {name}"),
            ))
        }
    };
    match value.trim().parse::<i32>() {
        Ok(v) if v >= lo && v <= hi => Ok(()),
        _ => Err(Rejection::new(
            ResponseError::InvalidConfig,
            format!("Invalid value {value} for configuration {name}: must be an integer within [{lo}, {hi}]"),
        )),
    }
}

/// IncrementalAlterConfigs on a GROUP resource.
pub fn alter_group_configs(
    image: &MetadataImage,
    group: &str,
    ops: &[(String, AlterOp, Option<String>)],
    bounds: &GroupConfigBounds,
) -> Result<Vec<MetadataRecord>, Rejection> {
    if group.is_empty() {
        return Err(Rejection::new(
            ResponseError::InvalidRequest,
            "Group name must not be empty",
        ));
    }
    let old = image.group_configs.get(group).cloned().unwrap_or_default();
    let mut new = old.clone();
    for (name, op, value) in ops {
        match op {
            AlterOp::Set => {
                let v = value.clone().unwrap_or_default();
                check(name, &v, bounds)?;
                new.insert(name.clone(), v.trim().to_string());
            }
            AlterOp::Delete => {
                if !GROUP_CONFIGS.iter().any(|(n, _, _)| n == name) {
                    return Err(Rejection::new(
                        ResponseError::InvalidConfig,
                        format!("Unknown group config name: {name}"),
                    ));
                }
                new.remove(name);
            }
            AlterOp::Append | AlterOp::Subtract => {
                return Err(Rejection::new(
                    ResponseError::InvalidConfig,
                    format!("Config value append/subtract is not allowed for config {name}"),
                ))
            }
        }
    }
    let session = new.get("consumer.session.timeout.ms");
    let interval = new.get("consumer.heartbeat.interval.ms");
    if let (Some(s), Some(i)) = (session, interval) {
        if i.parse::<i32>().ok() >= s.parse::<i32>().ok() {
            return Err(Rejection::new(
                ResponseError::InvalidConfig,
                "consumer.heartbeat.interval.ms must be less than consumer.session.timeout.ms",
            ));
        }
    }
    Ok(config_records(
        &ConfigResource::Group(group.to_string()),
        &old,
        &new,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: GroupConfigBounds = GroupConfigBounds {
        session_timeout_ms: (45_000, 60_000),
        heartbeat_interval_ms: (5_000, 15_000),
    };

    fn set(name: &str, value: &str) -> Vec<(String, AlterOp, Option<String>)> {
        vec![(name.to_string(), AlterOp::Set, Some(value.to_string()))]
    }

    #[test]
    fn group_configs_within_the_broker_bounds_are_recorded() {
        let image = MetadataImage::default();
        let records = alter_group_configs(
            &image,
            "g",
            &set("consumer.session.timeout.ms", "50000"),
            &BOUNDS,
        )
        .expect("accepted");
        assert_eq!(records.len(), 1);
        let mut image = image;
        image.apply_all(&records);
        assert_eq!(
            image.group_configs["g"]
                .get("consumer.session.timeout.ms")
                .map(String::as_str),
            Some("50000")
        );
    }

    #[test]
    fn out_of_bounds_unknown_and_list_operations_are_refused() {
        let image = MetadataImage::default();
        for ops in [
            set("consumer.session.timeout.ms", "1000"),
            set("consumer.heartbeat.interval.ms", "abc"),
            set("share.record.lock.duration.ms", "30000"),
            vec![(
                "consumer.session.timeout.ms".to_string(),
                AlterOp::Append,
                Some("1".to_string()),
            )],
        ] {
            let refused = alter_group_configs(&image, "g", &ops, &BOUNDS).map_err(|r| r.error);
            assert_eq!(refused, Err(ResponseError::InvalidConfig), "{ops:?}");
        }
    }
}
