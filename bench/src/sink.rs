//! `weir-bench sink`: the smallest Kafka endpoint a producer can talk to.
//!
//! It answers ApiVersions, Metadata (one broker, itself; every requested
//! topic exists with `--partitions` partitions led by node 0) and Produce
//! (success, with increasing base offsets), and stores nothing. Producing to
//! it measures what the client and the machine can do without a broker, the
//! ceiling a broker's numbers are compared with.
//!
//! Fetch is advertised (v4-v12) but never served: librdkafka only sends
//! v2 record batches (and allows zstd) to a broker whose ApiVersions lists
//! Fetch v4+ (v10+ for zstd); without it the producer falls back to the
//! legacy v0 message format and the ceiling would be measured for the wrong
//! format. A Fetch request closes the connection.
//!
//! Every message is decoded and encoded with `kafka-protocol`. The only bytes
//! read by hand are the fixed-position fields every Kafka request header
//! starts with (to answer an unsupported ApiVersions request, as KIP-511
//! asks) and the batch length and record count of each v2 record batch (to
//! advance offsets without decompressing anything).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bytes::{Buf, Bytes, BytesMut};
use clap::Args;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

/// The APIs and versions the sink advertises (Fetch only so that
/// librdkafka produces v2 record batches; it is not served).
pub const ADVERTISED: [(ApiKey, i16, i16); 4] = [
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
];

/// The node id the sink reports for itself.
pub const NODE_ID: i32 = 0;

/// Largest request frame accepted (Kafka's `socket.request.max.bytes`).
pub const MAX_FRAME: usize = 100 * 1024 * 1024;

/// Options of `weir-bench sink`.
#[derive(Debug, Clone, Args)]
pub struct SinkArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9099")]
    pub listen: String,
    /// Partitions every topic appears to have.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub exit_after: Option<f64>,
}

/// What the sink remembers: the topics it was asked about and the next
/// offset of each partition, plus totals for the final summary.
#[derive(Debug)]
pub struct SinkState {
    host: String,
    port: i32,
    partitions: i32,
    offsets: Mutex<BTreeMap<String, Vec<i64>>>,
    /// Produce requests answered.
    pub produce_requests: AtomicU64,
    /// Records acknowledged.
    pub records: AtomicU64,
    /// Record-batch bytes received.
    pub bytes: AtomicU64,
}

impl SinkState {
    /// State for a sink reachable at `advertised`, with `partitions` per topic.
    pub fn new(advertised: SocketAddr, partitions: i32) -> SinkState {
        SinkState {
            host: advertised.ip().to_string(),
            port: i32::from(advertised.port()),
            partitions: partitions.max(1),
            offsets: Mutex::new(BTreeMap::new()),
            produce_requests: AtomicU64::new(0),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }
}

/// Runs `weir-bench sink` until interrupted (or `--exit-after`).
pub async fn run(args: SinkArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let state = Arc::new(SinkState::new(local, args.partitions));
    eprintln!(
        "weir-bench sink listening on {local} ({} partitions per topic)",
        state.partitions
    );
    let serve = {
        let state = state.clone();
        async move {
            loop {
                match listener.accept().await {
                    Ok((socket, peer)) => {
                        let state = state.clone();
                        tokio::spawn(async move {
                            if let Err(e) = serve_connection(state, socket).await {
                                eprintln!("sink: connection {peer}: {e:#}");
                            }
                        });
                    }
                    Err(e) => {
                        eprintln!("sink: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    };
    let stop_after = async {
        match args.exit_after {
            Some(secs) => tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = serve => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated() => {}
        _ = stop_after => {}
    }
    eprintln!(
        "sink: answered {} produce requests, {} records, {} batch bytes",
        state.produce_requests.load(Ordering::Relaxed),
        state.records.load(Ordering::Relaxed),
        state.bytes.load(Ordering::Relaxed),
    );
    Ok(())
}

/// Completes on SIGTERM (never, where it cannot be watched).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Serves one connection: requests are handled one after another, so
/// responses go back in request order.
async fn serve_connection(state: Arc<SinkState>, socket: TcpStream) -> anyhow::Result<()> {
    socket.set_nodelay(true).context("setting TCP_NODELAY")?;
    let (read, write) = socket.into_split();
    let mut reader = BufReader::with_capacity(256 * 1024, read);
    let mut writer = BufWriter::with_capacity(64 * 1024, write);
    loop {
        let mut size = [0u8; 4];
        match reader.read_exact(&mut size).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e).context("reading a frame size"),
        }
        let size = i32::from_be_bytes(size);
        let len = usize::try_from(size)
            .ok()
            .filter(|l| (1..=MAX_FRAME).contains(l))
            .with_context(|| format!("invalid frame size {size}"))?;
        let mut frame = BytesMut::zeroed(len);
        reader
            .read_exact(&mut frame)
            .await
            .context("reading a frame")?;
        let Some(response) = handle_frame(&state, frame.freeze())? else {
            continue;
        };
        let len = i32::try_from(response.len()).context("response too large")?;
        writer.write_all(&len.to_be_bytes()).await?;
        writer.write_all(&response).await?;
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
    writer.flush().await?;
    Ok(())
}

/// Handles one request frame (without its size prefix). Returns the
/// response frame, `None` for an acks=0 produce, or an error that closes the
/// connection (as Kafka closes it for what it cannot parse or serve).
pub fn handle_frame(state: &SinkState, frame: Bytes) -> anyhow::Result<Option<Bytes>> {
    if frame.len() < 8 {
        anyhow::bail!("request of {} bytes is shorter than a header", frame.len());
    }
    // Every header version starts with api key, api version, correlation id.
    let mut fixed = frame.slice(..8);
    let raw_key = fixed.get_i16();
    let version = fixed.get_i16();
    let correlation_id = fixed.get_i32();
    let key =
        ApiKey::try_from(raw_key).map_err(|_| anyhow::anyhow!("unknown API key {raw_key}"))?;
    let Some(&(_, min, max)) = ADVERTISED.iter().find(|(k, _, _)| *k == key) else {
        anyhow::bail!("{key:?} is not supported by the sink");
    };
    if version < min || version > max {
        if key == ApiKey::ApiVersions {
            let body = ApiVersionsResponse::default()
                .with_error_code(ResponseError::UnsupportedVersion.code())
                .with_api_keys(api_versions());
            return encode(key, correlation_id, 0, &body).map(Some);
        }
        anyhow::bail!("{key:?} v{version} is not supported (v{min}-v{max})");
    }
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, key.request_header_version(version))
        .with_context(|| format!("decoding the {key:?} request header"))?;
    let correlation_id = header.correlation_id;
    match key {
        ApiKey::ApiVersions => {
            ApiVersionsRequest::decode(&mut body, version).context("decoding ApiVersions")?;
            let response = ApiVersionsResponse::default()
                .with_api_keys(api_versions())
                .with_finalized_features_epoch(-1);
            encode(key, correlation_id, version, &response).map(Some)
        }
        ApiKey::Metadata => {
            let request =
                MetadataRequest::decode(&mut body, version).context("decoding Metadata")?;
            let response = metadata(state, &request, version);
            encode(key, correlation_id, version, &response).map(Some)
        }
        ApiKey::Produce => {
            let request = ProduceRequest::decode(&mut body, version).context("decoding Produce")?;
            let acks = request.acks;
            let response = produce(state, request);
            if acks == 0 {
                return Ok(None);
            }
            encode(key, correlation_id, version, &response).map(Some)
        }
        other => anyhow::bail!("{other:?} is not supported by the sink"),
    }
}

/// Encodes a response header (v0 always for ApiVersions) and body.
fn encode<T: Encodable>(
    key: ApiKey,
    correlation_id: i32,
    version: i16,
    body: &T,
) -> anyhow::Result<Bytes> {
    let header_version = if key == ApiKey::ApiVersions {
        0
    } else {
        key.response_header_version(version)
    };
    let mut buf = BytesMut::with_capacity(128);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .context("encoding the response header")?;
    body.encode(&mut buf, version)
        .with_context(|| format!("encoding the {key:?} v{version} response"))?;
    Ok(buf.freeze())
}

/// The advertised API list.
pub fn api_versions() -> Vec<ApiVersion> {
    ADVERTISED
        .iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect()
}

/// A stable, non-nil topic id derived from the name.
fn topic_id(name: &str) -> uuid::Uuid {
    // FNV-1a over the name, twice with different seeds, for 128 bits.
    let hash = |seed: u64| {
        name.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    let hi = u128::from(hash(0xcbf2_9ce4_8422_2325));
    let lo = u128::from(hash(0x84222325_cbf29ce4));
    uuid::Uuid::from_u128((hi << 64 | lo) | 1)
}

/// Answers Metadata: the sink is the only broker and leads every partition.
pub fn metadata(state: &SinkState, request: &MetadataRequest, version: i16) -> MetadataResponse {
    let names: Vec<String> = {
        let Ok(mut offsets) = state.offsets.lock() else {
            return MetadataResponse::default();
        };
        match &request.topics {
            // v0 asks for every topic with an empty list, later versions with null.
            Some(topics) if !(version == 0 && topics.is_empty()) => topics
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .inspect(|n| {
                    offsets
                        .entry(n.clone())
                        .or_insert_with(|| vec![0; state.partitions as usize]);
                })
                .collect(),
            _ => offsets.keys().cloned().collect(),
        }
    };
    let topics = names
        .iter()
        .map(|name| {
            let partitions = (0..state.partitions)
                .map(|p| {
                    MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(BrokerId(NODE_ID))
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![BrokerId(NODE_ID)])
                        .with_isr_nodes(vec![BrokerId(NODE_ID)])
                })
                .collect();
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                .with_topic_id(topic_id(name))
                .with_partitions(partitions)
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(NODE_ID))
            .with_host(StrBytes::from_string(state.host.clone()))
            .with_port(state.port)])
        .with_cluster_id(Some(StrBytes::from_static_str("weir-bench-sink")))
        .with_controller_id(BrokerId(NODE_ID))
        .with_topics(topics)
}

/// Answers Produce: every partition succeeds; base offsets advance by the
/// number of records in its batches.
pub fn produce(state: &SinkState, request: ProduceRequest) -> ProduceResponse {
    state.produce_requests.fetch_add(1, Ordering::Relaxed);
    let mut responses = Vec::with_capacity(request.topic_data.len());
    let Ok(mut offsets) = state.offsets.lock() else {
        return ProduceResponse::default();
    };
    let mut new_topics: HashMap<String, Vec<i64>> = HashMap::new();
    for topic in request.topic_data {
        let name = topic.name.0.to_string();
        let mut partition_responses = Vec::with_capacity(topic.partition_data.len());
        for p in topic.partition_data {
            let records = p.records.as_deref().unwrap_or_default();
            let Some(count) = count_records(records) else {
                // As Kafka answers produce v3+ carrying a pre-v2 message set.
                partition_responses.push(
                    PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_error_code(ResponseError::InvalidRecord.code())
                        .with_base_offset(-1),
                );
                continue;
            };
            state.records.fetch_add(count as u64, Ordering::Relaxed);
            state
                .bytes
                .fetch_add(records.len() as u64, Ordering::Relaxed);
            let partitions = match offsets.get_mut(&name) {
                Some(v) => v,
                None => new_topics
                    .entry(name.clone())
                    .or_insert_with(|| vec![0; state.partitions as usize]),
            };
            let response = match usize::try_from(p.index)
                .ok()
                .and_then(|i| partitions.get_mut(i))
            {
                Some(next) => {
                    let base = *next;
                    *next += count;
                    PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_base_offset(base)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(0)
                }
                None => PartitionProduceResponse::default()
                    .with_index(p.index)
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_base_offset(-1),
            };
            partition_responses.push(response);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partition_responses),
        );
    }
    offsets.extend(new_topics);
    ProduceResponse::default().with_responses(responses)
}

/// Counts the records in a sequence of v2 record batches by reading each
/// batch's length (bytes 8..12), magic (byte 16) and record count (bytes
/// 57..61). `None` when a batch is not v2; a torn tail is not counted.
pub fn count_records(mut records: &[u8]) -> Option<i64> {
    const LENGTH_AT: usize = 8;
    const MAGIC_AT: usize = 16;
    const COUNT_AT: usize = 57;
    const HEADER: usize = 61;
    let mut total = 0i64;
    while records.len() > MAGIC_AT {
        if records[MAGIC_AT] != 2 {
            return None;
        }
        if records.len() < HEADER {
            break;
        }
        let len = i32::from_be_bytes([
            records[LENGTH_AT],
            records[LENGTH_AT + 1],
            records[LENGTH_AT + 2],
            records[LENGTH_AT + 3],
        ]);
        let count = i32::from_be_bytes([
            records[COUNT_AT],
            records[COUNT_AT + 1],
            records[COUNT_AT + 2],
            records[COUNT_AT + 3],
        ]);
        let Some(size) = usize::try_from(len).ok().map(|l| l + 12) else {
            break;
        };
        if size < HEADER || size > records.len() {
            break;
        }
        total += i64::from(count.max(0));
        records = &records[size..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::FetchRequest;
    use kafka_protocol::records::{Compression, Record, TimestampType};
    use weir_broker::log::batch::encode_one_batch;

    fn state() -> SinkState {
        SinkState::new("127.0.0.1:9099".parse().expect("address"), 3)
    }

    fn frame<T: Encodable>(key: ApiKey, version: i16, body: &T) -> Bytes {
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(42)
            .with_client_id(Some(StrBytes::from_static_str("test")))
            .encode(&mut buf, key.request_header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        buf.freeze()
    }

    fn response_body(key: ApiKey, version: i16, mut bytes: Bytes) -> Bytes {
        let header_version = if key == ApiKey::ApiVersions {
            0
        } else {
            key.response_header_version(version)
        };
        let header = ResponseHeader::decode(&mut bytes, header_version).expect("header");
        assert_eq!(header.correlation_id, 42);
        bytes
    }

    fn batch(n: usize) -> Bytes {
        let mut records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: 1_000,
                key: None,
                value: Some(Bytes::from(vec![b'x'; 10])),
                headers: Default::default(),
            })
            .collect();
        encode_one_batch(&mut records, Compression::Lz4)
            .expect("batch")
            .freeze()
    }

    #[test]
    fn api_versions_is_answered_in_every_version_with_a_v0_header() {
        let s = state();
        for v in 0..=3 {
            let out = handle_frame(
                &s,
                frame(ApiKey::ApiVersions, v, &ApiVersionsRequest::default()),
            )
            .expect("handled")
            .expect("response");
            let mut body = response_body(ApiKey::ApiVersions, v, out);
            let r = ApiVersionsResponse::decode(&mut body, v).expect("decodes");
            assert_eq!(r.error_code, 0);
            assert_eq!(r.api_keys.len(), 4);
        }
        // A version from the future gets UNSUPPORTED_VERSION in v0.
        let mut raw = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(9)
            .with_correlation_id(42)
            .encode(&mut raw, 1)
            .expect("header");
        let out = handle_frame(&s, raw.freeze())
            .expect("handled")
            .expect("response");
        let mut body = response_body(ApiKey::ApiVersions, 0, out);
        let r = ApiVersionsResponse::decode(&mut body, 0).expect("decodes");
        assert_eq!(r.error_code, ResponseError::UnsupportedVersion.code());
    }

    #[test]
    fn metadata_describes_requested_topics_led_by_the_sink() {
        let s = state();
        let request = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))]));
        for v in [0i16, 4, 9, 12] {
            let out = handle_frame(&s, frame(ApiKey::Metadata, v, &request))
                .expect("handled")
                .expect("response");
            let mut body = response_body(ApiKey::Metadata, v, out);
            let r = MetadataResponse::decode(&mut body, v).expect("decodes");
            assert_eq!(r.brokers.len(), 1);
            assert_eq!(r.brokers[0].port, 9099);
            assert_eq!(r.topics.len(), 1);
            assert_eq!(r.topics[0].partitions.len(), 3);
            assert!(r.topics[0]
                .partitions
                .iter()
                .all(|p| p.leader_id == BrokerId(0)));
        }
        // "All topics" lists the ones seen so far.
        let all = metadata(&s, &MetadataRequest::default().with_topics(None), 12);
        assert_eq!(all.topics.len(), 1);
    }

    #[test]
    fn produce_succeeds_with_increasing_base_offsets() {
        let s = state();
        let request = |n| {
            ProduceRequest::default()
                .with_acks(1)
                .with_timeout_ms(1000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(2)
                        .with_records(Some(batch(n)))])])
        };
        let mut bases = Vec::new();
        for n in [5, 3, 1] {
            let out = handle_frame(&s, frame(ApiKey::Produce, 9, &request(n)))
                .expect("handled")
                .expect("response");
            let mut body = response_body(ApiKey::Produce, 9, out);
            let r = ProduceResponse::decode(&mut body, 9).expect("decodes");
            let p = &r.responses[0].partition_responses[0];
            assert_eq!((p.index, p.error_code), (2, 0));
            bases.push(p.base_offset);
        }
        assert_eq!(bases, [0, 5, 8]);
        // acks=0 gets no response at all.
        let quiet = request(1).with_acks(0);
        assert!(handle_frame(&s, frame(ApiKey::Produce, 9, &quiet))
            .expect("handled")
            .is_none());
        // A partition the topic does not have is refused.
        let bad = ProduceRequest::default().with_acks(1).with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(7)
                    .with_records(Some(batch(1)))]),
        ]);
        let r = produce(&s, bad);
        assert_eq!(
            r.responses[0].partition_responses[0].error_code,
            ResponseError::UnknownTopicOrPartition.code()
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let s = state();
        assert!(handle_frame(&s, Bytes::from_static(&[0, 1])).is_err());
        assert!(handle_frame(&s, Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1])).is_err());
        // Fetch is advertised but not served.
        assert!(handle_frame(&s, frame(ApiKey::Fetch, 4, &FetchRequest::default())).is_err());
        // Nor is anything else.
        assert!(handle_frame(&s, Bytes::from_static(&[0, 2, 0, 1, 0, 0, 0, 1])).is_err());
        // A truncated produce body.
        let mut f = frame(ApiKey::Produce, 9, &ProduceRequest::default()).to_vec();
        f.truncate(f.len() - 2);
        assert!(handle_frame(&s, Bytes::from(f)).is_err());
        // Garbage and legacy message sets are refused, not counted.
        assert_eq!(count_records(&[0xff; 100]), None);
        let mut legacy = batch(2).to_vec();
        legacy[16] = 1;
        assert_eq!(count_records(&legacy), None);
        let bad = ProduceRequest::default().with_acks(1).with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(legacy)))]),
        ]);
        let r = produce(&s, bad);
        assert_eq!(
            r.responses[0].partition_responses[0].error_code,
            ResponseError::InvalidRecord.code()
        );
    }

    #[test]
    fn records_are_counted_across_batches() {
        let mut two = batch(4).to_vec();
        two.extend_from_slice(&batch(6));
        assert_eq!(count_records(&two), Some(10));
        assert_eq!(count_records(&two[..two.len() - 1]), Some(4));
        assert_eq!(count_records(&[]), Some(0));
    }
}
