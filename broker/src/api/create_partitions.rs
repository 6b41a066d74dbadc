//! CreatePartitions: add partitions to existing topics.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::request::ControllerRequest;

/// Handles a CreatePartitions request.
pub async fn handle(
    broker: &Broker,
    request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for t in &request.topics {
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
