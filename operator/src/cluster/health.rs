//! Whether the brokers form one healthy cluster, decided from what the
//! cluster reports about itself: every desired broker registered, unfenced
//! and in one cluster, a controller elected, no partition offline or below
//! `min.insync.replicas`. Pure; `Ready` is its verdict.

use crate::kafka::cluster::ClusterView;

/// What a cluster reports, summed up for status and decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Health {
    /// The active controller, if one is elected.
    pub controller: Option<i32>,
    /// The metadata quorum's voters.
    pub voters: Vec<i32>,
    /// Registered, unfenced brokers.
    pub live_brokers: Vec<i32>,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated: i32,
    /// Partitions whose ISR is below their `min.insync.replicas`.
    pub under_min_isr: i32,
    /// Partitions without a leader.
    pub offline: i32,
    /// Partitions being reassigned.
    pub reassigning: i32,
    /// Why the cluster is not healthy; empty when it is.
    pub problems: Vec<String>,
}

impl Health {
    /// Every check passed.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Judges the cluster the brokers of ordinals `0..desired` should form,
/// with `cluster_id` the id the operator gave it. `views` holds what each
/// reachable broker said about the cluster (its own view), so brokers that
/// formed separate clusters are told apart.
pub fn judge(views: &[(i32, ClusterView)], desired: i32, cluster_id: &str) -> Health {
    let Some((_, view)) = views.first() else {
        return Health {
            problems: vec!["no broker answered the admin API".into()],
            ..Health::default()
        };
    };
    let mut problems = Vec::new();
    for (ordinal, v) in views {
        if v.cluster_id != cluster_id {
            problems.push(format!(
                "broker {ordinal} belongs to cluster {}, not {cluster_id}",
                v.cluster_id
            ));
        } else if v.controller != view.controller {
            problems.push(format!(
                "broker {ordinal} sees controller {}, broker {} sees {}",
                v.controller, views[0].0, view.controller
            ));
        }
    }
    let controller = (view.controller >= 0).then_some(view.controller);
    if controller.is_none() {
        problems.push("no controller is elected".into());
    }
    let live: Vec<i32> = view
        .brokers
        .iter()
        .filter(|b| !b.fenced)
        .map(|b| b.id)
        .collect();
    let missing: Vec<String> = (0..desired)
        .filter(|id| !live.contains(id))
        .map(|id| id.to_string())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "broker(s) {} not registered and live",
            missing.join(", ")
        ));
    }
    let offline = view.partitions.iter().filter(|p| p.leader < 0).count();
    let under_min: Vec<String> = view
        .partitions
        .iter()
        .filter(|p| usize::try_from(p.min_isr).unwrap_or(0) > p.isr.len())
        .map(|p| format!("{}-{}", p.topic, p.partition))
        .collect();
    if offline > 0 {
        problems.push(format!("{offline} partition(s) offline"));
    }
    if !under_min.is_empty() {
        problems.push(format!(
            "{} partition(s) below min.insync.replicas (first: {})",
            under_min.len(),
            under_min[0]
        ));
    }
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    Health {
        controller,
        voters: view.voters.clone(),
        live_brokers: live,
        under_replicated: count(
            view.partitions
                .iter()
                .filter(|p| p.isr.len() < p.replicas.len())
                .count(),
        ),
        under_min_isr: count(under_min.len()),
        offline: count(offline),
        reassigning: count(view.partitions.iter().filter(|p| p.reassigning).count()),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::cluster_view;

    fn view(brokers: &[i32], partitions: &[(&[i32], &[i32])]) -> ClusterView {
        let partitions: Vec<(&[i32], &[i32], i32)> =
            partitions.iter().map(|(r, isr)| (*r, *isr, 2)).collect();
        let count = i32::try_from(brokers.len()).unwrap_or(0);
        cluster_view(count, 0, &partitions)
    }

    #[test]
    fn one_cluster_with_every_broker_live_and_partitions_in_sync_is_healthy() {
        let v = view(&[0, 1, 2], &[(&[0, 1, 2], &[0, 1, 2])]);
        let h = judge(&[(0, v.clone()), (1, v.clone()), (2, v)], 3, "c1");
        assert!(h.is_healthy(), "{h:?}");
        assert_eq!(h.controller, Some(0));
    }

    #[test]
    fn brokers_of_separate_clusters_are_not_one_cluster() {
        let v = view(&[0], &[]);
        let mut other = v.clone();
        other.cluster_id = "c2".into();
        let h = judge(&[(0, v), (1, other)], 1, "c1");
        assert!(h.problems[0].contains("belongs to cluster c2"), "{h:?}");
    }

    #[test]
    fn missing_brokers_and_partitions_below_min_isr_are_problems() {
        let v = view(&[0, 1], &[(&[0, 1, 2], &[0]), (&[0, 1, 2], &[0, 1])]);
        let h = judge(&[(0, v)], 3, "c1");
        assert_eq!(h.problems.len(), 2, "{h:?}");
        assert_eq!((h.under_replicated, h.under_min_isr), (2, 1));
        let offline = view(&[0, 1, 2], &[(&[1], &[])]);
        assert_eq!(judge(&[(0, offline)], 3, "c1").offline, 1);
    }
}
