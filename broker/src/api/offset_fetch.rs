//! OffsetFetch: where a group's consumers resume. v8+ asks for several
//! groups at once (KIP-709); a null topic list asks for everything committed.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::group::records::OffsetValue;

/// One partition's answer: offset, leader epoch, metadata.
type Answer = (i32, i64, i32, String);

/// The offsets of one group for the requested partitions (all when `None`).
fn fetch_group(
    broker: &Broker,
    group: &str,
    requested: Option<Vec<(String, Vec<i32>)>>,
    member: Option<(&str, i32)>,
) -> Result<Vec<(String, Vec<Answer>)>, ResponseError> {
    let committed = broker.groups.fetch_offsets(broker, group, member)?;
    let answer = |p: i32, v: Option<&OffsetValue>| match v {
        Some(v) => (p, v.offset, v.leader_epoch, v.metadata.clone()),
        None => (p, -1, -1, String::new()),
    };
    Ok(match requested {
        Some(topics) => topics
            .into_iter()
            .map(|(topic, partitions)| {
                let answers = partitions
                    .iter()
                    .map(|p| answer(*p, committed.get(&(topic.clone(), *p))))
                    .collect();
                (topic, answers)
            })
            .collect(),
        None => {
            let mut by_topic: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
            for ((topic, p), v) in &committed {
                by_topic
                    .entry(topic.clone())
                    .or_default()
                    .push(answer(*p, Some(v)));
            }
            by_topic.into_iter().collect()
        }
    })
}

/// Handles an OffsetFetch request.
pub fn handle(broker: &Broker, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .into_iter()
            .map(|g| {
                let requested = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                let out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                // v9 names the member, checked against a consumer group.
                let member = g
                    .member_id
                    .as_ref()
                    .map(|id| (id.as_str(), g.member_epoch))
                    .filter(|_| version >= 9);
                match fetch_group(broker, g.group_id.0.as_str(), requested, member) {
                    Err(e) => {
                        count_error(broker, ApiKey::OffsetFetch, e);
                        out.with_error_code(e.code())
                    }
                    Ok(topics) => out.with_topics(
                        topics
                            .into_iter()
                            .map(|(name, answers)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(TopicName(StrBytes::from_string(name)))
                                    .with_partitions(
                                        answers
                                            .into_iter()
                                            .map(|(p, offset, epoch, metadata)| {
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(p)
                                                    .with_committed_offset(offset)
                                                    .with_committed_leader_epoch(epoch)
                                                    .with_metadata(Some(StrBytes::from_string(
                                                        metadata,
                                                    )))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let requested: Option<Vec<(String, Vec<i32>)>> = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let group = GroupId::clone(&request.group_id);
    let to_response = |topics: Vec<(String, Vec<Answer>)>, error: Option<ResponseError>| {
        topics
            .into_iter()
            .map(|(name, answers)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(
                        answers
                            .into_iter()
                            .map(|(p, offset, epoch, metadata)| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(Some(StrBytes::from_string(metadata)))
                                    .with_error_code(error.map_or(0, |e| e.code()))
                            })
                            .collect(),
                    )
            })
            .collect::<Vec<_>>()
    };
    match fetch_group(broker, group.0.as_str(), requested.clone(), None) {
        Ok(topics) => OffsetFetchResponse::default().with_topics(to_response(topics, None)),
        Err(e) => {
            count_error(broker, ApiKey::OffsetFetch, e);
            if version >= 2 {
                OffsetFetchResponse::default().with_error_code(e.code())
            } else {
                // v1 has no top-level error: each requested partition carries it.
                let topics = requested
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(t, ps)| {
                        (
                            t,
                            ps.into_iter().map(|p| (p, -1, -1, String::new())).collect(),
                        )
                    })
                    .collect();
                OffsetFetchResponse::default().with_topics(to_response(topics, Some(e)))
            }
        }
    }
}
