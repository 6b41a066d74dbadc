//! Finding where a follower's log diverged from its leader's, by leader
//! epoch (KIP-320, OffsetForLeaderEpoch semantics): the follower says the
//! epoch of its last batch, the leader answers where that epoch ends in its
//! own log, and the follower cuts everything past that point.

/// On the leader: whether a fetch at `fetch_offset` whose last batch had
/// `last_fetched_epoch` diverges, given the leader's `(epoch, end offset)`
/// for that epoch (`None` when the leader has no such epoch or earlier).
/// Returns the epoch and end offset the follower must truncate to.
pub fn diverged_at(
    last_fetched_epoch: i32,
    fetch_offset: i64,
    leader_end_for_epoch: Option<(i32, i64)>,
) -> Option<(i32, i64)> {
    if last_fetched_epoch < 0 {
        return None;
    }
    match leader_end_for_epoch {
        None => Some((-1, -1)),
        Some((epoch, end)) if epoch < last_fetched_epoch || end < fetch_offset => {
            Some((epoch, end))
        }
        Some(_) => None,
    }
}

/// On the follower: where to truncate after the leader reported divergence
/// at `(epoch, end)`. The follower keeps no more than the leader has of that
/// epoch, nor more than its own log has of it; when the leader knows no
/// epoch that old, only what is below the high watermark is certain.
pub fn truncation_offset(
    leader: (i32, i64),
    own_end_for_epoch: Option<(i32, i64)>,
    log_end_offset: i64,
    high_watermark: i64,
) -> i64 {
    let (epoch, end) = leader;
    if epoch < 0 || end < 0 {
        return high_watermark.min(log_end_offset);
    }
    match own_end_for_epoch {
        Some((own_epoch, own_end)) if own_epoch == epoch => end.min(own_end),
        Some((_, own_end)) => end.min(own_end).min(log_end_offset),
        None => end.min(log_end_offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follower_in_step_with_the_leader_does_not_diverge() {
        assert_eq!(diverged_at(3, 100, Some((3, 150))), None);
        assert_eq!(diverged_at(3, 150, Some((3, 150))), None);
        assert_eq!(diverged_at(-1, 0, None), None);
    }

    #[test]
    fn a_tail_written_in_an_epoch_the_leader_ended_earlier_diverges() {
        // The old leader wrote offsets 100..120 in epoch 3; the new leader's
        // epoch 3 ended at 100 when it took over in epoch 4.
        assert_eq!(diverged_at(3, 120, Some((3, 100))), Some((3, 100)));
        // An epoch the leader never had: it answers its largest earlier one.
        assert_eq!(diverged_at(5, 120, Some((4, 110))), Some((4, 110)));
        assert_eq!(diverged_at(1, 10, None), Some((-1, -1)));
    }

    #[test]
    fn the_follower_cuts_to_the_smaller_of_both_ends() {
        assert_eq!(truncation_offset((3, 100), Some((3, 120)), 120, 90), 100);
        assert_eq!(truncation_offset((3, 100), Some((3, 95)), 120, 90), 95);
        assert_eq!(truncation_offset((3, 100), None, 80, 50), 80);
        assert_eq!(truncation_offset((-1, -1), None, 80, 50), 50);
    }
}
