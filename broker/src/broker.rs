//! The broker's shared state: configuration, metadata, hosted partitions and
//! metrics, and the operations that span them (committing a metadata change
//! and bringing the partitions in line with it).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::topic::EffectiveTopicConfig;
use crate::config::BrokerConfig;
use crate::controller::producer_ids;
use crate::controller::topics::{self, NewTopic, TopicDefaults};
use crate::controller::Rejection;
use crate::group::GroupCoordinator;
use crate::log::LogError;
use crate::metadata::journal::JournalError;
use crate::metadata::meta_properties::{self, MetaPropertiesError};
use crate::metadata::{
    BrokerRecord, CommitError, Endpoint, MetadataImage, MetadataRecord, MetadataStore, TopicImage,
};
use crate::metrics::{Metrics, MetricsError};
use crate::partition::PartitionError;
use crate::replica_manager::ReplicaManager;
use kafka_protocol::error::ResponseError;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory belongs to another broker or is unreadable.
    #[error(transparent)]
    MetaProperties(#[from] MetaPropertiesError),
    /// The metadata log could not be opened.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A partition log could not be opened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Consumer group state could not be read back.
    #[error("loading consumer groups: {0}")]
    Groups(#[from] PartitionError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
    /// Registering this broker in the metadata failed.
    #[error("registering broker: {0}")]
    Register(String),
    /// A listener could not be bound.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Broker {
    /// The configuration the broker started with.
    pub config: BrokerConfig,
    /// The cluster this broker belongs to.
    pub cluster_id: String,
    /// Cluster metadata.
    pub metadata: MetadataStore,
    /// Hosted partitions.
    pub replicas: ReplicaManager,
    /// Exported metrics.
    pub metrics: Metrics,
    /// Consumer groups and committed offsets.
    pub groups: GroupCoordinator,
    ready: AtomicBool,
    applied_version: Mutex<u64>,
    producer_ids: Mutex<Range<i64>>,
}

impl Broker {
    /// Opens the data directory, replays metadata, registers this broker and
    /// opens (recovering if needed) every hosted partition.
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, StartError> {
        let cluster_id = meta_properties::load_or_init(
            &config.data_dir,
            config.node_id,
            config.cluster_id.as_deref(),
        )?;
        let metadata = MetadataStore::open(&config.data_dir.join("__cluster_metadata-0"))?;
        let replicas = ReplicaManager::new(config.node_id, config.data_dir.clone());
        let broker = Arc::new(Broker {
            cluster_id,
            metadata,
            replicas,
            metrics: Metrics::new()?,
            groups: GroupCoordinator::new(config.groups.clone()),
            ready: AtomicBool::new(false),
            applied_version: Mutex::new(0),
            producer_ids: Mutex::new(0..0),
            config,
        });
        broker.register()?;
        let image = broker.image();
        broker.apply(&image)?;
        broker.groups.load(&broker)?;
        broker.metrics.active_controller.set(1);
        Ok(broker)
    }

    fn register(&self) -> Result<(), StartError> {
        let record = BrokerRecord {
            node_id: self.config.node_id,
            endpoints: self
                .config
                .advertised_listeners
                .iter()
                .map(|l| Endpoint {
                    name: l.name.clone(),
                    host: if l.host.is_empty() {
                        "localhost".to_string()
                    } else {
                        l.host.clone()
                    },
                    port: l.port,
                })
                .collect(),
            rack: self.config.rack.clone(),
        };
        self.metadata
            .commit(|image| {
                let unchanged = image.brokers.get(&record.node_id) == Some(&record);
                let records = if unchanged {
                    vec![]
                } else {
                    vec![MetadataRecord::RegisterBroker(record.clone())]
                };
                Ok::<_, Rejection>((records, ()))
            })
            .map_err(|e| StartError::Register(e.to_string()))?;
        Ok(())
    }

    /// The current metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.metadata.image()
    }

    /// Decides and commits a metadata change, then applies it to the hosted
    /// partitions, so a created topic can be produced to as soon as the
    /// request that created it returns.
    pub fn commit<T>(
        &self,
        decide: impl FnOnce(&MetadataImage) -> Result<(Vec<MetadataRecord>, T), Rejection>,
    ) -> Result<T, Rejection> {
        let (image, outcome) = self.metadata.commit(decide).map_err(|e| match e {
            CommitError::Rejected(r) => r,
            CommitError::Journal(e) => {
                tracing::error!(error = %e, "metadata commit failed");
                Rejection::new(ResponseError::KafkaStorageError, e.to_string())
            }
        })?;
        self.apply(&image).map_err(|e| {
            tracing::error!(error = %e, "applying metadata to partitions failed");
            Rejection::new(ResponseError::KafkaStorageError, e.to_string())
        })?;
        Ok(outcome)
    }

    /// Applies an image to the partitions unless a newer one already was.
    fn apply(&self, image: &MetadataImage) -> Result<(), LogError> {
        let mut applied = self
            .applied_version
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if image.version < *applied {
            return Ok(());
        }
        self.replicas
            .apply_image(image, &self.config.topic_defaults)?;
        *applied = image.version;
        Ok(())
    }

    /// The broker defaults for new topics.
    pub fn topic_defaults(&self) -> TopicDefaults {
        TopicDefaults {
            num_partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor,
        }
    }

    /// A topic's configuration with broker defaults filled in.
    pub fn effective_config(&self, topic: &TopicImage) -> EffectiveTopicConfig {
        EffectiveTopicConfig::resolve(&topic.configs, &self.config.topic_defaults)
    }

    /// Creates a topic with the broker defaults, as `auto.create.topics.enable`
    /// does. A topic created concurrently by someone else counts as success.
    pub fn auto_create_topic(&self, name: &str) -> Result<(), Rejection> {
        let topic = NewTopic {
            name: name.to_string(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: Default::default(),
            configs: Default::default(),
        };
        let defaults = self.topic_defaults();
        let created = self.commit(|image| {
            if image.topic(name).is_some() {
                return Ok((vec![], ()));
            }
            let records = topics::create_topic(image, &topic, defaults, uuid::Uuid::new_v4())?;
            Ok((records, ()))
        });
        if created.is_ok() {
            tracing::info!(topic = name, "auto-created topic");
        }
        created
    }

    /// A producer id never handed out before, for InitProducerId. Ids come
    /// from a block the controller allocated to this broker; a new block is
    /// committed when the current one runs out.
    pub fn next_producer_id(&self) -> Result<i64, Rejection> {
        let mut block = self
            .producer_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if block.is_empty() {
            let node = self.config.node_id;
            *block = self.commit(|image| producer_ids::allocate_block(image, node))?;
        }
        let id = block.start;
        block.start += 1;
        Ok(id)
    }

    /// Marks the broker ready for clients (`/readyz`).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the broker serves clients.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Updates gauges that are read from state rather than counted.
    pub fn refresh_gauges(&self) {
        let image = self.image();
        let node = self.config.node_id;
        let mut hosted = 0;
        let mut leading = 0;
        let mut under = 0;
        let mut offline = 0;
        for topic in image.topics.values() {
            for p in topic.partitions.values() {
                if p.leader < 0 {
                    offline += 1;
                }
                if p.replicas.contains(&node) {
                    hosted += 1;
                }
                if p.leader == node {
                    leading += 1;
                    if p.isr.len() < p.replicas.len() {
                        under += 1;
                    }
                }
            }
        }
        self.metrics.partition_count.set(hosted);
        self.metrics.leader_count.set(leading);
        self.metrics.under_replicated_partitions.set(under);
        self.metrics.offline_partitions.set(offline);
    }
}
