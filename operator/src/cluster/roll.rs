//! Rolling the brokers: with `OnDelete` updates a pod keeps its old template
//! until the operator deletes it. One broker restarts at a time, the
//! controller last, only while every broker is up, every partition is fully
//! in sync (so none is still recovering from the previous restart) and no
//! partition the broker holds would fall below `min.insync.replicas`.

use k8s_openapi::api::core::v1::Pod;

use super::names::{CONFIG_HASH_ANNOTATION, RESTART_ANNOTATION};
use super::observe::Observed;
use crate::kafka::cluster::ClusterView;

/// The label the StatefulSet controller puts on each pod with its revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// What the roll does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollStep {
    /// No pod is outdated.
    Idle,
    /// Delete this pod so it comes back with the new template.
    Restart {
        /// The pod.
        pod: String,
        /// Why it restarts, for the Event.
        reason: String,
    },
    /// Pods are outdated but none may restart now; why.
    Blocked(String),
}

/// Pods whose template revision is not the StatefulSet's update revision.
pub fn outdated_pods(observed: &Observed) -> Vec<&Pod> {
    let Some(update) = observed
        .stateful_set
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.update_revision.clone())
    else {
        return vec![];
    };
    observed
        .pods
        .iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                .is_some_and(|r| *r != update)
        })
        .collect()
}

/// The next restart of the roll, if one may happen now.
pub fn next_step(observed: &Observed, desired: i32, view: Option<&ClusterView>) -> RollStep {
    let outdated = outdated_pods(observed);
    if outdated.is_empty() {
        return RollStep::Idle;
    }
    let Some(sts) = observed.stateful_set.as_ref() else {
        return RollStep::Idle;
    };
    let status = sts.status.as_ref();
    if status.and_then(|s| s.observed_generation) != sts.metadata.generation {
        return RollStep::Blocked(
            "the StatefulSet controller has not seen the new template".into(),
        );
    }
    if observed.ready_brokers() < desired {
        return RollStep::Blocked(format!(
            "{} of {desired} brokers are ready; waiting for all before the next restart",
            observed.ready_brokers()
        ));
    }
    let Some(view) = view else {
        return RollStep::Blocked("the cluster cannot be reached to check in-sync replicas".into());
    };
    if let Some(p) = view
        .partitions
        .iter()
        .find(|p| p.isr.len() < p.replicas.len())
    {
        return RollStep::Blocked(format!(
            "{}-{} has {} of {} replicas in sync; waiting for it to catch up",
            p.topic,
            p.partition,
            p.isr.len(),
            p.replicas.len()
        ));
    }
    // The controller last (one election, not one per restart), then the
    // highest ordinal first.
    let mut order: Vec<(&Pod, i32)> = outdated
        .into_iter()
        .map(|p| (p, ordinal(p.metadata.name.as_deref().unwrap_or_default())))
        .collect();
    order.sort_by_key(|(_, o)| (*o == view.controller, std::cmp::Reverse(*o)));
    let mut blocked = Vec::new();
    for (pod, broker) in order {
        match would_fall_below_min_isr(view, broker) {
            None => {
                return RollStep::Restart {
                    pod: pod.metadata.name.clone().unwrap_or_default(),
                    reason: restart_reason(sts, pod),
                }
            }
            Some(why) => blocked.push(why),
        }
    }
    RollStep::Blocked(blocked.join("; "))
}

/// Why restarting `broker` now would make a partition unavailable to
/// acks=all producers, if it would. A partition whose
/// `min.insync.replicas` is not below its replication factor is
/// unavailable during any restart of its replicas, so it does not block
/// (as Strimzi's roller does).
fn would_fall_below_min_isr(view: &ClusterView, broker: i32) -> Option<String> {
    view.partitions
        .iter()
        .filter(|p| p.isr.contains(&broker))
        .filter(|p| usize::try_from(p.min_isr).unwrap_or(0) < p.replicas.len())
        .find(|p| p.isr.len() <= usize::try_from(p.min_isr).unwrap_or(0))
        .map(|p| {
            format!(
                "restarting broker {broker} would leave {}-{} with {} in-sync replicas, below min.insync.replicas {}",
                p.topic,
                p.partition,
                p.isr.len() - 1,
                p.min_isr
            )
        })
}

/// What differs between the pod and the StatefulSet's template.
fn restart_reason(sts: &k8s_openapi::api::apps::v1::StatefulSet, pod: &Pod) -> String {
    let template = sts.spec.as_ref().map(|s| &s.template);
    let image_of = |containers: Option<&Vec<k8s_openapi::api::core::v1::Container>>| {
        containers
            .and_then(|c| c.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default()
    };
    let new_image = image_of(
        template
            .and_then(|t| t.spec.as_ref())
            .map(|s| &s.containers),
    );
    let old_image = image_of(pod.spec.as_ref().map(|s| &s.containers));
    let annotation = |a: Option<&std::collections::BTreeMap<String, String>>, key: &str| {
        a.and_then(|a| a.get(key)).cloned().unwrap_or_default()
    };
    let new_annotations = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref());
    let old_annotations = pod.metadata.annotations.as_ref();
    let mut reasons = Vec::new();
    if new_image != old_image {
        reasons.push(format!("image {old_image} → {new_image}"));
    }
    if annotation(new_annotations, CONFIG_HASH_ANNOTATION)
        != annotation(old_annotations, CONFIG_HASH_ANNOTATION)
    {
        reasons.push("broker configuration changed".to_string());
    }
    let restart = annotation(new_annotations, RESTART_ANNOTATION);
    if restart != annotation(old_annotations, RESTART_ANNOTATION) {
        reasons.push(format!(
            "restart requested ({RESTART_ANNOTATION}={restart})"
        ));
    }
    if reasons.is_empty() {
        reasons.push("pod template changed".into());
    }
    reasons.join(", ")
}

fn ordinal(pod: &str) -> i32 {
    pod.rsplit('-')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::{cluster_view, observed_with_pods, pod};

    fn view(controller: i32, partitions: &[(&[i32], &[i32], i32)]) -> ClusterView {
        cluster_view(3, controller, partitions)
    }

    fn restarted(step: RollStep) -> String {
        match step {
            RollStep::Restart { pod, .. } => pod,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_highest_outdated_broker_restarts_first_and_the_controller_last() {
        let observed = observed_with_pods(
            vec![
                pod(0, "old", true),
                pod(1, "old", true),
                pod(2, "old", true),
            ],
            "new",
        );
        let in_sync = view(2, &[(&[0, 1, 2], &[0, 1, 2], 2)]);
        assert_eq!(
            restarted(next_step(&observed, 3, Some(&in_sync))),
            "demo-broker-1"
        );
        let only_controller_left = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "new", true),
                pod(2, "old", true),
            ],
            "new",
        );
        assert_eq!(
            restarted(next_step(&only_controller_left, 3, Some(&in_sync))),
            "demo-broker-2"
        );
        let done = observed_with_pods(vec![pod(0, "new", true), pod(1, "new", true)], "new");
        assert_eq!(next_step(&done, 2, Some(&in_sync)), RollStep::Idle);
    }

    #[test]
    fn no_restart_while_a_broker_is_down_or_a_partition_is_catching_up() {
        let one_down = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "old", true),
                pod(2, "old", false),
            ],
            "new",
        );
        let in_sync = view(0, &[(&[0, 1, 2], &[0, 1, 2], 2)]);
        assert!(matches!(
            next_step(&one_down, 3, Some(&in_sync)),
            RollStep::Blocked(_)
        ));
        let all_up = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "old", true),
                pod(2, "old", true),
            ],
            "new",
        );
        let catching_up = view(0, &[(&[0, 1, 2], &[0, 1], 2)]);
        let RollStep::Blocked(why) = next_step(&all_up, 3, Some(&catching_up)) else {
            panic!()
        };
        assert!(why.contains("catch up"), "{why}");
        assert!(matches!(next_step(&all_up, 3, None), RollStep::Blocked(_)));
    }

    #[test]
    fn a_broker_whose_restart_would_break_min_insync_replicas_waits() {
        let observed = observed_with_pods(vec![pod(0, "old", true), pod(1, "new", true)], "new");
        // RF 2, min.insync.replicas 2 is unavailable during any restart: not
        // a reason to block; RF 3 with min.insync 3 neither.
        let unavoidable = view(1, &[(&[0, 1], &[0, 1], 2)]);
        assert_eq!(
            restarted(next_step(&observed, 2, Some(&unavoidable))),
            "demo-broker-0"
        );
        assert_eq!(
            would_fall_below_min_isr(&view(1, &[(&[0, 1, 2], &[0, 2], 2)]), 0)
                .map(|w| w.contains("below min.insync.replicas 2")),
            Some(true)
        );
    }
}
