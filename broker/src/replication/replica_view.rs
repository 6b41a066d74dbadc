//! The leader's view of one follower: how far its log reaches and when it
//! was last caught up, which is what ISR membership is judged on (Kafka's
//! `Replica` state on the leader).

/// What the leader knows about a follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaView {
    /// The follower's log end offset, -1 until it fetched from this leader.
    pub log_end_offset: i64,
    /// When the follower last had everything the leader had (ms).
    pub last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch.
    last_fetch_leader_end: i64,
    /// When the previous fetch came.
    last_fetch_ms: i64,
}

impl ReplicaView {
    /// A follower the leader has not heard from since it became leader. An
    /// ISR member counts as caught up now, so a new leader does not drop its
    /// ISR before the followers had a chance to fetch.
    pub fn new(now_ms: i64) -> ReplicaView {
        ReplicaView {
            log_end_offset: -1,
            last_caught_up_ms: now_ms,
            last_fetch_leader_end: -1,
            last_fetch_ms: now_ms,
        }
    }

    /// Records a fetch at `fetch_offset` when the leader's log ends at
    /// `leader_end`. Kafka's rule: a follower fetching at the leader's end is
    /// caught up now; one fetching at least where the leader ended at its
    /// previous fetch was caught up then. A follower that keeps up with a
    /// busy leader is therefore never judged lagging.
    pub fn record_fetch(&mut self, fetch_offset: i64, leader_end: i64, now_ms: i64) {
        self.log_end_offset = fetch_offset;
        if fetch_offset >= leader_end {
            self.last_caught_up_ms = self.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= self.last_fetch_leader_end {
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.last_fetch_leader_end = leader_end;
        self.last_fetch_ms = now_ms;
    }

    /// Whether the follower has been behind for longer than `lag_max_ms`.
    pub fn is_lagging(&self, now_ms: i64, lag_max_ms: i64) -> bool {
        now_ms - self.last_caught_up_ms > lag_max_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follower_at_the_leaders_end_is_caught_up_now() {
        let mut v = ReplicaView::new(0);
        v.record_fetch(100, 100, 5_000);
        assert_eq!(v.last_caught_up_ms, 5_000);
        assert!(!v.is_lagging(10_000, 30_000));
    }

    #[test]
    fn a_follower_reaching_the_previous_end_was_caught_up_at_the_previous_fetch() {
        let mut v = ReplicaView::new(0);
        v.record_fetch(50, 100, 1_000);
        assert_eq!(v.last_caught_up_ms, 0);
        // The leader moved on to 200, the follower reached 100.
        v.record_fetch(100, 200, 2_000);
        assert_eq!(v.last_caught_up_ms, 1_000);
    }

    #[test]
    fn a_follower_that_stops_fetching_becomes_lagging() {
        let mut v = ReplicaView::new(0);
        v.record_fetch(10, 10, 1_000);
        assert!(!v.is_lagging(30_999, 30_000));
        assert!(v.is_lagging(31_001, 30_000));
    }
}
