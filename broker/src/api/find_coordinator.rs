//! FindCoordinator: which broker coordinates a group — the leader of the
//! group's `__consumer_offsets` partition. The first lookup creates that
//! topic, as in Kafka. v4+ batches several keys in one request (KIP-699).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;

const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

/// Finds the coordinator of one key: (node, host, port) or an error and
/// its message.
async fn lookup(
    broker: &Broker,
    key: &str,
    key_type: i8,
    listener: &str,
) -> Result<(i32, String, i32), (ResponseError, String)> {
    match key_type {
        GROUP => {}
        TRANSACTION => {
            return Err((
                ResponseError::TransactionalIdAuthorizationFailed,
                "transactions are not supported by this broker".to_string(),
            ))
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!("unsupported coordinator key type {other}"),
            ))
        }
    }
    let node = broker
        .groups
        .coordinator_for(broker, key)
        .await
        .map_err(|e| (e, "the group coordinator is not available".to_string()))?;
    let image = broker.image();
    let endpoint = image
        .brokers
        .get(&node)
        .and_then(|b| b.endpoint(listener))
        .ok_or_else(|| {
            (
                ResponseError::CoordinatorNotAvailable,
                format!("coordinator {node} has no endpoint"),
            )
        })?;
    Ok((node, endpoint.host.clone(), i32::from(endpoint.port)))
}

/// Handles a FindCoordinator request.
pub async fn handle(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
    listener: &str,
) -> FindCoordinatorResponse {
    let key_type = request.key_type;
    if version >= 4 {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in &request.coordinator_keys {
            let c = Coordinator::default().with_key(key.clone());
            coordinators.push(
                match lookup(broker, key.as_str(), key_type, listener).await {
                    Ok((node, host, port)) => c
                        .with_node_id(BrokerId(node))
                        .with_host(StrBytes::from_string(host))
                        .with_port(port),
                    Err((e, message)) => {
                        count_error(broker, ApiKey::FindCoordinator, e);
                        c.with_node_id(BrokerId(-1))
                            .with_port(-1)
                            .with_error_code(e.code())
                            .with_error_message(Some(StrBytes::from_string(message)))
                    }
                },
            );
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match lookup(broker, request.key.as_str(), key_type, listener).await {
        Ok((node, host, port)) => FindCoordinatorResponse::default()
            .with_node_id(BrokerId(node))
            .with_host(StrBytes::from_string(host))
            .with_port(port),
        Err((e, message)) => {
            count_error(broker, ApiKey::FindCoordinator, e);
            let mut r = FindCoordinatorResponse::default()
                .with_error_code(e.code())
                .with_node_id(BrokerId(-1))
                .with_port(-1);
            if version >= 1 {
                r.error_message = Some(StrBytes::from_string(message));
            }
            r
        }
    }
}
