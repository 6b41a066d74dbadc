//! DescribeGroups: state, protocol and members (with their subscriptions and
//! assignments) of groups, as `kafka-consumer-groups --describe` shows them.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use crate::broker::Broker;
use crate::group::classic::GroupState;

/// Operations a group allows (Read, Delete, Describe), for v3+ when asked.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// Handles a DescribeGroups request.
pub fn handle(
    broker: &Broker,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|id| {
            let out = DescribedGroup::default().with_group_id(id.clone());
            let mut out = match broker.groups.describe(broker, id.0.as_str()) {
                Err(e) => {
                    count_error(broker, ApiKey::DescribeGroups, e);
                    out.with_error_code(e.code())
                        .with_group_state(StrBytes::from_static_str(GroupState::Dead.name()))
                }
                // Kafka describes an unknown group as Dead with no error.
                Ok(None) => {
                    out.with_group_state(StrBytes::from_static_str(GroupState::Dead.name()))
                }
                Ok(Some(d)) => out
                    .with_group_state(StrBytes::from_static_str(d.state))
                    .with_protocol_type(StrBytes::from_string(d.protocol_type))
                    .with_protocol_data(StrBytes::from_string(d.protocol))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(StrBytes::from_string(m.member_id))
                                    .with_group_instance_id(
                                        m.instance_id.map(StrBytes::from_string),
                                    )
                                    .with_client_id(StrBytes::from_string(m.client_id))
                                    .with_client_host(StrBytes::from_string(m.client_host))
                                    .with_member_metadata(m.subscription)
                                    .with_member_assignment(m.assignment)
                            })
                            .collect(),
                    ),
            };
            out.authorized_operations = if version >= 3 && request.include_authorized_operations {
                GROUP_OPERATIONS
            } else {
                i32::MIN
            };
            out
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

#[cfg(test)]
mod tests {
    #[test]
    fn operations_bitfield_names_read_delete_describe() {
        assert_eq!(super::GROUP_OPERATIONS, 0b1_0100_1000);
    }
}
