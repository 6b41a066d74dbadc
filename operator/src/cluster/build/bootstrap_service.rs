//! The bootstrap Service: one stable address for clients' `bootstrap.servers`;
//! the brokers then tell clients their own addresses.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use kube::ResourceExt;

use super::headless_service::port;
use super::metadata;
use crate::cluster::names;
use crate::crd::KafkaCluster;

/// Builds the bootstrap Service.
pub fn build(cluster: &KafkaCluster) -> Service {
    let name = cluster.name_any();
    let l = &cluster.spec.listeners;
    let mut ports = vec![port("kafka", l.kafka)];
    if cluster.spec.metrics.enabled {
        ports.push(port("http", l.http));
    }
    Service {
        metadata: metadata(cluster, names::bootstrap_service(&name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(names::selector_labels(&name)),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The address clients bootstrap from.
pub fn address(cluster: &KafkaCluster) -> String {
    format!(
        "{}.{}.svc:{}",
        names::bootstrap_service(&cluster.name_any()),
        cluster.namespace().unwrap_or_default(),
        cluster.spec.listeners.kafka
    )
}
