//! The gRPC services brokers offer each other on the internal listener
//! (`proto/weir.proto`), and what every call carries.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

/// The code tonic generates from `proto/weir.proto`.
#[allow(missing_docs, clippy::all)]
mod generated {
    tonic::include_proto!("weir");
}

pub use generated::*;

/// A lazily connected channel to a peer's internal listener, with the
/// keep-alives that notice a dead peer within seconds.
pub fn channel(addr: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy())
}

/// Largest message accepted on the internal listener (a metadata snapshot
/// or a replica fetch response), either way.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The request header naming the sender's cluster: a broker refuses calls
/// from another cluster (a pod pointed at the wrong peers, a reused address).
pub const CLUSTER_HEADER: &str = "weir-cluster-id";

/// Builds a request carrying the cluster id.
pub fn request<T>(cluster_id: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(v) = cluster_id.parse() {
        request.metadata_mut().insert(CLUSTER_HEADER, v);
    }
    request
}

/// Refuses a request from another cluster.
pub fn check_cluster<T>(
    cluster_id: &str,
    request: &tonic::Request<T>,
) -> Result<(), tonic::Status> {
    let theirs = request
        .metadata()
        .get(CLUSTER_HEADER)
        .and_then(|v| v.to_str().ok());
    if theirs == Some(cluster_id) {
        Ok(())
    } else {
        Err(tonic::Status::failed_precondition(format!(
            "this broker belongs to cluster {cluster_id}, the caller to {}",
            theirs.unwrap_or("(none)")
        )))
    }
}
