//! Getting a controller decision made: on the controller, decide and commit
//! through the quorum; anywhere else, forward the request to the controller
//! over the internal listener (Kafka's request forwarding) and wait until
//! this broker's image holds the result.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use crate::broker::Broker;
use crate::controller::decisions::brokers;
use crate::controller::decisions::request::{
    decide, ControllerReply, ControllerRequest, ForwardReply,
};
use crate::controller::Rejection;
use crate::quorum::service::Forwarder;
use crate::quorum::{ApplyOutcome, MetadataEntry, ProposeError};
use crate::rpc::channel;
use crate::rpc::{self, quorum_client::QuorumClient, Json};

/// How long a request waits for a controller to be elected or to answer.
const CONTROLLER_WAIT: Duration = Duration::from_secs(10);
/// How often a decision is retried when the image moved under it.
const STALE_RETRIES: usize = 16;

fn not_controller(message: impl Into<String>) -> Rejection {
    Rejection::new(ResponseError::NotController, message)
}

/// Has the controller decide `request`; returns once this broker's image
/// reflects the outcome.
pub async fn control(
    broker: &Broker,
    request: ControllerRequest,
) -> Result<ControllerReply, Rejection> {
    let deadline = tokio::time::Instant::now() + CONTROLLER_WAIT;
    loop {
        let outcome = match broker.quorum.leader() {
            Some(leader) if leader == broker.config.node_id => {
                // A leader that lost its quorum without knowing it yet
                // waits forever on openraft: bound the wait, then ask again.
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                match tokio::time::timeout(left, decide_here(broker, &request)).await {
                    Ok(decided) => decided.map(Some),
                    Err(_) => {
                        tracing::warn!(
                            request = request.kind(),
                            "the controller's decision did not complete in time"
                        );
                        Ok(None)
                    }
                }
            }
            Some(leader) => match broker.quorum.address_of(leader) {
                Some(address) => forward(broker, &address, &request).await,
                None => Ok(None),
            },
            // A broker that has not joined the quorum yet (a learner before
            // its registration) learns of no leader: it asks the voters.
            None => ask_voters(broker, &request).await,
        };
        match outcome {
            Ok(Some((reply, version))) => {
                if !broker
                    .quorum
                    .wait_for_version(version, CONTROLLER_WAIT)
                    .await
                {
                    return Err(Rejection::new(
                        ResponseError::RequestTimedOut,
                        "the change committed but this broker has not caught up yet",
                    ));
                }
                broker.apply_current();
                return Ok(reply);
            }
            Ok(None) => {}
            Err(r) if r.error == ResponseError::NotController => {}
            Err(r) => return Err(r),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(not_controller("no controller answered in time"));
        }
        // A controller is being elected or just moved: ask again shortly.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = broker
            .quorum
            .wait_for_leader(
                (deadline - tokio::time::Instant::now()).min(Duration::from_millis(500)),
            )
            .await;
    }
}

/// Decides on this broker, the controller. Decisions are serialised by the
/// controller lock and taken on an image that has every committed entry.
pub async fn decide_here(
    broker: &Broker,
    request: &ControllerRequest,
) -> Result<(ControllerReply, u64), Rejection> {
    if let ControllerRequest::BrokerHeartbeat { broker_id, .. } = request {
        broker.liveness.heard(*broker_id);
    }
    if let ControllerRequest::DescribeQuorum = request {
        if !broker.quorum.is_leader() {
            return Err(not_controller("this broker is not the active controller"));
        }
        return Ok((ControllerReply::Quorum(broker.quorum.status()), 0));
    }
    let _serial = broker.controller_lock.lock().await;
    broker.quorum.catch_up().await.map_err(propose_error)?;
    if let ControllerRequest::RegisterBroker { record, voters } = request {
        let ours: Vec<i32> = broker
            .config
            .cluster
            .effective_voters(broker.config.node_id)
            .iter()
            .map(|v| v.node_id)
            .collect();
        brokers::check_voter_set(record.node_id, voters, &ours)?;
        if !ours.contains(&record.node_id) {
            broker
                .quorum
                .add_learner(record.node_id, &record.internal_address)
                .await
                .map_err(propose_error)?;
        }
    }
    for _ in 0..STALE_RETRIES {
        let image = broker.quorum.image();
        let (records, reply) = decide(&image, request, uuid::Uuid::new_v4())?;
        if records.is_empty() {
            return Ok((reply, image.version));
        }
        let entry = MetadataEntry {
            base_version: image.version,
            records,
        };
        match broker.quorum.propose(entry).await.map_err(propose_error)? {
            ApplyOutcome::Applied { version } => {
                if let ControllerRequest::UnregisterBroker { broker_id } = request {
                    broker
                        .quorum
                        .remove_learner(*broker_id)
                        .await
                        .map_err(propose_error)?;
                }
                return Ok((reply, version));
            }
            ApplyOutcome::Stale | ApplyOutcome::Nothing => continue,
        }
    }
    Err(Rejection::new(
        ResponseError::UnknownServerError,
        "the metadata kept changing under the decision",
    ))
}

fn propose_error(e: ProposeError) -> Rejection {
    match e {
        ProposeError::NotLeader { .. } => not_controller(e.to_string()),
        ProposeError::Raft(m) => Rejection::new(ResponseError::UnknownServerError, m),
    }
}

/// Tries every configured voter but this broker; the controller answers.
async fn ask_voters(
    broker: &Broker,
    request: &ControllerRequest,
) -> Result<Option<(ControllerReply, u64)>, Rejection> {
    for voter in &broker.config.cluster.voters {
        if voter.node_id == broker.config.node_id {
            continue;
        }
        match forward(broker, &voter.address, request).await {
            Ok(Some(done)) => return Ok(Some(done)),
            Ok(None) => {}
            Err(r) if r.error == ResponseError::NotController => {}
            Err(r) => return Err(r),
        }
    }
    Ok(None)
}

/// Sends `request` to the controller at `address`; `None` when it could
/// not be reached.
async fn forward(
    broker: &Broker,
    address: &str,
    request: &ControllerRequest,
) -> Result<Option<(ControllerReply, u64)>, Rejection> {
    let Ok(channel) = channel(address) else {
        return Ok(None);
    };
    let body = serde_json::to_vec(request)
        .map_err(|e| Rejection::new(ResponseError::UnknownServerError, e.to_string()))?;
    let mut call = rpc::request(&broker.cluster_id, Json { body });
    call.set_timeout(CONTROLLER_WAIT);
    let reply = match QuorumClient::new(channel).forward(call).await {
        Ok(r) => r.into_inner().body,
        Err(status) => {
            tracing::debug!(address, %status, "forwarding to the controller failed");
            return Ok(None);
        }
    };
    let reply: ForwardReply = serde_json::from_slice(&reply)
        .map_err(|e| Rejection::new(ResponseError::UnknownServerError, e.to_string()))?;
    reply.map(Some)
}

/// Serves requests forwarded by other brokers.
pub struct ForwardedRequests(pub Arc<Broker>);

impl Forwarder for ForwardedRequests {
    fn forward(&self, body: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send + '_>> {
        Box::pin(async move {
            let reply: ForwardReply = match serde_json::from_slice::<ControllerRequest>(&body) {
                Err(e) => Err(Rejection::new(
                    ResponseError::InvalidRequest,
                    format!("undecodable controller request: {e}"),
                )),
                Ok(_) if !self.0.quorum.is_leader() => {
                    Err(not_controller("this broker is not the active controller"))
                }
                Ok(ControllerRequest::FenceBroker { .. }) => Err(Rejection::new(
                    ResponseError::InvalidRequest,
                    "only the controller fences brokers",
                )),
                Ok(request) => decide_here(&self.0, &request).await,
            };
            serde_json::to_vec(&reply).unwrap_or_default()
        })
    }

    fn heard_from_controller(&self, leader: i32) {
        if leader != self.0.config.node_id {
            self.0.liveness.heard_from_controller(leader);
        }
    }
}
