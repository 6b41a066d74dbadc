//! DeleteTopics: delete topics by name, or by id from v6.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};
use crate::controller::Rejection;
use kafka_protocol::error::ResponseError;

/// Handles a DeleteTopics request.
pub async fn handle(
    broker: &Broker,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Option<Uuid>)> = if version >= 6 {
        request
            .topics
            .iter()
            .map(|t| {
                (
                    t.name.as_ref().map(|n| n.0.to_string()),
                    Some(t.topic_id).filter(|id| !id.is_nil()),
                )
            })
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), None))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        {
            let outcome = broker
                .control(ControllerRequest::DeleteTopic {
                    name: name.clone(),
                    id,
                })
                .await
                .and_then(|reply| match reply {
                    ControllerReply::Deleted { name, id } => Ok((name, id)),
                    other => Err(Rejection::new(
                        ResponseError::UnknownServerError,
                        format!("unexpected controller reply {other:?}"),
                    )),
                });
            let mut r = DeletableTopicResult::default()
                .with_name(name.clone().map(|n| TopicName(StrBytes::from_string(n))));
            if version >= 6 {
                r = r.with_topic_id(id.unwrap_or_default());
            }
            responses.push(match outcome {
                Ok((deleted_name, deleted_id)) => {
                    tracing::info!(topic = %deleted_name, "deleted topic");
                    r.name = Some(TopicName(StrBytes::from_string(deleted_name)));
                    if version >= 6 {
                        r.topic_id = deleted_id;
                    }
                    r
                }
                Err(e) => {
                    count_error(broker, ApiKey::DeleteTopics, e.error);
                    let r = r.with_error_code(e.error.code());
                    if version >= 5 {
                        r.with_error_message(Some(StrBytes::from_string(e.message)))
                    } else {
                        r
                    }
                }
            });
        }
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
