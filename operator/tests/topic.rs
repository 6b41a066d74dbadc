//! The KafkaTopic controller against an in-memory Kubernetes API and a real
//! weir-broker: the topic is created, grown and reconfigured through the
//! Kafka admin API, refused changes touch nothing, and deletion deletes it.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{client, FakeApi};
use serde_json::{json, Value};
use weir_e2e::Broker;
use weir_operator::crd::kafka_cluster::{ListenerPorts, MetricsSpec, StorageSpec};
use weir_operator::crd::kafka_topic::DeletionPolicy;
use weir_operator::crd::{KafkaCluster, KafkaClusterSpec, KafkaTopic, KafkaTopicSpec};
use weir_operator::kafka::AdminClient;
use weir_operator::topic::{reconcile, TopicContext, FINALIZER};

const TOPIC_PATH: &str = "/apis/weir.dev/v1alpha1/namespaces/fake-api/kafkatopics/orders";

fn seed_cluster(api: &Arc<Mutex<FakeApi>>) {
    let mut c = KafkaCluster::new(
        "demo",
        KafkaClusterSpec {
            replicas: 1,
            version: "0.1.0".into(),
            image: None,
            controller_voters: 1,
            storage: StorageSpec {
                size: "1Gi".into(),
                storage_class_name: None,
                delete_claim: false,
            },
            resources: None,
            config: BTreeMap::new(),
            listeners: ListenerPorts::default(),
            rack: None,
            pod_template: None,
            metrics: MetricsSpec::default(),
            rebalance: Default::default(),
        },
    );
    c.metadata.namespace = Some("fake-api".into());
    api.lock().unwrap().objects.insert(
        "/apis/weir.dev/v1alpha1/namespaces/fake-api/kafkaclusters/demo".into(),
        serde_json::to_value(&c).unwrap(),
    );
}

/// Writes the spec into the store (keeping status and finalizers) and
/// returns the object as a watch would deliver it.
fn put_topic(api: &Arc<Mutex<FakeApi>>, spec: KafkaTopicSpec, generation: i64) -> Arc<KafkaTopic> {
    let mut api = api.lock().unwrap();
    let mut value = api.objects.get(TOPIC_PATH).cloned().unwrap_or_else(|| {
        let mut t = KafkaTopic::new("orders", spec.clone());
        t.metadata.namespace = Some("fake-api".into());
        t.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        ));
        serde_json::to_value(&t).unwrap()
    });
    value["spec"] = serde_json::to_value(&spec).unwrap();
    value["metadata"]["generation"] = json!(generation);
    api.objects.insert(TOPIC_PATH.into(), value.clone());
    Arc::new(serde_json::from_value(value).unwrap())
}

fn current(api: &Arc<Mutex<FakeApi>>) -> Arc<KafkaTopic> {
    Arc::new(serde_json::from_value(api.lock().unwrap().objects[TOPIC_PATH].clone()).unwrap())
}

fn ready(api: &Arc<Mutex<FakeApi>>) -> (String, String, String) {
    let objects = &api.lock().unwrap().objects;
    let c = &objects[TOPIC_PATH]["status"]["conditions"][0];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    (s(&c["status"]), s(&c["reason"]), s(&c["message"]))
}

fn spec(partitions: i32, config: &[(&str, &str)]) -> KafkaTopicSpec {
    KafkaTopicSpec {
        cluster_ref: "demo".into(),
        topic_name: None,
        partitions,
        replication_factor: 1,
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        deletion_policy: DeletionPolicy::Delete,
    }
}

#[tokio::test]
async fn a_topic_is_created_grown_reconfigured_refused_and_deleted_through_kafka() {
    let broker = Broker::start();
    let api = Arc::new(Mutex::new(FakeApi::default()));
    seed_cluster(&api);
    let bootstrap = broker.bootstrap();
    let ctx = Arc::new(TopicContext {
        client: client(api.clone()),
        resolve: Arc::new(move |_| bootstrap.clone()),
    });
    let mut admin = AdminClient::connect(&broker.bootstrap()).await.unwrap();

    // First pass adds the finalizer, the second creates the topic.
    put_topic(&api, spec(3, &[("retention.ms", "3600000")]), 1);
    reconcile(current(&api), ctx.clone())
        .await
        .expect("finalizer added");
    assert_eq!(
        current(&api).metadata.finalizers.as_deref(),
        Some(&[FINALIZER.to_string()][..])
    );
    reconcile(current(&api), ctx.clone())
        .await
        .expect("created");
    let topic = admin
        .describe_topic("orders")
        .await
        .unwrap()
        .expect("topic exists");
    assert_eq!(topic.partitions, 3);
    assert_eq!(
        topic.configs.get("retention.ms").map(String::as_str),
        Some("3600000")
    );
    assert_eq!(ready(&api).0, "True");
    assert_eq!(
        current(&api).status.clone().unwrap().topic_id,
        Some(topic.topic_id.clone())
    );

    put_topic(&api, spec(6, &[("cleanup.policy", "compact")]), 2);
    reconcile(current(&api), ctx.clone())
        .await
        .expect("updated");
    let topic = admin.describe_topic("orders").await.unwrap().unwrap();
    assert_eq!(topic.partitions, 6);
    assert_eq!(
        topic.configs,
        BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]),
        "retention.ms went back to the default"
    );

    put_topic(&api, spec(2, &[("cleanup.policy", "compact")]), 3);
    reconcile(current(&api), ctx.clone())
        .await
        .expect("a refusal is not an error");
    let (status, reason, message) = ready(&api);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Unsupported"));
    assert!(message.contains("cannot reduce"), "{message}");
    assert_eq!(
        admin
            .describe_topic("orders")
            .await
            .unwrap()
            .unwrap()
            .partitions,
        6
    );

    put_topic(&api, spec(6, &[("no.such.config", "1")]), 4);
    reconcile(current(&api), ctx.clone())
        .await
        .expect("a refusal is not an error");
    let (status, reason, _) = ready(&api);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "KafkaRefused")
    );

    // Deleting the object deletes the topic, then releases the finalizer.
    {
        let mut api = api.lock().unwrap();
        let object = api.objects.get_mut(TOPIC_PATH).unwrap();
        object["metadata"]["deletionTimestamp"] = json!("2026-11-25T00:00:00Z");
    }
    reconcile(current(&api), ctx.clone())
        .await
        .expect("cleanup");
    assert!(
        admin.describe_topic("orders").await.unwrap().is_none(),
        "topic deleted"
    );
    assert!(current(&api)
        .metadata
        .finalizers
        .clone()
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn a_topic_of_a_missing_cluster_waits_with_a_reason() {
    let api = Arc::new(Mutex::new(FakeApi::default()));
    let ctx = Arc::new(TopicContext {
        client: client(api.clone()),
        resolve: Arc::new(|_| "127.0.0.1:1".to_string()),
    });
    put_topic(&api, spec(1, &[]), 1);
    reconcile(current(&api), ctx.clone()).await.unwrap();
    reconcile(current(&api), ctx.clone()).await.unwrap();
    assert_eq!(ready(&api).1, "ClusterNotFound");
}
