//! CreatePartitions: add partitions to existing topics.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::partitions::create_partitions;

/// Handles a CreatePartitions request.
pub fn handle(
    broker: &Broker,
    request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .iter()
        .map(|t| {
            let assignments: Option<Vec<Vec<i32>>> = t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|x| x.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            let outcome = broker.commit(|image| {
                let records =
                    create_partitions(image, t.name.0.as_str(), t.count, assignments.as_deref())?;
                let committed = if request.validate_only {
                    vec![]
                } else {
                    records
                };
                Ok((committed, ()))
            });
            let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match outcome {
                Ok(()) => r,
                Err(e) => {
                    count_error(broker, ApiKey::CreatePartitions, e.error);
                    r.with_error_code(e.error.code())
                        .with_error_message(Some(StrBytes::from_string(e.message)))
                }
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
