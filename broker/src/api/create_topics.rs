//! CreateTopics: create topics (or, with `validate_only`, only check them).

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::config::effective::EffectiveTopicConfig;
use crate::controller::decisions::limits;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};
use crate::controller::decisions::topics::NewTopic;
use crate::controller::Rejection;
use crate::metadata::MetadataRecord;

/// Handles a CreateTopics request.
pub async fn handle(
    broker: &Broker,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> = request
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    let too_many = limits::check_new_partitions(requested_partitions(
        &request.topics,
        broker.topic_defaults().num_partitions,
    ))
    .err();
    let mut topics = Vec::with_capacity(request.topics.len());
    for t in &request.topics {
        {
            let name = t.name.0.to_string();
            let outcome = if let Some(r) = &too_many {
                Err(r.clone())
            } else if duplicates.contains(&name) {
                Err(Rejection::new(
                    ResponseError::InvalidRequest,
                    format!(
                        "Create topics request contains multiple entries for the topic {name}."
                    ),
                ))
            } else {
                create_one(broker, t, request.validate_only).await
            };
            topics.push(result(broker, t, outcome, version));
        }
    }
    CreateTopicsResponse::default().with_topics(topics)
}

/// The most partitions the request can create, as Kafka counts them before
/// deciding anything (`validateTotalNumberOfPartitions`).
fn requested_partitions(topics: &[CreatableTopic], default_partitions: i32) -> i64 {
    topics
        .iter()
        .map(|t| {
            if !t.assignments.is_empty() {
                i64::try_from(t.assignments.len()).unwrap_or(i64::MAX)
            } else if t.num_partitions == -1 {
                i64::from(default_partitions)
            } else {
                i64::from(t.num_partitions.max(0))
            }
        })
        .fold(0, i64::saturating_add)
}

async fn create_one(
    broker: &Broker,
    t: &CreatableTopic,
    validate_only: bool,
) -> Result<Vec<MetadataRecord>, Rejection> {
    let mut configs = BTreeMap::new();
    for c in &t.configs {
        let value = c.value.as_ref().ok_or_else(|| {
            Rejection::new(
                ResponseError::InvalidConfig,
                format!(
                    "Null value not supported for topic configs: {}",
                    c.name.as_str()
                ),
            )
        })?;
        configs.insert(c.name.to_string(), value.to_string());
    }
    let topic = NewTopic {
        name: t.name.0.to_string(),
        num_partitions: t.num_partitions,
        replication_factor: t.replication_factor,
        assignments: t
            .assignments
            .iter()
            .map(|a| {
                (
                    a.partition_index,
                    a.broker_ids.iter().map(|b| b.0).collect(),
                )
            })
            .collect(),
        configs,
    };
    let reply = broker
        .control(ControllerRequest::CreateTopic {
            topic,
            defaults: broker.topic_defaults(),
            validate_only,
            if_absent: false,
        })
        .await?;
    match reply {
        ControllerReply::Created(records) => Ok(records),
        other => Err(Rejection::new(
            ResponseError::UnknownServerError,
            format!("unexpected controller reply {other:?}"),
        )),
    }
}

fn result(
    broker: &Broker,
    t: &CreatableTopic,
    outcome: Result<Vec<MetadataRecord>, Rejection>,
    version: i16,
) -> CreatableTopicResult {
    let base = CreatableTopicResult::default()
        .with_name(t.name.clone())
        .with_num_partitions(-1)
        .with_replication_factor(-1);
    match outcome {
        Err(r) => {
            count_error(broker, ApiKey::CreateTopics, r.error);
            base.with_error_code(r.error.code())
                .with_error_message(Some(StrBytes::from_string(r.message)))
        }
        Ok(records) => {
            let mut topic_id = uuid::Uuid::nil();
            let mut partitions = 0;
            let mut rf = 0;
            let mut overrides = BTreeMap::new();
            for r in &records {
                match r {
                    MetadataRecord::Topic(t) => topic_id = t.topic_id,
                    MetadataRecord::Partition(p) => {
                        partitions += 1;
                        rf = i16::try_from(p.replicas.len()).unwrap_or(i16::MAX);
                    }
                    MetadataRecord::Config(c) => {
                        if let Some(v) = &c.value {
                            overrides.insert(c.name.clone(), v.clone());
                        }
                    }
                    _ => {}
                }
            }
            let mut result = base;
            if version >= 5 {
                let effective = EffectiveTopicConfig::resolve(
                    &overrides,
                    &broker.log_defaults(&broker.image()),
                );
                result = result
                    .with_num_partitions(partitions)
                    .with_replication_factor(rf)
                    .with_configs(Some(
                        effective
                            .entries()
                            .iter()
                            .map(|e| {
                                CreatableTopicConfigs::default()
                                    .with_name(StrBytes::from_static_str(e.def.name))
                                    .with_value(Some(StrBytes::from_string(e.value.clone())))
                                    .with_config_source(e.source.code())
                            })
                            .collect(),
                    ));
            }
            if version >= 7 {
                result = result.with_topic_id(topic_id);
            }
            result
        }
    }
}
