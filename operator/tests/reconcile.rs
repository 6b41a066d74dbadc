//! The reconcile loop against an in-memory Kubernetes API: creates on first
//! sight, updates on spec changes, writes status, does nothing when nothing
//! changed, and refuses bad specs without touching anything.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

mod common;

use common::{client, FakeApi};
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use serde_json::Value;
use weir_operator::cluster::{reconcile, Context};
use weir_operator::crd::kafka_cluster::{ListenerPorts, MetricsSpec, StorageSpec};
use weir_operator::crd::{KafkaCluster, KafkaClusterSpec};
use weir_operator::metrics::Metrics;

fn spec() -> KafkaClusterSpec {
    KafkaClusterSpec {
        replicas: 3,
        version: "0.1.0".into(),
        image: None,
        controller_voters: 3,
        storage: StorageSpec {
            size: "10Gi".into(),
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
    }
}

/// The namespace of these tests' objects: one no real test uses, because the
/// end-to-end tests' kubelet maps the pod names of their clusters to real
/// brokers in `/etc/hosts`, and a reconcile here asking `demo-broker-0` of
/// the same namespace would reach another test's broker (CI saw it).
const CLUSTER_PATH: &str = "/apis/weir.dev/v1alpha1/namespaces/fake-api/kafkaclusters/demo";

/// The cluster as the API server has it now (spec from `spec`, status from the store).
fn cluster(
    api: &Arc<Mutex<FakeApi>>,
    spec: KafkaClusterSpec,
    generation: i64,
) -> Arc<KafkaCluster> {
    let mut c = KafkaCluster::new("demo", spec);
    c.metadata.namespace = Some("fake-api".into());
    c.metadata.uid = Some("8f9a4c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b".into());
    c.metadata.generation = Some(generation);
    let mut api = api.lock().unwrap();
    if let Some(status) = api.objects.get(CLUSTER_PATH).map(|o| o["status"].clone()) {
        c.status = serde_json::from_value(status).ok();
    }
    api.objects
        .insert(CLUSTER_PATH.into(), serde_json::to_value(&c).unwrap());
    Arc::new(c)
}

fn context(client: Client) -> Arc<Context> {
    Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "weir-operator".into(),
                instance: None,
            },
        ),
        client,
        metrics: Arc::new(Metrics::new().unwrap()),
    })
}

fn take_writes(api: &Arc<Mutex<FakeApi>>) -> Vec<String> {
    std::mem::take(&mut api.lock().unwrap().writes)
}

fn condition(api: &Arc<Mutex<FakeApi>>, type_: &str) -> (String, String) {
    let objects = &api.lock().unwrap().objects;
    let conditions = objects[CLUSTER_PATH]["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let c = conditions
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
        .unwrap_or(Value::Null);
    (
        c["status"].as_str().unwrap_or("").into(),
        c["reason"].as_str().unwrap_or("").into(),
    )
}

#[tokio::test]
async fn a_new_cluster_gets_its_objects_events_and_status_and_a_second_pass_changes_nothing() {
    let api = Arc::new(Mutex::new(FakeApi::default()));
    let ctx = context(client(api.clone()));

    reconcile(cluster(&api, spec(), 1), ctx.clone())
        .await
        .expect("reconcile");
    let writes = take_writes(&api);
    let applies: Vec<&String> = writes
        .iter()
        .filter(|w| w.starts_with("PATCH") && !w.ends_with("/status") && !w.contains("/events"))
        .collect();
    assert_eq!(
        applies,
        [
            "PATCH /api/v1/namespaces/fake-api/configmaps/demo-config",
            "PATCH /api/v1/namespaces/fake-api/services/demo-brokers",
            "PATCH /api/v1/namespaces/fake-api/services/demo-bootstrap",
            "PATCH /apis/apps/v1/namespaces/fake-api/statefulsets/demo-broker",
            "PATCH /apis/policy/v1/namespaces/fake-api/poddisruptionbudgets/demo-broker",
        ],
        "configuration first, then the StatefulSet"
    );
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.starts_with("POST") && w.contains("/events"))
            .count(),
        5,
        "{writes:?}"
    );
    assert!(writes.contains(&format!("PATCH {CLUSTER_PATH}/status")));
    assert_eq!(
        condition(&api, "Ready"),
        ("False".into(), "BrokersNotReady".into())
    );
    assert_eq!(
        condition(&api, "Reconciling"),
        ("True".into(), "Creating".into())
    );
    assert_eq!(
        condition(&api, "Degraded"),
        ("False".into(), "AsExpected".into())
    );
    {
        let objects = &api.lock().unwrap().objects;
        let sts = &objects["/apis/apps/v1/namespaces/fake-api/statefulsets/demo-broker"];
        assert_eq!(
            sts["metadata"]["ownerReferences"][0]["kind"],
            "KafkaCluster"
        );
        assert_eq!(sts["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(objects[CLUSTER_PATH]["status"]["observedGeneration"], 1);
    }

    // The StatefulSet now exists: status moves on once more.
    reconcile(cluster(&api, spec(), 1), ctx.clone())
        .await
        .expect("reconcile");
    take_writes(&api);
    // Nothing changed since: only the no-op applies, no event, no status write.
    reconcile(cluster(&api, spec(), 1), ctx.clone())
        .await
        .expect("reconcile");
    let writes = take_writes(&api);
    assert!(
        writes
            .iter()
            .all(|w| !w.contains("/events") && !w.ends_with("/status")),
        "{writes:?}"
    );
}

#[tokio::test]
async fn a_static_config_change_updates_the_config_map_and_the_stateful_set() {
    let api = Arc::new(Mutex::new(FakeApi::default()));
    let ctx = context(client(api.clone()));
    reconcile(cluster(&api, spec(), 1), ctx.clone())
        .await
        .expect("reconcile");
    reconcile(cluster(&api, spec(), 1), ctx.clone())
        .await
        .expect("reconcile");
    let before = api.lock().unwrap().objects
        ["/apis/apps/v1/namespaces/fake-api/statefulsets/demo-broker"]
        .clone();
    take_writes(&api);

    let mut changed = spec();
    changed.config.insert("num.partitions".into(), "6".into());
    reconcile(cluster(&api, changed, 2), ctx.clone())
        .await
        .expect("reconcile");
    let objects = api.lock().unwrap().objects.clone();
    let config = objects["/api/v1/namespaces/fake-api/configmaps/demo-config"]["data"]
        ["server.properties"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(config.contains("num.partitions=6"), "{config}");
    let after = &objects["/apis/apps/v1/namespaces/fake-api/statefulsets/demo-broker"];
    let hash = |s: &Value| {
        s["spec"]["template"]["metadata"]["annotations"]["weir.dev/config-hash"].clone()
    };
    assert_ne!(hash(&before), hash(after), "the config hash rolls the pods");
    assert_eq!(objects[CLUSTER_PATH]["status"]["observedGeneration"], 2);
    let writes = take_writes(&api);
    assert_eq!(
        writes.iter().filter(|w| w.contains("/events")).count(),
        2,
        "{writes:?}"
    );
}

#[tokio::test]
async fn an_invalid_spec_is_reported_and_nothing_is_applied() {
    let api = Arc::new(Mutex::new(FakeApi::default()));
    let ctx = context(client(api.clone()));
    let mut bad = spec();
    bad.config
        .insert("listeners".into(), "PLAINTEXT://:1".into());
    reconcile(cluster(&api, bad, 1), ctx)
        .await
        .expect("an invalid spec is not a reconcile error");
    let writes = take_writes(&api);
    assert!(
        writes
            .iter()
            .all(|w| w.contains("/events") || w.ends_with("/status")),
        "nothing but an event and the status: {writes:?}"
    );
    assert_eq!(
        condition(&api, "Degraded"),
        ("True".into(), "InvalidSpec".into())
    );
    assert_eq!(
        condition(&api, "Ready"),
        ("False".into(), "InvalidSpec".into())
    );
}
