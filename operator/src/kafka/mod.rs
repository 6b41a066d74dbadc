//! A small Kafka admin client over the wire protocol (`kafka-protocol`
//! codecs): what the operator needs to manage topics through the standard
//! Kafka APIs, so it works against any Kafka-compatible cluster.

use crate::placement::BrokerSlot;
use std::collections::BTreeMap;
use std::time::Duration;

pub mod cluster;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The broker could not be reached or the connection broke.
    #[error("connecting to {address}: {source}")]
    Io {
        /// The broker address.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The broker did not answer in time.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// A request or response could not be encoded or decoded.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The broker refused the request.
    #[error("{code:?}: {message}")]
    Refused {
        /// Kafka's error code.
        code: ResponseError,
        /// The broker's message, or the error's name.
        message: String,
    },
}

impl KafkaError {
    /// The error for a response's error code; `None` for success.
    fn refused(code: i16, message: Option<&StrBytes>) -> Option<KafkaError> {
        if code == 0 {
            return None;
        }
        Some(match ResponseError::try_from_code(code) {
            Some(code) => KafkaError::Refused {
                code,
                message: message
                    .map(|m| m.to_string())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| format!("{code:?}")),
            },
            None => KafkaError::Protocol(format!("unknown error code {code}")),
        })
    }
}

/// What a topic looks like in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicState {
    /// Kafka's topic id.
    pub topic_id: String,
    /// Partition count.
    pub partitions: i32,
    /// Replicas of partition 0.
    pub replication_factor: i32,
    /// Configs set on the topic itself (not defaults).
    pub configs: BTreeMap<String, String>,
    /// Replicas of each partition, by partition index.
    pub assignments: Vec<Vec<i32>>,
    /// Live brokers of the cluster, with their racks.
    pub brokers: Vec<BrokerSlot>,
}

const TIMEOUT: Duration = Duration::from_secs(30);
/// DescribeConfigs source of a topic-level override.
const TOPIC_CONFIG_SOURCE: i8 = 1;

/// One connection to a broker.
pub struct AdminClient {
    address: String,
    stream: TcpStream,
    correlation: i32,
}

impl AdminClient {
    /// Connects to `address` (`host:port`).
    pub async fn connect(address: &str) -> Result<Self, KafkaError> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| KafkaError::Timeout("connect"))?
            .map_err(|source| KafkaError::Io {
                address: address.to_string(),
                source,
            })?;
        Ok(AdminClient {
            address: address.to_string(),
            stream,
            correlation: 0,
        })
    }

    fn io(&self, source: std::io::Error) -> KafkaError {
        KafkaError::Io {
            address: self.address.clone(),
            source,
        }
    }

    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, KafkaError> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("weir-operator")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .and_then(|_| request.encode(&mut body, version))
            .map_err(|e| KafkaError::Protocol(format!("encoding {key:?}: {e}")))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(
            i32::try_from(body.len())
                .map_err(|_| KafkaError::Protocol("request too large".into()))?,
        );
        frame.extend_from_slice(&body);
        let exchange = async {
            self.stream
                .write_all(&frame)
                .await
                .map_err(|e| self.io(e))?;
            let len = self.stream.read_i32().await.map_err(|e| self.io(e))?;
            let len = usize::try_from(len)
                .map_err(|_| KafkaError::Protocol(format!("frame length {len}")))?;
            let mut buf = vec![0u8; len];
            self.stream
                .read_exact(&mut buf)
                .await
                .map_err(|e| self.io(e))?;
            Ok::<_, KafkaError>(Bytes::from(buf))
        };
        let mut response = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| KafkaError::Timeout("request"))??;
        let header = ResponseHeader::decode(&mut response, key.response_header_version(version))
            .map_err(|e| KafkaError::Protocol(format!("decoding {key:?} header: {e}")))?;
        if header.correlation_id != self.correlation {
            return Err(KafkaError::Protocol("response out of order".into()));
        }
        let decoded = Resp::decode(&mut response, version)
            .map_err(|e| KafkaError::Protocol(format!("decoding {key:?}: {e}")))?;
        if response.has_remaining() {
            return Err(KafkaError::Protocol(format!(
                "{} bytes after the {key:?} response",
                response.remaining()
            )));
        }
        Ok(decoded)
    }

    /// The topic as the cluster has it, or `None` if it does not exist.
    pub async fn describe_topic(&mut self, name: &str) -> Result<Option<TopicState>, KafkaError> {
        let topic = TopicName(StrBytes::from_string(name.to_string()));
        let request = MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic.clone()))
            ]))
            .with_allow_auto_topic_creation(false);
        let metadata: MetadataResponse = self.call(ApiKey::Metadata, 12, &request).await?;
        let Some(t) = metadata.topics.first() else {
            return Ok(None);
        };
        if t.error_code == ResponseError::UnknownTopicOrPartition.code() {
            return Ok(None);
        }
        if let Some(e) = KafkaError::refused(t.error_code, None) {
            return Err(e);
        }
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configuration_keys(None),
        ]);
        let described: DescribeConfigsResponse =
            self.call(ApiKey::DescribeConfigs, 4, &request).await?;
        let mut configs = BTreeMap::new();
        for r in &described.results {
            if let Some(e) = KafkaError::refused(r.error_code, r.error_message.as_ref()) {
                return Err(e);
            }
            for c in &r.configs {
                if c.config_source == TOPIC_CONFIG_SOURCE {
                    if let Some(v) = &c.value {
                        configs.insert(c.name.to_string(), v.to_string());
                    }
                }
            }
        }
        let replication_factor = t
            .partitions
            .iter()
            .find(|p| p.partition_index == 0)
            .map_or(0, |p| {
                i32::try_from(p.replica_nodes.len()).unwrap_or(i32::MAX)
            });
        let mut assignments: Vec<(i32, Vec<i32>)> = t
            .partitions
            .iter()
            .map(|p| {
                (
                    p.partition_index,
                    p.replica_nodes.iter().map(|b| b.0).collect(),
                )
            })
            .collect();
        assignments.sort();
        Ok(Some(TopicState {
            assignments: assignments.into_iter().map(|(_, r)| r).collect(),
            brokers: metadata
                .brokers
                .iter()
                .map(|b| BrokerSlot {
                    id: b.node_id.0,
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                })
                .collect(),
            topic_id: t.topic_id.to_string(),
            partitions: i32::try_from(t.partitions.len()).unwrap_or(i32::MAX),
            replication_factor,
            configs,
        }))
    }

    /// Creates a topic.
    pub async fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), KafkaError> {
        let topic = CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(name.to_string())))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect(),
            );
        let request = CreateTopicsRequest::default()
            .with_topics(vec![topic])
            .with_timeout_ms(30_000);
        let response: CreateTopicsResponse = self.call(ApiKey::CreateTopics, 7, &request).await?;
        match response.topics.first() {
            Some(t) => {
                KafkaError::refused(t.error_code, t.error_message.as_ref()).map_or(Ok(()), Err)
            }
            None => Err(KafkaError::Protocol(
                "CreateTopics answered no topic".into(),
            )),
        }
    }

    /// Raises the partition count to `count`.
    pub async fn create_partitions(&mut self, name: &str, count: i32) -> Result<(), KafkaError> {
        let request = CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_count(count)
                .with_assignments(None)])
            .with_timeout_ms(30_000);
        let response: CreatePartitionsResponse =
            self.call(ApiKey::CreatePartitions, 3, &request).await?;
        match response.results.first() {
            Some(r) => {
                KafkaError::refused(r.error_code, r.error_message.as_ref()).map_or(Ok(()), Err)
            }
            None => Err(KafkaError::Protocol(
                "CreatePartitions answered no topic".into(),
            )),
        }
    }

    /// Sets and removes topic configs (IncrementalAlterConfigs).
    pub async fn alter_configs(
        &mut self,
        name: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<(), KafkaError> {
        let mut configs: Vec<AlterableConfig> = set
            .iter()
            .map(|(k, v)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_string(v.clone())))
            })
            .collect();
        configs.extend(delete.iter().map(|k| {
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_config_operation(1)
        }));
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configs(configs),
        ]);
        let response: IncrementalAlterConfigsResponse = self
            .call(ApiKey::IncrementalAlterConfigs, 1, &request)
            .await?;
        match response.responses.first() {
            Some(r) => {
                KafkaError::refused(r.error_code, r.error_message.as_ref()).map_or(Ok(()), Err)
            }
            None => Err(KafkaError::Protocol(
                "IncrementalAlterConfigs answered no resource".into(),
            )),
        }
    }

    /// Deletes a topic; a topic that is already gone counts as deleted.
    pub async fn delete_topic(&mut self, name: &str) -> Result<(), KafkaError> {
        let request = DeleteTopicsRequest::default()
            .with_topic_names(vec![TopicName(StrBytes::from_string(name.to_string()))])
            .with_timeout_ms(30_000);
        let response: DeleteTopicsResponse = self.call(ApiKey::DeleteTopics, 5, &request).await?;
        match response.responses.first() {
            Some(r) if r.error_code == ResponseError::UnknownTopicOrPartition.code() => Ok(()),
            Some(r) => {
                KafkaError::refused(r.error_code, r.error_message.as_ref()).map_or(Ok(()), Err)
            }
            None => Err(KafkaError::Protocol(
                "DeleteTopics answered no topic".into(),
            )),
        }
    }
}
