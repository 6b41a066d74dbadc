//! The broker's shared state: configuration, metadata, hosted partitions and
//! metrics, and the operations that span them (committing a metadata change
//! and bringing the partitions in line with it).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::effective::{BrokerLogDefaults, EffectiveTopicConfig};
use crate::config::BrokerConfig;
use crate::controller::decisions::broker_configs::CLUSTER_DEFAULT;
use crate::controller::decisions::request::{ControllerReply, ControllerRequest};
use crate::controller::decisions::topics::{NewTopic, TopicDefaults};
use crate::controller::forwarding;
use crate::controller::liveness::Liveness;
use crate::controller::Rejection;
use crate::fetch_session::FetchSessions;
use crate::group::GroupCoordinator;
use crate::log::LogError;
use crate::metadata::meta_properties::{self, MetaPropertiesError};
use crate::metadata::{BrokerRecord, Endpoint, MetadataImage, TopicImage};
use crate::metrics::{Metrics, MetricsError};
use crate::partition::PartitionError;
use crate::quorum::{MetadataQuorum, QuorumError};
use crate::replica_manager::fetcher::FetchSettings;
use crate::replica_manager::ReplicaManager;
use kafka_protocol::error::ResponseError;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory belongs to another broker or is unreadable.
    #[error(transparent)]
    MetaProperties(#[from] MetaPropertiesError),
    /// The metadata quorum could not start.
    #[error(transparent)]
    Quorum(#[from] QuorumError),
    /// A partition log could not be opened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Consumer group state could not be read back.
    #[error("loading consumer groups: {0}")]
    Groups(#[from] PartitionError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
    /// A listener could not be bound.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The controller refused this broker's registration for good.
    #[error("the controller refuses to register this broker: {0}")]
    Registration(String),
    /// A TLS listener's key or trust store does not load.
    #[error("listener {listener}: {source}")]
    Tls {
        /// The listener.
        listener: String,
        /// Why.
        source: crate::server::tls::TlsError,
    },
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Broker {
    /// The configuration the broker started with.
    pub config: BrokerConfig,
    /// The cluster this broker belongs to.
    pub cluster_id: String,
    /// Cluster metadata: this broker's member of the metadata quorum.
    pub quorum: MetadataQuorum,
    /// Serialises the controller's decisions while this broker is the controller.
    pub controller_lock: tokio::sync::Mutex<()>,
    /// Hosted partitions.
    pub replicas: ReplicaManager,
    /// Exported metrics.
    pub metrics: Metrics,
    /// Consumer groups and committed offsets.
    pub groups: GroupCoordinator,
    /// This process's incarnation: a restart registers with a new one.
    pub incarnation: uuid::Uuid,
    /// On the controller: when each broker last heartbeat.
    pub liveness: Liveness,
    /// Consumers' incremental fetch sessions (KIP-227).
    pub fetch_sessions: FetchSessions,
    ready: AtomicBool,
    applied_version: Mutex<u64>,
    producer_ids: tokio::sync::Mutex<Range<i64>>,
}

impl Broker {
    /// Opens the data directory and starts this broker's member of the
    /// metadata quorum. The broker serves nothing until [`Broker::join`].
    pub async fn open(config: BrokerConfig) -> Result<Arc<Broker>, StartError> {
        let configured = config.cluster_id.clone().or_else(|| {
            (!config.cluster.voters.is_empty())
                .then(|| meta_properties::cluster_id_for_voters(&config.cluster.voters_text()))
        });
        let cluster_id =
            meta_properties::load_or_init(&config.data_dir, config.node_id, configured.as_deref())?;
        let quorum = MetadataQuorum::start(
            &config.data_dir.join("__cluster_metadata-0"),
            config.node_id,
            &config.cluster,
            &cluster_id,
        )
        .await?;
        let replicas = ReplicaManager::new(
            config.data_dir.clone(),
            FetchSettings {
                node_id: config.node_id,
                cluster_id: cluster_id.clone(),
                max_wait_ms: config.cluster.replica_fetch_wait_max_ms,
                max_bytes: config.cluster.replica_fetch_max_bytes,
            },
        );
        Ok(Arc::new(Broker {
            cluster_id,
            quorum,
            controller_lock: tokio::sync::Mutex::new(()),
            replicas,
            metrics: Metrics::new()?,
            groups: GroupCoordinator::new(config.groups.clone()),
            incarnation: uuid::Uuid::new_v4(),
            liveness: Liveness::default(),
            fetch_sessions: FetchSessions::new(config.fetch_session_cache_slots),
            ready: AtomicBool::new(false),
            applied_version: Mutex::new(0),
            producer_ids: tokio::sync::Mutex::new(0..0),
            config,
        }))
    }

    /// Joins the cluster: registers with the controller (waiting for one to
    /// be elected), then opens every hosted partition and the consumer
    /// groups. The internal listener must already serve, since the quorum
    /// may need this broker's vote to elect a controller.
    pub async fn join(&self) -> Result<(), StartError> {
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
            internal_address: self.config.cluster.internal_advertised.clone(),
            incarnation: self.incarnation,
        };
        let voters: Vec<i32> = self
            .config
            .cluster
            .effective_voters(self.config.node_id)
            .iter()
            .map(|v| v.node_id)
            .collect();
        let mut attempt = 0u32;
        loop {
            match self
                .control(ControllerRequest::RegisterBroker {
                    record: record.clone(),
                    voters: voters.clone(),
                })
                .await
            {
                Ok(_) => break,
                Err(e) if e.error == ResponseError::InconsistentVoterSet => {
                    return Err(StartError::Registration(e.message));
                }
                Err(e) => {
                    attempt += 1;
                    if attempt % 5 == 1 {
                        tracing::info!(reason = %e, "waiting for the controller to register this broker");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        crate::controller::liveness::until_unfenced(self).await;
        self.apply_current();
        Ok(())
    }

    /// The current metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.quorum.image()
    }

    /// Has the controller decide and commit a change, then applies it to
    /// the hosted partitions, so a created topic can be produced to as soon
    /// as the request that created it returns.
    pub async fn control(&self, request: ControllerRequest) -> Result<ControllerReply, Rejection> {
        forwarding::control(self, request).await
    }

    /// Brings the hosted partitions in line with the newest image.
    pub fn apply_current(&self) {
        let image = self.image();
        if let Err(e) = self.apply(&image) {
            tracing::error!(error = %e, "applying metadata to partitions failed");
        }
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
            .apply_image(image, &self.log_defaults(image))?;
        *applied = image.version;
        drop(applied);
        if let Err(e) = self.groups.follow_leadership(self) {
            tracing::error!(error = %e, "loading consumer groups failed");
        }
        Ok(())
    }

    /// The broker defaults for new topics.
    pub fn topic_defaults(&self) -> TopicDefaults {
        TopicDefaults {
            num_partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor,
        }
    }

    /// This broker's defaults for topic configs: what an admin set for it
    /// or for the whole cluster in `image`, over its properties file.
    pub fn log_defaults(&self, image: &MetadataImage) -> BrokerLogDefaults {
        BrokerLogDefaults::new(
            image.broker_configs.get(&self.config.node_id),
            image.broker_configs.get(&CLUSTER_DEFAULT),
            &self.config.topic_defaults,
        )
    }

    /// A topic's configuration with broker defaults filled in.
    pub fn effective_config(&self, topic: &TopicImage) -> EffectiveTopicConfig {
        EffectiveTopicConfig::resolve(&topic.configs, &self.log_defaults(&self.image()))
    }

    /// Creates a topic with the broker defaults, as `auto.create.topics.enable`
    /// does. A topic created concurrently by someone else counts as success.
    pub async fn auto_create_topic(&self, name: &str) -> Result<(), Rejection> {
        let topic = NewTopic {
            name: name.to_string(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: Default::default(),
            configs: Default::default(),
        };
        let reply = self
            .control(ControllerRequest::CreateTopic {
                topic,
                defaults: self.topic_defaults(),
                validate_only: false,
                if_absent: true,
            })
            .await?;
        if matches!(reply, ControllerReply::Created(_)) {
            tracing::info!(topic = name, "auto-created topic");
        }
        Ok(())
    }

    /// A producer id never handed out before, for InitProducerId. Ids come
    /// from a block the controller allocated to this broker; a new block is
    /// committed when the current one runs out.
    pub async fn next_producer_id(&self) -> Result<i64, Rejection> {
        let mut block = self.producer_ids.lock().await;
        if block.is_empty() {
            let reply = self
                .control(ControllerRequest::AllocateProducerIds {
                    broker_id: self.config.node_id,
                })
                .await?;
            *block = reply.producer_ids().ok_or_else(|| {
                Rejection::new(ResponseError::UnknownServerError, "no producer id block")
            })?;
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
