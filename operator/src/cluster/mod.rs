//! Reconciling a `KafkaCluster`, read as a pipeline, one step per file:
//! [`observe`] (dereference what exists) → [`validate`] → [`build`] (desired
//! objects) → [`apply`] (server-side apply, claim growth, one broker
//! restart) → [`status`]. Decisions ([`validate`], [`build`], [`roll`],
//! [`storage`], [`status`]) are pure and carry the tests; [`observe`] and
//! [`apply`] are the thin layer that talks to Kubernetes.

pub mod apply;
pub mod build;
pub mod names;
pub mod observe;
pub mod roll;
pub mod status;
pub mod storage;
pub mod validate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};

use crate::crd::KafkaCluster;
use crate::metrics::Metrics;
use apply::Change;
use status::Outcome;

/// Why a reconcile failed; the controller retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The object has no namespace (the CRD is namespaced, so this is a bug
    /// in whoever sent it).
    #[error("KafkaCluster has no namespace")]
    MissingNamespace,
}

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Publishes Events on the KafkaCluster.
    pub recorder: Recorder,
    /// Reconcile metrics.
    pub metrics: Arc<Metrics>,
}

/// How soon to look again when nothing else triggers a reconcile.
fn requeue_after(ready: bool) -> Duration {
    if ready {
        Duration::from_secs(300)
    } else {
        Duration::from_secs(10)
    }
}

async fn publish(
    ctx: &Context,
    cluster: &KafkaCluster,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    publish_about(ctx, cluster, type_, reason, action, note, None).await;
}

/// Publishes an event on the cluster; `secondary` names the object acted on,
/// which also keeps events about different objects from merging.
async fn publish_about(
    ctx: &Context,
    cluster: &KafkaCluster,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
    secondary: Option<ObjectReference>,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cluster.object_ref(&())).await {
        tracing::warn!(error = %e, "publishing an event failed");
    }
}

/// Reconciles one KafkaCluster.
pub async fn reconcile(cluster: Arc<KafkaCluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&cluster, &ctx).await;
    ctx.metrics
        .observe_reconcile(started.elapsed(), result.is_err());
    result
}

async fn reconcile_inner(cluster: &KafkaCluster, ctx: &Context) -> Result<Action, Error> {
    let ns = cluster.namespace().ok_or(Error::MissingNamespace)?;
    let name = cluster.name_any();
    let client = &ctx.client;

    let observed = observe::observe(client, cluster).await?;
    let mut failure = None;
    let valid = validate::validate(&cluster.spec)
        .and_then(|()| storage::refuse_shrink(&observed.claims, &cluster.spec.storage.size));
    let outcome = match valid {
        Err(e) => {
            publish(
                ctx,
                cluster,
                EventType::Warning,
                "InvalidSpec",
                "Validate",
                e.to_string(),
            )
            .await;
            Outcome::InvalidSpec(e.to_string())
        }
        Ok(()) => {
            let desired = build::build(cluster, observed.stateful_set.as_ref());
            match apply::apply(client, &ns, &desired, &observed).await {
                Ok(changes) => {
                    for change in changes {
                        let (reason, verb, what) = match change {
                            Change::Created(what) => ("Created", "created", what),
                            Change::Updated(what) => ("Updated", "updated", what),
                        };
                        let note = format!(
                            "{verb} {} {}",
                            what.kind.as_deref().unwrap_or_default(),
                            what.name.as_deref().unwrap_or_default()
                        );
                        publish_about(
                            ctx,
                            cluster,
                            EventType::Normal,
                            reason,
                            "Apply",
                            note,
                            Some(what),
                        )
                        .await;
                    }
                    for claim in
                        storage::claims_to_grow(&observed.claims, &cluster.spec.storage.size)
                    {
                        apply::grow_claim(client, &ns, &claim, &cluster.spec.storage.size).await?;
                        let note = format!("growing {claim} to {}", cluster.spec.storage.size);
                        publish(
                            ctx,
                            cluster,
                            EventType::Normal,
                            "GrowingStorage",
                            "Resize",
                            note,
                        )
                        .await;
                    }
                    if let Some(pod) = roll::next_pod_to_restart(&observed, cluster.spec.replicas) {
                        apply::restart_pod(client, &ns, &pod).await?;
                        let note = format!("restarting {pod} to apply the new template");
                        publish(
                            ctx,
                            cluster,
                            EventType::Normal,
                            "RestartingBroker",
                            "Roll",
                            note,
                        )
                        .await;
                    }
                    Outcome::Applied
                }
                Err(e) => {
                    publish(
                        ctx,
                        cluster,
                        EventType::Warning,
                        "ApplyFailed",
                        "Apply",
                        e.to_string(),
                    )
                    .await;
                    let outcome = Outcome::ApplyFailed(e.to_string());
                    failure = Some(e);
                    outcome
                }
            }
        }
    };

    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let next = status::compute(cluster, &observed, &outcome, now);
    if cluster.status.as_ref() != Some(&next) {
        apply::write_status(client, &ns, &name, &next).await?;
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    let ready = next
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    Ok(Action::requeue(requeue_after(ready)))
}

/// Retries a failed reconcile after a pause.
pub fn error_policy(cluster: Arc<KafkaCluster>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(cluster = %cluster.name_any(), error = %error, "reconcile failed");
    Action::requeue(Duration::from_secs(15))
}

#[cfg(test)]
pub(crate) mod tests;
