//! The status a `KafkaCluster` reports: pure functions of the spec, what was
//! observed and the previous status, following Kubernetes conventions
//! (`observedGeneration`, conditions whose transition time moves only when
//! their status does).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::build::{bootstrap_service, config_map, stateful_set};
use super::health::Health;
use super::names;
use super::observe::Observed;
use super::roll;
use crate::crd::kafka_cluster::OperationStatus;
use crate::crd::{KafkaCluster, KafkaClusterStatus};

/// The outcome of the steps before status, as far as status cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every object was applied.
    Applied,
    /// The spec was refused; nothing was touched.
    InvalidSpec(String),
    /// Applying failed.
    ApplyFailed(String),
}

fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// Keeps the previous transition time of conditions whose status did not change.
fn carry_transition_times(mut next: Vec<Condition>, previous: &[Condition]) -> Vec<Condition> {
    for c in &mut next {
        if let Some(p) = previous
            .iter()
            .find(|p| p.type_ == c.type_ && p.status == c.status)
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
    next
}

/// What the spec asks every broker pod to run: its image, configuration
/// hash and restart request, computed once per status.
struct SpecTemplate {
    image: String,
    config_hash: String,
    restart: Option<String>,
}

impl SpecTemplate {
    fn of(cluster: &KafkaCluster) -> SpecTemplate {
        SpecTemplate {
            image: stateful_set::image(cluster),
            config_hash: config_map::hash(&config_map::build(cluster)),
            restart: cluster
                .annotations()
                .get(names::RESTART_ANNOTATION)
                .cloned(),
        }
    }

    /// Whether the pod runs it.
    fn runs_on(&self, pod: &Pod) -> bool {
        let image = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.as_deref());
        let annotation = |key: &str| {
            pod.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .map(String::as_str)
        };
        image.is_none_or(|i| i == self.image)
            && annotation(names::CONFIG_HASH_ANNOTATION).is_none_or(|h| h == self.config_hash)
            && annotation(names::RESTART_ANNOTATION) == self.restart.as_deref()
    }
}

/// What the cluster itself reported and the operation in progress, beside
/// the Kubernetes objects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    /// The health verdict; `None` when no broker could be asked.
    pub health: Option<Health>,
    /// The long operation in progress.
    pub operation: Option<OperationStatus>,
    /// Why the brokers refused the live part of `spec.config`.
    pub config_refused: Option<String>,
}

/// Computes the status to write.
pub fn compute(
    cluster: &KafkaCluster,
    observed: &Observed,
    outcome: &Outcome,
    state: &ClusterState,
    now: Time,
) -> KafkaClusterStatus {
    let generation = cluster.metadata.generation;
    let desired = cluster.spec.replicas;
    let ready = observed.ready_brokers();
    // A pod is outdated when the StatefulSet controller says so, or when it
    // does not run what the spec asks for yet (the controller may not have
    // seen the new template when this status is computed).
    let template = SpecTemplate::of(cluster);
    let outdated = roll::outdated_pods(observed).len().max(
        observed
            .pods
            .iter()
            .filter(|p| !template.runs_on(p))
            .count(),
    );
    let previous = cluster.status.clone().unwrap_or_default();
    let pods_ready = ready == desired
        && outdated == 0
        && observed.pods.len() == usize::try_from(desired).unwrap_or(0);
    let refused = state
        .operation
        .as_ref()
        .filter(|o| o.phase == "Refused")
        .map(|o| o.message.clone());
    let health_problem = match &state.health {
        None => Some("no broker answered the admin API".to_string()),
        Some(h) if !h.is_healthy() => Some(h.problems.join("; ")),
        Some(_) => None,
    };
    let all_ready = pods_ready && health_problem.is_none() && refused.is_none();

    let (ready_reason, ready_message) = match outcome {
        Outcome::InvalidSpec(m) => ("InvalidSpec", m.clone()),
        Outcome::ApplyFailed(m) => ("ApplyFailed", m.clone()),
        Outcome::Applied if all_ready => (
            "ClusterHealthy",
            format!(
                "{ready}/{desired} brokers ready in one cluster, controller {}",
                state
                    .health
                    .as_ref()
                    .and_then(|h| h.controller)
                    .unwrap_or(-1)
            ),
        ),
        Outcome::Applied if !pods_ready => (
            "BrokersNotReady",
            format!("{ready}/{desired} brokers ready"),
        ),
        Outcome::Applied => match (&refused, &health_problem) {
            (Some(m), _) => ("ScaleDownRefused", m.clone()),
            (None, Some(p)) => ("ClusterNotHealthy", p.clone()),
            (None, None) => ("ClusterHealthy", String::new()),
        },
    };
    let (reconciling, reconciling_reason, reconciling_message) = if observed.stateful_set.is_none()
    {
        (true, "Creating", "creating the brokers".to_string())
    } else if let Some(op) = state.operation.as_ref().filter(|o| o.phase != "Refused") {
        (
            true,
            op.kind.as_str(),
            format!("{}: {}", op.phase, op.message),
        )
    } else if outdated > 0 {
        (
            true,
            "RollingUpdate",
            format!("{outdated} broker(s) to restart with the new configuration"),
        )
    } else if observed.pods.len() != usize::try_from(desired).unwrap_or(0) && refused.is_none() {
        (
            true,
            "Scaling",
            format!("{} of {desired} brokers exist", observed.pods.len()),
        )
    } else if !pods_ready && refused.is_none() {
        (true, "Starting", format!("{ready}/{desired} brokers ready"))
    } else {
        (
            false,
            "Reconciled",
            "the cluster matches its spec".to_string(),
        )
    };
    let (degraded, degraded_reason, degraded_message) = match (outcome, &refused) {
        (Outcome::InvalidSpec(m), _) => (true, "InvalidSpec", m.clone()),
        (Outcome::ApplyFailed(m), _) => (true, "ApplyFailed", m.clone()),
        (Outcome::Applied, Some(m)) => (true, "ScaleDownRefused", m.clone()),
        (Outcome::Applied, None) => match &state.config_refused {
            Some(m) => (true, "ConfigRefused", m.clone()),
            None => (false, "AsExpected", String::new()),
        },
    };
    let conditions = vec![
        condition(
            "Ready",
            all_ready && *outcome == Outcome::Applied,
            ready_reason,
            ready_message,
            generation,
            &now,
        ),
        condition(
            "Reconciling",
            reconciling,
            reconciling_reason,
            reconciling_message,
            generation,
            &now,
        ),
        condition(
            "Degraded",
            degraded,
            degraded_reason,
            degraded_message,
            generation,
            &now,
        ),
    ];
    let health = state.health.as_ref();
    KafkaClusterStatus {
        observed_generation: generation,
        conditions: carry_transition_times(conditions, &previous.conditions),
        ready_brokers: ready,
        // The version is what runs: it moves once no broker is left on the old one.
        version: if outdated == 0 && !observed.pods.is_empty() {
            Some(cluster.spec.version.clone())
        } else {
            previous.version
        },
        bootstrap: Some(bootstrap_service::address(cluster)),
        controller: health.and_then(|h| h.controller),
        quorum_voters: health.map(|h| h.voters.clone()).unwrap_or_default(),
        live_brokers: health.map(|h| h.live_brokers.clone()).unwrap_or_default(),
        under_replicated_partitions: health.map(|h| h.under_replicated),
        under_min_isr_partitions: health.map(|h| h.under_min_isr),
        offline_partitions: health.map(|h| h.offline),
        operation: state.operation.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::{cluster, observed_with_pods, pod, spec};
    use crate::crd::KafkaClusterSpec;

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn healthy() -> ClusterState {
        ClusterState {
            health: Some(Health {
                controller: Some(0),
                ..Health::default()
            }),
            operation: None,
            config_refused: None,
        }
    }

    fn find<'a>(status: &'a KafkaClusterStatus, type_: &str) -> &'a Condition {
        status.conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn a_fully_ready_cluster_is_ready_and_not_reconciling() {
        let observed = observed_with_pods(
            vec![pod(0, "r", true), pod(1, "r", true), pod(2, "r", true)],
            "r",
        );
        let status = compute(
            &cluster(spec()),
            &observed,
            &Outcome::Applied,
            &healthy(),
            time(10),
        );
        assert_eq!(find(&status, "Ready").status, "True");
        assert_eq!(find(&status, "Reconciling").status, "False");
        assert_eq!(find(&status, "Degraded").status, "False");
        assert_eq!(status.ready_brokers, 3);
        assert_eq!(status.version.as_deref(), Some("0.1.0"));
        assert_eq!(
            status.bootstrap.as_deref(),
            Some("demo-bootstrap.kafka.svc:9092")
        );
        assert_eq!(status.observed_generation, Some(1));
    }

    #[test]
    fn a_live_config_the_brokers_refuse_degrades_the_cluster_with_their_reason() {
        let observed = observed_with_pods(
            vec![pod(0, "r", true), pod(1, "r", true), pod(2, "r", true)],
            "r",
        );
        let state = ClusterState {
            config_refused: Some("min.insync.replicas: Value must be at least 1".into()),
            ..healthy()
        };
        let status = compute(
            &cluster(spec()),
            &observed,
            &Outcome::Applied,
            &state,
            time(10),
        );
        let degraded = find(&status, "Degraded");
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", "ConfigRefused")
        );
        assert!(degraded.message.contains("at least 1"), "{degraded:?}");
    }

    #[test]
    fn a_roll_in_progress_is_reconciling_and_keeps_the_old_version() {
        let observed = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "old", true),
                pod(2, "old", true),
            ],
            "new",
        );
        let mut c = cluster(spec());
        c.status = Some(KafkaClusterStatus {
            version: Some("0.0.9".into()),
            ..KafkaClusterStatus::default()
        });
        let status = compute(&c, &observed, &Outcome::Applied, &healthy(), time(10));
        assert_eq!(find(&status, "Ready").status, "False");
        assert_eq!(find(&status, "Reconciling").reason, "RollingUpdate");
        assert_eq!(status.version.as_deref(), Some("0.0.9"));
    }

    #[test]
    fn transition_times_move_only_when_a_condition_changes() {
        let observed = observed_with_pods(vec![pod(0, "r", true)], "r");
        let mut c = cluster(KafkaClusterSpec {
            replicas: 1,
            controller_voters: 1,
            ..spec()
        });
        let first = compute(&c, &observed, &Outcome::Applied, &healthy(), time(10));
        c.status = Some(first.clone());
        let again = compute(&c, &observed, &Outcome::Applied, &healthy(), time(20));
        assert_eq!(first, again, "nothing changed, nothing to write");
        let failed = compute(
            &c,
            &observed,
            &Outcome::ApplyFailed("boom".into()),
            &healthy(),
            time(30),
        );
        assert_eq!(find(&failed, "Degraded").last_transition_time, time(30));
        assert_eq!(find(&failed, "Reconciling").last_transition_time, time(10));
    }
}
