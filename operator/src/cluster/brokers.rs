//! The thin layer between the reconcile and the running brokers: asks each
//! broker what cluster it is in (every broker, so separate clusters are
//! told apart), carries out the scale decisions through the admin API —
//! cordons, throttled reassignments, unregistering removed brokers — and
//! applies the configs that change without a restart.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::ResourceExt;

use super::live_config::{self, LiveChange};
use super::names;
use super::scale::{Decision, Step};
use crate::crd::KafkaCluster;
use crate::kafka::cluster::{ClusterView, FOLLOWER_THROTTLED_REPLICAS, LEADER_THROTTLED_REPLICAS};
use crate::kafka::{AdminClient, KafkaError};

/// How long one broker may take to answer before it counts as unreachable,
/// so one hung broker does not stall the reconcile.
const ASK_TIMEOUT: Duration = Duration::from_secs(8);

const CORDON: &str = "cordoned.log.dirs";
const LEADER_RATE: &str = "leader.replication.throttled.rate";
const FOLLOWER_RATE: &str = "follower.replication.throttled.rate";

/// The client address of broker `ordinal`.
pub fn address(cluster: &KafkaCluster, ordinal: i32) -> String {
    format!(
        "{}:{}",
        names::pod_host(
            &cluster.name_any(),
            &cluster.namespace().unwrap_or_default(),
            ordinal
        ),
        cluster.spec.listeners.kafka
    )
}

/// What brokers `0..count` say: the first that answers gives the full
/// view, the others only who their cluster and controller are.
pub async fn ask(cluster: &KafkaCluster, count: i32) -> Vec<(i32, ClusterView)> {
    let mut views: Vec<(i32, ClusterView)> = Vec::new();
    for ordinal in 0..count {
        let addr = address(cluster, ordinal);
        let full = views.is_empty();
        let asked = tokio::time::timeout(ASK_TIMEOUT, async {
            let mut admin = AdminClient::connect(&addr).await?;
            if full {
                admin.cluster_view().await
            } else {
                admin.identity().await
            }
        })
        .await;
        match asked {
            Ok(Ok(view)) => views.push((ordinal, view)),
            Ok(Err(e)) => tracing::debug!(broker = ordinal, error = %e, "broker did not answer"),
            Err(_) => tracing::debug!(broker = ordinal, "broker did not answer in time"),
        }
    }
    views
}

/// What carrying out a decision did, for Events.
#[derive(Debug, Default)]
pub struct Done {
    /// Partitions whose moves were started.
    pub moves_started: usize,
    /// Brokers newly cordoned.
    pub cordoned: Vec<i32>,
    /// Brokers unregistered.
    pub unregistered: Vec<i32>,
}

/// Carries out the Kafka side of `decision` through broker `via`.
pub async fn carry_out(
    cluster: &KafkaCluster,
    via: i32,
    view: &ClusterView,
    decision: &Decision,
) -> Result<Done, KafkaError> {
    let mut admin = AdminClient::connect(&address(cluster, via)).await?;
    let mut done = Done::default();
    let registered: BTreeSet<i32> = view.brokers.iter().map(|b| b.id).collect();
    // Cordon the brokers that go; lift cordons the operator no longer
    // wants (a scale-down given up, a broker back in the spec).
    // A broker's own configs are asked of and set through that broker, as
    // Kafka requires.
    for b in view.brokers.iter().filter(|b| !b.fenced) {
        let mut own = AdminClient::connect(&address(cluster, b.id)).await?;
        let wanted = decision.cordon.contains(&b.id);
        let set = own.broker_configs(b.id).await?.contains_key(CORDON);
        if wanted && !set {
            own.alter_broker_configs(Some(b.id), &[(CORDON, Some("*".into()))])
                .await?;
            done.cordoned.push(b.id);
        } else if !wanted && set && b.id < cluster.spec.replicas {
            own.alter_broker_configs(Some(b.id), &[(CORDON, None)])
                .await?;
        }
    }
    match &decision.step {
        Step::Move(_, moves) if !moves.is_empty() => {
            let rate = cluster.spec.rebalance.throttle_bytes_per_second.to_string();
            admin
                .alter_broker_configs(
                    None,
                    &[
                        (LEADER_RATE, Some(rate.clone())),
                        (FOLLOWER_RATE, Some(rate)),
                    ],
                )
                .await?;
            let topics: BTreeSet<&str> = moves.iter().map(|m| m.topic.as_str()).collect();
            for topic in topics {
                let all = std::collections::BTreeMap::from([
                    (LEADER_THROTTLED_REPLICAS.to_string(), "*".to_string()),
                    (FOLLOWER_THROTTLED_REPLICAS.to_string(), "*".to_string()),
                ]);
                admin.alter_configs(topic, &all, &[]).await?;
            }
            let moves: Vec<(String, i32, Vec<i32>)> = moves
                .iter()
                .map(|m| (m.topic.clone(), m.partition, m.target.clone()))
                .collect();
            admin.reassign(&moves).await?;
            done.moves_started = moves.len();
        }
        Step::Unregister(ids) => {
            for id in ids.iter().filter(|id| registered.contains(id)) {
                let fenced = view.brokers.iter().any(|b| b.id == *id && b.fenced);
                if fenced {
                    admin.unregister_broker(*id).await?;
                    done.unregistered.push(*id);
                }
            }
        }
        _ => {}
    }
    // Throttles last only as long as the moves they protect.
    let moving = view.partitions.iter().any(|p| p.reassigning)
        || matches!(decision.step, Step::Move(_, ref m) if !m.is_empty())
        || matches!(decision.step, Step::Moving(..));
    if !moving && !view.throttled_topics.is_empty() {
        for topic in &view.throttled_topics {
            let keys = [
                LEADER_THROTTLED_REPLICAS.to_string(),
                FOLLOWER_THROTTLED_REPLICAS.to_string(),
            ];
            admin
                .alter_configs(topic, &std::collections::BTreeMap::new(), &keys)
                .await?;
        }
        admin
            .alter_broker_configs(None, &[(LEADER_RATE, None), (FOLLOWER_RATE, None)])
            .await?;
    }
    Ok(done)
}

/// Brings the cluster-wide dynamic defaults in line with the live keys of
/// `spec.config` through broker `via`; returns what it changed.
pub async fn apply_live_config(cluster: &KafkaCluster, via: i32) -> Result<LiveChange, KafkaError> {
    let mut admin = AdminClient::connect(&address(cluster, via)).await?;
    let current = admin.cluster_default_configs().await?;
    let change = live_config::change(&live_config::live_part(&cluster.spec.config), &current);
    if !change.is_empty() {
        let ops: Vec<(&str, Option<String>)> = change
            .set
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.clone())))
            .chain(change.removed.iter().map(|k| (k.as_str(), None)))
            .collect();
        admin.alter_broker_configs(None, &ops).await?;
    }
    Ok(change)
}
