//! Every request frame the network can deliver, through the real dispatcher
//! and handlers of a real broker (on a temporary data directory): nothing
//! may panic or abort, whatever the bytes.
//!
//! Its seed corpus (`fuzz/seeds/request`, made by `make_request_seeds.py`)
//! starts every run on admin requests claiming huge counts, and after every
//! input the target checks that no request created more partitions than
//! Kafka's per-operation cap.
//!
//! Input: one byte picks the API, one the version within its supported
//! range, the rest is the request header and body after them, so every API
//! and version is reached without the fuzzer having to guess keys first.

#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_broker::api::SUPPORTED;
use weir_broker::broker::Broker;
use weir_broker::config::BrokerConfig;
use weir_broker::controller::decisions::limits;
use weir_broker::server::dispatch;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    broker: Arc<Broker>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let props: BTreeMap<String, String> = [
            ("log.dirs", dir.path().to_str().expect("utf-8 path")),
            ("listeners", "PLAINTEXT://127.0.0.1:9092"),
            ("group.initial.rebalance.delay.ms", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = BrokerConfig::from_properties(&props).expect("fuzz broker config");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let broker = runtime.block_on(async {
            let broker = Broker::open(config).await.expect("open broker");
            broker.join().await.expect("join the one-voter cluster");
            broker
        });
        Fixture {
            runtime,
            broker,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let [api, version, rest @ ..] = data else {
        return;
    };
    let served = SUPPORTED[usize::from(*api) % SUPPORTED.len()];
    let (key, min, max) = (served.key, served.min, served.max);
    let span = (max - min + 1) as u8;
    let version = min + i16::from(*version % span);
    let mut frame = BytesMut::with_capacity(4 + rest.len());
    frame.put_i16(key as i16);
    frame.put_i16(version);
    frame.put_slice(rest);
    let f = fixture();
    let client = weir_broker::api::ClientContext::anonymous(
        "127.0.0.1:40000".parse().expect("address"),
        "PLAINTEXT",
    );
    let partitions_before = partition_count(&f.broker);
    let mut out = BytesMut::new();
    // Long polls and parked group requests are cut short: waiting is not a
    // failure, only a panic or an abort is.
    let _ = f.runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_millis(50),
            dispatch::handle_frame(&f.broker, frame.freeze(), &client, &mut out),
        )
        .await
    });
    // No one request may create more than Kafka's per-operation cap.
    let created = partition_count(&f.broker).saturating_sub(partitions_before);
    assert!(
        created as i64 <= limits::MAX_PARTITIONS_PER_BATCH,
        "one request created {created} partitions"
    );
});

fn partition_count(broker: &Broker) -> usize {
    broker
        .image()
        .topics
        .values()
        .map(|t| t.partitions.len())
        .sum()
}
