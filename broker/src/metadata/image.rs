//! The in-memory image of cluster metadata: the result of applying every
//! metadata record in order. Handlers read an immutable snapshot of it.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::record::{BrokerRecord, ConfigRecord, ConfigResource, MetadataRecord, PartitionRecord};

/// A topic as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicImage {
    /// The topic name.
    pub name: String,
    /// The topic id.
    pub id: Uuid,
    /// Partitions by index.
    pub partitions: BTreeMap<i32, PartitionRecord>,
    /// Topic-level config overrides.
    pub configs: BTreeMap<String, String>,
}

/// Cluster metadata at one point of the metadata log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetadataImage {
    /// Registered brokers by id.
    pub brokers: BTreeMap<i32, BrokerRecord>,
    /// Registered brokers that are fenced (not heartbeating, shut down).
    #[serde(default)]
    pub fenced: BTreeSet<i32>,
    /// Topics by id.
    pub topics: BTreeMap<Uuid, TopicImage>,
    /// Topic ids by name.
    pub topic_ids: BTreeMap<String, Uuid>,
    /// Broker-level dynamic configs by broker id.
    pub broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
    /// Dynamic group configs by group id.
    #[serde(default)]
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// The first producer id not yet allocated to a broker.
    pub next_producer_id: i64,
    /// How many record batches have been applied; grows with every change.
    pub version: u64,
}

impl MetadataImage {
    /// Applies one record. Records referring to unknown topics are ignored,
    /// as they can only come from a topic deleted in between.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::RegisterBroker(b) => {
                self.brokers.insert(b.node_id, b.clone());
            }
            MetadataRecord::Topic(t) => {
                self.topic_ids.insert(t.name.clone(), t.topic_id);
                self.topics.insert(
                    t.topic_id,
                    TopicImage {
                        name: t.name.clone(),
                        id: t.topic_id,
                        partitions: BTreeMap::new(),
                        configs: BTreeMap::new(),
                    },
                );
            }
            MetadataRecord::Partition(p) => {
                if let Some(topic) = self.topics.get_mut(&p.topic_id) {
                    topic.partitions.insert(p.partition, p.clone());
                }
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                if let Some(topic) = self.topics.remove(topic_id) {
                    self.topic_ids.remove(&topic.name);
                }
            }
            MetadataRecord::FenceBroker { broker_id } => {
                self.fenced.insert(*broker_id);
            }
            MetadataRecord::UnfenceBroker { broker_id } => {
                self.fenced.remove(broker_id);
            }
            MetadataRecord::UnregisterBroker { broker_id } => {
                self.brokers.remove(broker_id);
                self.fenced.remove(broker_id);
            }
            MetadataRecord::Config(c) => self.apply_config(c),
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => {
                self.next_producer_id = self.next_producer_id.max(*next_producer_id);
            }
        }
    }

    fn apply_config(&mut self, c: &ConfigRecord) {
        let map = match &c.resource {
            ConfigResource::Topic(name) => match self.topic_ids.get(name) {
                Some(id) => match self.topics.get_mut(id) {
                    Some(t) => &mut t.configs,
                    None => return,
                },
                None => return,
            },
            ConfigResource::Broker(id) => self.broker_configs.entry(*id).or_default(),
            ConfigResource::Group(id) => self.group_configs.entry(id.clone()).or_default(),
        };
        match &c.value {
            Some(v) => map.insert(c.name.clone(), v.clone()),
            None => map.remove(&c.name),
        };
    }

    /// Applies a batch of records as one change.
    pub fn apply_all(&mut self, records: &[MetadataRecord]) {
        for r in records {
            self.apply(r);
        }
        self.version += 1;
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topic_ids.get(name).and_then(|id| self.topics.get(id))
    }

    /// Whether a broker is registered and may hold leaderships and ISR
    /// places.
    pub fn is_live(&self, node_id: i32) -> bool {
        self.brokers.contains_key(&node_id) && !self.fenced.contains(&node_id)
    }

    /// The ids of live brokers, in order: where new replicas may go.
    pub fn live_brokers(&self) -> Vec<i32> {
        self.brokers
            .keys()
            .copied()
            .filter(|b| !self.fenced.contains(b))
            .collect()
    }

    /// Every topic name, in order: what a regex subscription is matched
    /// against.
    pub fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topic_ids.keys().map(String::as_str)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&TopicImage> {
        self.topics.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::record::TopicRecord;

    fn topic(name: &str, id: Uuid) -> MetadataRecord {
        MetadataRecord::Topic(TopicRecord {
            name: name.into(),
            topic_id: id,
        })
    }

    fn partition(id: Uuid, p: i32) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            topic_id: id,
            partition: p,
            replicas: vec![0],
            isr: vec![0],
            leader: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        })
    }

    #[test]
    fn removing_a_topic_removes_its_partitions_configs_and_name() {
        let id = Uuid::new_v4();
        let mut image = MetadataImage::default();
        image.apply_all(&[
            topic("orders", id),
            partition(id, 0),
            MetadataRecord::Config(ConfigRecord {
                resource: ConfigResource::Topic("orders".into()),
                name: "retention.ms".into(),
                value: Some("1".into()),
            }),
        ]);
        let t = image.topic("orders").unwrap();
        assert_eq!(t.partitions.len(), 1);
        assert_eq!(t.configs.get("retention.ms").map(String::as_str), Some("1"));
        image.apply_all(&[MetadataRecord::RemoveTopic { topic_id: id }]);
        assert!(image.topic("orders").is_none());
        assert!(image.topics.is_empty());
        assert_eq!(image.version, 2);
    }

    #[test]
    fn a_config_record_with_no_value_restores_the_default() {
        let id = Uuid::new_v4();
        let set = |v: Option<&str>| {
            MetadataRecord::Config(ConfigRecord {
                resource: ConfigResource::Topic("t".into()),
                name: "retention.ms".into(),
                value: v.map(str::to_string),
            })
        };
        let mut image = MetadataImage::default();
        image.apply_all(&[topic("t", id), set(Some("5"))]);
        image.apply_all(&[set(None)]);
        assert!(image.topic("t").unwrap().configs.is_empty());
    }
}
