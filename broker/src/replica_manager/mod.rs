//! The partitions this broker hosts, kept in step with the metadata image,
//! like Kafka's `ReplicaManager`: when the image gains a partition assigned
//! here its log is opened, when a topic disappears its logs are deleted, and
//! config changes reach the logs.
//!
//! The replica manager is also where replication happens: a follower's
//! fetch loop per leader (`fetcher`), the leader's side of those fetches
//! (`replica_fetch`, the internal gRPC service) and the ISR changes the
//! leader asks the controller for (`isr_changes`), and the waits of Kafka's
//! purgatories: an acks=all append until the ISR has it, a fetch until
//! enough bytes arrived (`delayed`). The rules they follow
//! are pure functions in `crate::replication`.

pub mod delayed;
pub mod fetcher;
pub mod isr_changes;
pub mod replica_fetch;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use uuid::Uuid;

use crate::config::effective::{BrokerLogDefaults, EffectiveTopicConfig};
use crate::log::LogError;
use crate::metadata::{MetadataImage, TopicIdPartition, TopicImage};
use crate::partition::{Partition, PartitionSettings};
use crate::replica_manager::fetcher::{FetchSettings, Fetchers};
use crate::time::now_ms;

/// The hosted partitions.
#[derive(Debug)]
pub struct ReplicaManager {
    node_id: i32,
    data_dir: PathBuf,
    partitions: RwLock<HashMap<TopicIdPartition, Arc<Partition>>>,
    appended: watch::Sender<u64>,
    fetchers: Fetchers,
}

impl ReplicaManager {
    /// An empty manager storing logs under `data_dir`, fetching the
    /// partitions it follows with `fetch`.
    pub fn new(data_dir: PathBuf, fetch: FetchSettings) -> Self {
        ReplicaManager {
            node_id: fetch.node_id,
            data_dir,
            partitions: RwLock::new(HashMap::new()),
            appended: watch::channel(0).0,
            fetchers: Fetchers::new(fetch),
        }
    }

    /// The effective config of a topic given the broker's defaults.
    pub fn settings_for(
        topic: &TopicImage,
        partition: i32,
        topic_defaults: &BrokerLogDefaults,
    ) -> Option<PartitionSettings> {
        let record = topic.partitions.get(&partition)?;
        let config = EffectiveTopicConfig::resolve(&topic.configs, topic_defaults);
        Some(PartitionSettings {
            log: config.log_config(),
            min_insync_replicas: config.min_insync_replicas(),
            leader: record.leader,
            leader_epoch: record.leader_epoch,
            partition_epoch: record.partition_epoch,
            replicas: record.replicas.clone(),
            isr: record.isr.clone(),
        })
    }

    /// Brings the hosted partitions in line with `image`: opens new ones,
    /// updates existing ones, deletes those whose topic is gone.
    pub fn apply_image(
        &self,
        image: &MetadataImage,
        topic_defaults: &BrokerLogDefaults,
    ) -> Result<(), LogError> {
        let now = now_ms();
        let mut wanted = Vec::new();
        for topic in image.topics.values() {
            for (index, record) in &topic.partitions {
                if record.replicas.contains(&self.node_id) {
                    wanted.push((topic, *index));
                }
            }
        }
        let mut partitions = self
            .partitions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (topic, index) in &wanted {
            let Some(settings) = Self::settings_for(topic, *index, topic_defaults) else {
                continue;
            };
            match partitions.get(&(topic.id, *index)) {
                Some(p) => p.update(settings, now)?,
                None => {
                    let dir = self.data_dir.join(format!("{}-{}", topic.name, index));
                    let p = Partition::open(
                        self.node_id,
                        &dir,
                        (&topic.name, topic.id, *index),
                        settings,
                        self.appended.clone(),
                        now,
                    )?;
                    partitions.insert((topic.id, *index), Arc::new(p));
                }
            }
        }
        let gone: Vec<TopicIdPartition> = partitions
            .keys()
            .filter(|(id, index)| !wanted.iter().any(|(t, i)| t.id == *id && i == index))
            .copied()
            .collect();
        for key in gone {
            if let Some(p) = partitions.remove(&key) {
                if let Err(e) = p.delete() {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "failed to delete partition log");
                }
            }
        }
        let hosted: Vec<Arc<Partition>> = partitions.values().cloned().collect();
        drop(partitions);
        self.fetchers.assign(image, &hosted);
        Ok(())
    }

    /// A hosted partition.
    pub fn partition(&self, topic_id: Uuid, index: i32) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(topic_id, index))
            .cloned()
    }

    /// Every hosted partition.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Wakes long-polling fetches after an append anywhere.
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes after every append, for long-poll fetches.
    pub fn subscribe_appends(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Enforces retention on every partition; returns segments deleted.
    pub fn enforce_retention(&self) -> usize {
        let now = now_ms();
        self.all()
            .iter()
            .map(|p| match p.enforce_retention(now) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "retention failed");
                    0
                }
            })
            .sum()
    }

    /// Compacts the logs of compacted topics; returns segments rewritten.
    pub fn clean_logs(&self) -> usize {
        let now = now_ms();
        self.all()
            .iter()
            .map(|p| match p.clean(now) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "log cleaning failed");
                    0
                }
            })
            .sum()
    }

    /// Stops fetching and closes every log cleanly so the next start skips
    /// recovery.
    pub fn shutdown(&self) {
        self.fetchers.shutdown();
        for p in self.all() {
            if let Err(e) = p.close() {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "failed to close partition log");
            }
        }
    }
}
