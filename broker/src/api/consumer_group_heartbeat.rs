//! ConsumerGroupHeartbeat (KIP-848): joins, leaves and keeps a member of a
//! consumer group, and hands it its assignment. Requests are checked as
//! Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid` checks them.

use std::net::SocketAddr;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as WireAssignment, TopicPartitions,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::group::consumer::assignor::{Assignment, Assignor};
use crate::group::consumer::{Heartbeat, Refusal, JOIN_EPOCH, STATIC_LEAVE_EPOCH};

/// How long a heartbeat waits for its group change to reach the in-sync
/// replicas, like an offset commit.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Handles a ConsumerGroupHeartbeat request; answers once the group change
/// it made is replicated.
pub async fn handle(
    broker: &Broker,
    header: &RequestHeader,
    peer: SocketAddr,
    request: ConsumerGroupHeartbeatRequest,
    version: i16,
) -> ConsumerGroupHeartbeatResponse {
    let result = if broker.groups.consumer_protocol_enabled() {
        check(
            &request,
            version,
            &broker.groups.consumer_limits().assignors,
        )
        .and_then(|()| {
            let group_id = request.group_id.0.to_string();
            broker
                .groups
                .consumer_heartbeat(broker, &group_id, heartbeat(header, peer, request))
        })
    } else {
        Err(invalid(
            ResponseError::UnsupportedVersion,
            "The new consumer group protocol is not enabled.",
        ))
    };
    let result = match result {
        Ok((reply, Some(durable))) => durable
            .replicated(WRITE_TIMEOUT)
            .await
            .map(|()| reply)
            .map_err(|error| Refusal {
                error,
                message: String::new(),
            }),
        Ok((reply, None)) => Ok(reply),
        Err(refusal) => Err(refusal),
    };
    match result {
        Ok(reply) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(StrBytes::from_string(reply.member_id)))
            .with_member_epoch(reply.member_epoch)
            .with_heartbeat_interval_ms(reply.heartbeat_interval_ms)
            .with_assignment(reply.assignment.map(|a| {
                WireAssignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(topic, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(topic)
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            })),
        Err(refusal) => {
            count_error(broker, ApiKey::ConsumerGroupHeartbeat, refusal.error);
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(refusal.error.code())
                .with_error_message(
                    (!refusal.message.is_empty()).then(|| StrBytes::from_string(refusal.message)),
                )
        }
    }
}

fn invalid(error: ResponseError, message: &str) -> Refusal {
    Refusal {
        error,
        message: message.to_string(),
    }
}

/// Kafka's checks of a heartbeat's fields, before any group is touched.
fn check(
    request: &ConsumerGroupHeartbeatRequest,
    version: i16,
    assignors: &[Assignor],
) -> Result<(), Refusal> {
    let bad = |m: &str| Err(invalid(ResponseError::InvalidRequest, m));
    if request.group_id.0.is_empty() {
        return bad("GroupId can't be empty.");
    }
    if request.instance_id.as_ref().is_some_and(|s| s.is_empty()) {
        return bad("InstanceId can't be empty.");
    }
    if request.rack_id.as_ref().is_some_and(|s| s.is_empty()) {
        return bad("RackId can't be empty.");
    }
    // From version 1 the client makes its own member id (KIP-1082).
    if (version >= 1 || request.member_epoch != JOIN_EPOCH) && request.member_id.is_empty() {
        return bad("MemberId can't be empty.");
    }
    if request.member_id.len() > 36 {
        return bad("MemberId can't be longer than 36 characters.");
    }
    match request.member_epoch {
        JOIN_EPOCH => {
            if request.rebalance_timeout_ms == -1 {
                return bad("RebalanceTimeoutMs must be provided in first request.");
            }
            if request
                .topic_partitions
                .as_ref()
                .is_none_or(|t| !t.is_empty())
            {
                return bad("TopicPartitions must be empty when (re-)joining.");
            }
            let names = request
                .subscribed_topic_names
                .as_ref()
                .is_some_and(|n| !n.is_empty());
            let regex = request.subscribed_topic_regex.is_some();
            if !names && !regex {
                return bad(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                );
            }
        }
        STATIC_LEAVE_EPOCH if request.instance_id.is_none() => {
            return bad("InstanceId can't be null.");
        }
        e if e < STATIC_LEAVE_EPOCH => return bad("MemberEpoch is invalid."),
        _ => {}
    }
    if let Some(name) = &request.server_assignor {
        if !Assignor::by_name(name).is_some_and(|a| assignors.contains(&a)) {
            let offered: Vec<&str> = assignors.iter().map(|a| a.name()).collect();
            return Err(invalid(
                ResponseError::UnsupportedAssignor,
                &format!(
                    "ServerAssignor {name} is not supported. Supported assignors: {}.",
                    offered.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn heartbeat(
    header: &RequestHeader,
    peer: SocketAddr,
    request: ConsumerGroupHeartbeatRequest,
) -> Heartbeat {
    let owned = request.topic_partitions.map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            a.entry(tp.topic_id).or_default().extend(tp.partitions);
        }
        a.retain(|_, ps| !ps.is_empty());
        a
    });
    Heartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.map(|s| s.to_string()),
        rack_id: request.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .map(|names| names.into_iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: request.subscribed_topic_regex.map(|s| s.to_string()),
        server_assignor: request.server_assignor.map(|s| s.to_string()),
        owned,
        client_id: header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        client_host: format!("/{}", peer.ip()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::GroupId;

    fn join() -> ConsumerGroupHeartbeatRequest {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_member_id(StrBytes::from_static_str("m-1"))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(300_000)
            .with_subscribed_topic_names(Some(vec![]))
            .with_topic_partitions(Some(vec![]))
    }

    fn error(r: &ConsumerGroupHeartbeatRequest, version: i16) -> Option<ResponseError> {
        check(r, version, &[Assignor::Uniform, Assignor::Range])
            .err()
            .map(|r| r.error)
    }

    #[test]
    fn malformed_heartbeats_get_kafkas_errors() {
        assert_eq!(
            error(&join(), 1),
            Some(ResponseError::InvalidRequest),
            "no subscription"
        );
        let ok = join().with_subscribed_topic_regex(Some(StrBytes::from_static_str("t.*")));
        assert_eq!(error(&ok, 1), None);
        let no_id = ok.clone().with_member_id(StrBytes::default());
        assert_eq!(error(&no_id, 1), Some(ResponseError::InvalidRequest));
        assert_eq!(
            error(&no_id, 0),
            None,
            "v0 lets the coordinator pick the id"
        );
        let epoch = ok.clone().with_member_epoch(-3);
        assert_eq!(error(&epoch, 1), Some(ResponseError::InvalidRequest));
        let static_leave = ok.clone().with_member_epoch(-2);
        assert_eq!(error(&static_leave, 1), Some(ResponseError::InvalidRequest));
        let assignor = ok.with_server_assignor(Some(StrBytes::from_static_str("sticky")));
        assert_eq!(
            error(&assignor, 1),
            Some(ResponseError::UnsupportedAssignor)
        );
    }
}
