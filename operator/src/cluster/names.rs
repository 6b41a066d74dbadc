//! Names and labels of the objects a `KafkaCluster` owns, in one place so
//! every builder and every lookup agrees.

use std::collections::BTreeMap;

/// The label selecting a cluster's broker pods, stable for the life of the
/// cluster (a selector cannot change).
pub fn selector_labels(cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "weir".to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            cluster.to_string(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            "broker".to_string(),
        ),
    ])
}

/// Labels on every owned object: the selector plus who manages it.
pub fn labels(cluster: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(cluster);
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        "weir-operator".to_string(),
    );
    labels.insert("app.kubernetes.io/part-of".to_string(), "weir".to_string());
    labels
}

/// The ConfigMap holding `server.properties`.
pub fn config_map(cluster: &str) -> String {
    format!("{cluster}-config")
}

/// The headless Service giving each broker a stable DNS name.
pub fn headless_service(cluster: &str) -> String {
    format!("{cluster}-brokers")
}

/// The Service clients bootstrap from.
pub fn bootstrap_service(cluster: &str) -> String {
    format!("{cluster}-bootstrap")
}

/// The StatefulSet (and PodDisruptionBudget) of the brokers.
pub fn stateful_set(cluster: &str) -> String {
    format!("{cluster}-broker")
}

/// Broker `ordinal`'s pod.
pub fn pod(cluster: &str, ordinal: i32) -> String {
    format!("{}-{ordinal}", stateful_set(cluster))
}

/// Broker `ordinal`'s DNS name inside the cluster.
pub fn pod_host(cluster: &str, namespace: &str, ordinal: i32) -> String {
    format!(
        "{}.{}.{namespace}.svc",
        pod(cluster, ordinal),
        headless_service(cluster)
    )
}

/// The field manager of every server-side apply, so ownership of fields is
/// stable across operator versions.
pub const FIELD_MANAGER: &str = "weir-operator";

/// Annotation carrying the hash of the broker configuration on the pod
/// template: a config change changes the template, so pods roll.
pub const CONFIG_HASH_ANNOTATION: &str = "weir.dev/config-hash";

/// Annotation a user sets on the KafkaCluster (any new value) to restart
/// every broker, one at a time, as `kubectl rollout restart` does for a
/// Deployment; copied onto the pod template.
pub const RESTART_ANNOTATION: &str = "weir.dev/restart";
