//! ConsumerGroupDescribe (KIP-848): a consumer group's epochs, assignor and
//! members with their current and target assignments, as
//! `kafka-consumer-groups --describe` and admin clients show them.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as WireAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::group::consumer::assignor::Assignment;
use crate::group::consumer::ConsumerGroup;

/// Operations a group allows (Read, Delete, Describe), when asked.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// Member type of KIP-1099: the member speaks the classic protocol.
const CLASSIC_MEMBER: i8 = 0;

/// Member type of KIP-1099: the member speaks the consumer protocol.
const CONSUMER_MEMBER: i8 = 1;

/// Handles a ConsumerGroupDescribe request.
pub fn handle(
    broker: &Broker,
    request: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let groups = request
        .group_ids
        .into_iter()
        .map(|id| {
            let out = DescribedGroup::default().with_group_id(id.clone());
            let mut out = match broker.groups.consumer_group(broker, id.0.as_str()) {
                Err(e) => {
                    count_error(broker, ApiKey::ConsumerGroupDescribe, e);
                    let message = match e {
                        ResponseError::GroupIdNotFound => {
                            Some(format!("Group {} is not a consumer group.", id.0.as_str()))
                        }
                        _ => None,
                    };
                    out.with_error_code(e.code())
                        .with_error_message(message.map(StrBytes::from_string))
                }
                Ok(None) => out
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "Group {} not found.",
                        id.0.as_str()
                    )))),
                Ok(Some(g)) => describe(out, &g),
            };
            out.authorized_operations = if request.include_authorized_operations {
                GROUP_OPERATIONS
            } else {
                i32::MIN
            };
            out
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

fn describe(out: DescribedGroup, group: &ConsumerGroup) -> DescribedGroup {
    let wire = |a: &Assignment| {
        WireAssignment::default().with_topic_partitions(
            a.iter()
                .map(|(id, ps)| {
                    let name = group
                        .subscribed_topics
                        .get(id)
                        .map(|(n, _)| n.clone())
                        .unwrap_or_default();
                    TopicPartitions::default()
                        .with_topic_id(*id)
                        .with_topic_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(ps.iter().copied().collect())
                })
                .collect(),
        )
    };
    let empty = Assignment::new();
    out.with_group_state(StrBytes::from_static_str(group.state().name()))
        .with_group_epoch(group.group_epoch)
        .with_assignment_epoch(group.assignment_epoch)
        .with_assignor_name(StrBytes::from_static_str(
            group.assignor.map_or("uniform", |a| a.name()),
        ))
        .with_members(
            group
                .members
                .values()
                .map(|m| {
                    Member::default()
                        .with_member_id(StrBytes::from_string(m.id.clone()))
                        .with_instance_id(m.instance_id.clone().map(StrBytes::from_string))
                        .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                        .with_member_epoch(m.holding.epoch)
                        .with_client_id(StrBytes::from_string(m.client_id.clone()))
                        .with_client_host(StrBytes::from_string(m.client_host.clone()))
                        .with_subscribed_topic_names(
                            m.subscribed_topic_names
                                .iter()
                                .map(|n| TopicName(StrBytes::from_string(n.clone())))
                                .collect(),
                        )
                        .with_subscribed_topic_regex(
                            m.subscribed_topic_regex.clone().map(StrBytes::from_string),
                        )
                        .with_assignment(wire(&m.holding.assigned))
                        .with_target_assignment(wire(group.target.get(&m.id).unwrap_or(&empty)))
                        .with_member_type(if m.classic.is_some() {
                            CLASSIC_MEMBER
                        } else {
                            CONSUMER_MEMBER
                        })
                })
                .collect(),
        )
}
