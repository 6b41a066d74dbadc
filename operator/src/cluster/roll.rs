//! Rolling the brokers: with `OnDelete` updates a pod keeps its old template
//! until the operator deletes it. One broker restarts at a time, and only
//! while every other broker is up.

use super::observe::Observed;

/// The label the StatefulSet controller puts on each pod with its revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Pods whose template revision is not the StatefulSet's update revision.
pub fn outdated_pods(observed: &Observed) -> Vec<String> {
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
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

/// The pod to delete next, if any: the highest ordinal among outdated pods,
/// once the StatefulSet controller has seen the latest template and every
/// desired broker is ready (a broker still recovering is never joined by a
/// second one going down).
pub fn next_pod_to_restart(observed: &Observed, desired: i32) -> Option<String> {
    let sts = observed.stateful_set.as_ref()?;
    let status = sts.status.as_ref()?;
    if status.observed_generation != sts.metadata.generation {
        return None;
    }
    if observed.ready_brokers() < desired {
        return None;
    }
    let mut outdated = outdated_pods(observed);
    outdated.sort_by_key(|name| std::cmp::Reverse(ordinal(name)));
    outdated.into_iter().next()
}

fn ordinal(pod: &str) -> i64 {
    pod.rsplit('-')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::{observed_with_pods, pod};

    #[test]
    fn the_highest_outdated_broker_restarts_first_and_only_when_all_are_ready() {
        let observed = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "old", true),
                pod(2, "old", true),
            ],
            "new",
        );
        assert_eq!(
            next_pod_to_restart(&observed, 3).as_deref(),
            Some("demo-broker-2")
        );
        let one_down = observed_with_pods(
            vec![
                pod(0, "new", true),
                pod(1, "old", true),
                pod(2, "old", false),
            ],
            "new",
        );
        assert_eq!(next_pod_to_restart(&one_down, 3), None);
        let done = observed_with_pods(vec![pod(0, "new", true), pod(1, "new", true)], "new");
        assert_eq!(next_pod_to_restart(&done, 2), None);
    }
}
