//! A leader's ISR changes on their way to the controller (Kafka's
//! AlterPartition): a follower that caught up joins, one that lagged for
//! `replica.lag.time.max.ms` leaves. The leader only proposes; the change
//! holds once the controller committed it and the image came back.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use crate::broker::Broker;
use crate::controller::decisions::alter_partition::IsrChange;
use crate::controller::decisions::request::ControllerRequest;
use crate::partition::{IsrProposal, Partition};
use crate::time::now_ms;

/// Sends `proposal` for `partition` to the controller. A refusal (a newer
/// leader epoch, a fenced follower) is logged and the partition may
/// propose again.
pub async fn propose(broker: &Broker, partition: &Partition, proposal: IsrProposal) {
    tracing::info!(topic = %partition.topic, partition = partition.index, isr = ?proposal.isr, "proposing an ISR change");
    let request = ControllerRequest::AlterPartition(IsrChange {
        broker_id: broker.config.node_id,
        topic_id: partition.topic_id,
        partition: partition.index,
        leader_epoch: proposal.leader_epoch,
        partition_epoch: proposal.partition_epoch,
        isr: proposal.isr,
    });
    let refused = match broker.control(request).await {
        Ok(_) => false,
        Err(e) => {
            tracing::info!(topic = %partition.topic, partition = partition.index, reason = %e, "ISR change refused");
            decided_against(&e.error)
        }
    };
    // Accepted or not, the proposal is over. An accepted one that changed
    // nothing (the controller's ISR already matched) brings no new
    // partition epoch back to end it, and the leader would never propose
    // again.
    partition.isr_proposal_answered(refused);
}

/// Whether the controller looked at the change and refused it (AlterPartition's
/// own errors), so it never committed; a timeout or a lost controller may
/// hide a change that did.
fn decided_against(error: &ResponseError) -> bool {
    matches!(
        error,
        ResponseError::UnknownTopicOrPartition
            | ResponseError::InvalidRequest
            | ResponseError::FencedLeaderEpoch
            | ResponseError::NotLeaderOrFollower
            | ResponseError::InvalidUpdateVersion
            | ResponseError::IneligibleReplica
    )
}

/// Checks the led partitions for lagging followers every half
/// `replica.lag.time.max.ms`, as Kafka's ISR expiration task does.
pub async fn shrink_lagging(broker: Arc<Broker>) {
    let lag_max = broker.config.cluster.replica_lag_time_max_ms;
    let period = Duration::from_millis((lag_max / 2).max(100));
    let lag_max = i64::try_from(lag_max).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let now = now_ms();
        for partition in broker.replicas.all() {
            if let Some(proposal) = partition.shrink_isr(now, lag_max) {
                let broker = broker.clone();
                tokio::spawn(async move {
                    propose(&broker, &partition, proposal).await;
                });
            }
        }
    }
}
