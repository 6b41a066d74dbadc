//! The `KafkaCluster` custom resource: what a user asks for, and the status
//! the operator reports back.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// A weir cluster: brokers in a StatefulSet, their configuration, storage and
/// the Services clients use.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "weir.dev",
    version = "v1alpha1",
    kind = "KafkaCluster",
    namespaced,
    shortname = "kc",
    shortname = "weir",
    status = "KafkaClusterStatus",
    doc = "A weir cluster: Kafka-compatible brokers run as a StatefulSet.",
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Brokers", type_ = "integer", json_path = ".status.readyBrokers"),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".spec.replicas"),
    printcolumn(name = "Version", type_ = "string", json_path = ".status.version"),
    printcolumn(name = "Controller", type_ = "integer", json_path = ".status.controller"),
    printcolumn(name = "URP", type_ = "integer", json_path = ".status.underReplicatedPartitions"),
    printcolumn(name = "Operation", type_ = "string", json_path = ".status.operation.phase"),
    printcolumn(name = "Bootstrap", type_ = "string", priority = 1, json_path = ".status.bootstrap"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.spec.controllerVoters <= self.spec.replicas").message("controllerVoters cannot exceed replicas")
)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterSpec {
    /// Number of brokers.
    #[schemars(range(min = 1, max = 1000))]
    pub replicas: i32,
    /// The weir version to run; the image tag unless `image` is set. Required,
    /// so an operator upgrade never changes what runs.
    #[x_kube(validation = Rule::new("self != ''").message("version must not be empty"))]
    pub version: String,
    /// A full image reference overriding the one derived from `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How many brokers (the first N) vote in the metadata quorum. Fixed at
    /// creation.
    #[schemars(range(min = 1, max = 7))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("controllerVoters is immutable"))]
    pub controller_voters: i32,
    /// Persistent storage of every broker.
    pub storage: StorageSpec,
    /// CPU and memory of each broker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Broker configuration under Kafka's keys (e.g. `num.partitions`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Ports the brokers listen on.
    #[serde(default)]
    pub listeners: ListenerPorts,
    /// Rack awareness: brokers are spread over the values of a node label.
    /// With `topology.kubernetes.io/zone` or `region`, each broker also gets
    /// `broker.rack` from the pod's copy of that label (Kubernetes copies it
    /// with the `PodTopologyLabelsAdmission` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<RackSpec>,
    /// Overrides merged into the broker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplateOverrides>,
    /// Prometheus metrics.
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// Moving replicas when brokers are added.
    #[serde(default)]
    pub rebalance: RebalanceSpec,
}

/// How data moves when the cluster grows or shrinks.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceSpec {
    /// Move a fair share of replicas and leaders onto added brokers
    /// (default true). Removed brokers are always drained.
    #[serde(default = "default_true")]
    pub on_scale_up: bool,
    /// Bytes per second each broker may send and fetch for moving replicas
    /// (`leader/follower.replication.throttled.rate` while moves run), so
    /// moves do not starve clients. Default 50 MiB/s.
    #[serde(default = "default_throttle")]
    #[schemars(range(min = 1024))]
    pub throttle_bytes_per_second: i64,
}

fn default_throttle() -> i64 {
    50 * 1024 * 1024
}

impl Default for RebalanceSpec {
    fn default() -> Self {
        RebalanceSpec {
            on_scale_up: true,
            throttle_bytes_per_second: default_throttle(),
        }
    }
}

/// Broker storage: one persistent volume claim per broker.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(oldSelf.storageClassName) || (has(self.storageClassName) && self.storageClassName == oldSelf.storageClassName)").message("storageClassName is immutable"))]
pub struct StorageSpec {
    /// Size of each broker's volume, e.g. `10Gi`. May grow, never shrink
    /// (the operator refuses a smaller size with a condition: CEL's
    /// quantity library needs Kubernetes 1.29, and 1.28 is supported).
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?([KMGTPE]i|[kMGTPE])?$"))]
    pub size: String,
    /// Storage class of the claims; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Whether the claims are deleted with the cluster (default: kept).
    #[serde(default)]
    pub delete_claim: bool,
}

/// Ports of the broker listeners.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerPorts {
    /// Kafka clients.
    #[serde(default = "default_kafka_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub kafka: i32,
    /// Replication and metadata quorum between brokers.
    #[serde(default = "default_internal_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub internal: i32,
    /// `/metrics`, `/healthz`, `/readyz`.
    #[serde(default = "default_http_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub http: i32,
}

fn default_kafka_port() -> i32 {
    9092
}
fn default_internal_port() -> i32 {
    9093
}
fn default_http_port() -> i32 {
    8080
}

impl Default for ListenerPorts {
    fn default() -> Self {
        ListenerPorts {
            kafka: default_kafka_port(),
            internal: default_internal_port(),
            http: default_http_port(),
        }
    }
}

/// Rack awareness settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RackSpec {
    /// Node label whose values are the racks, e.g. `topology.kubernetes.io/zone`.
    #[x_kube(validation = Rule::new("self != ''").message("topologyKey must not be empty"))]
    pub topology_key: String,
}

/// Pod settings merged into the broker pods.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateOverrides {
    /// Extra pod labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra pod annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Affinity (replaces the default anti-affinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Topology spread constraints (added to the rack spread, if any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Priority class of the broker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// Metrics settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// Whether pods carry Prometheus scrape annotations and the bootstrap
    /// Service exposes the metrics port.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec { enabled: true }
    }
}

/// What the operator observed and did.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling` and `Degraded`, Kubernetes style.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Brokers whose pod is ready.
    #[serde(default)]
    pub ready_brokers: i32,
    /// The version the brokers run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The address clients bootstrap from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
    /// The active controller's node id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<i32>,
    /// Node ids of the metadata quorum's voters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quorum_voters: Vec<i32>,
    /// Registered, live brokers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_brokers: Vec<i32>,
    /// Partitions with fewer in-sync replicas than replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_replicated_partitions: Option<i32>,
    /// Partitions below their `min.insync.replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_min_isr_partitions: Option<i32>,
    /// Partitions without a leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_partitions: Option<i32>,
    /// The long operation in progress (scaling, rebalancing, a roll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationStatus>,
}

/// A long operation's phase and progress.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// `ScaleUp`, `ScaleDown` or `Roll`.
    pub kind: String,
    /// Where it is: `Joining`, `Rebalancing`, `Draining`, `Shrinking`,
    /// `Unregistering`, `Restarting`, `Blocked`, `Refused`.
    pub phase: String,
    /// What is happening or what it waits for, in words.
    pub message: String,
}
