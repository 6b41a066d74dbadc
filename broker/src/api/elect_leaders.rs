//! ElectLeaders (KIP-183, KIP-460): preferred-leader elections, and unclean
//! ones for partitions without a leader, decided by the controller
//! (`controller/elections.rs`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::elections::{ElectionTarget, ElectionType};
use crate::controller::decisions::limits;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};

/// Handles an ElectLeaders request.
pub async fn handle(
    broker: &Broker,
    request: ElectLeadersRequest,
    version: i16,
) -> ElectLeadersResponse {
    let kind = match (version, request.election_type) {
        (0, _) | (_, 0) => ElectionType::Preferred,
        (_, 1) => ElectionType::Unclean,
        (_, other) => {
            return failed(
                broker,
                ResponseError::InvalidRequest,
                format!("election type {other} is not 0 (preferred) or 1 (unclean)"),
                version,
            )
        }
    };
    let asked: usize = request
        .topic_partitions
        .iter()
        .flatten()
        .map(|t| t.partitions.len())
        .sum();
    if asked > limits::MAX_RECORDS_PER_USER_OP {
        let e = limits::excessively_large();
        return failed(broker, e.error, e.message, version);
    }
    let targets = request.topic_partitions.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| ElectionTarget {
                    topic: t.topic.0.to_string(),
                    partition: *p,
                })
            })
            .collect()
    });
    let outcomes = match broker
        .control(ControllerRequest::ElectLeaders { kind, targets })
        .await
    {
        Ok(ControllerReply::Elected(outcomes)) => outcomes,
        Ok(_) => {
            return failed(
                broker,
                ResponseError::UnknownServerError,
                "unexpected controller reply".into(),
                version,
            )
        }
        Err(e) => return failed(broker, e.error, e.message, version),
    };
    let mut results: Vec<ReplicaElectionResult> = Vec::new();
    for (target, outcome) in outcomes {
        let mut result = PartitionResult::default().with_partition_id(target.partition);
        if let Some(e) = outcome {
            count_error(broker, ApiKey::ElectLeaders, e.error);
            result = result
                .with_error_code(e.error.code())
                .with_error_message(Some(StrBytes::from_string(e.message)));
        }
        match results
            .iter_mut()
            .find(|r| r.topic.0.as_str() == target.topic)
        {
            Some(r) => r.partition_result.push(result),
            None => results.push(
                ReplicaElectionResult::default()
                    .with_topic(TopicName(StrBytes::from_string(target.topic)))
                    .with_partition_result(vec![result]),
            ),
        }
    }
    ElectLeadersResponse::default().with_replica_election_results(results)
}

/// A whole-request failure: the top-level error (v1+) and nothing elected.
fn failed(
    broker: &Broker,
    error: ResponseError,
    message: String,
    version: i16,
) -> ElectLeadersResponse {
    count_error(broker, ApiKey::ElectLeaders, error);
    tracing::debug!(%message, ?error, "ElectLeaders refused");
    if version >= 1 {
        ElectLeadersResponse::default().with_error_code(error.code())
    } else {
        ElectLeadersResponse::default()
    }
}
