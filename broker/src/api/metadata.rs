//! Metadata: brokers, topics and partition leaders, auto-creating requested
//! topics when the broker and the client allow it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::count_error;
use crate::broker::Broker;
use crate::controller::decisions::topics::validate_topic_name;
use crate::metadata::{MetadataImage, TopicImage};

/// Operations everyone may perform on a topic, as the bitfield KIP-430
/// defines (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS,
/// ALTER_CONFIGS): weir has no ACLs yet.
pub const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// Cluster operations everyone may perform (CREATE, ALTER, DESCRIBE,
/// CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE).
pub const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// Answers a Metadata request.
pub async fn handle(
    broker: &Broker,
    request: MetadataRequest,
    version: i16,
    listener: &str,
) -> MetadataResponse {
    // v0 used an empty list for "all topics"; v1+ use null.
    let requested = match request.topics {
        Some(t) if version == 0 && t.is_empty() => None,
        other => other,
    };
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
    let mut topics = Vec::new();
    match requested {
        None => {
            let image = broker.image();
            topics.extend(image.topics.values().map(|t| {
                describe_topic(
                    &image,
                    t,
                    version,
                    request.include_topic_authorized_operations,
                )
            }));
        }
        Some(wanted) => {
            for t in wanted {
                let topic = match (&t.name, t.topic_id) {
                    (Some(name), _) => {
                        by_name(
                            broker,
                            name.0.as_str(),
                            allow_auto_create,
                            version,
                            request.include_topic_authorized_operations,
                        )
                        .await
                    }
                    (None, id) => by_id(
                        broker,
                        id,
                        version,
                        request.include_topic_authorized_operations,
                    ),
                };
                if topic.error_code != 0 {
                    if let Some(e) = ResponseError::try_from_code(topic.error_code) {
                        count_error(broker, ApiKey::Metadata, e);
                    }
                }
                topics.push(topic);
            }
        }
    }
    let image = broker.image();
    // Fenced brokers hold no leadership and are not listed, as in Kafka.
    let brokers = image
        .brokers
        .values()
        .filter(|b| !image.fenced.contains(&b.node_id))
        .filter_map(|b| {
            let endpoint = b.endpoint(listener)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.node_id))
                    .with_host(StrBytes::from_string(endpoint.host.clone()))
                    .with_port(i32::from(endpoint.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect::<Vec<_>>();
    let listed: Vec<i32> = brokers.iter().map(|b| b.node_id.0).collect();
    let controller = controller_for_clients(broker.quorum.leader(), broker.config.node_id, &listed);
    let mut response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_string(broker.cluster_id.clone())))
        .with_controller_id(BrokerId(controller))
        .with_topics(topics);
    if (8..=10).contains(&version) && request.include_cluster_authorized_operations {
        response.cluster_authorized_operations = CLUSTER_OPERATIONS;
    }
    response
}

/// The broker clients send admin requests to. Every broker accepts them and
/// forwards to the quorum leader, so, as in Kafka's KRaft mode, it only has
/// to be one the response lists: a client looks the id up among the listed
/// brokers and, not finding it (a leader still fenced right after a start),
/// waits for a metadata refresh that may be minutes away.
fn controller_for_clients(leader: Option<i32>, this: i32, listed: &[i32]) -> i32 {
    leader
        .filter(|l| listed.contains(l))
        .or_else(|| listed.contains(&this).then_some(this))
        .or_else(|| listed.first().copied())
        .unwrap_or(this)
}

async fn by_name(
    broker: &Broker,
    name: &str,
    allow_auto_create: bool,
    version: i16,
    include_ops: bool,
) -> MetadataResponseTopic {
    let error = |e: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
            .with_error_code(e.code())
    };
    if let Err(r) = validate_topic_name(name) {
        return error(r.error);
    }
    let image = broker.image();
    if let Some(topic) = image.topic(name) {
        return describe_topic(&image, topic, version, include_ops);
    }
    if !(allow_auto_create && broker.config.auto_create_topics_enable) {
        return error(ResponseError::UnknownTopicOrPartition);
    }
    if let Err(r) = broker.auto_create_topic(name).await {
        tracing::warn!(topic = name, error = %r, "auto-creating topic failed");
        return error(r.error);
    }
    let image = broker.image();
    match image.topic(name) {
        Some(topic) => describe_topic(&image, topic, version, include_ops),
        None => error(ResponseError::LeaderNotAvailable),
    }
}

fn by_id(broker: &Broker, id: Uuid, version: i16, include_ops: bool) -> MetadataResponseTopic {
    let image = broker.image();
    match image.topic_by_id(&id) {
        Some(topic) => describe_topic(&image, topic, version, include_ops),
        None => MetadataResponseTopic::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code()),
    }
}

/// Describes a topic and its partitions as the image has them.
pub fn describe_topic(
    image: &MetadataImage,
    topic: &TopicImage,
    version: i16,
    include_ops: bool,
) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .values()
        .map(|p| {
            let offline: Vec<BrokerId> = p
                .replicas
                .iter()
                .filter(|r| !image.is_live(**r))
                .map(|r| BrokerId(*r))
                .collect();
            let error = if p.leader < 0 {
                ResponseError::LeaderNotAvailable.code()
            } else {
                0
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                .with_isr_nodes(p.isr.iter().map(|r| BrokerId(*r)).collect())
                .with_offline_replicas(offline)
        })
        .collect();
    let mut t = MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(matches!(
            topic.name.as_str(),
            "__consumer_offsets" | "__transaction_state"
        ))
        .with_partitions(partitions);
    if version >= 8 && include_ops {
        t.topic_authorized_operations = TOPIC_OPERATIONS;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::controller_for_clients;

    #[test]
    fn the_controller_clients_are_told_is_always_a_listed_broker() {
        assert_eq!(controller_for_clients(Some(2), 0, &[0, 1, 2]), 2);
        // The leader is still fenced: this broker forwards for it.
        assert_eq!(controller_for_clients(Some(2), 0, &[0, 1]), 0);
        // Neither listed: any listed broker forwards.
        assert_eq!(controller_for_clients(Some(2), 0, &[1]), 1);
        assert_eq!(controller_for_clients(None, 0, &[]), 0);
    }
}
