//! On the controller: Kafka's automatic preferred-leader balancing. Every
//! `leader.imbalance.check.interval.seconds` it moves leadership back to
//! preferred replicas (in sync and alive) for every broker whose share of
//! partitions it prefers but does not lead exceeds
//! `leader.imbalance.per.broker.percentage`, so a broker that returned
//! after a failure leads its share again. The decision is
//! `controller::elections::rebalance_leaders`.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;
use crate::controller::decisions::request::ControllerRequest;
use crate::controller::forwarding;

/// Runs while the broker runs; acts only while it is the controller and
/// `auto.leader.rebalance.enable` is set.
pub async fn balance_loop(broker: Arc<Broker>) {
    let cluster = &broker.config.cluster;
    if !cluster.auto_leader_rebalance {
        return;
    }
    let period = Duration::from_secs(cluster.leader_imbalance_check_interval_s);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !broker.quorum.is_leader() {
            continue;
        }
        let request = ControllerRequest::BalanceLeaders {
            imbalance_percent: cluster.leader_imbalance_percent,
        };
        if let Err(e) = forwarding::decide_here(&broker, &request).await {
            tracing::warn!(reason = %e, "preferred-leader balancing failed");
        }
    }
}
