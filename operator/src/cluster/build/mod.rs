//! Desired objects of a `KafkaCluster`: pure functions from the spec (and,
//! where Kubernetes forbids changes, what already exists) to the objects to
//! apply. Same input, byte-identical output, so an operator upgrade applies
//! nothing new and restarts no broker.

pub mod bootstrap_service;
pub mod config_map;
pub mod headless_service;
pub mod pod_disruption_budget;
pub mod stateful_set;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};

use super::names;
use crate::crd::KafkaCluster;

/// Everything a cluster owns, in the order it is applied: configuration
/// before the StatefulSet, so one change rolls the pods once.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// `server.properties`.
    pub config_map: ConfigMap,
    /// Per-broker DNS.
    pub headless_service: Service,
    /// Client bootstrap.
    pub bootstrap_service: Service,
    /// The brokers.
    pub stateful_set: StatefulSet,
    /// At most one broker down by choice.
    pub pod_disruption_budget: PodDisruptionBudget,
}

/// Builds every desired object with `replicas` brokers. `existing` is the
/// StatefulSet as it is now, if any: its volume claim templates cannot
/// change and are kept.
pub fn build(cluster: &KafkaCluster, existing: Option<&StatefulSet>, replicas: i32) -> Desired {
    let config_map = config_map::build(cluster);
    let hash = config_map::hash(&config_map);
    Desired {
        headless_service: headless_service::build(cluster),
        bootstrap_service: bootstrap_service::build(cluster),
        stateful_set: stateful_set::build(cluster, &hash, existing, replicas),
        pod_disruption_budget: pod_disruption_budget::build(cluster),
        config_map,
    }
}

/// Metadata of an owned object: name, namespace, labels and the owner
/// reference that makes Kubernetes delete it with the cluster.
pub fn metadata(cluster: &KafkaCluster, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: cluster.namespace(),
        labels: Some(names::labels(&cluster.name_any())),
        owner_references: owner_reference(cluster).map(|o| vec![o]),
        ..ObjectMeta::default()
    }
}

fn owner_reference(cluster: &KafkaCluster) -> Option<OwnerReference> {
    cluster.controller_owner_ref(&())
}

#[cfg(test)]
mod tests;
