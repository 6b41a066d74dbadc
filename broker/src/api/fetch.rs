//! Fetch: return stored record batches to consumers, long-polling until
//! `min_bytes` are available or `max_wait_ms` passes.
//!
//! Batches go out exactly as stored (no re-encoding). Consumers never read
//! past the high watermark. Fetch sessions (KIP-227) are declined by
//! answering session id 0, which makes clients send full fetch requests.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse};
use tokio::time::Instant;

use super::{count_error, leader_hints};
use crate::broker::Broker;
use crate::log::LogError;
use crate::partition::PartitionError;

/// Handles a Fetch request.
pub async fn handle(broker: &Broker, request: FetchRequest, version: i16) -> FetchResponse {
    if request.session_id != 0 || request.session_epoch > 0 {
        // An incremental fetch for a session we never created.
        count_error(broker, ApiKey::Fetch, ResponseError::FetchSessionIdNotFound);
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    let deadline =
        Instant::now() + Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    let mut appends = broker.replicas.subscribe_appends();
    loop {
        appends.borrow_and_update();
        let (response, bytes, errors) = read_once(broker, &request, version);
        let timed_out = Instant::now() >= deadline;
        if bytes >= min_bytes || errors || timed_out {
            finish(broker, &response, bytes, errors);
            return response;
        }
        match tokio::time::timeout_at(deadline, appends.changed()).await {
            Ok(Ok(())) => continue,
            _ => {
                let (response, bytes, errors) = read_once(broker, &request, version);
                finish(broker, &response, bytes, errors);
                return response;
            }
        }
    }
}

fn finish(broker: &Broker, response: &FetchResponse, bytes: usize, errors: bool) {
    broker.metrics.bytes_out.inc_by(bytes as u64);
    if errors {
        broker.metrics.failed_fetch_requests.inc();
        for t in &response.responses {
            for p in &t.partitions {
                if let Some(e) = ResponseError::try_from_code(p.error_code) {
                    count_error(broker, ApiKey::Fetch, e);
                }
            }
        }
    }
}

/// Reads every requested partition once. Returns the response, the record
/// bytes in it, and whether any partition failed.
fn read_once(
    broker: &Broker,
    request: &FetchRequest,
    version: i16,
) -> (FetchResponse, usize, bool) {
    let image = broker.image();
    let mut remaining = usize::try_from(request.max_bytes).unwrap_or(0);
    let mut total = 0usize;
    let mut errors = false;
    let mut leaders = Vec::new();
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let found = if version >= 13 {
            image.topic_by_id(&topic.topic_id)
        } else {
            image.topic(topic.topic.0.as_str())
        };
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
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
                    errors = true;
                    base.with_error_code(e.code())
                }
                Ok(partition) => {
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(remaining);
                    let read = partition
                        .check_leader_epoch(p.current_leader_epoch)
                        .and_then(|_| partition.read(p.fetch_offset, limit, total == 0));
                    match read {
                        Ok(fetched) => {
                            let n = fetched.records.len();
                            total += n;
                            remaining = remaining.saturating_sub(n);
                            base.with_high_watermark(fetched.high_watermark)
                                .with_last_stable_offset(fetched.high_watermark)
                                .with_log_start_offset(fetched.log_start_offset)
                                .with_records(Some(fetched.records))
                        }
                        Err(e) => {
                            errors = true;
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
            partitions.push(hint_leader(data, found, version, &mut leaders));
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    let node_endpoints = leader_hints::node_endpoints(&image, leaders)
        .into_iter()
        .map(NodeEndpoint::from)
        .collect();
    (
        FetchResponse::default()
            .with_responses(topics)
            .with_node_endpoints(node_endpoints),
        total,
        errors,
    )
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
