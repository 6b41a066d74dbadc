//! Fetch: return stored record batches to consumers, long-polling until
//! `min_bytes` are available or `max_wait_ms` passes.
//!
//! Batches go out exactly as stored (no re-encoding). Consumers never read
//! past the high watermark. Fetch sessions (KIP-227, `fetch_session`) let a
//! consumer send only what changed and get only the partitions with news.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{count_error, leader_hints};
use crate::broker::Broker;
use crate::fetch_session::{FetchPartition, Opened, Told, Wanted};
use crate::log::LogError;
use crate::partition::PartitionError;

/// Handles a Fetch request.
pub async fn handle(
    broker: &Broker,
    request: FetchRequest,
    version: i16,
    listener: &str,
) -> FetchResponse {
    let requested = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    FetchPartition {
                        topic: t.topic.0.to_string(),
                        topic_id: t.topic_id,
                        partition: p.partition,
                    },
                    Wanted {
                        fetch_offset: p.fetch_offset,
                        partition_max_bytes: p.partition_max_bytes,
                        current_leader_epoch: p.current_leader_epoch,
                    },
                )
            })
        })
        .collect();
    let forgotten: Vec<FetchPartition> = request
        .forgotten_topics_data
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| FetchPartition {
                topic: t.topic.0.to_string(),
                topic_id: t.topic_id,
                partition: *p,
            })
        })
        .collect();
    let opened = match broker.fetch_sessions.open(
        request.session_id,
        request.session_epoch,
        requested,
        &forgotten,
        std::time::Instant::now(),
    ) {
        Ok(opened) => opened,
        Err(e) => {
            count_error(broker, ApiKey::Fetch, e);
            return FetchResponse::default().with_error_code(e.code());
        }
    };
    broker
        .metrics
        .fetch_sessions
        .set(i64::try_from(broker.fetch_sessions.len()).unwrap_or(i64::MAX));
    let max_wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    let max_bytes = usize::try_from(request.max_bytes).unwrap_or(0);
    let read = broker
        .replicas
        .delayed_read(
            max_wait,
            || read_once(broker, &opened.partitions, max_bytes, version),
            |read| read.bytes >= min_bytes || read.errors,
        )
        .await;
    let response = respond(broker, &opened, read, version, listener);
    finish(broker, &response);
    response
}

fn finish(broker: &Broker, response: &FetchResponse) {
    let mut failed = false;
    for t in &response.responses {
        for p in &t.partitions {
            broker
                .metrics
                .bytes_out
                .inc_by(p.records.as_ref().map_or(0, |r| r.len() as u64));
            if let Some(e) = ResponseError::try_from_code(p.error_code) {
                failed = true;
                count_error(broker, ApiKey::Fetch, e);
            }
        }
    }
    if failed {
        broker.metrics.failed_fetch_requests.inc();
    }
}

/// What one pass over the fetched partitions read.
struct Read {
    partitions: Vec<PartitionData>,
    leaders: Vec<i32>,
    bytes: usize,
    errors: bool,
}

/// Reads every partition once, in order, within `max_bytes` (the first
/// partition with data returns at least one batch).
fn read_once(
    broker: &Broker,
    partitions: &[(FetchPartition, Wanted)],
    max_bytes: usize,
    version: i16,
) -> Read {
    let image = broker.image();
    let mut read = Read {
        partitions: Vec::with_capacity(partitions.len()),
        leaders: Vec::new(),
        bytes: 0,
        errors: false,
    };
    for (p, wanted) in partitions {
        let found = if version >= 13 {
            image.topic_by_id(&p.topic_id)
        } else {
            image.topic(&p.topic)
        };
        let base = PartitionData::default()
            .with_partition_index(p.partition)
            .with_high_watermark(-1)
            .with_last_stable_offset(-1)
            .with_log_start_offset(-1)
            .with_preferred_read_replica(BrokerId(-1))
            .with_records(Some(Bytes::new()));
        let partition = match found {
            None if version >= 13 => Err(ResponseError::UnknownTopicId),
            None => Err(ResponseError::UnknownTopicOrPartition),
            Some(t) if !t.partitions.contains_key(&p.partition) => {
                Err(ResponseError::UnknownTopicOrPartition)
            }
            Some(t) => broker
                .replicas
                .partition(t.id, p.partition)
                .ok_or(ResponseError::NotLeaderOrFollower),
        };
        let data = match partition {
            Err(e) => {
                read.errors = true;
                base.with_error_code(e.code())
            }
            Ok(partition) => {
                let limit = usize::try_from(wanted.partition_max_bytes)
                    .unwrap_or(0)
                    .min(max_bytes.saturating_sub(read.bytes));
                let fetched = partition
                    .check_leader_epoch(wanted.current_leader_epoch)
                    .and_then(|_| partition.read(wanted.fetch_offset, limit, read.bytes == 0));
                match fetched {
                    Ok(fetched) => {
                        read.bytes += fetched.records.len();
                        base.with_high_watermark(fetched.high_watermark)
                            .with_last_stable_offset(fetched.high_watermark)
                            .with_log_start_offset(fetched.log_start_offset)
                            .with_records(Some(fetched.records))
                    }
                    Err(e) => {
                        read.errors = true;
                        let base = if matches!(
                            e,
                            PartitionError::Log(LogError::OffsetOutOfRange { .. })
                        ) {
                            base.with_high_watermark(partition.high_watermark())
                                .with_last_stable_offset(partition.high_watermark())
                                .with_log_start_offset(partition.log_start_offset())
                        } else {
                            base
                        };
                        base.with_error_code(e.error_code().code())
                    }
                }
            }
        };
        read.partitions
            .push(hint_leader(data, found, version, &mut read.leaders));
    }
    read
}

/// The answer: every partition read, or in an incremental session only
/// those with records, an error or moved offsets, grouped by topic.
fn respond(
    broker: &Broker,
    opened: &Opened,
    read: Read,
    version: i16,
    listener: &str,
) -> FetchResponse {
    let mut topics: Vec<FetchableTopicResponse> = Vec::new();
    for ((p, _), data) in opened.partitions.iter().zip(read.partitions) {
        let told = Told {
            high_watermark: data.high_watermark,
            log_start_offset: data.log_start_offset,
        };
        let news = data.error_code != 0 || data.records.as_ref().is_some_and(|r| !r.is_empty());
        if opened.session_id != 0
            && !broker
                .fetch_sessions
                .tell(opened.session_id, opened.incremental, p, told, news)
        {
            continue;
        }
        let same_topic = topics.last().is_some_and(|t| {
            if version >= 13 {
                t.topic_id == p.topic_id
            } else {
                t.topic.0.as_str() == p.topic
            }
        });
        if !same_topic {
            topics.push(
                FetchableTopicResponse::default()
                    .with_topic(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_topic_id(p.topic_id),
            );
        }
        if let Some(t) = topics.last_mut() {
            t.partitions.push(data);
        }
    }
    let node_endpoints = leader_hints::node_endpoints(&broker.image(), read.leaders, listener)
        .into_iter()
        .map(NodeEndpoint::from)
        .collect();
    FetchResponse::default()
        .with_session_id(opened.session_id)
        .with_responses(topics)
        .with_node_endpoints(node_endpoints)
}

/// Adds the current-leader hint (KIP-951, v16+) to a partition this broker
/// does not lead or whose leader epoch the client has wrong, as Kafka does,
/// and remembers the leader for the response's `node_endpoints`.
fn hint_leader(
    data: PartitionData,
    topic: Option<&crate::metadata::image::TopicImage>,
    version: i16,
    leaders: &mut Vec<i32>,
) -> PartitionData {
    let hinted = [
        ResponseError::NotLeaderOrFollower.code(),
        ResponseError::FencedLeaderEpoch.code(),
    ];
    if version < 16 || !hinted.contains(&data.error_code) {
        return data;
    }
    let (leader, epoch) = leader_hints::current_leader(topic, data.partition_index);
    leaders.push(leader);
    data.with_current_leader(
        LeaderIdAndEpoch::default()
            .with_leader_id(BrokerId(leader))
            .with_leader_epoch(epoch),
    )
}
