//! Replication throttles (Kafka's `ReplicationQuotaManager`): bytes sent to
//! (leader side) or fetched for (follower side) the replicas a topic lists
//! in `leader.replication.throttled.replicas` /
//! `follower.replication.throttled.replicas` are held to the broker's
//! `leader.replication.throttled.rate` / `follower.replication.throttled.rate`,
//! so a reassignment does not starve clients. As in Kafka, a replica in the
//! ISR is never throttled: acks=all never waits on a throttle.

use std::sync::Mutex;
use std::time::Instant;

/// A token bucket holding at most one second of its rate. Bytes are
/// recorded after they are sent, so one response may overdraw it; the next
/// ones then wait until it refills, which keeps the average at the rate.
#[derive(Debug)]
pub struct Quota {
    bucket: Mutex<Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    fn refill(&mut self, rate: u64, now: Instant) {
        let rate = rate as f64;
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(rate);
        } else {
            self.tokens = rate;
        }
        self.last = Some(now);
    }
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            bucket: Mutex::new(Bucket {
                tokens: 0.0,
                last: None,
            }),
        }
    }
}

impl Quota {
    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether throttled traffic must wait at `rate` bytes/s (`None`: no
    /// throttle).
    pub fn exceeded(&self, rate: Option<u64>, now: Instant) -> bool {
        let Some(rate) = rate else {
            return false;
        };
        let mut b = self.lock();
        b.refill(rate, now);
        b.tokens <= 0.0
    }

    /// Counts `bytes` of throttled traffic against the quota.
    pub fn record(&self, rate: Option<u64>, bytes: usize, now: Instant) {
        let Some(rate) = rate else {
            return;
        };
        let mut b = self.lock();
        b.refill(rate, now);
        b.tokens -= bytes as f64;
    }
}

/// Whether traffic of a replica counts against a throttle: the topic lists
/// it and it is out of sync.
pub fn is_throttled(list: Option<&str>, partition: i32, replica: i32, in_sync: bool) -> bool {
    !in_sync && list.is_some_and(|l| crate::config::topic::is_throttled(l, partition, replica))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_quota_lets_one_second_of_its_rate_through_then_refills_at_the_rate() {
        let q = Quota::default();
        let t0 = Instant::now();
        let rate = Some(1_000);
        assert!(!q.exceeded(rate, t0));
        q.record(rate, 1_500, t0);
        assert!(q.exceeded(rate, t0));
        // 500 bytes overdrawn: half a second to get back above zero.
        assert!(q.exceeded(rate, t0 + Duration::from_millis(400)));
        assert!(!q.exceeded(rate, t0 + Duration::from_millis(600)));
        assert!(!q.exceeded(None, t0));
    }

    #[test]
    fn only_listed_replicas_out_of_sync_are_throttled() {
        assert!(is_throttled(Some("0:3,1:3"), 1, 3, false));
        assert!(!is_throttled(Some("0:3,1:3"), 1, 3, true));
        assert!(!is_throttled(Some("0:3"), 1, 3, false));
        assert!(is_throttled(Some("*"), 7, 2, false));
        assert!(!is_throttled(None, 0, 3, false));
    }
}
