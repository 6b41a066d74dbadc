//! Scaling, decided from what exists and what the cluster reports (so an
//! operator restarted in the middle carries on from where things are):
//!
//! - **Up**: the StatefulSet grows at once; when every new broker is
//!   registered and the cluster is healthy, a fair share of replicas and
//!   leaders moves onto them by reassignment (unless the spec opts out).
//! - **Down**: the brokers that go (highest ordinals) are cordoned and
//!   drained by reassignment; the StatefulSet shrinks only when they hold
//!   no replica and every partition is fully in sync; then they are
//!   unregistered. A scale-down that cannot be done safely is refused and
//!   nothing changes.
//!
//! Pure: [`decide`] says what to do, the reconcile does it.

use super::rebalance::{self, BrokerSlot, PartitionLoad, PlannedMove};
use crate::kafka::cluster::ClusterView;

/// Why replicas move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Onto brokers that were added.
    Rebalance,
    /// Off brokers that go.
    Drain,
}

/// The next step of a scale operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Steady,
    /// Waiting for these brokers to register and come up.
    Joining(Vec<i32>),
    /// Start these moves.
    Move(Purpose, Vec<PlannedMove>),
    /// Moves are in progress on this many partitions.
    Moving(Purpose, i32),
    /// Waiting before the next step (partitions catching up, the cluster
    /// unreachable); the reason.
    Waiting(Purpose, String),
    /// Remove these stopped brokers' registrations.
    Unregister(Vec<i32>),
    /// The scale-down is refused; the reason. Nothing changes.
    Refused(String),
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The StatefulSet's replicas to apply.
    pub replicas: i32,
    /// Brokers to cordon (no new replicas): the ones that go.
    pub cordon: Vec<i32>,
    /// The step.
    pub step: Step,
}

/// Decides the scale step for `desired` brokers when the StatefulSet has
/// `current` (`None` before it exists) and the cluster reports `view`
/// (`None` when it cannot be reached).
pub fn decide(
    desired: i32,
    current: Option<i32>,
    rebalance_on_scale: bool,
    view: Option<&ClusterView>,
) -> Decision {
    let current = current.unwrap_or(desired);
    if desired < current {
        return scale_down(desired, current, view);
    }
    let decision = |step| Decision {
        replicas: desired,
        cordon: vec![],
        step,
    };
    let Some(view) = view else {
        return decision(Step::Steady);
    };
    let leftover: Vec<i32> = view
        .brokers
        .iter()
        .filter(|b| b.id >= desired)
        .map(|b| b.id)
        .collect();
    if !leftover.is_empty() {
        return decision(Step::Unregister(leftover));
    }
    let missing: Vec<i32> = (0..desired)
        .filter(|id| !view.brokers.iter().any(|b| b.id == *id && !b.fenced))
        .collect();
    if !missing.is_empty() {
        return decision(Step::Joining(missing));
    }
    if !rebalance_on_scale {
        return decision(Step::Steady);
    }
    let moving = moving(view);
    if moving > 0 {
        return decision(Step::Moving(Purpose::Rebalance, moving));
    }
    if view
        .partitions
        .iter()
        .any(|p| p.isr.len() < p.replicas.len())
    {
        return decision(Step::Steady);
    }
    // Brokers added later hold nothing: moves are only planned while one
    // broker holds two replicas more than another, so a balanced cluster
    // is left alone.
    match rebalance::plan(&slots(view, desired), &loads(view)) {
        Ok(moves) if !moves.is_empty() && adds_data_to_empty(view, desired) => {
            decision(Step::Move(Purpose::Rebalance, moves))
        }
        _ => decision(Step::Steady),
    }
}

/// A rebalance is for added brokers: one that holds no replica while
/// partitions exist.
fn adds_data_to_empty(view: &ClusterView, desired: i32) -> bool {
    (0..desired).any(|id| !view.partitions.iter().any(|p| p.replicas.contains(&id)))
        && !view.partitions.is_empty()
}

fn scale_down(desired: i32, current: i32, view: Option<&ClusterView>) -> Decision {
    let leaving: Vec<i32> = (desired..current).collect();
    let decision = |replicas, step| Decision {
        replicas,
        cordon: leaving.clone(),
        step,
    };
    let Some(view) = view else {
        return decision(
            current,
            Step::Waiting(
                Purpose::Drain,
                "the cluster cannot be reached to drain the brokers".into(),
            ),
        );
    };
    let refuse = |reason: String| Decision {
        replicas: current,
        cordon: vec![],
        step: Step::Refused(reason),
    };
    if let Some(v) = view.voters.iter().find(|v| **v >= desired) {
        return refuse(format!(
            "broker {v} votes in the metadata quorum; the voters ({}) cannot be removed",
            view.voters
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(p) = view
        .partitions
        .iter()
        .find(|p| p.target.len() > usize::try_from(desired).unwrap_or(0))
    {
        return refuse(format!(
            "{}-{} has replication factor {} but only {desired} brokers would be left; lower it first",
            p.topic,
            p.partition,
            p.target.len()
        ));
    }
    let moving = moving(view);
    if moving > 0 {
        return decision(current, Step::Moving(Purpose::Drain, moving));
    }
    let holding = view
        .partitions
        .iter()
        .filter(|p| p.replicas.iter().any(|r| leaving.contains(r)))
        .count();
    if holding > 0 {
        return match rebalance::plan(&slots(view, desired), &loads(view)) {
            Ok(moves) => decision(current, Step::Move(Purpose::Drain, moves)),
            Err(e) => refuse(e.to_string()),
        };
    }
    if let Some(p) = view
        .partitions
        .iter()
        .find(|p| p.isr.len() < p.replicas.len())
    {
        return decision(
            current,
            Step::Waiting(
                Purpose::Drain,
                format!(
                    "{}-{} is not fully in sync ({} of {} replicas)",
                    p.topic,
                    p.partition,
                    p.isr.len(),
                    p.replicas.len()
                ),
            ),
        );
    }
    decision(desired, Step::Steady)
}

fn moving(view: &ClusterView) -> i32 {
    i32::try_from(view.partitions.iter().filter(|p| p.reassigning).count()).unwrap_or(i32::MAX)
}

/// The brokers of ordinals `0..desired` that may hold replicas.
fn slots(view: &ClusterView, desired: i32) -> Vec<BrokerSlot> {
    (0..desired)
        .map(|id| BrokerSlot {
            id,
            rack: view
                .brokers
                .iter()
                .find(|b| b.id == id)
                .and_then(|b| b.rack.clone()),
        })
        .collect()
}

/// Every partition counts alike: replica sizes are per broker
/// (DescribeLogDirs) and a count keeps the plan stable while data grows.
fn loads(view: &ClusterView) -> Vec<PartitionLoad> {
    view.partitions
        .iter()
        .map(|p| PartitionLoad {
            topic: p.topic.clone(),
            partition: p.partition,
            replicas: p.replicas.clone(),
            size: 1,
        })
        .collect()
}

/// The operation a scale decision amounts to, for status.
pub fn operation(
    decision: &Decision,
    current: i32,
) -> Option<(&'static str, &'static str, String)> {
    let list = |ids: &[i32]| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let leaving = list(&decision.cordon);
    Some(match &decision.step {
        Step::Joining(ids) => (
            "ScaleUp",
            "Joining",
            format!("waiting for broker(s) {} to register", list(ids)),
        ),
        Step::Move(Purpose::Rebalance, m) => (
            "ScaleUp",
            "Rebalancing",
            format!("moving {} partition(s) onto the added brokers", m.len()),
        ),
        Step::Moving(Purpose::Rebalance, n) => (
            "ScaleUp",
            "Rebalancing",
            format!("{n} partition(s) moving onto the added brokers"),
        ),
        Step::Move(Purpose::Drain, m) => (
            "ScaleDown",
            "Draining",
            format!("moving {} partition(s) off broker(s) {leaving}", m.len()),
        ),
        Step::Moving(Purpose::Drain, n) => (
            "ScaleDown",
            "Draining",
            format!("{n} partition(s) moving off broker(s) {leaving}"),
        ),
        Step::Waiting(Purpose::Rebalance, why) => ("ScaleUp", "Rebalancing", why.clone()),
        Step::Waiting(Purpose::Drain, why) => ("ScaleDown", "Draining", why.clone()),
        Step::Unregister(ids) => (
            "ScaleDown",
            "Unregistering",
            format!("unregistering removed broker(s) {}", list(ids)),
        ),
        Step::Refused(why) => ("ScaleDown", "Refused", why.clone()),
        Step::Steady if decision.replicas < current => (
            "ScaleDown",
            "Shrinking",
            format!("broker(s) {leaving} hold no replica; removing them",),
        ),
        Step::Steady => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::cluster_view;

    fn view(brokers: i32, partitions: &[&[i32]]) -> ClusterView {
        let partitions: Vec<(&[i32], &[i32], i32)> =
            partitions.iter().map(|r| (*r, *r, 2)).collect();
        cluster_view(brokers, 0, &partitions)
    }

    const THREE: &[&[i32]] = &[&[0, 1, 2], &[1, 2, 0], &[2, 0, 1], &[0, 2, 1]];

    #[test]
    fn scaling_up_grows_at_once_waits_for_the_new_brokers_then_moves_a_share_onto_them() {
        let joining = decide(5, Some(3), true, Some(&view(3, THREE)));
        assert_eq!(joining.replicas, 5);
        assert_eq!(joining.step, Step::Joining(vec![3, 4]));
        let joined = decide(5, Some(5), true, Some(&view(5, THREE)));
        let Step::Move(Purpose::Rebalance, moves) = joined.step else {
            panic!("{joined:?}");
        };
        assert!(moves
            .iter()
            .any(|m| m.target.contains(&3) || m.target.contains(&4)));
        assert_eq!(
            decide(5, Some(5), false, Some(&view(5, THREE))).step,
            Step::Steady,
            "opted out"
        );
    }

    #[test]
    fn scaling_down_cordons_and_drains_before_the_stateful_set_shrinks() {
        let holding: &[&[i32]] = &[&[0, 3, 4], &[1, 2, 3], &[2, 4, 0]];
        let d = decide(3, Some(5), true, Some(&view(5, holding)));
        assert_eq!((d.replicas, d.cordon.clone()), (5, vec![3, 4]));
        let Step::Move(Purpose::Drain, moves) = d.step else {
            panic!("{d:?}");
        };
        assert!(moves.iter().all(|m| m.target.iter().all(|r| *r < 3)));
        let mut moving = view(5, holding);
        moving.partitions[0].reassigning = true;
        assert_eq!(
            decide(3, Some(5), true, Some(&moving)).step,
            Step::Moving(Purpose::Drain, 1)
        );
        let mut catching_up = view(5, THREE);
        catching_up.partitions[0].isr = vec![0, 1];
        let d = decide(3, Some(5), true, Some(&catching_up));
        assert!(
            matches!(d.step, Step::Waiting(Purpose::Drain, _)) && d.replicas == 5,
            "{d:?}"
        );
        let drained = decide(3, Some(5), true, Some(&view(5, THREE)));
        assert_eq!((drained.replicas, drained.step), (3, Step::Steady));
    }

    #[test]
    fn removed_brokers_are_unregistered_after_the_stateful_set_shrank() {
        let mut v = view(5, THREE);
        v.brokers[3].fenced = true;
        v.brokers[4].fenced = true;
        assert_eq!(
            decide(3, Some(3), true, Some(&v)).step,
            Step::Unregister(vec![3, 4])
        );
    }

    #[test]
    fn an_unsafe_scale_down_is_refused_and_changes_nothing() {
        let d = decide(2, Some(3), true, Some(&view(3, THREE)));
        assert_eq!((d.replicas, d.cordon.len()), (3, 0));
        let Step::Refused(reason) = d.step else {
            panic!("{d:?}");
        };
        assert!(reason.contains("votes in the metadata quorum"), "{reason}");
        let mut v = view(4, &[&[0, 1, 2, 3]]);
        v.voters = vec![0];
        let Step::Refused(reason) = decide(3, Some(4), true, Some(&v)).step else {
            panic!()
        };
        assert!(reason.contains("replication factor 4"), "{reason}");
    }

    #[test]
    fn a_partition_mid_move_counts_its_target_replicas_not_old_and_new_together() {
        // Draining broker 4: Metadata lists [0, 1, 4] plus the new replica 2.
        let mut v = view(5, &[&[0, 1, 4, 2]]);
        v.voters = vec![0];
        v.partitions[0].reassigning = true;
        v.partitions[0].target = vec![0, 1, 2];
        let d = decide(3, Some(5), true, Some(&v));
        assert_eq!(d.step, Step::Moving(Purpose::Drain, 1), "{d:?}");
    }

    #[test]
    fn a_scale_down_waits_when_the_cluster_cannot_be_reached() {
        let d = decide(3, Some(5), true, None);
        assert_eq!(d.replicas, 5);
        assert!(matches!(d.step, Step::Waiting(Purpose::Drain, _)));
    }
}
