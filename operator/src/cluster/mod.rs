//! Reconciling a `KafkaCluster`, read as a pipeline, one step per file:
//! [`observe`] (dereference what exists) and [`brokers`] (ask the brokers;
//! [`health`] judges) → [`validate`] → [`scale`] (how many brokers, what
//! moves) → [`build`] (desired objects) → [`apply`] (server-side apply,
//! claim growth) → the scale step on the brokers ([`brokers`]) → one broker
//! restart ([`roll`]) → [`status`]. Decisions ([`validate`], [`health`],
//! [`scale`], [`build`], [`roll`], [`storage`], [`status`], [`live_config`])
//! are pure and
//! carry the tests; [`observe`], [`brokers`] and [`apply`] are the thin
//! layer that talks to Kubernetes and Kafka.

pub mod apply;
pub mod brokers;
pub mod build;
pub mod health;
pub mod live_config;
pub mod names;
pub mod observe;
pub mod rebalance;
pub mod roll;
pub mod scale;
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

use crate::crd::kafka_cluster::OperationStatus;
use crate::crd::KafkaCluster;
use crate::kafka;
use crate::metrics::Metrics;
use apply::Change;
use status::{ClusterState, Outcome};

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

/// How soon to look again when nothing else triggers a reconcile: the
/// brokers' health changes without any Kubernetes event, and a long
/// operation advances on what the brokers report.
fn requeue_after(settled: bool) -> Duration {
    if settled {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(5)
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
    let current = observed
        .stateful_set
        .as_ref()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas);
    let desired = cluster.spec.replicas;
    let views = if observed.stateful_set.is_some() {
        brokers::ask(cluster, current.unwrap_or(desired).max(desired)).await
    } else {
        Vec::new()
    };
    let view = views.first().map(|(_, v)| v);
    let mut state = ClusterState {
        health: (!views.is_empty())
            .then(|| health::judge(&views, desired, &build::stateful_set::cluster_id(cluster))),
        operation: None,
        config_refused: None,
    };
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
            let decision =
                scale::decide(desired, current, cluster.spec.rebalance.on_scale_up, view);
            tracing::debug!(cluster = %name, ?decision, "scale decision");
            let desired_objects =
                build::build(cluster, observed.stateful_set.as_ref(), decision.replicas);
            match apply::apply(client, &ns, &desired_objects, &observed).await {
                Ok(changes) => {
                    // A StatefulSet changed just now: what was observed of
                    // its revisions is stale, and a pod deleted before its
                    // controller saw the new template would come back with
                    // the old one. The next reconcile rolls.
                    let template_changed = changes.iter().any(|c| {
                        let (Change::Created(what) | Change::Updated(what)) = c;
                        what.kind.as_deref() == Some("StatefulSet")
                    });
                    announce_changes(ctx, cluster, changes).await;
                    grow_claims(ctx, cluster, &ns, &observed).await?;
                    if let Some((via, _)) = views.first() {
                        state.config_refused = apply_live_config(ctx, cluster, *via).await;
                    }
                    state.operation = operate(ctx, cluster, &views, &decision, current).await;
                    if state.operation.is_none() && !template_changed {
                        state.operation =
                            roll(ctx, cluster, &ns, &observed, decision.replicas, view).await?;
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
    let next = status::compute(cluster, &observed, &outcome, &state, now);
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
    Ok(Action::requeue(requeue_after(
        ready && state.operation.is_none(),
    )))
}

async fn announce_changes(ctx: &Context, cluster: &KafkaCluster, changes: Vec<Change>) {
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
}

async fn grow_claims(
    ctx: &Context,
    cluster: &KafkaCluster,
    ns: &str,
    observed: &observe::Observed,
) -> Result<(), Error> {
    for claim in storage::claims_to_grow(&observed.claims, &cluster.spec.storage.size) {
        apply::grow_claim(&ctx.client, ns, &claim, &cluster.spec.storage.size).await?;
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
    Ok(())
}

/// Applies the live keys of `spec.config` as cluster-wide dynamic defaults;
/// why the brokers refused them, if they did.
async fn apply_live_config(ctx: &Context, cluster: &KafkaCluster, via: i32) -> Option<String> {
    match brokers::apply_live_config(cluster, via).await {
        Ok(change) if change.is_empty() => None,
        Ok(change) => {
            let note = format!("applied without a restart: {}", change.describe());
            // Naming the version of the spec applied keeps the Events of
            // successive changes apart (a series keeps only its first note).
            let about = ObjectReference {
                field_path: Some("spec.config".into()),
                resource_version: cluster.resource_version(),
                ..cluster.object_ref(&())
            };
            publish_about(
                ctx,
                cluster,
                EventType::Normal,
                "ConfigUpdated",
                "Configure",
                note,
                Some(about),
            )
            .await;
            None
        }
        Err(crate::kafka::KafkaError::Refused { code, message }) => {
            let why = format!("the brokers refused spec.config: {message} ({code:?})");
            publish(
                ctx,
                cluster,
                EventType::Warning,
                "ConfigRefused",
                "Configure",
                why.clone(),
            )
            .await;
            Some(why)
        }
        Err(e) => {
            tracing::info!(cluster = %cluster.name_any(), error = %e, "live config not applied yet");
            None
        }
    }
}

/// Carries out the scale decision on the brokers; the operation it amounts
/// to, for status.
async fn operate(
    ctx: &Context,
    cluster: &KafkaCluster,
    views: &[(i32, kafka::cluster::ClusterView)],
    decision: &scale::Decision,
    current: Option<i32>,
) -> Option<OperationStatus> {
    let current = current.unwrap_or(cluster.spec.replicas);
    let (kind, phase, message) = scale::operation(decision, current)?.clone();
    let op = |message: String| {
        Some(OperationStatus {
            kind: kind.into(),
            phase: phase.into(),
            message,
        })
    };
    if let scale::Step::Refused(why) = &decision.step {
        publish(
            ctx,
            cluster,
            EventType::Warning,
            "ScaleDownRefused",
            "Scale",
            why.clone(),
        )
        .await;
        return op(message);
    }
    let Some((via, view)) = views.first() else {
        return op(message);
    };
    match brokers::carry_out(cluster, *via, view, decision).await {
        Ok(done) => {
            if !done.cordoned.is_empty() {
                let note = format!(
                    "cordoned broker(s) {:?}: they take no new replicas",
                    done.cordoned
                );
                publish(ctx, cluster, EventType::Normal, "Cordoned", "Scale", note).await;
            }
            if done.moves_started > 0 {
                publish(
                    ctx,
                    cluster,
                    EventType::Normal,
                    phase,
                    "Reassign",
                    message.clone(),
                )
                .await;
            }
            for id in done.unregistered {
                let note = format!("unregistered removed broker {id}");
                publish(
                    ctx,
                    cluster,
                    EventType::Normal,
                    "UnregisteredBroker",
                    "Scale",
                    note,
                )
                .await;
            }
            if phase == "Shrinking" {
                publish(
                    ctx,
                    cluster,
                    EventType::Normal,
                    "ScalingDown",
                    "Scale",
                    message.clone(),
                )
                .await;
            }
            op(message)
        }
        Err(e) => op(format!("{message} (admin API: {e})")),
    }
}

/// Restarts the next outdated broker if it is safe; the roll's operation,
/// for status.
async fn roll(
    ctx: &Context,
    cluster: &KafkaCluster,
    ns: &str,
    observed: &observe::Observed,
    replicas: i32,
    view: Option<&kafka::cluster::ClusterView>,
) -> Result<Option<OperationStatus>, Error> {
    let outdated = roll::outdated_pods(observed).len();
    let (phase, message) = match roll::next_step(observed, replicas, view) {
        roll::RollStep::Idle => return Ok(None),
        roll::RollStep::Restart { pod, reason } => {
            apply::restart_pod(&ctx.client, ns, &pod).await?;
            let note = format!("restarting {pod}: {reason}");
            // One Event per restart: Events about the same objects with the
            // same reason merge into one series (keeping the first note), so
            // the pod is named with its uid, which each restart renews.
            let uid = observed
                .pods
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(pod.as_str()))
                .and_then(|p| p.metadata.uid.clone());
            let about = ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.clone()),
                namespace: Some(ns.to_string()),
                uid,
                ..ObjectReference::default()
            };
            publish_about(
                ctx,
                cluster,
                EventType::Normal,
                "RestartingBroker",
                "Roll",
                note.clone(),
                Some(about),
            )
            .await;
            (
                "Restarting",
                format!("{note} ({outdated} broker(s) left to restart)"),
            )
        }
        roll::RollStep::Blocked(why) => {
            ("Blocked", format!("{outdated} broker(s) to restart; {why}"))
        }
    };
    Ok(Some(OperationStatus {
        kind: "Roll".into(),
        phase: phase.into(),
        message,
    }))
}

/// Retries a failed reconcile after a pause.
pub fn error_policy(cluster: Arc<KafkaCluster>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(cluster = %cluster.name_any(), error = %error, "reconcile failed");
    Action::requeue(Duration::from_secs(15))
}

#[cfg(test)]
pub(crate) mod tests;
