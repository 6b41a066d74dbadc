//! Dereference: reads what exists for a cluster — the objects it owns, its
//! broker pods and their claims — so every later step decides from one
//! consistent observation.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

use super::names;
use crate::crd::KafkaCluster;

/// What exists for one cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The ConfigMap, if it exists.
    pub config_map: Option<ConfigMap>,
    /// The headless Service, if it exists.
    pub headless_service: Option<Service>,
    /// The bootstrap Service, if it exists.
    pub bootstrap_service: Option<Service>,
    /// The StatefulSet, if it exists.
    pub stateful_set: Option<StatefulSet>,
    /// The PodDisruptionBudget, if it exists.
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    /// Broker pods.
    pub pods: Vec<Pod>,
    /// Broker data claims.
    pub claims: Vec<PersistentVolumeClaim>,
}

impl Observed {
    /// Broker pods whose Ready condition is true.
    pub fn ready_brokers(&self) -> i32 {
        let ready = self
            .pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        i32::try_from(ready).unwrap_or(i32::MAX)
    }
}

/// Reads everything a reconcile of `cluster` needs.
pub async fn observe(client: &Client, cluster: &KafkaCluster) -> Result<Observed, kube::Error> {
    let ns = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    let selector = names::selector_labels(&name)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let list = ListParams::default().labels(&selector);
    Ok(Observed {
        config_map: Api::<ConfigMap>::namespaced(client.clone(), &ns)
            .get_opt(&names::config_map(&name))
            .await?,
        headless_service: Api::<Service>::namespaced(client.clone(), &ns)
            .get_opt(&names::headless_service(&name))
            .await?,
        bootstrap_service: Api::<Service>::namespaced(client.clone(), &ns)
            .get_opt(&names::bootstrap_service(&name))
            .await?,
        stateful_set: Api::<StatefulSet>::namespaced(client.clone(), &ns)
            .get_opt(&names::stateful_set(&name))
            .await?,
        pod_disruption_budget: Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
            .get_opt(&names::stateful_set(&name))
            .await?,
        pods: Api::<Pod>::namespaced(client.clone(), &ns)
            .list(&list)
            .await?
            .items,
        claims: Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns)
            .list(&list)
            .await?
            .items,
    })
}
