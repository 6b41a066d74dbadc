//! The records of the cluster metadata log.
//!
//! Every change to cluster metadata — a broker registering, a topic created,
//! a partition's replicas or leader changing, a config set — is one of these
//! records. They are what the Raft quorum replicates, so they carry everything
//! a broker needs to rebuild the metadata image from scratch.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One endpoint a broker advertises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The listener name, e.g. `PLAINTEXT`.
    pub name: String,
    /// Host clients connect to.
    pub host: String,
    /// Port clients connect to.
    pub port: u16,
}

/// A broker's registration: who it is and where clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRecord {
    /// The broker's id.
    pub node_id: i32,
    /// Advertised endpoints.
    pub endpoints: Vec<Endpoint>,
    /// The broker's rack, if configured.
    pub rack: Option<String>,
    /// `host:port` of its internal listener, where followers fetch from it.
    #[serde(default)]
    pub internal_address: String,
    /// Fresh on every start of the broker process (Kafka's incarnation id):
    /// a registration with a new one means the broker restarted.
    #[serde(default)]
    pub incarnation: Uuid,
}

impl BrokerRecord {
    /// The address a client of `listener` reaches this broker at: the
    /// advertised endpoint of the same listener name, as Kafka answers
    /// (none when the broker has no such listener).
    pub fn endpoint(&self, listener: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(listener))
    }
}

/// A topic's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    /// The topic name.
    pub name: String,
    /// The topic id (KIP-516), unique across deletions and recreations.
    pub topic_id: Uuid,
}

/// The full state of one partition; a later record for the same partition
/// replaces the earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRecord {
    /// The owning topic.
    pub topic_id: Uuid,
    /// Partition index.
    pub partition: i32,
    /// Assigned replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Current leader, or -1 when offline.
    pub leader: i32,
    /// Incremented on every leader change.
    pub leader_epoch: i32,
    /// Incremented on every change to this partition.
    pub partition_epoch: i32,
    /// Replicas a reassignment in flight adds (they are in `replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    /// Replicas a reassignment in flight removes once the added ones are
    /// in sync (they are in `replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
}

/// What a config record applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConfigResource {
    /// A topic, by name (as Kafka keys configs).
    Topic(String),
    /// A broker, by id.
    Broker(i32),
    /// A consumer group, by id (KIP-848 group configs).
    Group(String),
}

/// One config key set (`Some`) or removed (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    /// The resource configured.
    pub resource: ConfigResource,
    /// The Kafka key.
    pub name: String,
    /// The new value, or `None` to return to the default.
    pub value: Option<String>,
}

/// One change to cluster metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A broker registered or changed its endpoints.
    RegisterBroker(BrokerRecord),
    /// A topic was created.
    Topic(TopicRecord),
    /// A partition was created or changed.
    Partition(PartitionRecord),
    /// A topic and all its partitions and configs were deleted.
    RemoveTopic {
        /// The deleted topic.
        topic_id: Uuid,
    },
    /// A config was set or removed.
    Config(ConfigRecord),
    /// A broker stopped heartbeating or shut down: it may hold no leadership.
    FenceBroker {
        /// The fenced broker.
        broker_id: i32,
    },
    /// A stopped broker holding no replica is forgotten (KIP-631).
    UnregisterBroker {
        /// The broker.
        broker_id: i32,
    },
    /// A fenced broker heartbeats again.
    UnfenceBroker {
        /// The broker.
        broker_id: i32,
    },
    /// A block of producer ids was handed to a broker (Kafka's
    /// `ProducerIdsRecord`); ids below `next_producer_id` are taken.
    ProducerIds {
        /// The broker that received the block.
        broker_id: i32,
        /// The first id not yet allocated to anyone.
        next_producer_id: i64,
    },
}
