//! Produce: append producers' record batches to partition logs.
//!
//! Batches are validated and stored as sent; only offsets and leader epoch
//! are assigned. With acks=all the answer waits until every in-sync replica
//! has the batch (the high watermark passed it), up to the request's
//! timeout. With acks=0 nothing is answered, and a failure closes the
//! connection, which is how Kafka tells such a producer something went wrong.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse,
    TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, BrokerId, ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::{count_error, count_error_in, leader_hints, Reply};
use crate::broker::Broker;
use crate::metadata::image::MetadataImage;
use crate::replica_manager::delayed::{self, PendingAppend};
use crate::time::now_ms;

/// Handles a Produce request.
pub async fn handle(
    broker: &Broker,
    request: ProduceRequest,
    version: i16,
    listener: &str,
) -> Reply {
    let acks = request.acks;
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    let mut pending = Vec::new();
    let image = broker.image();
    let now = now_ms();
    let mut failed = false;
    let mut appended = false;
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic in request.topic_data {
        let found = if version >= 13 {
            image.topic_by_id(&topic.topic_id)
        } else {
            image.topic(topic.name.0.as_str())
        };
        let unknown = if version >= 13 {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in topic.partition_data {
            let base = PartitionProduceResponse::default()
                .with_index(data.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            // KIP-467: the records of the batch that were refused, if any.
            let mut record_errors: Vec<(i32, String)> = Vec::new();
            let fail = |e: ResponseError, message: String, records: Vec<(i32, String)>| {
                let mut r = base.clone().with_error_code(e.code());
                if version >= 8 {
                    r.error_message = Some(StrBytes::from_string(message));
                    r.record_errors = records
                        .into_iter()
                        .map(|(index, why)| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(index)
                                .with_batch_index_error_message(Some(StrBytes::from_string(why)))
                        })
                        .collect();
                }
                r
            };
            let result = if request.transactional_id.is_some() {
                Err((
                    ResponseError::InvalidTxnState,
                    "transactions are not supported yet".to_string(),
                ))
            } else if !(-1..=1).contains(&acks) {
                Err((
                    ResponseError::InvalidRequiredAcks,
                    format!("acks={acks} is not one of -1, 0, 1"),
                ))
            } else {
                match found {
                    None => Err((unknown, "unknown topic".to_string())),
                    Some(t) => match (
                        t.partitions.get(&data.index),
                        broker.replicas.partition(t.id, data.index),
                    ) {
                        (None, _) => Err((
                            ResponseError::UnknownTopicOrPartition,
                            format!("partition {} does not exist", data.index),
                        )),
                        (Some(_), None) => Err((
                            ResponseError::NotLeaderOrFollower,
                            "this broker does not lead the partition".to_string(),
                        )),
                        (Some(_), Some(partition)) => match data.records {
                            None => Err((
                                ResponseError::InvalidRecord,
                                "produce request without records".to_string(),
                            )),
                            Some(records) => {
                                let size = records.len();
                                partition
                                    .append(records, acks, now)
                                    .map(|(info, epoch)| {
                                        if acks == -1 && info.record_count > 0 {
                                            pending.push(PendingAppend::new(
                                                (responses.len(), partitions.len()),
                                                partition.clone(),
                                                info.last_offset,
                                                epoch,
                                            ));
                                        }
                                        (info, size)
                                    })
                                    .map_err(|e| {
                                        record_errors = e.record_errors().to_vec();
                                        (e.error_code(), e.to_string())
                                    })
                            }
                        },
                    },
                }
            };
            let response = match result {
                Ok((info, size)) => {
                    appended = true;
                    broker
                        .metrics
                        .messages_in
                        .inc_by(u64::try_from(info.record_count).unwrap_or(0));
                    broker.metrics.bytes_in.inc_by(size as u64);
                    base.with_base_offset(info.base_offset)
                        .with_log_append_time_ms(info.log_append_time)
                        .with_log_start_offset(info.log_start_offset)
                }
                Err((e, message)) => {
                    failed = true;
                    count_error(broker, ApiKey::Produce, e);
                    if matches!(
                        e,
                        ResponseError::CorruptMessage
                            | ResponseError::InvalidRecord
                            | ResponseError::MessageTooLarge
                            | ResponseError::InvalidTimestamp
                            | ResponseError::KafkaStorageError
                    ) {
                        tracing::warn!(topic = %topic.name.0.as_str(), partition = data.index, error = ?e, %message, "produce refused");
                    } else {
                        tracing::debug!(topic = %topic.name.0.as_str(), partition = data.index, error = ?e, %message, "produce failed");
                    }
                    fail(e, message, std::mem::take(&mut record_errors))
                }
            };
            partitions.push(response);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_topic_id(topic.topic_id)
                .with_partition_responses(partitions),
        );
    }
    if appended {
        broker.replicas.notify_appended();
    }
    if pending.is_empty() {
        return answer(broker, responses, failed, acks, version, listener);
    }
    // The batches are in the log; the answer waits for the ISR without
    // holding the connection, which reads (and appends) what comes next.
    let errors = broker.metrics.errors.clone();
    let failed_requests = broker.metrics.failed_produce_requests.clone();
    let images = broker.quorum.subscribe();
    let listener = listener.to_string();
    Reply::Later(Box::pin(async move {
        let mut responses = responses;
        let mut failed = failed;
        for (p, e) in delayed::await_isr(pending, timeout).await {
            failed = true;
            let code = e.error_code();
            count_error_in(&errors, ApiKey::Produce, code);
            tracing::debug!(topic = %p.partition.topic, partition = p.partition.index, error = %e, "acks=all produce not acknowledged");
            let (topic, partition) = p.slot;
            if let Some(r) = responses
                .get_mut(topic)
                .and_then(|t| t.partition_responses.get_mut(partition))
            {
                r.error_code = code.code();
                if version >= 8 {
                    r.error_message = Some(StrBytes::from_string(e.to_string()));
                }
            }
        }
        if failed {
            failed_requests.inc();
        }
        let image = images.borrow().clone();
        Reply::Respond(Box::new(ResponseKind::Produce(response(
            &image, responses, version, &listener,
        ))))
    }))
}

/// The answer when nothing waits for the ISR.
fn answer(
    broker: &Broker,
    responses: Vec<TopicProduceResponse>,
    failed: bool,
    acks: i16,
    version: i16,
    listener: &str,
) -> Reply {
    if failed {
        broker.metrics.failed_produce_requests.inc();
    }
    if acks == 0 {
        return if failed {
            Reply::Close("acks=0 produce failed".to_string())
        } else {
            Reply::NoResponse
        };
    }
    let image = broker.image();
    Reply::Respond(Box::new(ResponseKind::Produce(response(
        &image, responses, version, listener,
    ))))
}

/// The response, with a current-leader hint (KIP-951, v10+) on every
/// partition this broker does not lead and the hinted leaders' endpoints.
fn response(
    image: &MetadataImage,
    mut responses: Vec<TopicProduceResponse>,
    version: i16,
    listener: &str,
) -> ProduceResponse {
    let mut leaders = Vec::new();
    if version >= 10 {
        let not_leader = ResponseError::NotLeaderOrFollower.code();
        for topic in &mut responses {
            let found = if version >= 13 {
                image.topic_by_id(&topic.topic_id)
            } else {
                image.topic(topic.name.0.as_str())
            };
            for p in &mut topic.partition_responses {
                if p.error_code != not_leader {
                    continue;
                }
                let (leader, epoch) = leader_hints::current_leader(found, p.index);
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch);
                leaders.push(leader);
            }
        }
    }
    let node_endpoints = leader_hints::node_endpoints(image, leaders, listener)
        .into_iter()
        .map(NodeEndpoint::from)
        .collect();
    ProduceResponse::default()
        .with_responses(responses)
        .with_node_endpoints(node_endpoints)
}
