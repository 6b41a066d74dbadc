//! The headless Service: a DNS name per broker (`<pod>.<cluster>-brokers`),
//! published before the pod is ready so brokers find each other while
//! starting.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use kube::ResourceExt;

use super::metadata;
use crate::cluster::names;
use crate::crd::KafkaCluster;

/// Builds the headless Service.
pub fn build(cluster: &KafkaCluster) -> Service {
    let name = cluster.name_any();
    let l = &cluster.spec.listeners;
    Service {
        metadata: metadata(cluster, names::headless_service(&name)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(names::selector_labels(&name)),
            ports: Some(vec![
                port("kafka", l.kafka),
                port("internal", l.internal),
                port("http", l.http),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A TCP port named after its listener.
pub fn port(name: &str, number: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: number,
        target_port: Some(
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name.into()),
        ),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}
