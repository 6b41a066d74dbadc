//! The status a `KafkaCluster` reports: pure functions of the spec, what was
//! observed and the previous status, following Kubernetes conventions
//! (`observedGeneration`, conditions whose transition time moves only when
//! their status does).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::build::bootstrap_service;
use super::observe::Observed;
use super::roll;
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

/// Computes the status to write.
pub fn compute(
    cluster: &KafkaCluster,
    observed: &Observed,
    outcome: &Outcome,
    now: Time,
) -> KafkaClusterStatus {
    let generation = cluster.metadata.generation;
    let desired = cluster.spec.replicas;
    let ready = observed.ready_brokers();
    let outdated = roll::outdated_pods(observed).len();
    let previous = cluster.status.clone().unwrap_or_default();
    let all_ready = ready == desired
        && outdated == 0
        && observed.pods.len() == usize::try_from(desired).unwrap_or(0);

    let (ready_reason, ready_message) = match outcome {
        Outcome::InvalidSpec(m) => ("InvalidSpec", m.clone()),
        Outcome::ApplyFailed(m) => ("ApplyFailed", m.clone()),
        Outcome::Applied if all_ready => (
            "AllBrokersReady",
            format!("{ready}/{desired} brokers ready"),
        ),
        Outcome::Applied => (
            "BrokersNotReady",
            format!("{ready}/{desired} brokers ready"),
        ),
    };
    let (reconciling, reconciling_reason, reconciling_message) = if observed.stateful_set.is_none()
    {
        (true, "Creating", "creating the brokers".to_string())
    } else if outdated > 0 {
        (
            true,
            "RollingUpdate",
            format!("{outdated} broker(s) to restart with the new configuration"),
        )
    } else if observed.pods.len() != usize::try_from(desired).unwrap_or(0) {
        (
            true,
            "Scaling",
            format!("{} of {desired} brokers exist", observed.pods.len()),
        )
    } else if !all_ready {
        (true, "Starting", format!("{ready}/{desired} brokers ready"))
    } else {
        (
            false,
            "Reconciled",
            "the cluster matches its spec".to_string(),
        )
    };
    let (degraded, degraded_reason, degraded_message) = match outcome {
        Outcome::InvalidSpec(m) => (true, "InvalidSpec", m.clone()),
        Outcome::ApplyFailed(m) => (true, "ApplyFailed", m.clone()),
        Outcome::Applied => (false, "AsExpected", String::new()),
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

    fn find<'a>(status: &'a KafkaClusterStatus, type_: &str) -> &'a Condition {
        status.conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn a_fully_ready_cluster_is_ready_and_not_reconciling() {
        let observed = observed_with_pods(
            vec![pod(0, "r", true), pod(1, "r", true), pod(2, "r", true)],
            "r",
        );
        let status = compute(&cluster(spec()), &observed, &Outcome::Applied, time(10));
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
        let status = compute(&c, &observed, &Outcome::Applied, time(10));
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
        let first = compute(&c, &observed, &Outcome::Applied, time(10));
        c.status = Some(first.clone());
        let again = compute(&c, &observed, &Outcome::Applied, time(20));
        assert_eq!(first, again, "nothing changed, nothing to write");
        let failed = compute(
            &c,
            &observed,
            &Outcome::ApplyFailed("boom".into()),
            time(30),
        );
        assert_eq!(find(&failed, "Degraded").last_transition_time, time(30));
        assert_eq!(find(&failed, "Reconciling").last_transition_time, time(10));
    }
}
