//! The follower side: one fetch loop per leader this broker follows
//! partitions of (Kafka's `ReplicaFetcherThread`), each pulling every such
//! partition in one request over the leader's internal listener.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::config::topic::is_throttled as is_throttled_config;
use crate::metadata::MetadataImage;
use crate::metadata::TopicIdPartition;
use crate::partition::{FetchPosition, Partition, ReplicaFetched};
use crate::replication::throttle::Quota;
use crate::rpc::channel;
use crate::rpc::{self, replication_client::ReplicationClient};
use crate::rpc::{ReplicaFetchPartition, ReplicaFetchRequest, ReplicaFetchedPartition};
use crate::time::now_ms;

/// How long a fetcher waits after its leader failed to answer.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);
/// How often a fetcher with only throttled partitions checks its quota.
const THROTTLE_POLL: Duration = Duration::from_millis(50);

/// What every fetch loop of this broker needs.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// This broker's id, sent as the replica id.
    pub node_id: i32,
    /// The cluster id every internal call carries.
    pub cluster_id: String,
    /// `replica.fetch.wait.max.ms`.
    pub max_wait_ms: i32,
    /// `replica.fetch.max.bytes`, per partition and per request.
    pub max_bytes: i32,
}

type Followed = Arc<Mutex<BTreeMap<TopicIdPartition, Arc<Partition>>>>;

/// The follower side of the replication throttle, shared by this broker's
/// fetch loops: `follower.replication.throttled.rate` and the partitions
/// whose topics list this broker in `follower.replication.throttled.replicas`,
/// both refreshed with every image.
#[derive(Debug, Default)]
struct FollowerThrottle {
    /// The rate in bytes/s (`None`: unthrottled) and the listed partitions.
    config: Mutex<(Option<u64>, HashSet<TopicIdPartition>)>,
    quota: Quota,
}

impl FollowerThrottle {
    fn config(&self) -> std::sync::MutexGuard<'_, (Option<u64>, HashSet<TopicIdPartition>)> {
        self.config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn rate(&self) -> Option<u64> {
        self.config().0
    }

    /// Whether `p` counts against the throttle now: listed and out of sync.
    fn applies(&self, p: &Partition, node_id: i32) -> bool {
        let (rate, listed) = &*self.config();
        rate.is_some() && listed.contains(&(p.topic_id, p.index)) && !p.in_sync(node_id)
    }
}

/// One running fetch loop.
#[derive(Debug)]
struct LeaderFetcher {
    address: String,
    partitions: Followed,
    task: JoinHandle<()>,
}

/// The fetch loops of this broker, kept in step with the partitions it
/// follows.
#[derive(Debug)]
pub struct Fetchers {
    settings: FetchSettings,
    running: Mutex<HashMap<i32, LeaderFetcher>>,
    throttle: Arc<FollowerThrottle>,
}

impl Fetchers {
    /// No fetch loop yet.
    pub fn new(settings: FetchSettings) -> Fetchers {
        Fetchers {
            settings,
            running: Mutex::new(HashMap::new()),
            throttle: Arc::new(FollowerThrottle::default()),
        }
    }

    /// Fetches every partition of `hosted` this broker follows from its
    /// leader: starts loops for new leaders (or leaders with a new address),
    /// hands partitions to the loop of their leader and stops loops left
    /// with none.
    pub fn assign(&self, image: &MetadataImage, hosted: &[Arc<Partition>]) {
        let node = self.settings.node_id;
        let listed = hosted
            .iter()
            .filter(|p| {
                image
                    .topic_by_id(&p.topic_id)
                    .and_then(|t| t.configs.get("follower.replication.throttled.replicas"))
                    .is_some_and(|l| is_throttled_config(l, p.index, node))
            })
            .map(|p| (p.topic_id, p.index))
            .collect();
        *self.throttle.config() = (
            image.throttle_rate(node, "follower.replication.throttled.rate"),
            listed,
        );
        let mut by_leader: HashMap<i32, BTreeMap<TopicIdPartition, Arc<Partition>>> =
            HashMap::new();
        for p in hosted {
            if let Some(leader) = p.followed_leader() {
                by_leader
                    .entry(leader)
                    .or_default()
                    .insert((p.topic_id, p.index), p.clone());
            }
        }
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        running.retain(|leader, fetcher| {
            let address = image
                .brokers
                .get(leader)
                .map(|b| b.internal_address.as_str());
            let keep = by_leader.contains_key(leader) && address == Some(fetcher.address.as_str());
            if !keep {
                fetcher.task.abort();
            }
            keep
        });
        for (leader, partitions) in by_leader {
            if let Some(fetcher) = running.get(&leader) {
                *fetcher
                    .partitions
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = partitions;
                continue;
            }
            let Some(address) = image
                .brokers
                .get(&leader)
                .map(|b| b.internal_address.clone())
                .filter(|a| !a.is_empty())
            else {
                tracing::warn!(
                    leader,
                    "the leader has no internal address registered; not fetching from it yet"
                );
                continue;
            };
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                continue;
            };
            let followed: Followed = Arc::new(Mutex::new(partitions));
            let task = handle.spawn(run(
                self.settings.clone(),
                leader,
                address.clone(),
                followed.clone(),
                self.throttle.clone(),
            ));
            running.insert(
                leader,
                LeaderFetcher {
                    address,
                    partitions: followed,
                    task,
                },
            );
        }
    }

    /// Stops every fetch loop (shutdown).
    pub fn shutdown(&self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (_, f) in running.drain() {
            f.task.abort();
        }
    }
}

/// Fetches from `leader` at `address` until aborted.
async fn run(
    settings: FetchSettings,
    leader: i32,
    address: String,
    followed: Followed,
    throttle: Arc<FollowerThrottle>,
) {
    let client = match channel(&address) {
        Ok(c) => ReplicationClient::new(c)
            .max_decoding_message_size(rpc::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(rpc::MAX_MESSAGE_BYTES),
        Err(e) => {
            tracing::error!(leader, address, error = %e, "bad leader address");
            return;
        }
    };
    tracing::info!(leader, address, "fetching from the leader");
    loop {
        let partitions: Vec<Arc<Partition>> = followed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let waiting = throttle.quota.exceeded(throttle.rate(), Instant::now());
        let asked: Vec<(Arc<Partition>, FetchPosition)> = partitions
            .into_iter()
            .filter(|p| !(waiting && throttle.applies(p, settings.node_id)))
            .filter_map(|p| {
                let position = p.fetch_position().filter(|f| f.leader == leader)?;
                Some((p, position))
            })
            .collect();
        if asked.is_empty() {
            tokio::time::sleep(if waiting {
                THROTTLE_POLL
            } else {
                RETRY_BACKOFF
            })
            .await;
            continue;
        }
        match fetch_once(&settings, client.clone(), &asked, &throttle).await {
            Ok(progressed) if progressed => {}
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(status) => {
                tracing::debug!(leader, %status, "fetch from the leader failed");
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
        }
    }
}

/// One fetch round; returns whether any partition took data or answered
/// without error (an all-errors round backs off).
async fn fetch_once(
    settings: &FetchSettings,
    mut client: ReplicationClient<Channel>,
    asked: &[(Arc<Partition>, FetchPosition)],
    throttle: &FollowerThrottle,
) -> Result<bool, tonic::Status> {
    let request = ReplicaFetchRequest {
        replica_id: settings.node_id,
        max_wait_ms: settings.max_wait_ms,
        max_bytes: settings.max_bytes,
        partitions: asked
            .iter()
            .map(|(p, pos)| ReplicaFetchPartition {
                topic_id: p.topic_id.as_bytes().to_vec(),
                partition: p.index,
                current_leader_epoch: pos.leader_epoch,
                fetch_offset: pos.fetch_offset,
                last_fetched_epoch: pos.last_fetched_epoch,
                max_bytes: settings.max_bytes,
            })
            .collect(),
    };
    let mut call = rpc::request(&settings.cluster_id, request);
    let wait = u64::try_from(settings.max_wait_ms).unwrap_or(0);
    call.set_timeout(Duration::from_millis(wait) + Duration::from_secs(10));
    let response = client.fetch(call).await?.into_inner();
    let mut progressed = false;
    for answer in response.partitions {
        let Some((partition, position)) = find(asked, &answer) else {
            continue;
        };
        if throttle.applies(partition, settings.node_id) {
            throttle
                .quota
                .record(throttle.rate(), answer.records.len(), Instant::now());
        }
        progressed |= take(partition, *position, answer);
    }
    Ok(progressed)
}

fn find<'a>(
    asked: &'a [(Arc<Partition>, FetchPosition)],
    answer: &ReplicaFetchedPartition,
) -> Option<&'a (Arc<Partition>, FetchPosition)> {
    let id = Uuid::from_slice(&answer.topic_id).ok()?;
    asked
        .iter()
        .find(|(p, _)| p.topic_id == id && p.index == answer.partition)
}

/// Applies one partition's answer; returns whether it was not an error.
fn take(partition: &Partition, position: FetchPosition, answer: ReplicaFetchedPartition) -> bool {
    let now = now_ms();
    let code = answer.error_code;
    let outcome = if code == 0 {
        let fetched = ReplicaFetched {
            records: answer.records.into(),
            high_watermark: answer.high_watermark,
            log_start_offset: answer.log_start_offset,
            diverging: answer
                .diverging
                .then_some((answer.diverging_epoch, answer.diverging_end_offset)),
            expand_isr: None,
        };
        partition.append_from_leader(position, fetched, now)
    } else if code == i32::from(ResponseError::OffsetOutOfRange.code()) {
        partition.restart_at(position, answer.log_start_offset, now)
    } else {
        tracing::debug!(topic = %partition.topic, partition = partition.index, code, "the leader refused the fetch");
        return false;
    };
    match outcome {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(topic = %partition.topic, partition = partition.index, error = %e, "storing fetched batches failed");
            false
        }
    }
}
