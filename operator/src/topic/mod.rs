//! Reconciling a `KafkaTopic`: find its cluster, read the topic through the
//! Kafka admin API, [`plan`] the calls that bring it to the spec, make them,
//! and report a `Ready` condition with a reason a person can act on. A
//! finalizer deletes the topic with the object unless `deletionPolicy` is
//! `Retain`.

pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::cluster::names::FIELD_MANAGER;
use crate::crd::kafka_topic::DeletionPolicy;
use crate::crd::{KafkaCluster, KafkaTopic, KafkaTopicStatus};
use crate::kafka::{AdminClient, KafkaError};
use plan::Step;

/// The finalizer that lets the operator delete the topic first.
pub const FINALIZER: &str = "weir.dev/topic";

/// Finds the Kafka address of a cluster: its bootstrap Service in
/// production, a local broker in tests.
pub type Resolver = Arc<dyn Fn(&KafkaCluster) -> String + Send + Sync>;

/// What topic reconciles share.
pub struct TopicContext {
    /// The Kubernetes client.
    pub client: Client,
    /// How to reach a cluster's brokers.
    pub resolve: Resolver,
}

/// Why a topic reconcile failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer machinery failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The object has no namespace.
    #[error("KafkaTopic has no namespace")]
    MissingNamespace,
}

/// The topic's name in Kafka.
pub fn topic_name(topic: &KafkaTopic) -> String {
    topic
        .spec
        .topic_name
        .clone()
        .unwrap_or_else(|| topic.name_any())
}

/// Why the topic is not ready, if it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NotReady {
    reason: &'static str,
    message: String,
}

fn ready_condition(
    result: &Result<String, NotReady>,
    generation: Option<i64>,
    previous: &[Condition],
) -> Condition {
    let (status, reason, message) = match result {
        Ok(_) => (
            "True",
            "Reconciled",
            "the topic matches its spec".to_string(),
        ),
        Err(n) => ("False", n.reason, n.message.clone()),
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == status)
        .map_or(now, |c| c.last_transition_time.clone());
    Condition {
        type_: "Ready".into(),
        status: status.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

fn kafka_failure(e: KafkaError) -> NotReady {
    match e {
        KafkaError::Refused { code, message } => NotReady {
            reason: "KafkaRefused",
            message: format!("{code:?}: {message}"),
        },
        other => NotReady {
            reason: "ClusterUnreachable",
            message: other.to_string(),
        },
    }
}

/// Another KafkaTopic of the same cluster that claimed the same topic first.
async fn duplicate_of(
    client: &Client,
    ns: &str,
    topic: &KafkaTopic,
) -> Result<Option<String>, kube::Error> {
    let name = topic_name(topic);
    let others = Api::<KafkaTopic>::namespaced(client.clone(), ns)
        .list(&Default::default())
        .await?;
    let mine = (topic.creation_timestamp(), topic.name_any());
    Ok(others
        .items
        .iter()
        .filter(|o| o.name_any() != topic.name_any())
        .filter(|o| o.spec.cluster_ref == topic.spec.cluster_ref && topic_name(o) == name)
        .filter(|o| (o.creation_timestamp(), o.name_any()) < mine)
        .map(|o| o.name_any())
        .next())
}

/// Brings the topic to its spec; `Ok` carries the topic id.
async fn converge(
    ctx: &TopicContext,
    ns: &str,
    topic: &KafkaTopic,
) -> Result<Result<String, NotReady>, Error> {
    let Some(cluster) = Api::<KafkaCluster>::namespaced(ctx.client.clone(), ns)
        .get_opt(&topic.spec.cluster_ref)
        .await?
    else {
        return Ok(Err(NotReady {
            reason: "ClusterNotFound",
            message: format!(
                "KafkaCluster {} does not exist in {ns}",
                topic.spec.cluster_ref
            ),
        }));
    };
    if let Some(first) = duplicate_of(&ctx.client, ns, topic).await? {
        return Ok(Err(NotReady {
            reason: "DuplicateTopic",
            message: format!(
                "KafkaTopic {first} already manages topic {}",
                topic_name(topic)
            ),
        }));
    }
    let name = topic_name(topic);
    let address = (ctx.resolve)(&cluster);
    let result = async {
        let mut admin = AdminClient::connect(&address).await?;
        let current = admin.describe_topic(&name).await?;
        // A replication factor change in progress: report it and let it
        // finish before planning anything else.
        let moving = admin
            .reassignments()
            .await?
            .keys()
            .filter(|(t, _)| *t == name)
            .count();
        if moving > 0 {
            return Ok(Err(NotReady {
                reason: "Reassigning",
                message: format!(
                    "{moving} partition(s) moving to replication factor {}",
                    topic.spec.replication_factor
                ),
            }));
        }
        let steps = match plan::plan(
            topic.spec.partitions,
            topic.spec.replication_factor,
            &topic.spec.config,
            current.as_ref(),
        ) {
            Ok(steps) => steps,
            Err(refusal) => {
                return Ok(Err(NotReady {
                    reason: "Unsupported",
                    message: refusal.to_string(),
                }))
            }
        };
        for step in &steps {
            tracing::info!(topic = %name, ?step, "changing topic");
            match step {
                Step::Create {
                    partitions,
                    replication_factor,
                    configs,
                } => {
                    admin
                        .create_topic(&name, *partitions, *replication_factor, configs)
                        .await?
                }
                Step::AddPartitions(count) => admin.create_partitions(&name, *count).await?,
                Step::AlterConfigs { set, delete } => {
                    admin.alter_configs(&name, set, delete).await?
                }
                Step::Reassign(targets) => {
                    let moves: Vec<(String, i32, Vec<i32>)> = targets
                        .iter()
                        .map(|(p, r)| (name.clone(), *p, r.clone()))
                        .collect();
                    admin.reassign(&moves).await?;
                }
            }
        }
        if let Some(Step::Reassign(targets)) = steps.iter().find(|s| matches!(s, Step::Reassign(_)))
        {
            return Ok(Err(NotReady {
                reason: "Reassigning",
                message: format!(
                    "{} partition(s) moving to replication factor {}",
                    targets.len(),
                    topic.spec.replication_factor
                ),
            }));
        }
        let id = match (steps.is_empty(), current) {
            (true, Some(c)) => c.topic_id,
            _ => admin
                .describe_topic(&name)
                .await?
                .map(|t| t.topic_id)
                .unwrap_or_default(),
        };
        Ok::<_, KafkaError>(Ok(id))
    }
    .await;
    Ok(result.unwrap_or_else(|e| Err(kafka_failure(e))))
}

async fn apply(topic: Arc<KafkaTopic>, ctx: &TopicContext) -> Result<Action, Error> {
    let ns = topic.namespace().ok_or(Error::MissingNamespace)?;
    let outcome = converge(ctx, &ns, &topic).await?;
    let previous = topic.status.clone().unwrap_or_default();
    let status = KafkaTopicStatus {
        observed_generation: topic.metadata.generation,
        conditions: vec![ready_condition(
            &outcome,
            topic.metadata.generation,
            &previous.conditions,
        )],
        topic_id: outcome.as_ref().ok().cloned().or(previous.topic_id.clone()),
    };
    if status != previous {
        let patch =
            json!({"apiVersion": "weir.dev/v1alpha1", "kind": "KafkaTopic", "status": status});
        Api::<KafkaTopic>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &topic.name_any(),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
    }
    Ok(match outcome {
        Ok(_) => Action::requeue(Duration::from_secs(300)),
        Err(_) => Action::requeue(Duration::from_secs(30)),
    })
}

async fn cleanup(topic: Arc<KafkaTopic>, ctx: &TopicContext) -> Result<Action, Error> {
    let ns = topic.namespace().ok_or(Error::MissingNamespace)?;
    if topic.spec.deletion_policy == DeletionPolicy::Retain {
        return Ok(Action::await_change());
    }
    let cluster = Api::<KafkaCluster>::namespaced(ctx.client.clone(), &ns)
        .get_opt(&topic.spec.cluster_ref)
        .await?;
    let Some(cluster) = cluster else {
        // The cluster and its data are gone already.
        return Ok(Action::await_change());
    };
    if duplicate_of(&ctx.client, &ns, &topic).await?.is_some() {
        // The topic belongs to the first KafkaTopic that named it.
        return Ok(Action::await_change());
    }
    let name = topic_name(&topic);
    let address = (ctx.resolve)(&cluster);
    let deleted = async {
        let mut admin = AdminClient::connect(&address).await?;
        admin.delete_topic(&name).await
    }
    .await;
    match deleted {
        Ok(()) => {
            tracing::info!(topic = %name, "deleted topic");
            Ok(Action::await_change())
        }
        Err(e) => Err(Error::Finalizer(format!("deleting topic {name}: {e}"))),
    }
}

/// Reconciles one KafkaTopic.
pub async fn reconcile(topic: Arc<KafkaTopic>, ctx: Arc<TopicContext>) -> Result<Action, Error> {
    let ns = topic.namespace().ok_or(Error::MissingNamespace)?;
    let api = Api::<KafkaTopic>::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, topic, |event| async {
        match event {
            Finalizer::Apply(t) => apply(t, &ctx).await,
            Finalizer::Cleanup(t) => cleanup(t, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(e.to_string()))
}

/// Retries a failed topic reconcile after a pause.
pub fn error_policy(topic: Arc<KafkaTopic>, error: &Error, _ctx: Arc<TopicContext>) -> Action {
    tracing::warn!(topic = %topic.name_any(), error = %error, "topic reconcile failed");
    Action::requeue(Duration::from_secs(15))
}
