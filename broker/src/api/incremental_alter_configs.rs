//! IncrementalAlterConfigs: set, delete, append to or subtract from single
//! topic config keys.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use super::describe_configs::resource_type;
use crate::broker::Broker;
use crate::controller::configs::AlterOp;
use crate::controller::request::ControllerRequest;
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
            let outcome = match r.resource_type {
                resource_type::TOPIC => match r
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
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(ops) => broker
                        .control(ControllerRequest::AlterTopicConfigs {
                            topic: name,
                            ops,
                            validate_only: request.validate_only,
                        })
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                },
                other => Err(unsupported_resource(other)),
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

/// The refusal for resources weir cannot alter: broker configs are static
/// (set by flags or the properties file and applied on restart).
pub fn unsupported_resource(resource_type: i8) -> Rejection {
    if resource_type == resource_type::BROKER {
        Rejection::new(
            ResponseError::InvalidRequest,
            "Broker configs cannot be updated dynamically in weir; change the broker's configuration and restart it",
        )
    } else {
        Rejection::new(
            ResponseError::InvalidRequest,
            format!("Resource type {resource_type} cannot be altered"),
        )
    }
}
