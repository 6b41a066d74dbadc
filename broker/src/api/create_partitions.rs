//! CreatePartitions: add partitions to existing topics.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::limits;
use crate::controller::decisions::request::ControllerRequest;

/// Handles a CreatePartitions request.
pub async fn handle(
    broker: &Broker,
    request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let image = broker.image();
    let added: i64 = request
        .topics
        .iter()
        .map(|t| {
            let current = image
                .topic(t.name.0.as_str())
                .map_or(0, |t| t.partitions.len());
            i64::from(t.count) - i64::try_from(current).unwrap_or(i64::MAX)
        })
        .filter(|n| *n > 0)
        .fold(0, i64::saturating_add);
    // Kafka counts the records of every topic in the request together.
    let too_many = (added > limits::MAX_PARTITIONS_PER_BATCH).then(limits::excessively_large);
    let mut results = Vec::with_capacity(request.topics.len());
    for t in &request.topics {
        if let Some(e) = &too_many {
            count_error(broker, ApiKey::CreatePartitions, e.error);
            results.push(
                CreatePartitionsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(e.error.code())
                    .with_error_message(Some(StrBytes::from_string(e.message.clone()))),
            );
            continue;
        }
        {
            let assignments: Option<Vec<Vec<i32>>> = t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|x| x.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            let outcome = broker
                .control(ControllerRequest::CreatePartitions {
                    topic: t.name.0.to_string(),
                    count: t.count,
                    assignments,
                    validate_only: request.validate_only,
                })
                .await
                .map(|_| ());
            let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            results.push(match outcome {
                Ok(()) => r,
                Err(e) => {
                    count_error(broker, ApiKey::CreatePartitions, e.error);
                    r.with_error_code(e.error.code())
                        .with_error_message(Some(StrBytes::from_string(e.message)))
                }
            });
        }
    }
    CreatePartitionsResponse::default().with_results(results)
}
