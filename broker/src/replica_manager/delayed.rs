//! The waits of Kafka's purgatories: an acks=all append answered once the
//! ISR has it (`DelayedProduce`) and a fetch answered once enough bytes
//! arrived (`DelayedFetch`), each bounded by the request's own timeout. The
//! handlers decide what to answer; these only wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::ReplicaManager;
use crate::partition::{Partition, PartitionError};

/// An acks=all append waiting for the ISR: the partition, the offset the
/// high watermark must pass, the leader epoch it was written in, and where
/// its answer sits in the response.
#[derive(Debug)]
pub struct PendingAppend<K> {
    /// Where the answer goes (the handler's own index).
    pub slot: K,
    /// The partition appended to.
    pub partition: Arc<Partition>,
    end: i64,
    epoch: i32,
}

impl<K> PendingAppend<K> {
    /// An append of records up to `last_offset` in leader epoch `epoch`.
    pub fn new(slot: K, partition: Arc<Partition>, last_offset: i64, epoch: i32) -> Self {
        PendingAppend {
            slot,
            partition,
            end: last_offset + 1,
            epoch,
        }
    }
}

/// Waits until every in-sync replica has each append, all against one
/// deadline (the ISR replicates the partitions at once, so waiting for
/// them in turn costs no more); returns the appends that were not
/// acknowledged, with why.
pub async fn await_isr<K>(
    pending: Vec<PendingAppend<K>>,
    timeout: Duration,
) -> Vec<(PendingAppend<K>, PartitionError)> {
    let deadline = Instant::now() + timeout;
    let mut failed = Vec::new();
    for p in pending {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Err(e) = p.partition.wait_for_isr(p.end, p.epoch, left).await {
            failed.push((p, e));
        }
    }
    failed
}

impl ReplicaManager {
    /// Reads with `read` until `enough` says so or `max_wait` passes,
    /// reading again after every append to any hosted partition; the last
    /// read is the answer.
    pub async fn delayed_read<R>(
        &self,
        max_wait: Duration,
        mut read: impl FnMut() -> R,
        enough: impl Fn(&R) -> bool,
    ) -> R {
        let deadline = Instant::now() + max_wait;
        let mut appends = self.subscribe_appends();
        loop {
            appends.borrow_and_update();
            let r = read();
            if enough(&r) || Instant::now() >= deadline {
                return r;
            }
            match tokio::time::timeout_at(deadline, appends.changed()).await {
                Ok(Ok(())) => continue,
                _ => return read(),
            }
        }
    }
}
