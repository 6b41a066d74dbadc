//! Wiring: kube-runtime controllers for KafkaClusters (and the objects they
//! own) and KafkaTopics, calling [`crate::cluster::reconcile`] and
//! [`crate::topic::reconcile`].

use std::future::Future;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client};

use crate::cluster::{self, Context};
use crate::crd::{KafkaCluster, KafkaTopic};
use crate::metrics::Metrics;
use crate::topic::{self, TopicContext};

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the KafkaCluster and KafkaTopic controllers until `shutdown` completes.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    identity: String,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let ns = namespace.as_deref();
    let reporter = Reporter {
        controller: "weir-operator".into(),
        instance: Some(identity),
    };
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client: client.clone(),
        metrics,
    });
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=weir-operator");
    let topics_ctx = Arc::new(TopicContext {
        client: client.clone(),
        resolve: Arc::new(crate::cluster::build::bootstrap_service::address),
    });
    // Both controllers stop on the same signal.
    let stop = shutdown.shared();
    let topics = Controller::new(api::<KafkaTopic>(&client, ns), watcher::Config::default())
        .graceful_shutdown_on(stop.clone())
        .run(topic::reconcile, topic::error_policy, topics_ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(topic = %object.name, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "topic reconcile error"),
            }
        });
    let clusters = Controller::new(api::<KafkaCluster>(&client, ns), watcher::Config::default())
        .owns(api::<StatefulSet>(&client, ns), config.clone())
        .owns(api::<ConfigMap>(&client, ns), config.clone())
        .owns(api::<Service>(&client, ns), config.clone())
        .owns(api::<PodDisruptionBudget>(&client, ns), config)
        .graceful_shutdown_on(stop)
        .run(cluster::reconcile, cluster::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(cluster = %object.name, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "reconcile error"),
            }
        });
    futures::future::join(clusters, topics).await;
}
