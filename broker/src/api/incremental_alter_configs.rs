//! IncrementalAlterConfigs: set, delete, append to or subtract from single
//! topic config keys, or the dynamic configs of a broker.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use super::describe_configs::resource_type;
use crate::broker::Broker;
use crate::controller::decisions::configs::AlterOp;
use crate::controller::decisions::group_configs::GroupConfigBounds;
use crate::controller::decisions::request::ControllerRequest;
use crate::controller::Rejection;

/// Handles an IncrementalAlterConfigs request.
pub async fn handle(
    broker: &Broker,
    request: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for r in &request.resources {
        {
            let name = r.resource_name.to_string();
            let ops = r
                .configs
                .iter()
                .map(|c| {
                    AlterOp::from_code(c.config_operation)
                        .map(|op| {
                            (
                                c.name.to_string(),
                                op,
                                c.value.as_ref().map(|v| v.to_string()),
                            )
                        })
                        .ok_or_else(|| {
                            Rejection::new(
                                ResponseError::InvalidRequest,
                                format!("Unknown config operation {}", c.config_operation),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>();
            let request = match (r.resource_type, ops) {
                (_, Err(e)) => Err(e),
                (resource_type::TOPIC, Ok(ops)) => Ok(ControllerRequest::AlterTopicConfigs {
                    topic: name,
                    ops,
                    validate_only: request.validate_only,
                }),
                (resource_type::BROKER, Ok(ops)) => Ok(ControllerRequest::AlterBrokerConfigs {
                    resource: name,
                    ops,
                    validate_only: request.validate_only,
                }),
                (resource_type::GROUP, Ok(ops)) => {
                    let limits = broker.groups.consumer_limits();
                    Ok(ControllerRequest::AlterGroupConfigs {
                        group: name,
                        ops,
                        bounds: GroupConfigBounds {
                            session_timeout_ms: limits.session_timeout_bounds,
                            heartbeat_interval_ms: limits.heartbeat_interval_bounds,
                        },
                        validate_only: request.validate_only,
                    })
                }
                (other, Ok(_)) => Err(unsupported_resource(other)),
            };
            let outcome = match request {
                Ok(request) => broker.control(request).await.map(|_| ()),
                Err(e) => Err(e),
            };
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            responses.push(match outcome {
                Ok(()) => response,
                Err(e) => {
                    count_error(broker, ApiKey::IncrementalAlterConfigs, e.error);
                    response
                        .with_error_code(e.error.code())
                        .with_error_message(Some(StrBytes::from_string(e.message)))
                }
            });
        }
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// The refusal for resource types weir cannot alter (client metrics,
/// broker loggers).
pub fn unsupported_resource(resource_type: i8) -> Rejection {
    Rejection::new(
        ResponseError::InvalidRequest,
        format!("Resource type {resource_type} cannot be altered"),
    )
}
