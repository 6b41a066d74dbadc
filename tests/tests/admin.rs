//! Topics created, altered, described and deleted through the admin API,
//! with Kafka's error codes for what Kafka refuses.

use std::time::Duration;

use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, ApiKey, DescribeClusterRequest,
    DescribeClusterResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{
    AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use weir_e2e::Broker;

fn opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

async fn create_error(broker: &Broker, topic: NewTopic<'_>) -> Option<RDKafkaErrorCode> {
    let results = broker
        .admin()
        .create_topics(&[topic], &opts())
        .await
        .expect("create_topics");
    results[0].as_ref().err().map(|(_, code)| *code)
}

async fn config_value(broker: &Broker, topic: &str, key: &str) -> Option<String> {
    let results = broker
        .admin()
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &opts())
        .await
        .expect("describe_configs");
    let resource = results[0].as_ref().expect("described");
    resource.get(key).and_then(|e| e.value.clone())
}

fn partition_count(broker: &Broker, topic: &str) -> usize {
    let md = broker
        .consumer()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()[0].partitions().len()
}

#[tokio::test]
async fn topics_are_created_described_altered_grown_and_deleted() {
    let broker = Broker::start_with(&["--auto-create-topics-enable", "false"]);
    let admin = broker.admin();

    let dry = admin
        .create_topics(
            &[NewTopic::new("orders", 3, TopicReplication::Fixed(1))],
            &opts().validate_only(true),
        )
        .await
        .unwrap();
    assert!(dry[0].is_ok());
    assert!(
        !broker.data_dir().join("orders-0").exists(),
        "validate-only created nothing"
    );
    assert_eq!(config_value(&broker, "orders", "retention.ms").await, None);

    let topic =
        NewTopic::new("orders", 3, TopicReplication::Fixed(1)).set("retention.ms", "3600000");
    assert_eq!(create_error(&broker, topic).await, None);
    assert!(broker.data_dir().join("orders-2").exists());
    assert_eq!(
        config_value(&broker, "orders", "retention.ms")
            .await
            .as_deref(),
        Some("3600000")
    );
    assert_eq!(
        config_value(&broker, "orders", "cleanup.policy")
            .await
            .as_deref(),
        Some("delete")
    );
    assert_eq!(
        config_value(&broker, "orders", "max.message.bytes")
            .await
            .as_deref(),
        Some("1048588")
    );
    assert_eq!(
        config_value(&broker, "orders", "segment.bytes")
            .await
            .as_deref(),
        Some("1073741824")
    );

    let altered = admin
        .alter_configs(
            &[AlterConfig::new(ResourceSpecifier::Topic("orders")).set("segment.ms", "60000")],
            &opts(),
        )
        .await
        .unwrap();
    assert!(altered[0].is_ok(), "{altered:?}");
    assert_eq!(
        config_value(&broker, "orders", "segment.ms")
            .await
            .as_deref(),
        Some("60000")
    );
    // AlterConfigs replaces the whole set: retention.ms is back to its default.
    assert_eq!(
        config_value(&broker, "orders", "retention.ms")
            .await
            .as_deref(),
        Some("604800000")
    );

    let response = broker.raw().alter_configs(
        2,
        "orders",
        &[
            ("cleanup.policy", 2, Some("compact")),
            ("segment.ms", 1, None),
        ],
    );
    assert_eq!(response.error_code, 0, "{response:?}");
    assert_eq!(
        config_value(&broker, "orders", "cleanup.policy")
            .await
            .as_deref(),
        Some("delete,compact")
    );
    assert_eq!(
        config_value(&broker, "orders", "segment.ms")
            .await
            .as_deref(),
        Some("604800000")
    );

    let grown = admin
        .create_partitions(&[NewPartitions::new("orders", 5)], &opts())
        .await
        .unwrap();
    assert!(grown[0].is_ok(), "{grown:?}");
    assert_eq!(partition_count(&broker, "orders"), 5);
    let shrink = admin
        .create_partitions(&[NewPartitions::new("orders", 2)], &opts())
        .await
        .unwrap();
    assert_eq!(
        shrink[0].as_ref().err().map(|e| e.1),
        Some(RDKafkaErrorCode::InvalidPartitions)
    );

    let deleted = admin.delete_topics(&["orders"], &opts()).await.unwrap();
    assert!(deleted[0].is_ok());
    assert!(
        !broker.data_dir().join("orders-0").exists(),
        "the partition data is gone"
    );
    let again = admin.delete_topics(&["orders"], &opts()).await.unwrap();
    assert_eq!(
        again[0].as_ref().err().map(|e| e.1),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition)
    );
}

#[tokio::test]
async fn what_kafka_refuses_gets_kafkas_error_codes() {
    let broker = Broker::start();
    let t = |name, p, rf| NewTopic::new(name, p, TopicReplication::Fixed(rf));
    assert_eq!(create_error(&broker, t("dup", 1, 1)).await, None);
    assert_eq!(
        create_error(&broker, t("dup", 1, 1)).await,
        Some(RDKafkaErrorCode::TopicAlreadyExists)
    );
    let long = "x".repeat(250);
    for bad in ["bad/name", "..", long.as_str()] {
        assert_eq!(
            create_error(&broker, t(bad, 1, 1)).await,
            Some(RDKafkaErrorCode::InvalidTopic),
            "{bad}"
        );
    }
    assert_eq!(
        create_error(&broker, t("zero", 0, 1)).await,
        Some(RDKafkaErrorCode::InvalidPartitions)
    );
    assert_eq!(
        create_error(&broker, t("rf3", 1, 3)).await,
        Some(RDKafkaErrorCode::InvalidReplicationFactor)
    );
    assert_eq!(
        create_error(&broker, t("badcfg", 1, 1).set("retention.ms", "abc")).await,
        Some(RDKafkaErrorCode::InvalidConfig)
    );
    assert_eq!(
        create_error(&broker, t("unknowncfg", 1, 1).set("no.such.config", "1")).await,
        Some(RDKafkaErrorCode::InvalidConfig)
    );
    // Tiered storage is off (weir has none): Kafka refuses enabling it.
    assert_eq!(
        create_error(
            &broker,
            t("tiered", 1, 1).set("remote.storage.enable", "true")
        )
        .await,
        Some(RDKafkaErrorCode::InvalidConfig)
    );
    // rust-rdkafka does not surface per-resource AlterConfigs errors, so ask directly.
    let request = AlterConfigsRequest::default().with_resources(vec![
        kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("dup"))
            .with_configs(vec![
                kafka_protocol::messages::alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("soon"))),
            ]),
    ]);
    let response: AlterConfigsResponse = broker.raw().call(ApiKey::AlterConfigs, 2, &request);
    assert_eq!(response.responses[0].error_code, 40, "INVALID_CONFIG");
    assert_eq!(
        config_value(&broker, "dup", "retention.ms")
            .await
            .as_deref(),
        Some("604800000")
    );
}

#[tokio::test]
async fn delete_records_moves_the_earliest_offset() {
    let broker = Broker::start();
    let producer = broker.producer(&[("batch.num.messages", "1")]);
    for i in 0..10 {
        producer
            .send(
                FutureRecord::<(), _>::to("trim").payload(&format!("{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("trim", 0, Offset::Offset(4))
        .unwrap();
    let result = broker
        .admin()
        .delete_records(&tpl, &opts())
        .await
        .expect("delete_records");
    assert_eq!(result.elements()[0].offset(), Offset::Offset(4));
    let (low, high) = broker
        .consumer()
        .fetch_watermarks("trim", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (4, 10));
    let got = broker.read_partition("trim", 0, Offset::Beginning, 6);
    assert_eq!(weir_e2e::payloads(&got)[0], (4, b"4".to_vec()));
}

#[test]
fn describe_cluster_names_the_cluster_and_this_broker() {
    let broker = Broker::start_with(&["--node-id", "7"]);
    let mut raw = broker.raw();
    let response: DescribeClusterResponse = raw.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default().with_endpoint_type(1),
    );
    assert_eq!(response.error_code, 0);
    assert_eq!(response.controller_id.0, 7);
    assert_eq!(response.cluster_id.len(), 22);
    assert_eq!(response.brokers.len(), 1);
    assert_eq!(response.brokers[0].port, i32::from(broker.port));
}
