//! `weir-bench move`: moves one partition to other brokers with Kafka's
//! AlterPartitionReassignments, optionally under a replication throttle
//! (set and cleared with IncrementalAlterConfigs, as
//! `kafka-reassign-partitions --throttle` does), and reports how long the
//! move took, polling ListPartitionReassignments until it is done.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::{Buf, BufMut, BytesMut};
use clap::Args;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Options of `weir-bench move`.
#[derive(Debug, Clone, Args)]
pub struct MoveArgs {
    /// One broker's address (any broker forwards to the controller).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// The topic.
    #[arg(long)]
    pub topic: String,
    /// The partition.
    #[arg(long, default_value_t = 0)]
    pub partition: i32,
    /// The target replicas, comma-separated, preferred leader first.
    #[arg(long, value_delimiter = ',', required = true)]
    pub to: Vec<i32>,
    /// Throttle replication to this many bytes/s while moving.
    #[arg(long)]
    pub throttle: Option<u64>,
    /// Bytes one replica holds, to report the move's rate.
    #[arg(long)]
    pub bytes: Option<u64>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What a move did.
#[derive(Debug, Serialize)]
pub struct MoveReport {
    /// Always `"move"`.
    pub mode: &'static str,
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The target replicas.
    pub to: Vec<i32>,
    /// The throttle, if any, in bytes/s.
    pub throttle: Option<u64>,
    /// From the request to the move's completion.
    pub elapsed_secs: f64,
    /// `--bytes` divided by the elapsed time.
    pub bytes_per_sec: Option<f64>,
}

/// A Kafka protocol connection for a few admin calls.
struct Admin {
    stream: TcpStream,
    correlation: i32,
}

impl Admin {
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> anyhow::Result<Resp> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("weir-bench")));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version))?;
        request.encode(&mut body, version)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(i32::try_from(body.len())?);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await?;
        let size = self.stream.read_i32().await?;
        let size = usize::try_from(size).context("negative response size")?;
        if size > 64 << 20 {
            bail!("response of {size} bytes is too large");
        }
        let mut buf = vec![0u8; size];
        self.stream.read_exact(&mut buf).await?;
        let mut buf = bytes::Bytes::from(buf);
        ResponseHeader::decode(&mut buf, key.response_header_version(version))?;
        let response = Resp::decode(&mut buf, version)?;
        if buf.has_remaining() {
            bail!("{} bytes left after the {key:?} response", buf.remaining());
        }
        Ok(response)
    }

    async fn set_configs(
        &mut self,
        kind: i8,
        name: &str,
        configs: &[(&str, Option<String>)],
    ) -> anyhow::Result<()> {
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            AlterableConfig::default()
                                .with_name(StrBytes::from_string(k.to_string()))
                                .with_config_operation(if v.is_some() { 0 } else { 1 })
                                .with_value(v.clone().map(StrBytes::from_string))
                        })
                        .collect(),
                ),
        ]);
        let response: IncrementalAlterConfigsResponse = self
            .call(ApiKey::IncrementalAlterConfigs, 1, &request)
            .await?;
        for r in &response.responses {
            if r.error_code != 0 {
                bail!(
                    "setting configs of {name} failed: error {} {:?}",
                    r.error_code,
                    r.error_message
                );
            }
        }
        Ok(())
    }

    /// Sets (`Some`) or clears (`None`) the throttle of a move of `topic`.
    async fn throttle(&mut self, topic: &str, rate: Option<u64>) -> anyhow::Result<()> {
        const BROKER: i8 = 4;
        const TOPIC: i8 = 2;
        let rate = rate.map(|r| r.to_string());
        self.set_configs(
            BROKER,
            "",
            &[
                ("leader.replication.throttled.rate", rate.clone()),
                ("follower.replication.throttled.rate", rate.clone()),
            ],
        )
        .await?;
        let all = rate.map(|_| "*".to_string());
        self.set_configs(
            TOPIC,
            topic,
            &[
                ("leader.replication.throttled.replicas", all.clone()),
                ("follower.replication.throttled.replicas", all),
            ],
        )
        .await
    }

    async fn in_flight(&mut self, topic: &str, partition: i32) -> anyhow::Result<bool> {
        let request = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(Some(vec![ListPartitionReassignmentsTopics::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_indexes(vec![partition])]));
        let response: ListPartitionReassignmentsResponse = self
            .call(ApiKey::ListPartitionReassignments, 0, &request)
            .await?;
        if response.error_code != 0 {
            bail!("ListPartitionReassignments failed: {}", response.error_code);
        }
        Ok(!response.topics.is_empty())
    }
}

/// Runs `weir-bench move`.
pub async fn run(args: MoveArgs) -> anyhow::Result<()> {
    let stream = TcpStream::connect(&args.bootstrap)
        .await
        .with_context(|| format!("connecting to {}", args.bootstrap))?;
    let mut admin = Admin {
        stream,
        correlation: 0,
    };
    if args.throttle.is_some() {
        admin.throttle(&args.topic, args.throttle).await?;
    }
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(TopicName(StrBytes::from_string(args.topic.clone())))
            .with_partitions(vec![ReassignablePartition::default()
                .with_partition_index(args.partition)
                .with_replicas(Some(
                    args.to.iter().copied().map(BrokerId).collect(),
                ))])]);
    let started = Instant::now();
    let response: AlterPartitionReassignmentsResponse = admin
        .call(ApiKey::AlterPartitionReassignments, 0, &request)
        .await?;
    let code = response
        .responses
        .first()
        .and_then(|t| t.partitions.first())
        .map_or(response.error_code, |p| p.error_code);
    if code != 0 {
        bail!("the reassignment was refused: error {code} {response:?}");
    }
    while admin.in_flight(&args.topic, args.partition).await? {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if args.throttle.is_some() {
        admin.throttle(&args.topic, None).await?;
    }
    let report = MoveReport {
        mode: "move",
        topic: args.topic,
        partition: args.partition,
        to: args.to,
        throttle: args.throttle,
        elapsed_secs: elapsed,
        bytes_per_sec: args.bytes.map(|b| b as f64 / elapsed),
    };
    eprintln!(
        "move     {}-{} to {:?} (throttle {:?} B/s)\nelapsed  {:.2} s{}",
        report.topic,
        report.partition,
        report.to,
        report.throttle,
        report.elapsed_secs,
        report
            .bytes_per_sec
            .map(|r| format!("\nrate     {:.1} MB/s", r / 1e6))
            .unwrap_or_default()
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
