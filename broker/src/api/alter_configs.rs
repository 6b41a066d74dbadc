//! AlterConfigs: replace a topic's config overrides as a whole.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ApiKey};
use kafka_protocol::protocol::StrBytes;

use super::count_error;
use super::describe_configs::resource_type;
use crate::broker::Broker;
use crate::controller::decisions::request::ControllerRequest;

/// Handles an AlterConfigs request.
pub async fn handle(
    broker: &Broker,
    request: AlterConfigsRequest,
    _version: i16,
) -> AlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for r in &request.resources {
        {
            let name = r.resource_name.to_string();
            let configs: Vec<(String, Option<String>)> = r
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect();
            let request = match r.resource_type {
                resource_type::TOPIC => Ok(ControllerRequest::ReplaceTopicConfigs {
                    topic: name,
                    configs,
                    validate_only: request.validate_only,
                }),
                resource_type::BROKER => Ok(ControllerRequest::ReplaceBrokerConfigs {
                    resource: name,
                    configs,
                    validate_only: request.validate_only,
                }),
                other => Err(super::incremental_alter_configs::unsupported_resource(
                    other,
                )),
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
                    count_error(broker, ApiKey::AlterConfigs, e.error);
                    response
                        .with_error_code(e.error.code())
                        .with_error_message(Some(StrBytes::from_string(e.message)))
                }
            });
        }
    }
    AlterConfigsResponse::default().with_responses(responses)
}
