//! Cluster-wide dynamic configs: the broker defaults of topic configs set on
//! the BROKER resource "" reach every broker and every topic without an
//! override at once, survive restarts, and are checked like topic configs.

use std::time::Duration;

use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use weir_e2e::cluster::{block_on, create_topic, Cluster};
use weir_e2e::RawClient;

const BROKER: i8 = 4;
const TOPIC: i8 = 2;
const SET: i8 = 0;
const DELETE: i8 = 1;
const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;

/// IncrementalAlterConfigs on the cluster default; the resource's error code.
fn alter_cluster_default(cluster: &Cluster, via: usize, ops: &[(&str, i8, Option<&str>)]) -> i16 {
    let result =
        RawClient::connect(&cluster.brokers[via].bootstrap()).alter_configs(BROKER, "", ops);
    if result.error_code != 0 {
        eprintln!("refused: {:?}", result.error_message);
    }
    result.error_code
}

/// DescribeConfigs of one resource on broker `on`: (name, value, source).
fn describe(cluster: &Cluster, on: usize, kind: i8, name: &str) -> Vec<(String, String, i8)> {
    let result =
        RawClient::connect(&cluster.brokers[on].bootstrap()).describe_configs(kind, name, None);
    assert_eq!(result.error_code, 0, "{result:?}");
    result
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                c.config_source,
            )
        })
        .collect()
}

fn entry(entries: &[(String, String, i8)], name: &str) -> Option<(String, i8)> {
    entries
        .iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, v, s)| (v.clone(), *s))
}

/// Sends one record of `size` bytes through broker 0; the broker's error.
fn produce(cluster: &Cluster, size: usize) -> Option<RDKafkaErrorCode> {
    block_on(produce_async(cluster, size))
}

async fn produce_async(cluster: &Cluster, size: usize) -> Option<RDKafkaErrorCode> {
    let producer = cluster.brokers[0].producer(&[("message.max.bytes", "100000")]);
    let value = vec![b'v'; size];
    producer
        .send(
            FutureRecord::<(), _>::to("live").payload(&value),
            Duration::from_secs(10),
        )
        .await
        .err()
        .map(|(e, _)| e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown))
}

#[test]
fn cluster_wide_log_defaults_apply_live_on_every_broker_and_survive_restarts() {
    let mut cluster = Cluster::start(3, 3, &[]);
    create_topic(&cluster.bootstrap(), "live", 1, 3, &[]);
    assert_eq!(produce(&cluster, 5_000), None);

    let set = [
        ("message.max.bytes", SET, Some("2000")),
        ("log.retention.ms", SET, Some("123456")),
    ];
    assert_eq!(alter_cluster_default(&cluster, 1, &set), 0);
    for on in 0..3 {
        cluster.wait_until(
            "every broker applies the cluster default",
            Duration::from_secs(10),
            |c| {
                entry(&describe(c, on, TOPIC, "live"), "retention.ms")
                    == Some(("123456".into(), DYNAMIC_DEFAULT_BROKER_CONFIG))
            },
        );
        let own = describe(&cluster, on, BROKER, &on.to_string());
        assert_eq!(
            entry(&own, "message.max.bytes"),
            Some(("2000".into(), DYNAMIC_DEFAULT_BROKER_CONFIG))
        );
    }
    let mut defaults: Vec<String> = describe(&cluster, 2, BROKER, "")
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    defaults.sort();
    assert_eq!(defaults, ["log.retention.ms", "message.max.bytes"]);
    assert_eq!(
        produce(&cluster, 5_000),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
    );
    assert_eq!(produce(&cluster, 500), None);

    // Checked like the topic keys; nothing changes on a refusal.
    assert_eq!(
        alter_cluster_default(&cluster, 0, &[("min.insync.replicas", SET, Some("0"))]),
        40,
        "INVALID_CONFIG"
    );
    assert_eq!(
        alter_cluster_default(&cluster, 0, &[("num.partitions", SET, Some("3"))]),
        42,
        "INVALID_REQUEST: not dynamic"
    );

    cluster.brokers[2].stop();
    cluster.brokers[2].start_again();
    assert_eq!(
        entry(&describe(&cluster, 2, TOPIC, "live"), "retention.ms"),
        Some(("123456".into(), DYNAMIC_DEFAULT_BROKER_CONFIG))
    );

    assert_eq!(
        alter_cluster_default(&cluster, 2, &[("message.max.bytes", DELETE, None)]),
        0
    );
    cluster.wait_until(
        "broker 0 forgets the deleted default",
        Duration::from_secs(10),
        |c| {
            entry(&describe(c, 0, TOPIC, "live"), "max.message.bytes")
                == Some(("1048588".into(), 5))
        },
    );
    assert_eq!(produce(&cluster, 5_000), None);
}
