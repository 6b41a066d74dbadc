//! Which replicas belong in the ISR, as the leader judges it. The leader only
//! proposes; the controller commits the change (Kafka's AlterPartition).

use std::collections::BTreeMap;

use super::replica_view::ReplicaView;

/// The ISR without the followers that lagged for longer than `lag_max_ms`,
/// or `None` when nobody lags. The leader always stays.
pub fn shrink(
    isr: &[i32],
    leader_id: i32,
    followers: &BTreeMap<i32, ReplicaView>,
    now_ms: i64,
    lag_max_ms: i64,
) -> Option<Vec<i32>> {
    let kept: Vec<i32> = isr
        .iter()
        .copied()
        .filter(|id| {
            *id == leader_id
                || followers
                    .get(id)
                    .is_some_and(|v| !v.is_lagging(now_ms, lag_max_ms))
        })
        .collect();
    (kept.len() < isr.len()).then_some(kept)
}

/// The ISR with `replica` added once it is in sync: it has everything up to
/// the high watermark and everything this leader wrote in its own epoch
/// (Kafka's `isFollowerInSync`). `None` when it is already in or not yet
/// caught up.
pub fn expand(
    isr: &[i32],
    replica: i32,
    view: &ReplicaView,
    high_watermark: i64,
    leader_epoch_start: i64,
) -> Option<Vec<i32>> {
    if isr.contains(&replica)
        || view.log_end_offset < high_watermark
        || view.log_end_offset < leader_epoch_start
    {
        return None;
    }
    let mut grown = isr.to_vec();
    grown.push(replica);
    Some(grown)
}

/// The ISR the high watermark must wait for while a change may be
/// committing: the committed ISR and every replica a proposal added
/// (Kafka's maximal ISR). A shrink waits for the replicas it drops until
/// it is committed, since they are still in the committed ISR.
pub fn maximal(isr: &[i32], maybe_added: &[i32]) -> Vec<i32> {
    let mut all = isr.to_vec();
    all.extend(maybe_added.iter().filter(|r| !isr.contains(r)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched_at(leo: i64, now: i64) -> ReplicaView {
        let mut v = ReplicaView::new(0);
        v.record_fetch(leo, leo, now);
        v
    }

    #[test]
    fn lagging_followers_leave_the_isr_but_the_leader_never_does() {
        let followers = BTreeMap::from([(2, fetched_at(10, 1_000)), (3, fetched_at(10, 20_000))]);
        assert_eq!(
            shrink(&[1, 2, 3], 1, &followers, 32_000, 30_000),
            Some(vec![1, 3])
        );
        assert_eq!(shrink(&[1, 3], 1, &followers, 32_000, 30_000), None);
        assert_eq!(shrink(&[1], 1, &BTreeMap::new(), 99_000, 30_000), None);
    }

    #[test]
    fn a_follower_joins_once_it_reaches_the_high_watermark_and_the_epoch_start() {
        let view = fetched_at(100, 0);
        assert_eq!(expand(&[1], 2, &view, 100, 90), Some(vec![1, 2]));
        assert_eq!(expand(&[1], 2, &view, 101, 90), None);
        assert_eq!(expand(&[1], 2, &view, 50, 120), None);
        assert_eq!(expand(&[1, 2], 2, &view, 50, 50), None);
    }

    #[test]
    fn the_maximal_isr_holds_the_committed_isr_and_whoever_may_join() {
        assert_eq!(maximal(&[1, 2], &[1, 2, 3]), vec![1, 2, 3]);
        assert_eq!(maximal(&[1, 2, 3], &[]), vec![1, 2, 3]);
        assert_eq!(maximal(&[1, 2, 3], &[1, 4]), vec![1, 2, 3, 4]);
    }
}
