//! The leader's side of replication on the internal listener: a follower's
//! fetch for every partition it follows here, held open until there is
//! something new (`replica.fetch.wait.max.ms`), like Kafka's replica Fetch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::broker::Broker;
use crate::metadata::MetadataImage;
use crate::partition::FetchPosition;
use crate::replica_manager::isr_changes;
use crate::replication::throttle::{is_throttled, Quota};
use crate::rpc::ReplicaFetchedPartition;
use crate::rpc::{self, replication_server::Replication};
use crate::rpc::{ReplicaFetchPartition, ReplicaFetchRequest, ReplicaFetchResponse};
use crate::time::now_ms;

/// Kafka's `replica.fetch.response.max.bytes` default: one response holds
/// at most this much, whatever the follower asks.
const RESPONSE_MAX_BYTES: usize = 10 << 20;
/// The longest a fetch is held, whatever the follower asks.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Serves followers' fetches.
pub struct ReplicationService {
    broker: Arc<Broker>,
    /// `leader.replication.throttled.rate` for throttled replicas.
    quota: Quota,
}

/// What a throttle needs to know during one fetch.
struct LeaderThrottle {
    image: Arc<MetadataImage>,
    rate: Option<u64>,
    now: Instant,
}

impl ReplicationService {
    /// The service of `broker`.
    pub fn new(broker: Arc<Broker>) -> ReplicationService {
        ReplicationService {
            broker,
            quota: Quota::default(),
        }
    }

    /// Reads every asked partition once; returns the answers and whether
    /// any of them must go back at once (records, an error, a divergence).
    fn serve_once(&self, request: &ReplicaFetchRequest) -> (Vec<ReplicaFetchedPartition>, bool) {
        let now = now_ms();
        let mut budget = usize::try_from(request.max_bytes)
            .unwrap_or(0)
            .clamp(1, RESPONSE_MAX_BYTES);
        let mut urgent = false;
        let mut answers = Vec::with_capacity(request.partitions.len());
        let image = self.broker.image();
        let throttle = LeaderThrottle {
            rate: image.throttle_rate(
                self.broker.config.node_id,
                "leader.replication.throttled.rate",
            ),
            image,
            now: Instant::now(),
        };
        for asked in &request.partitions {
            let answer =
                self.serve_partition(request.replica_id, asked, &mut budget, now, &throttle);
            urgent |= answer.error_code != 0 || answer.diverging || !answer.records.is_empty();
            answers.push(answer);
        }
        (answers, urgent)
    }

    fn serve_partition(
        &self,
        replica: i32,
        asked: &ReplicaFetchPartition,
        budget: &mut usize,
        now: i64,
        throttle: &LeaderThrottle,
    ) -> ReplicaFetchedPartition {
        let mut answer = ReplicaFetchedPartition {
            topic_id: asked.topic_id.clone(),
            partition: asked.partition,
            high_watermark: -1,
            log_start_offset: -1,
            leader_epoch: -1,
            ..Default::default()
        };
        let partition = Uuid::from_slice(&asked.topic_id)
            .ok()
            .and_then(|id| self.broker.replicas.partition(id, asked.partition));
        let Some(partition) = partition else {
            answer.error_code = i32::from(ResponseError::UnknownTopicOrPartition.code());
            return answer;
        };
        answer.leader_epoch = partition.leader_epoch();
        let position = FetchPosition {
            leader: self.broker.config.node_id,
            leader_epoch: asked.current_leader_epoch,
            fetch_offset: asked.fetch_offset,
            last_fetched_epoch: asked.last_fetched_epoch,
        };
        let throttled = throttle.rate.is_some()
            && is_throttled(
                throttle
                    .image
                    .topic_by_id(&partition.topic_id)
                    .and_then(|t| t.configs.get("leader.replication.throttled.replicas"))
                    .map(String::as_str),
                asked.partition,
                replica,
                partition.in_sync(replica),
            );
        let max = if throttled && self.quota.exceeded(throttle.rate, throttle.now) {
            0
        } else {
            usize::try_from(asked.max_bytes).unwrap_or(0).min(*budget)
        };
        match partition.fetch_for_follower(replica, position, max, now) {
            Ok(fetched) => {
                *budget = budget.saturating_sub(fetched.records.len());
                if throttled {
                    self.quota
                        .record(throttle.rate, fetched.records.len(), throttle.now);
                }
                answer.high_watermark = fetched.high_watermark;
                answer.log_start_offset = fetched.log_start_offset;
                if let Some((epoch, end)) = fetched.diverging {
                    answer.diverging = true;
                    answer.diverging_epoch = epoch;
                    answer.diverging_end_offset = end;
                }
                answer.records = fetched.records.to_vec();
                if let Some(proposal) = fetched.expand_isr {
                    let broker = self.broker.clone();
                    tokio::spawn(async move {
                        isr_changes::propose(&broker, &partition, proposal).await;
                    });
                }
            }
            Err(e) => {
                answer.error_code = i32::from(e.error_code().code());
                answer.log_start_offset = partition.log_start_offset();
            }
        }
        answer
    }
}

#[tonic::async_trait]
impl Replication for ReplicationService {
    async fn fetch(
        &self,
        request: Request<ReplicaFetchRequest>,
    ) -> Result<Response<ReplicaFetchResponse>, Status> {
        rpc::check_cluster(&self.broker.cluster_id, &request)?;
        let request = request.into_inner();
        let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        let mut appended = self.broker.replicas.subscribe_appends();
        loop {
            appended.borrow_and_update();
            let (partitions, urgent) = self.serve_once(&request);
            let expired = tokio::time::Instant::now() >= deadline;
            if urgent || expired {
                return Ok(Response::new(ReplicaFetchResponse { partitions }));
            }
            // Nothing new: hold the fetch until an append or the deadline.
            let _ = tokio::time::timeout_at(deadline, appended.changed()).await;
        }
    }
}
