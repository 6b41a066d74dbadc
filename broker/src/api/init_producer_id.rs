//! InitProducerId: gives an idempotent producer its id and epoch.
//!
//! Without a transactional id Kafka always hands out a fresh id with epoch 0,
//! even when the producer sends its old id to bump its epoch (KIP-360): the
//! new id starts clean in every partition, which is what the bump is for.
//! Transactions are not implemented, so a transactional id is refused.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::count_error;
use crate::broker::Broker;

/// Handles an InitProducerId request.
pub async fn handle(broker: &Broker, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        count_error(broker, ApiKey::InitProducerId, error);
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if request.transactional_id.is_some() {
        tracing::debug!(
            "InitProducerId with a transactional id refused: transactions are not supported"
        );
        return failed(ResponseError::TransactionalIdAuthorizationFailed);
    }
    match broker.next_producer_id().await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(rejection) => {
            tracing::error!(error = %rejection, "allocating a producer id failed");
            failed(rejection.error)
        }
    }
}
