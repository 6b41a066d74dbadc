//! Broker liveness: every broker heartbeats to the controller every
//! `broker.heartbeat.interval.ms`; the controller fences a broker it has not
//! heard from for `broker.session.timeout.ms`, which moves its leaderships
//! to other in-sync replicas; a broker stopping on SIGTERM first asks for a
//! controlled shutdown, so its leaderships move before it goes.
//!
//! The decisions are `controller::brokers`; this module keeps the times and
//! runs the loops.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::broker::Broker;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};
use crate::controller::forwarding;
use crate::controller::Rejection;

/// When the controller last heard from each broker. Only the controller's
/// copy matters; it starts afresh whenever the controller changes, giving
/// every broker a full session to reach the new controller.
#[derive(Debug, Default)]
pub struct Liveness {
    inner: Mutex<Seen>,
    /// This broker's own heartbeats go one at a time, and once its
    /// controlled shutdown began (`true`) every later one asks to shut down:
    /// a heartbeat without that wish landing after the shutdown one would
    /// unfence the stopping broker, and it could even be elected leader.
    shutting_down: tokio::sync::Mutex<bool>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The Raft term these times were collected in.
    term: u64,
    /// Since when the controller of `term` has been counting.
    since: Option<Instant>,
    last: HashMap<i32, Instant>,
    /// The controller this broker last saw, and when: a new controller
    /// counts that one's session from then, not from its own election,
    /// since its silence is what caused the election.
    seen_controller: Option<(i32, Instant)>,
    /// The previous controller, while the current one counts its session.
    prior: Option<(i32, Instant)>,
}

impl Liveness {
    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a heartbeat received by the controller.
    pub fn heard(&self, broker_id: i32) {
        self.heard_at(broker_id, Instant::now());
    }

    fn heard_at(&self, broker_id: i32, at: Instant) {
        self.lock().last.insert(broker_id, at);
    }

    /// Notes that the controller (another broker) just sent this broker a
    /// Raft append or heartbeat.
    pub fn heard_from_controller(&self, controller: i32) {
        self.saw_controller(controller, Instant::now());
    }

    /// Notes that `controller` (another broker) led the quorum at `at`.
    fn saw_controller(&self, controller: i32, at: Instant) {
        self.lock().seen_controller = Some((controller, at));
    }

    /// The brokers in `registered` whose session expired, as the controller
    /// of `term` sees it at `now`.
    fn expired(&self, term: u64, registered: &[i32], session: Duration, now: Instant) -> Vec<i32> {
        let mut seen = self.lock();
        if seen.term != term || seen.since.is_none() {
            seen.term = term;
            seen.since = Some(now);
            seen.last.clear();
            seen.prior = seen.seen_controller.take();
        }
        let since = seen.since.unwrap_or(now);
        let prior = seen.prior;
        registered
            .iter()
            .copied()
            .filter(|b| {
                let start = match prior {
                    Some((id, at)) if id == *b => at,
                    _ => since,
                };
                let last = seen.last.get(b).copied().unwrap_or(start).max(start);
                now.duration_since(last) > session
            })
            .collect()
    }
}

fn heartbeat_request(broker: &Broker, want_shutdown: bool) -> ControllerRequest {
    ControllerRequest::BrokerHeartbeat {
        broker_id: broker.config.node_id,
        incarnation: broker.incarnation,
        want_shutdown,
    }
}

/// Sends one heartbeat; returns whether this broker is fenced after it.
/// Callers hold `shutting_down`, so heartbeats never overtake each other.
async fn heartbeat(broker: &Broker, want_shutdown: bool) -> Result<bool, Rejection> {
    match broker
        .control(heartbeat_request(broker, want_shutdown))
        .await?
    {
        ControllerReply::Heartbeat(reply) => Ok(reply.fenced),
        _ => Ok(false),
    }
}

/// Heartbeats until the controller unfences this broker (start-up), so the
/// Kafka listeners open with this broker's leaderships in place.
pub async fn until_unfenced(broker: &Broker) {
    let mut attempt = 0u32;
    loop {
        let turn = broker.liveness.shutting_down.lock().await;
        let outcome = heartbeat(broker, false).await;
        drop(turn);
        match outcome {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                attempt += 1;
                if attempt % 10 == 1 {
                    tracing::info!(reason = %e, "waiting for the controller to unfence this broker");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Heartbeats forever.
pub async fn heartbeat_loop(broker: std::sync::Arc<Broker>) {
    let period = Duration::from_millis(broker.config.cluster.heartbeat_interval_ms);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let shutting_down = broker.liveness.shutting_down.lock().await;
        if let Err(e) = heartbeat(&broker, *shutting_down).await {
            tracing::debug!(reason = %e, "heartbeat not answered");
        }
    }
}

/// On the controller: fences brokers whose session expired.
pub async fn fence_expired_loop(broker: std::sync::Arc<Broker>) {
    let session = Duration::from_millis(broker.config.cluster.session_timeout_ms);
    // Checked often: a session that expired is fenced within 100 ms.
    let mut tick = tokio::time::interval((session / 10).min(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !broker.quorum.is_leader() {
            continue;
        }
        let image = broker.image();
        let term = broker.quorum.status().term;
        let candidates: Vec<i32> = image
            .live_brokers()
            .into_iter()
            .filter(|b| *b != broker.config.node_id)
            .collect();
        for id in broker
            .liveness
            .expired(term, &candidates, session, Instant::now())
        {
            tracing::warn!(broker = id, ?session, "broker session expired; fencing it");
            let request = ControllerRequest::FenceBroker { broker_id: id };
            if let Err(e) = forwarding::decide_here(&broker, &request).await {
                tracing::warn!(broker = id, reason = %e, "fencing failed");
            }
        }
    }
}

/// Kafka's controlled shutdown: asks the controller to move this broker's
/// leaderships away and waits until its image shows that, or gives up after
/// `within` (no controller reachable). A broker that is alone in the
/// cluster has nobody to hand leadership to and skips it.
pub async fn controlled_shutdown(broker: &Broker, within: Duration) {
    let others = broker
        .image()
        .live_brokers()
        .into_iter()
        .any(|b| b != broker.config.node_id);
    if !others {
        return;
    }
    let mut shutting_down = broker.liveness.shutting_down.lock().await;
    *shutting_down = true;
    let outcome = tokio::time::timeout(within, async {
        loop {
            match heartbeat(broker, true).await {
                Ok(_) => return,
                Err(e) => tracing::info!(reason = %e, "controlled shutdown not answered yet"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    match outcome {
        Ok(()) => tracing::info!("controlled shutdown: leaderships handed over"),
        Err(_) => tracing::warn!(?within, "controlled shutdown timed out; stopping anyway"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_silent_for_a_session_expires_and_a_new_controller_counts_afresh() {
        let liveness = Liveness::default();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let session = s(3);
        assert!(liveness.expired(5, &[1, 2], session, t0).is_empty());
        liveness.heard_at(1, t0 + s(2));
        assert!(liveness.expired(5, &[1, 2], session, t0 + s(3)).is_empty());
        assert_eq!(liveness.expired(5, &[1, 2], session, t0 + s(4)), vec![2]);
        assert_eq!(liveness.expired(5, &[1, 2], session, t0 + s(6)), vec![1, 2]);
        // A new controller term: nobody has had a chance to reach it yet.
        assert!(liveness.expired(6, &[1, 2], session, t0 + s(6)).is_empty());
        assert_eq!(
            liveness.expired(6, &[1, 2], session, t0 + s(10)),
            vec![1, 2]
        );
    }

    #[test]
    fn the_previous_controller_gets_no_fresh_session_from_its_successor() {
        let liveness = Liveness::default();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let session = s(3);
        // Broker 0 led until t0, then fell silent; this broker is elected at t0+1.
        liveness.saw_controller(0, t0);
        assert!(liveness.expired(7, &[0, 2], session, t0 + s(1)).is_empty());
        assert_eq!(
            liveness.expired(7, &[0, 2], session, t0 + s(3) + Duration::from_millis(500)),
            vec![0]
        );
        // Broker 2 had a full session from the election.
        assert_eq!(liveness.expired(7, &[0, 2], session, t0 + s(5)), vec![0, 2]);
    }
}
