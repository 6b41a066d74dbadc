//! DescribeCluster: cluster id, controller and brokers (KIP-700).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::metadata::CLUSTER_OPERATIONS;
use crate::broker::Broker;

/// The endpoint type for brokers; controllers (2) are not served by brokers.
const BROKER_ENDPOINTS: i8 = 1;

/// Handles a DescribeCluster request.
pub fn handle(
    broker: &Broker,
    request: DescribeClusterRequest,
    version: i16,
    listener: &str,
) -> DescribeClusterResponse {
    if version >= 1 && request.endpoint_type != BROKER_ENDPOINTS {
        return DescribeClusterResponse::default()
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "The request was sent to an endpoint of type BROKER, but CONTROLLER endpoints were requested.",
            )))
            .with_endpoint_type(BROKER_ENDPOINTS)
            .with_controller_id(BrokerId(-1));
    }
    let image = broker.image();
    // Fenced brokers are left out unless v2 asks for them (KIP-1073), as
    // Kafka does.
    let brokers = image
        .brokers
        .values()
        .filter(|b| request.include_fenced_brokers || !image.fenced.contains(&b.node_id))
        .filter_map(|b| {
            let e = b.endpoint(listener)?;
            Some(
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.node_id))
                    .with_host(StrBytes::from_string(e.host.clone()))
                    .with_port(i32::from(e.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string))
                    .with_is_fenced(image.fenced.contains(&b.node_id)),
            )
        })
        .collect();
    let mut response = DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(broker.cluster_id.clone()))
        .with_controller_id(BrokerId(
            broker.quorum.leader().unwrap_or(broker.config.node_id),
        ))
        .with_brokers(brokers);
    if version >= 1 {
        response.endpoint_type = BROKER_ENDPOINTS;
    }
    if request.include_cluster_authorized_operations {
        response.cluster_authorized_operations = CLUSTER_OPERATIONS;
    }
    response
}
