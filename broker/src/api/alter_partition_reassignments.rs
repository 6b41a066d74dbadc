//! AlterPartitionReassignments (KIP-455): start, replace or cancel moves of
//! partitions between brokers. The controller decides every partition's
//! move (`controller/reassignment.rs`); the data moves by replication.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::limits;
use crate::controller::decisions::reassignment::Move;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};

/// Handles an AlterPartitionReassignments request.
pub async fn handle(
    broker: &Broker,
    request: AlterPartitionReassignmentsRequest,
    version: i16,
) -> AlterPartitionReassignmentsResponse {
    // KIP-860: v1 clients may forbid a new replication factor.
    let allow_rf_change = version < 1 || request.allow_replication_factor_change;
    let asked: usize = request.topics.iter().map(|t| t.partitions.len()).sum();
    if asked > limits::MAX_RECORDS_PER_USER_OP {
        let e = limits::excessively_large();
        return top_level_error(broker, e.error, e.message, allow_rf_change);
    }
    let moves: Vec<Move> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| Move {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                target: p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()),
            })
        })
        .collect();
    let count = moves.len();
    let outcomes = match broker
        .control(ControllerRequest::ReassignPartitions {
            moves,
            allow_rf_change,
        })
        .await
    {
        Ok(ControllerReply::Reassigned(outcomes)) if outcomes.len() == count => outcomes,
        Ok(_) => {
            return top_level_error(
                broker,
                ResponseError::UnknownServerError,
                "unexpected controller reply".into(),
                allow_rf_change,
            )
        }
        Err(e) => return top_level_error(broker, e.error, e.message, allow_rf_change),
    };
    let mut outcomes = outcomes.into_iter();
    let responses = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match outcomes.next().flatten() {
                        None => r,
                        Some(e) => {
                            count_error(broker, ApiKey::AlterPartitionReassignments, e.error);
                            r.with_error_code(e.error.code())
                                .with_error_message(Some(StrBytes::from_string(e.message)))
                        }
                    }
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(allow_rf_change)
        .with_responses(responses)
}

fn top_level_error(
    broker: &Broker,
    error: ResponseError,
    message: String,
    allow_rf_change: bool,
) -> AlterPartitionReassignmentsResponse {
    count_error(broker, ApiKey::AlterPartitionReassignments, error);
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(allow_rf_change)
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}
