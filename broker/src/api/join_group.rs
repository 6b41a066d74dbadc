//! JoinGroup: a member joins (or rejoins) a group and waits for the
//! rebalance to form the next generation.

use std::net::SocketAddr;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse, RequestHeader};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::group::classic::JoinRequest;

/// Handles a JoinGroup request; completes when the rebalance does.
pub async fn handle(
    broker: &Broker,
    header: &RequestHeader,
    peer: SocketAddr,
    request: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    // KIP-800: clients say why they rejoin; the reason explains rebalances.
    tracing::debug!(
        group = %request.group_id.0,
        member = %request.member_id,
        reason = request.reason.as_deref().unwrap_or(""),
        "join group"
    );
    let join = JoinRequest {
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: header
            .client_id
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        client_host: format!("/{}", peer.ip()),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: the session timeout stands in.
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        requires_known_member_id: version >= 4,
    };
    let result = broker
        .groups
        .join(broker, request.group_id.0.as_str(), join)
        .await;
    if let Some(e) = result.error {
        count_error(broker, ApiKey::JoinGroup, e);
    }
    JoinGroupResponse::default()
        .with_error_code(result.error.map_or(0, |e| e.code()))
        .with_generation_id(result.generation_id)
        .with_protocol_type(result.protocol_type.map(StrBytes::from_string))
        .with_protocol_name(if version >= 7 {
            result.protocol_name.map(StrBytes::from_string)
        } else {
            Some(StrBytes::from_string(
                result.protocol_name.unwrap_or_default(),
            ))
        })
        .with_leader(StrBytes::from_string(result.leader))
        .with_skip_assignment(result.skip_assignment && version >= 9)
        .with_member_id(StrBytes::from_string(result.member_id))
        .with_members(
            result
                .members
                .into_iter()
                .map(|(id, instance, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_group_instance_id(instance.map(StrBytes::from_string))
                        .with_metadata(metadata)
                })
                .collect(),
        )
}
