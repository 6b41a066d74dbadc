//! Deciding topic config changes: AlterConfigs replaces a topic's whole set
//! of overrides, IncrementalAlterConfigs edits it key by key. Either way the
//! result is validated against Kafka's definitions before anything changes.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;

use super::Rejection;
use crate::config::topic::{self, ConfigType};
use crate::metadata::{ConfigRecord, ConfigResource, MetadataImage, MetadataRecord};

/// One IncrementalAlterConfigs operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AlterOp {
    /// Set the value.
    Set,
    /// Remove the override, returning to the default.
    Delete,
    /// Add items to a list value.
    Append,
    /// Remove items from a list value.
    Subtract,
}

impl AlterOp {
    /// Kafka's operation codes: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT.
    pub fn from_code(code: i8) -> Option<AlterOp> {
        match code {
            0 => Some(AlterOp::Set),
            1 => Some(AlterOp::Delete),
            2 => Some(AlterOp::Append),
            3 => Some(AlterOp::Subtract),
            _ => None,
        }
    }
}

fn invalid_config(message: String) -> Rejection {
    Rejection::new(ResponseError::InvalidConfig, message)
}

fn existing<'a>(
    image: &'a MetadataImage,
    topic: &str,
) -> Result<&'a BTreeMap<String, String>, Rejection> {
    image.topic(topic).map(|t| &t.configs).ok_or_else(|| {
        Rejection::new(
            ResponseError::UnknownTopicOrPartition,
            format!("Topic '{topic}' does not exist."),
        )
    })
}

fn reject_duplicates<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    let dups: BTreeSet<&str> = keys.filter(|k| !seen.insert(*k)).collect();
    if dups.is_empty() {
        Ok(())
    } else {
        Err(Rejection::new(
            ResponseError::InvalidRequest,
            format!(
                "Error due to duplicate config keys: {}",
                dups.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

/// APPEND (`append`) or SUBTRACT of the comma-separated `given` items on
/// the list value `current`: appended items not already there go last,
/// subtracted ones go wherever they are.
pub fn list_op(current: &str, given: Option<&str>, append: bool) -> String {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut items = split(current);
    let given = split(given.unwrap_or(""));
    if append {
        for g in given {
            if !items.contains(&g) {
                items.push(g);
            }
        }
    } else {
        items.retain(|i| !given.contains(i));
    }
    items.join(",")
}

/// Validates the new overrides and returns the records turning `old` into them.
fn diff(
    topic: &str,
    old: &BTreeMap<String, String>,
    new: BTreeMap<String, String>,
) -> Result<Vec<MetadataRecord>, Rejection> {
    for (k, v) in &new {
        topic::validate(k, v).map_err(|e| invalid_config(e.to_string()))?;
    }
    Ok(config_records(
        &ConfigResource::Topic(topic.to_string()),
        old,
        &new,
    ))
}

/// The config records that turn a resource's configs `old` into `new`:
/// removals for keys gone, sets for keys new or changed.
pub fn config_records(
    resource: &ConfigResource,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<MetadataRecord> {
    let record = |name: &str, value: Option<String>| {
        MetadataRecord::Config(ConfigRecord {
            resource: resource.clone(),
            name: name.to_string(),
            value,
        })
    };
    let mut records: Vec<MetadataRecord> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| record(k, None))
        .collect();
    records.extend(
        new.iter()
            .filter(|(k, v)| old.get(*k) != Some(v))
            .map(|(k, v)| record(k, Some(v.clone()))),
    );
    records
}

/// AlterConfigs: the given configs become the topic's complete set of
/// overrides; keys not given return to their defaults.
pub fn replace_topic_configs(
    image: &MetadataImage,
    topic: &str,
    configs: &[(String, Option<String>)],
) -> Result<Vec<MetadataRecord>, Rejection> {
    let old = existing(image, topic)?;
    reject_duplicates(configs.iter().map(|(k, _)| k.as_str()))?;
    let mut new = BTreeMap::new();
    for (k, v) in configs {
        let v = v.as_ref().ok_or_else(|| {
            invalid_config(format!("Null value not supported for topic config {k}"))
        })?;
        new.insert(k.clone(), v.trim().to_string());
    }
    diff(topic, old, new)
}

/// IncrementalAlterConfigs: applies each operation to the topic's overrides.
pub fn alter_topic_configs(
    image: &MetadataImage,
    topic: &str,
    ops: &[(String, AlterOp, Option<String>)],
) -> Result<Vec<MetadataRecord>, Rejection> {
    let old = existing(image, topic)?;
    reject_duplicates(ops.iter().map(|(k, _, _)| k.as_str()))?;
    let mut new = old.clone();
    for (key, op, value) in ops {
        let def = topic::definition(key);
        match op {
            AlterOp::Delete => {
                new.remove(key);
            }
            AlterOp::Set => {
                let v = value
                    .as_ref()
                    .ok_or_else(|| invalid_config(format!("Null value not supported for {key}")))?;
                new.insert(key.clone(), v.trim().to_string());
            }
            AlterOp::Append | AlterOp::Subtract => {
                let def =
                    def.ok_or_else(|| invalid_config(format!("Unknown topic config name: {key}")))?;
                if def.kind != ConfigType::List {
                    return Err(invalid_config(format!(
                        "Config value append/subtract is not allowed for config key {key} because it is not a list"
                    )));
                }
                let current = new
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| def.default.to_string());
                new.insert(
                    key.clone(),
                    list_op(&current, value.as_deref(), *op == AlterOp::Append),
                );
            }
        }
    }
    diff(topic, old, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::TopicRecord;
    use uuid::Uuid;

    fn image(overrides: &[(&str, &str)]) -> MetadataImage {
        let mut image = MetadataImage::default();
        let mut records = vec![MetadataRecord::Topic(TopicRecord {
            name: "t".into(),
            topic_id: Uuid::new_v4(),
        })];
        records.extend(overrides.iter().map(|(k, v)| {
            MetadataRecord::Config(ConfigRecord {
                resource: ConfigResource::Topic("t".into()),
                name: k.to_string(),
                value: Some(v.to_string()),
            })
        }));
        image.apply_all(&records);
        image
    }

    fn apply(image: &MetadataImage, records: Vec<MetadataRecord>) -> BTreeMap<String, String> {
        let mut image = image.clone();
        image.apply_all(&records);
        image.topic("t").unwrap().configs.clone()
    }

    fn s(k: &str, op: AlterOp, v: Option<&str>) -> (String, AlterOp, Option<String>) {
        (k.to_string(), op, v.map(str::to_string))
    }

    #[test]
    fn alter_configs_replaces_the_whole_set() {
        let img = image(&[("retention.ms", "1000"), ("segment.bytes", "1048576")]);
        let records =
            replace_topic_configs(&img, "t", &[("retention.ms".into(), Some("2000".into()))])
                .unwrap();
        assert_eq!(
            apply(&img, records),
            BTreeMap::from([("retention.ms".into(), "2000".into())])
        );
        let bad = replace_topic_configs(&img, "t", &[("retention.ms".into(), Some("x".into()))]);
        assert_eq!(bad.unwrap_err().error, ResponseError::InvalidConfig);
        let unknown = replace_topic_configs(&img, "t", &[("nope".into(), Some("1".into()))]);
        assert_eq!(unknown.unwrap_err().error, ResponseError::InvalidConfig);
        let missing = replace_topic_configs(&img, "u", &[]);
        assert_eq!(
            missing.unwrap_err().error,
            ResponseError::UnknownTopicOrPartition
        );
    }

    #[test]
    fn incremental_ops_set_delete_append_and_subtract() {
        let img = image(&[("retention.ms", "1000")]);
        let records = alter_topic_configs(
            &img,
            "t",
            &[
                s("retention.ms", AlterOp::Delete, None),
                s("segment.ms", AlterOp::Set, Some("5000")),
                s("cleanup.policy", AlterOp::Append, Some("compact")),
            ],
        )
        .unwrap();
        let after = apply(&img, records);
        assert_eq!(
            after,
            BTreeMap::from([
                ("cleanup.policy".into(), "delete,compact".into()),
                ("segment.ms".into(), "5000".into())
            ])
        );
        let img = image(&[("cleanup.policy", "delete,compact")]);
        let records = alter_topic_configs(
            &img,
            "t",
            &[s("cleanup.policy", AlterOp::Subtract, Some("delete"))],
        )
        .unwrap();
        assert_eq!(
            apply(&img, records)
                .get("cleanup.policy")
                .map(String::as_str),
            Some("compact")
        );
    }

    #[test]
    fn incremental_errors_match_kafka() {
        let img = image(&[]);
        let code = |ops: &[(String, AlterOp, Option<String>)]| {
            alter_topic_configs(&img, "t", ops).unwrap_err().error
        };
        assert_eq!(
            code(&[s("retention.ms", AlterOp::Append, Some("1"))]),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            code(&[s("retention.ms", AlterOp::Set, Some("-5"))]),
            ResponseError::InvalidConfig
        );
        assert_eq!(
            code(&[
                s("retention.ms", AlterOp::Set, Some("1")),
                s("retention.ms", AlterOp::Delete, None)
            ]),
            ResponseError::InvalidRequest
        );
        assert_eq!(
            code(&[s("cleanup.policy", AlterOp::Subtract, Some("delete"))]),
            ResponseError::InvalidConfig
        );
    }
}
