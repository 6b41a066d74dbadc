//! openraft's network over tonic: each Raft RPC is one unary gRPC call
//! carrying the openraft message as JSON.

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::Channel;

use super::types::{Node, NodeId, TypeConfig};
use crate::rpc::{self, channel, quorum_client::QuorumClient, Json};

/// Makes a client per peer.
#[derive(Debug, Clone)]
pub struct Network {
    cluster_id: String,
}

impl Network {
    /// A network for the quorum of `cluster_id`.
    pub fn new(cluster_id: String) -> Network {
        Network { cluster_id }
    }
}

/// A client for one peer.
#[derive(Debug)]
pub struct Peer {
    target: NodeId,
    cluster_id: String,
    client: Option<QuorumClient<Channel>>,
    error: Option<String>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        let (client, error) = match channel(&node.addr) {
            Ok(c) => (Some(QuorumClient::new(c)), None),
            Err(e) => (None, Some(format!("{}: {e}", node.addr))),
        };
        Peer {
            target,
            cluster_id: self.cluster_id.clone(),
            client,
            error,
        }
    }
}

/// Why a call failed before the peer answered.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CallError(String);

impl Peer {
    async fn call<Req, Resp, E>(
        &mut self,
        method: Method,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let Some(client) = self.client.as_mut() else {
            let e = CallError(self.error.clone().unwrap_or_default());
            return Err(RPCError::Unreachable(Unreachable::new(&e)));
        };
        let body =
            serde_json::to_vec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = rpc::request(&self.cluster_id, Json { body });
        request.set_timeout(option.hard_ttl());
        let reply = match method {
            Method::Vote => client.vote(request).await,
            Method::AppendEntries => client.append_entries(request).await,
            Method::InstallSnapshot => client.install_snapshot(request).await,
        };
        let reply = reply.map_err(|status| {
            if status.code() == tonic::Code::PermissionDenied {
                tracing::error!(
                    peer = self.target,
                    reason = status.message(),
                    "the peer refuses this broker's Raft request"
                );
            }
            let e = CallError(status.to_string());
            match status.code() {
                tonic::Code::Unavailable | tonic::Code::FailedPrecondition => {
                    RPCError::Unreachable(Unreachable::new(&e))
                }
                _ => RPCError::Network(NetworkError::new(&e)),
            }
        })?;
        let result: Result<Resp, RaftError<NodeId, E>> =
            serde_json::from_slice(&reply.into_inner().body)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

/// The three Raft RPCs.
#[derive(Debug, Clone, Copy)]
enum Method {
    Vote,
    AppendEntries,
    InstallSnapshot,
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call(Method::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Method::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call(Method::Vote, &rpc, &option).await
    }
}
