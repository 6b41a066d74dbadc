//! Apply: writes the desired objects with server-side apply under one field
//! manager, configuration first, and carries out the few imperative steps
//! (growing claims, restarting one broker).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use super::build::Desired;
use super::names;

/// What an apply changed, for events.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The object did not exist and was created.
    Created(ObjectReference),
    /// The object existed and changed.
    Updated(ObjectReference),
}

async fn apply_one<K>(
    client: &Client,
    ns: &str,
    object: &K,
    before: Option<&K>,
) -> Result<Option<Change>, kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), ns);
    let name = object.name_any();
    let params = PatchParams::apply(names::FIELD_MANAGER).force();
    let after = api.patch(&name, &params, &Patch::Apply(object)).await?;
    let reference = after.object_ref(&K::DynamicType::default());
    Ok(match before {
        None => Some(Change::Created(reference)),
        Some(b) if b.resource_version() != after.resource_version() => {
            Some(Change::Updated(reference))
        }
        Some(_) => None,
    })
}

/// Applies every desired object; returns what changed.
pub async fn apply(
    client: &Client,
    ns: &str,
    desired: &Desired,
    observed: &super::observe::Observed,
) -> Result<Vec<Change>, kube::Error> {
    let mut changes = Vec::new();
    changes.extend(
        apply_one::<ConfigMap>(
            client,
            ns,
            &desired.config_map,
            observed.config_map.as_ref(),
        )
        .await?,
    );
    changes.extend(
        apply_one::<Service>(
            client,
            ns,
            &desired.headless_service,
            observed.headless_service.as_ref(),
        )
        .await?,
    );
    changes.extend(
        apply_one::<Service>(
            client,
            ns,
            &desired.bootstrap_service,
            observed.bootstrap_service.as_ref(),
        )
        .await?,
    );
    changes.extend(
        apply_one::<StatefulSet>(
            client,
            ns,
            &desired.stateful_set,
            observed.stateful_set.as_ref(),
        )
        .await?,
    );
    changes.extend(
        apply_one::<PodDisruptionBudget>(
            client,
            ns,
            &desired.pod_disruption_budget,
            observed.pod_disruption_budget.as_ref(),
        )
        .await?,
    );
    Ok(changes)
}

/// Raises a claim's storage request (the storage class must allow expansion).
pub async fn grow_claim(
    client: &Client,
    ns: &str,
    claim: &str,
    size: &str,
) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "spec": {"resources": {"requests": {"storage": size}}}
    });
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .patch(
            claim,
            &PatchParams::apply(names::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(())
}

/// Deletes a broker pod so the StatefulSet recreates it from the new template.
pub async fn restart_pod(client: &Client, ns: &str, pod: &str) -> Result<(), kube::Error> {
    Api::<Pod>::namespaced(client.clone(), ns)
        .delete(pod, &DeleteParams::default())
        .await?;
    Ok(())
}

/// Writes the status subresource.
pub async fn write_status(
    client: &Client,
    ns: &str,
    name: &str,
    status: &crate::crd::KafkaClusterStatus,
) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": "weir.dev/v1alpha1",
        "kind": "KafkaCluster",
        "status": status,
    });
    Api::<crate::crd::KafkaCluster>::namespaced(client.clone(), ns)
        .patch_status(
            name,
            &PatchParams::apply(names::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(())
}
