//! Microbenchmarks of the broker's hot paths: what a produce request costs
//! (request decode, batch validation and offset assignment, the log append)
//! and what a fetch costs (index lookup, the log read, response encode).
//!
//! Run with `cargo bench -p weir-bench --bench hot_paths`. Measurement times
//! are kept short so the whole run takes a few minutes.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, FetchResponse, ProduceRequest, RequestHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, TimestampType};
use weir_broker::log::batch::encode_one_batch;
use weir_broker::log::codec::TopicCompression;
use weir_broker::log::index::{OffsetIndex, TimeIndex};
use weir_broker::log::recompress::to_topic_codec;
use weir_broker::log::validate::validate_and_assign;
use weir_broker::log::{Log, LogConfig, TimestampType as LogTimestampType};

/// Records per batch and bytes per record value: what a producer with
/// `--record-size 100` and a few milliseconds of linger sends.
const RECORDS: usize = 100;
const VALUE: usize = 100;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One v2 record batch of `n` records with `value` bytes each.
fn batch(n: usize, value: usize, compression: Compression, ts: i64) -> Bytes {
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
            timestamp: ts,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(
                (0..value)
                    .map(|j| b'A' + ((i * 31 + j * 7) % 26) as u8)
                    .collect::<Vec<u8>>(),
            )),
            headers: Default::default(),
        })
        .collect();
    encode_one_batch(&mut records, compression)
        .expect("encode batch")
        .freeze()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn validation(c: &mut Criterion) {
    let now = now_ms();
    let mut group = c.benchmark_group("validate_and_assign");
    for (name, compression) in [("none", Compression::None), ("lz4", Compression::Lz4)] {
        let bytes = batch(RECORDS, VALUE, compression, now);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let create_time = LogConfig::default();
        let mut buf = bytes.to_vec();
        group.bench_function(format!("{name}/create_time"), |b| {
            b.iter(|| {
                validate_and_assign(black_box(&mut buf), &create_time, 1_000, 3, now)
                    .expect("valid")
            })
        });
        let append_time = LogConfig {
            timestamp_type: LogTimestampType::LogAppendTime,
            ..LogConfig::default()
        };
        let mut buf = bytes.to_vec();
        group.bench_function(format!("{name}/log_append_time"), |b| {
            b.iter(|| {
                validate_and_assign(black_box(&mut buf), &append_time, 1_000, 3, now)
                    .expect("valid")
            })
        });
        let compacted = LogConfig {
            compact: true,
            ..LogConfig::default()
        };
        let mut buf = bytes.to_vec();
        group.bench_function(format!("{name}/compacted_key_check"), |b| {
            b.iter(|| {
                validate_and_assign(black_box(&mut buf), &compacted, 1_000, 3, now).expect("valid")
            })
        });
    }
    group.finish();
}

fn append(c: &mut Criterion) {
    let now = now_ms();
    let bytes = batch(RECORDS, VALUE, Compression::None, now);
    let mut group = c.benchmark_group("log_append");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("append_as_leader/100x100B", |b| {
        // A fresh log per sample keeps the disk footprint bounded.
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut log = Log::open(dir.path(), LogConfig::default(), now).expect("open");
            let start = Instant::now();
            for _ in 0..iters {
                log.append_as_leader(bytes.clone(), 0, now).expect("append");
            }
            let elapsed = start.elapsed();
            drop(log);
            elapsed
        })
    });
    group.finish();
}

fn index_lookup(c: &mut Criterion) {
    // A full 1 GiB segment indexed every 4096 bytes: 262,144 entries.
    let entries = 262_144u32;
    let mut offsets = OffsetIndex::default();
    let mut times = TimeIndex::default();
    for i in 0..entries {
        offsets.append(i * 40, i * 4096);
        times.maybe_append(1_700_000_000_000 + i64::from(i), i * 40);
    }
    let mut group = c.benchmark_group("index_lookup");
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    group.bench_function("offset_index/262144_entries", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            offsets.lookup(black_box((x % u64::from(entries * 40)) as u32))
        })
    });
    group.bench_function("time_index/262144_entries", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            times.lookup_before(black_box(
                1_700_000_000_000 + (x % u64::from(entries)) as i64,
            ))
        })
    });
    group.finish();
}

fn fetch_read(c: &mut Criterion) {
    let now = now_ms();
    let bytes = batch(RECORDS, VALUE, Compression::None, now);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default(), now).expect("open");
    for _ in 0..2_000 {
        log.append_as_leader(bytes.clone(), 0, now).expect("append");
    }
    let end = log.log_end_offset();
    let mut group = c.benchmark_group("fetch_read");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for (name, max_bytes) in [("one_batch", 1usize), ("1MiB", 1 << 20)] {
        group.bench_function(format!("read/{name}"), |b| {
            b.iter(|| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let offset = (x % (end as u64 - 20_000)) as i64;
                log.read(black_box(offset), max_bytes, end, true)
                    .expect("read")
            })
        });
    }
    group.finish();
    drop(log);
}

fn produce_request(records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench-topic")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

fn codec(c: &mut Criterion) {
    let now = now_ms();
    let version = 9;
    let records = batch(RECORDS, VALUE, Compression::None, now);
    let request = produce_request(records.clone());
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("rdkafka")));
    let header_version = ApiKey::Produce.request_header_version(version);
    let mut frame = BytesMut::new();
    header.encode(&mut frame, header_version).expect("header");
    request.encode(&mut frame, version).expect("body");
    let frame = frame.freeze();

    let mut group = c.benchmark_group("protocol");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("produce_request_v9/decode", |b| {
        b.iter(|| {
            let mut buf = frame.clone();
            let h = RequestHeader::decode(&mut buf, header_version).expect("header");
            let r = ProduceRequest::decode(&mut buf, version).expect("body");
            black_box((h, r))
        })
    });
    group.bench_function("produce_request_v9/encode", |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(frame.len()),
            |buf| {
                header.encode(buf, header_version).expect("header");
                request.encode(buf, version).expect("body");
            },
            BatchSize::SmallInput,
        )
    });

    // A fetch response carrying 1 MiB of stored batches (what one partition
    // of a catching-up consumer gets), encoded v12.
    let mut stored = BytesMut::new();
    while stored.len() < (1 << 20) {
        stored.extend_from_slice(&records);
    }
    let stored = stored.freeze();
    let response = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
        .with_topic(TopicName(StrBytes::from_static_str("bench-topic")))
        .with_partitions(vec![PartitionData::default()
            .with_partition_index(0)
            .with_high_watermark(1_000_000)
            .with_last_stable_offset(1_000_000)
            .with_log_start_offset(0)
            .with_records(Some(stored.clone()))])]);
    group.throughput(Throughput::Bytes(stored.len() as u64));
    group.bench_function("fetch_response_v12_1MiB/encode", |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(stored.len() + 256),
            |buf| response.encode(buf, 12).expect("encode"),
            BatchSize::SmallInput,
        )
    });
    // The same into one reused buffer: the difference is the cost of a
    // fresh 1 MiB allocation (first-touch page faults), not of encoding.
    let mut reused = BytesMut::with_capacity(stored.len() + 256);
    group.bench_function("fetch_response_v12_1MiB/encode_reused_buffer", |b| {
        b.iter(|| {
            reused.clear();
            response.encode(&mut reused, 12).expect("encode");
            black_box(reused.len())
        })
    });
    group.finish();
}

/// Broker-side recompression (a topic's `compression.type` differs from
/// the producer's): one 100-record batch sent lz4 or uncompressed, rewritten
/// with each codec at Kafka's default level. Throughput is in uncompressed
/// record bytes, so the time per GB reads straight off it.
fn recompression(c: &mut Criterion) {
    let now = now_ms();
    let mut group = c.benchmark_group("recompress");
    let plain = batch(RECORDS, VALUE, Compression::None, now);
    group.throughput(Throughput::Bytes(plain.len() as u64));
    for (sent_name, sent) in [("none", Compression::None), ("lz4", Compression::Lz4)] {
        let mut buf = batch(RECORDS, VALUE, sent, now).to_vec();
        let placed =
            validate_and_assign(&mut buf, &LogConfig::default(), 0, 0, now).expect("valid");
        for (name, target, level) in [
            ("uncompressed", Compression::None, None),
            ("gzip", Compression::Gzip, None),
            ("snappy", Compression::Snappy, None),
            ("lz4", Compression::Lz4, Some(9)),
            ("zstd", Compression::Zstd, Some(3)),
        ] {
            if target == sent {
                continue;
            }
            let topic = TopicCompression::Codec(target, level);
            group.bench_function(format!("{sent_name}_to_{name}"), |b| {
                b.iter(|| {
                    to_topic_codec(black_box(&buf), &placed, topic)
                        .expect("recompressed")
                        .expect("rewritten")
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = validation, append, index_lookup, fetch_read, codec, recompression
}
criterion_main!(hot_paths);
