//! LeaveGroup: members leave at once instead of waiting for their session to
//! expire; v3+ removes several (static) members in one request (KIP-345).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse};

use super::count_error;
use crate::broker::Broker;

/// Handles a LeaveGroup request.
pub fn handle(broker: &Broker, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    let fail = |e: ResponseError| {
        count_error(broker, ApiKey::LeaveGroup, e);
        LeaveGroupResponse::default().with_error_code(e.code())
    };
    match broker
        .groups
        .leave(broker, request.group_id.0.as_str(), &members)
    {
        Err(e) => fail(e),
        Ok(results) if version < 3 => match results.first().copied().flatten() {
            Some(e) => fail(e),
            None => LeaveGroupResponse::default(),
        },
        Ok(results) => LeaveGroupResponse::default().with_members(
            request
                .members
                .into_iter()
                .zip(results)
                .map(|(m, error)| {
                    if let Some(e) = error {
                        count_error(broker, ApiKey::LeaveGroup, e);
                    }
                    MemberResponse::default()
                        .with_member_id(m.member_id)
                        .with_group_instance_id(m.group_instance_id)
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect(),
        ),
    }
}
