//! Heartbeat: keeps a member's session alive and tells it when to rejoin.

use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse};

use super::count_error;
use crate::broker::Broker;

/// Handles a Heartbeat request.
pub fn handle(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
    let result = broker.groups.heartbeat(
        broker,
        request.group_id.0.as_str(),
        request.member_id.as_str(),
        request.group_instance_id.as_ref().map(|s| s.as_str()),
        request.generation_id,
    );
    match result {
        Ok(()) => HeartbeatResponse::default(),
        Err(e) => {
            count_error(broker, ApiKey::Heartbeat, e);
            HeartbeatResponse::default().with_error_code(e.code())
        }
    }
}
