//! The brokers' StatefulSet: stable identities and volumes, `OnDelete`
//! updates (the operator decides when each broker restarts), and a config
//! hash on the pod template so configuration changes reach the brokers.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    SeccompProfile, SecurityContext, TopologySpreadConstraint, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::config_map::SERVER_PROPERTIES;
use super::metadata;
use crate::cluster::names;
use crate::crd::KafkaCluster;

/// Image repository used when the spec gives only a version.
pub const DEFAULT_REPOSITORY: &str = "ghcr.io/weir-dev/weir-broker";
/// The non-root user of the broker image.
const RUN_AS: i64 = 65532;
const CONFIG_DIR: &str = "/etc/weir";
const DATA_MOUNT: &str = "/var/lib/weir";

/// The image the brokers run.
pub fn image(cluster: &KafkaCluster) -> String {
    cluster
        .spec
        .image
        .clone()
        .unwrap_or_else(|| format!("{DEFAULT_REPOSITORY}:{}", cluster.spec.version))
}

/// The Kafka cluster id: the resource's uid in Kafka's 22-character base64
/// form, stable for the life of the resource. A recreated resource is a new
/// cluster, and brokers refuse to start on an old cluster's data.
pub fn cluster_id(cluster: &KafkaCluster) -> String {
    let uid = cluster.uid().unwrap_or_default().replace('-', "");
    let bytes: Vec<u8> = (0..uid.len() / 2)
        .filter_map(|i| u8::from_str_radix(uid.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn env_from_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(5),
        ..Probe::default()
    }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

fn broker_container(cluster: &KafkaCluster) -> Container {
    let name = cluster.name_any();
    let l = &cluster.spec.listeners;
    let headless = names::headless_service(&name);
    Container {
        name: "broker".into(),
        image: Some(image(cluster)),
        args: Some(vec![
            "--config".into(),
            format!("{CONFIG_DIR}/{SERVER_PROPERTIES}"),
            "--cluster-id".into(),
            cluster_id(cluster),
            "--listeners".into(),
            format!("PLAINTEXT://0.0.0.0:{}", l.kafka),
            "--advertised-listeners".into(),
            format!(
                "PLAINTEXT://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc:{}",
                l.kafka
            ),
            // Peers reach it at the pod's DNS name (from the advertised
            // listener) on this port; the voters come from the ConfigMap.
            "--internal-listener".into(),
            format!("0.0.0.0:{}", l.internal),
            "--http-listener".into(),
            format!("0.0.0.0:{}", l.http),
            "--log-format".into(),
            "json".into(),
        ]),
        env: Some(broker_env(cluster)),
        ports: Some(vec![
            port("kafka", l.kafka),
            port("internal", l.internal),
            port("http", l.http),
        ]),
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        liveness_probe: Some(http_probe("/healthz", 10, 3)),
        // Recovery after a crash may take a while; liveness waits for it.
        startup_probe: Some(http_probe("/healthz", 5, 120)),
        resources: cluster.spec.resources.clone(),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: DATA_MOUNT.into(),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "config".into(),
                mount_path: CONFIG_DIR.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
        ]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

/// Node topology labels Kubernetes copies onto pods (KEP-4742,
/// `PodTopologyLabelsAdmission`), so the downward API can pass them on.
const POD_TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

fn broker_env(cluster: &KafkaCluster) -> Vec<EnvVar> {
    let mut env = vec![
        env_from_field("POD_NAME", "metadata.name"),
        env_from_field("POD_NAMESPACE", "metadata.namespace"),
        // The StatefulSet ordinal is the broker id.
        env_from_field(
            "WEIR_NODE_ID",
            "metadata.labels['apps.kubernetes.io/pod-index']",
        ),
    ];
    if let Some(rack) = &cluster.spec.rack {
        if POD_TOPOLOGY_LABELS.contains(&rack.topology_key.as_str()) {
            // broker.rack from the pod's copy of the node label; empty (no
            // rack) where the cluster does not copy it.
            env.push(env_from_field(
                "WEIR_RACK",
                &format!("metadata.labels['{}']", rack.topology_key),
            ));
        }
    }
    env
}

/// Brokers prefer separate nodes unless the user gives an affinity.
fn default_affinity(cluster: &str) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(names::selector_labels(cluster)),
                            ..LabelSelector::default()
                        }),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn pod_template(cluster: &KafkaCluster, config_hash: &str) -> PodTemplateSpec {
    let name = cluster.name_any();
    let overrides = cluster.spec.pod_template.clone().unwrap_or_default();
    let mut labels = overrides.labels.clone();
    labels.extend(names::labels(&name));
    let mut annotations = overrides.annotations.clone();
    annotations.insert(names::CONFIG_HASH_ANNOTATION.into(), config_hash.into());
    if let Some(restart) = cluster.annotations().get(names::RESTART_ANNOTATION) {
        annotations.insert(names::RESTART_ANNOTATION.into(), restart.clone());
    }
    if cluster.spec.metrics.enabled {
        annotations.insert("prometheus.io/scrape".into(), "true".into());
        annotations.insert(
            "prometheus.io/port".into(),
            cluster.spec.listeners.http.to_string(),
        );
        annotations.insert("prometheus.io/path".into(), "/metrics".into());
    }
    let mut spread = Vec::new();
    if let Some(rack) = &cluster.spec.rack {
        spread.push(TopologySpreadConstraint {
            max_skew: 1,
            topology_key: rack.topology_key.clone(),
            when_unsatisfiable: "DoNotSchedule".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(names::selector_labels(&name)),
                ..LabelSelector::default()
            }),
            ..TopologySpreadConstraint::default()
        });
    }
    spread.extend(overrides.topology_spread_constraints.clone());
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: vec![broker_container(cluster)],
            volumes: Some(vec![Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: names::config_map(&name),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            }]),
            affinity: Some(
                overrides
                    .affinity
                    .clone()
                    .unwrap_or_else(|| default_affinity(&name)),
            ),
            node_selector: (!overrides.node_selector.is_empty())
                .then(|| overrides.node_selector.clone()),
            tolerations: (!overrides.tolerations.is_empty()).then(|| overrides.tolerations.clone()),
            topology_spread_constraints: (!spread.is_empty()).then_some(spread),
            priority_class_name: overrides.priority_class_name.clone(),
            security_context: Some(PodSecurityContext {
                run_as_user: Some(RUN_AS),
                run_as_group: Some(RUN_AS),
                fs_group: Some(RUN_AS),
                run_as_non_root: Some(true),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..SeccompProfile::default()
                }),
                ..PodSecurityContext::default()
            }),
            // Room for a clean shutdown, so the next start skips recovery.
            termination_grace_period_seconds: Some(60),
            ..PodSpec::default()
        }),
    }
}

fn claim_template(cluster: &KafkaCluster) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(names::selector_labels(&cluster.name_any())),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: cluster.spec.storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(cluster.spec.storage.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// Builds the StatefulSet with `replicas` brokers (the scale step decides:
/// a scale-down keeps the brokers that go until they are drained).
/// Kubernetes forbids changing volume claim templates, so an existing
/// StatefulSet's are kept (storage grows by resizing the claims
/// themselves). Claims of removed brokers follow `deleteClaim`.
pub fn build(
    cluster: &KafkaCluster,
    config_hash: &str,
    existing: Option<&StatefulSet>,
    replicas: i32,
) -> StatefulSet {
    let name = cluster.name_any();
    let claims = existing
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.volume_claim_templates.clone())
        .map(|claims| {
            claims
                .into_iter()
                .map(|c| PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: c.metadata.name,
                        labels: c.metadata.labels,
                        ..ObjectMeta::default()
                    },
                    spec: c.spec,
                    ..PersistentVolumeClaim::default()
                })
                .collect()
        })
        .unwrap_or_else(|| vec![claim_template(cluster)]);
    let retention = if cluster.spec.storage.delete_claim {
        "Delete"
    } else {
        "Retain"
    };
    StatefulSet {
        metadata: metadata(cluster, names::stateful_set(&name)),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(names::headless_service(&name)),
            selector: LabelSelector {
                match_labels: Some(names::selector_labels(&name)),
                ..LabelSelector::default()
            },
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                ..StatefulSetUpdateStrategy::default()
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention.into()),
                    when_scaled: Some(retention.into()),
                },
            ),
            template: pod_template(cluster, config_hash),
            volume_claim_templates: Some(claims),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}
