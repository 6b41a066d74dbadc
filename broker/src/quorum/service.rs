//! The quorum's gRPC service: Raft RPCs from peers handed to openraft, and
//! controller requests forwarded by other brokers handed to the controller.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tonic::{Request, Response, Status};

use super::types::{NodeId, Raft};
use crate::rpc::{self, quorum_server::Quorum, Json};

/// What the rest of the broker does with what peers send: runs forwarded
/// controller requests, and learns when the controller was last heard from.
pub trait Forwarder: Send + Sync + 'static {
    /// Handles one forwarded request (JSON in, JSON out).
    fn forward(&self, body: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send + '_>>;

    /// The controller (Raft leader) `leader` sent an append or heartbeat.
    fn heard_from_controller(&self, leader: i32);
}

/// The Quorum service of one broker.
pub struct QuorumService {
    raft: Raft,
    cluster_id: String,
    forwarder: Arc<dyn Forwarder>,
}

impl QuorumService {
    /// Serves `raft` for `cluster_id`, forwarding controller requests to `forwarder`.
    pub fn new(raft: Raft, cluster_id: String, forwarder: Arc<dyn Forwarder>) -> Self {
        QuorumService {
            raft,
            cluster_id,
            forwarder,
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, request: &Request<Json>) -> Result<T, Status> {
        rpc::check_cluster(&self.cluster_id, request)?;
        serde_json::from_slice(&request.get_ref().body)
            .map_err(|e| Status::invalid_argument(format!("undecodable message: {e}")))
    }
}

fn reply<T: Serialize>(value: &T) -> Result<Response<Json>, Status> {
    serde_json::to_vec(value)
        .map(|body| Response::new(Json { body }))
        .map_err(|e| Status::internal(e.to_string()))
}

#[tonic::async_trait]
impl Quorum for QuorumService {
    async fn vote(&self, request: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc: openraft::raft::VoteRequest<NodeId> = self.decode(&request)?;
        // Raft lets any node that asks raise the term; a node outside the
        // voter set (a broker started with a voter list of its own) must
        // not be able to depose the controller that way.
        let candidate = rpc.vote.leader_id().voted_for();
        let voters: BTreeSet<NodeId> = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        if let Some(candidate) = candidate.filter(|c| !voters.is_empty() && !voters.contains(c)) {
            return Err(Status::permission_denied(format!(
                "node {candidate} is not a voter of this cluster (voters {})",
                voters
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        reply(&self.raft.vote(rpc).await)
    }

    async fn append_entries(&self, request: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc: openraft::raft::AppendEntriesRequest<super::types::TypeConfig> =
            self.decode(&request)?;
        if let Some(leader) = rpc
            .vote
            .leader_id()
            .voted_for()
            .and_then(|id| i32::try_from(id).ok())
        {
            self.forwarder.heard_from_controller(leader);
        }
        reply(&self.raft.append_entries(rpc).await)
    }

    async fn install_snapshot(&self, request: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc = self.decode(&request)?;
        reply(&self.raft.install_snapshot(rpc).await)
    }

    async fn forward(&self, request: Request<Json>) -> Result<Response<Json>, Status> {
        rpc::check_cluster(&self.cluster_id, &request)?;
        let body = self.forwarder.forward(request.into_inner().body).await;
        Ok(Response::new(Json { body }))
    }
}
