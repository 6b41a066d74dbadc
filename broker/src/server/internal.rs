//! The internal listener: the gRPC services brokers offer each other (the
//! metadata quorum, forwarded controller requests and replication).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::broker::{Broker, StartError};
use crate::config::ClusterConfig;
use crate::controller::forwarding::ForwardedRequests;
use crate::quorum::service::QuorumService;
use crate::replica_manager::replica_fetch::ReplicationService;
use crate::rpc::quorum_server::QuorumServer;
use crate::rpc::replication_server::ReplicationServer;
use crate::rpc::MAX_MESSAGE_BYTES;

/// Binds the internal listener. A broker that is a one-voter cluster of
/// itself and was not given an address has no peers to be reached by, so if
/// the default port is taken it takes any free one rather than failing.
pub async fn bind(config: &ClusterConfig) -> Result<TcpListener, StartError> {
    let address = config.internal_listener.as_str();
    match TcpListener::bind(address).await {
        Ok(l) => Ok(l),
        Err(e)
            if e.kind() == std::io::ErrorKind::AddrInUse
                && !config.internal_listener_explicit
                && config.voters.is_empty() =>
        {
            let l = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|source| StartError::Bind {
                    address: "127.0.0.1:0".to_string(),
                    source,
                })?;
            tracing::info!(default = address, actual = ?l.local_addr().ok(), "default internal listener port taken; a one-voter broker uses a free one");
            Ok(l)
        }
        Err(source) => Err(StartError::Bind {
            address: address.to_string(),
            source,
        }),
    }
}

/// Serves the internal services until `stop` completes.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, stop: impl Future<Output = ()>) {
    let quorum = QuorumService::new(
        broker.quorum.raft().clone(),
        broker.cluster_id.clone(),
        Arc::new(ForwardedRequests(broker.clone())),
    );
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let served = tonic::transport::Server::builder()
        .add_service(
            QuorumServer::new(quorum)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            ReplicationServer::new(ReplicationService::new(broker.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(incoming, stop)
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "internal listener failed");
    }
}
