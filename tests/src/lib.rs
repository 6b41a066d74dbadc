//! Harness for end-to-end tests: real `weir-broker` processes on loopback,
//! real Kafka clients (librdkafka through `rdkafka`), and a raw protocol
//! client for sending what well-behaved clients never send.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};

pub mod cluster;
pub mod kube;
pub mod kubelet;
pub mod netns;
pub mod operator;
pub mod process;
pub mod workload;

/// Finds the `weir-broker` binary next to the test executable's directory
/// (`target/<profile>/weir-broker`), or at `$WEIR_BROKER_BIN`.
pub fn broker_binary() -> PathBuf {
    workspace_binary("weir-broker", "WEIR_BROKER_BIN")
}

/// Finds the `weir-operator` binary as [`broker_binary`] does, or at
/// `$WEIR_OPERATOR_BIN`.
pub fn operator_binary() -> PathBuf {
    workspace_binary("weir-operator", "WEIR_OPERATOR_BIN")
}

fn workspace_binary(name: &str, override_var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(override_var) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(name);
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --workspace --bins` first (or set {override_var})",
        bin.display()
    );
    bin
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A broker process with its own data directory and ports.
pub struct Broker {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Kafka port.
    pub port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// Internal (quorum and replication) port.
    pub internal_port: u16,
    /// The address its Kafka and HTTP listeners bind and advertise.
    pub host: String,
    /// The address its internal listener binds.
    pub internal_host: String,
    /// The network namespace it runs in, if not the test's own.
    pub netns: Option<String>,
    args: Vec<String>,
    starts: usize,
    fd_limit: Option<u64>,
}

impl Broker {
    /// Starts a broker with default settings.
    pub fn start() -> Broker {
        Broker::start_with(&[])
    }

    /// Starts a broker with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Broker {
        let mut broker = Broker::prepare(args);
        broker.spawn();
        broker
    }

    /// A broker with its ports and directory chosen but not started yet,
    /// for clusters whose members must know each other's ports first.
    pub fn prepare(args: &[&str]) -> Broker {
        Broker {
            child: None,
            dir: tempfile::tempdir().expect("tempdir"),
            port: free_port(),
            http_port: free_port(),
            internal_port: free_port(),
            host: "127.0.0.1".to_string(),
            internal_host: "127.0.0.1".to_string(),
            netns: None,
            args: args.iter().map(|s| s.to_string()).collect(),
            starts: 0,
            fd_limit: None,
        }
    }

    /// Adds command-line arguments for the next start.
    pub fn add_args(&mut self, args: &[String]) {
        self.args.extend(args.iter().cloned());
    }

    /// Replaces the value of `flag` for the next start (adding it if absent).
    pub fn set_arg(&mut self, flag: &str, value: &str) {
        match self.args.iter().position(|a| a == flag) {
            Some(i) if i + 1 < self.args.len() => self.args[i + 1] = value.to_string(),
            _ => self.args.extend([flag.to_string(), value.to_string()]),
        }
    }

    /// Starts the broker, from its next start on, under a soft and hard
    /// `RLIMIT_NOFILE` of `n` (through util-linux's `prlimit`, which execs
    /// the broker, so the child is still the broker itself).
    pub fn limit_descriptors(&mut self, n: u64) {
        self.fd_limit = Some(n);
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("broker-{}.log", self.starts))
    }

    fn spawn(&mut self) {
        self.launch();
        self.wait_ready();
    }

    /// Starts the process without waiting for it to become ready.
    pub fn launch(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let err = log.try_clone().expect("log file");
        // `ip netns exec` enters the namespace and execs the broker, so the
        // child is the broker process itself.
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(broker_binary());
                c
            }
            None => match self.fd_limit {
                Some(n) => {
                    let mut c = Command::new("prlimit");
                    c.arg(format!("--nofile={n}:{n}"))
                        .arg("--")
                        .arg(broker_binary());
                    c
                }
                None => Command::new(broker_binary()),
            },
        };
        let child = command
            .arg("--listeners")
            .arg(format!("PLAINTEXT://{}:{}", self.host, self.port))
            .arg("--http-listener")
            .arg(format!("{}:{}", self.host, self.http_port))
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--internal-listener")
            .arg(format!("{}:{}", self.internal_host, self.internal_port))
            .args(&self.args)
            // Group transitions at debug: a failed group test shows why.
            .env(
                "RUST_LOG",
                std::env::var("WEIR_TEST_LOG")
                    .unwrap_or_else(|_| "info,openraft=warn,weir_broker::group=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn weir-broker");
        self.child = Some(child);
    }

    /// Whether the process is running (not exited or killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits for the process to exit on its own; returns its status and log.
    pub fn wait_exit(&mut self, within: Duration) -> Option<(std::process::ExitStatus, String)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some((status, self.log()));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut port_retries = 0;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    // A port picked free may be taken by another test's
                    // connection before the broker binds it: pick again.
                    let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                    if log.contains("Address already in use") && port_retries < 3 {
                        port_retries += 1;
                        self.port = free_port();
                        self.http_port = free_port();
                        if !self.args.iter().any(|a| a == "--controller-voters") {
                            self.internal_port = free_port();
                        }
                        self.launch();
                        continue;
                    }
                    panic!("broker exited with {status}:\n{}", self.log());
                }
            }
            if matches!(self.http_get("/readyz"), Ok((200, _))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "broker not ready in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The broker's log output so far.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|i| {
                let p = self.dir.path().join(format!("broker-{i}.log"));
                format!(
                    "--- start {i} ---\n{}",
                    std::fs::read_to_string(p).unwrap_or_default()
                )
            })
            .collect()
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL of the broker's `/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}:{}/metrics", self.host, self.http_port)
    }

    /// A plain HTTP/1.1 GET against the broker's HTTP port.
    pub fn http_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect((self.host.as_str(), self.http_port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// The broker's peak resident memory in KiB (`VmHWM`), to prove that
    /// hostile input did not make it allocate.
    pub fn peak_resident_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("broker running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    /// The broker's resident memory now in KiB (`VmRSS`).
    pub fn resident_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("broker running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// How many descriptors the broker has open.
    pub fn open_descriptors(&self) -> usize {
        let pid = self.child.as_ref().expect("broker running").id();
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait for broker");
            assert!(
                status.success(),
                "broker exited with {status}:\n{}",
                self.log()
            );
        }
    }

    /// Starts the broker again on the same ports and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Starts a stopped broker again.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker is still running");
        self.spawn();
    }

    /// An admin client.
    pub fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("admin client")
    }

    /// A producer with test-friendly settings plus `extra`.
    pub fn producer(&self, extra: &[(&str, &str)]) -> FutureProducer {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", self.bootstrap())
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5");
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg.create().expect("producer")
    }

    /// A consumer that reads assigned partitions and never commits.
    pub fn consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("group.id", "weir-e2e-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "100")
            .create()
            .expect("consumer")
    }

    /// A consumer in `group` that subscribes (group management), with short
    /// session timeouts so tests see failover quickly, plus `extra`.
    pub fn group_consumer(&self, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", self.bootstrap())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .set("fetch.wait.max.ms", "100");
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg.create().expect("group consumer")
    }

    /// Reads `count` messages of one partition from `from`, failing after a
    /// generous deadline.
    pub fn read_partition(
        &self,
        topic: &str,
        partition: i32,
        from: Offset,
        count: usize,
    ) -> Vec<OwnedMessage> {
        let consumer = self.consumer();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, from)
            .expect("partition offset");
        consumer.assign(&tpl).expect("assign");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut out = Vec::new();
        while out.len() < count {
            assert!(
                Instant::now() < deadline,
                "read only {} of {count} messages from {topic}-{partition}",
                out.len()
            );
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                out.push(m.expect("consume").detach());
            }
        }
        out
    }

    /// Opens a raw protocol connection.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(&self.bootstrap())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("broker log:\n{}", self.log());
        }
    }
}

/// Closes a group consumer in a way that cannot hang: unsubscribes, polls
/// until the revocation has been served and the assignment is empty, then
/// drops it. Dropping a consumer with a rebalance in flight can block forever
/// in `rd_kafka_assign` inside the close (librdkafka issue 4884).
pub fn close_consumer<C: ConsumerContext>(consumer: BaseConsumer<C>) {
    let subscribed = consumer
        .subscription()
        .map(|s| s.count() > 0)
        .unwrap_or(false);
    if subscribed {
        consumer.unsubscribe();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer
        .assignment()
        .map(|a| a.count() > 0)
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "the consumer's revocation was never served"
        );
        let _ = consumer.poll(Duration::from_millis(100));
    }
    // Serve whatever callback the unsubscribe queued last.
    let _ = consumer.poll(Duration::from_millis(100));
    drop(consumer);
}

/// The offset and value of every message, for comparing what was read.
pub fn payloads(messages: &[OwnedMessage]) -> Vec<(i64, Vec<u8>)> {
    messages
        .iter()
        .map(|m| {
            (
                m.offset(),
                m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            )
        })
        .collect()
}

/// A Kafka protocol connection that sends exactly what a test builds.
pub struct RawClient {
    stream: TcpStream,
    correlation: i32,
}

/// An idempotent producer's place in a batch: producer id, epoch and the
/// sequence of the first record.
pub type ProducerSequence = (i64, i16, i32);

/// One uncompressed v2 batch of unkeyed `values`, from a plain producer or,
/// with `producer`, an idempotent one — for requests real clients would not
/// send, or whose bytes a test must control.
pub fn record_batch(values: &[&[u8]], producer: Option<ProducerSequence>) -> Bytes {
    let (producer_id, producer_epoch, base_sequence) = producer.unwrap_or((-1, -1, 0));
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_sequence + i as i32,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::copy_from_slice(v)),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    buf.freeze()
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
