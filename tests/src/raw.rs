//! A raw Kafka protocol client: sends exactly the bytes or messages a test
//! builds, for what well-behaved clients never send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, ProduceRequest, ProduceResponse, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// A Kafka protocol connection that sends exactly what a test builds.
pub struct RawClient {
    stream: TcpStream,
    correlation: i32,
}

impl RawClient {
    /// Produces `records` to one partition with acks=all (Produce v9) and
    /// returns the partition's answer.
    pub fn produce(
        &mut self,
        topic: &str,
        partition: i32,
        records: Bytes,
    ) -> PartitionProduceResponse {
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records))])]);
        let mut response: ProduceResponse = self.call(ApiKey::Produce, 9, &request);
        response.responses.remove(0).partition_responses.remove(0)
    }

    /// IncrementalAlterConfigs (v1) on one resource, each op a config name,
    /// Kafka's operation code (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT) and
    /// value; the resource's answer.
    pub fn alter_configs(
        &mut self,
        resource_type: i8,
        resource: &str,
        ops: &[(&str, i8, Option<&str>)],
    ) -> AlterConfigsResourceResponse {
        let configs = ops
            .iter()
            .map(|(name, op, value)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(name.to_string()))
                    .with_config_operation(*op)
                    .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
            })
            .collect();
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(resource.to_string()))
                .with_configs(configs),
        ]);
        let mut response: IncrementalAlterConfigsResponse =
            self.call(ApiKey::IncrementalAlterConfigs, 1, &request);
        response.responses.remove(0)
    }

    /// DescribeConfigs (v4) of one resource, every key or only `keys`, with
    /// synonyms and documentation.
    pub fn describe_configs(
        &mut self,
        resource_type: i8,
        resource: &str,
        keys: Option<&[&str]>,
    ) -> DescribeConfigsResult {
        let request = DescribeConfigsRequest::default()
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(resource.to_string()))
                .with_configuration_keys(keys.map(|keys| {
                    keys.iter()
                        .map(|k| StrBytes::from_string(k.to_string()))
                        .collect()
                }))])
            .with_include_synonyms(true)
            .with_include_documentation(true);
        let mut response: DescribeConfigsResponse = self.call(ApiKey::DescribeConfigs, 4, &request);
        response.results.remove(0)
    }

    /// Connects with short timeouts so a misbehaving broker fails the test
    /// instead of hanging it.
    pub fn connect(addr: &str) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawClient {
            stream,
            correlation: 0,
        }
    }

    /// Sends a request encoded with `kafka-protocol` at `version` and
    /// decodes the response.
    pub fn call<Req, Resp>(&mut self, key: ApiKey, version: i16, request: &Req) -> Resp
    where
        Req: Encodable,
        Resp: Decodable,
    {
        self.send(key, version, request);
        self.receive(key, version).expect("response")
    }

    /// Sends a request without reading the answer.
    pub fn send<Req: Encodable>(&mut self, key: ApiKey, version: i16, request: &Req) {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("weir-e2e")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .expect("encode header");
        request.encode(&mut body, version).expect("encode request");
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.send_raw(&frame);
    }

    /// Reads and decodes one response; `None` if the broker closed the connection.
    pub fn receive<Resp: Decodable>(&mut self, key: ApiKey, version: i16) -> Option<Resp> {
        let mut frame = self.read_frame()?;
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .expect("response header");
        assert_eq!(
            header.correlation_id, self.correlation,
            "responses come back in order"
        );
        Some(Resp::decode(&mut frame, version).expect("decode response"))
    }

    /// Whether response bytes arrive within `wait`, without consuming
    /// them; `false` also when the broker closed the connection.
    pub fn has_bytes_within(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let mut probe = [0u8; 1];
        let ready = matches!(self.stream.peek(&mut probe), Ok(n) if n > 0);
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        ready
    }

    /// Writes bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one size-prefixed frame; `None` on a clean close by the broker.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("broker neither answered nor closed the connection: {e}"),
        }
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).expect("frame body");
        Some(Bytes::from(buf))
    }

    /// Whether the broker closed the connection (EOF) without answering.
    pub fn is_closed_by_broker(&mut self) -> bool {
        self.read_frame().is_none()
    }

    /// Peeks the correlation id of a raw response frame.
    pub fn correlation_of(frame: &Bytes) -> i32 {
        let mut f = frame.clone();
        f.get_i32()
    }
}
