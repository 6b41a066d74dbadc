//! UnregisterBroker (KIP-631): an operator forgets a decommissioned broker.
//! The controller refuses one that still holds replicas (drain it by
//! reassignment first) or is still running.

use kafka_protocol::messages::{ApiKey, UnregisterBrokerRequest, UnregisterBrokerResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::request::ControllerRequest;

/// Handles an UnregisterBroker request.
pub async fn handle(broker: &Broker, request: UnregisterBrokerRequest) -> UnregisterBrokerResponse {
    match broker
        .control(ControllerRequest::UnregisterBroker {
            broker_id: request.broker_id.0,
        })
        .await
    {
        Ok(_) => UnregisterBrokerResponse::default(),
        Err(e) => {
            count_error(broker, ApiKey::UnregisterBroker, e.error);
            UnregisterBrokerResponse::default()
                .with_error_code(e.error.code())
                .with_error_message(Some(StrBytes::from_string(e.message)))
        }
    }
}
