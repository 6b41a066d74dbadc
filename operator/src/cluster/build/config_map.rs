//! The ConfigMap with `server.properties`: the static part of the user's
//! broker config plus the keys every broker of the cluster shares. The keys
//! Kafka changes live are not here (see `live_config`), so changing them
//! changes neither this file nor its hash and rolls nothing. Per-broker
//! values (node id, advertised listener) come from the pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::metadata;
use crate::cluster::{live_config, names};
use crate::crd::KafkaCluster;

/// The key of the properties file in the ConfigMap.
pub const SERVER_PROPERTIES: &str = "server.properties";

/// Where brokers keep their data inside the pod.
pub const DATA_DIR: &str = "/var/lib/weir/data";

/// Renders `server.properties`, keys sorted so the text is stable.
pub fn server_properties(cluster: &KafkaCluster) -> String {
    let name = cluster.name_any();
    let namespace = cluster.namespace().unwrap_or_default();
    let spec = &cluster.spec;
    let mut props: BTreeMap<String, String> = live_config::static_part(&spec.config);
    let voters: Vec<String> = (0..spec.controller_voters)
        .map(|i| {
            format!(
                "{i}@{}:{}",
                names::pod_host(&name, &namespace, i),
                spec.listeners.internal
            )
        })
        .collect();
    props.insert("controller.quorum.voters".into(), voters.join(","));
    props.insert("log.dirs".into(), DATA_DIR.into());
    let mut out = String::from(
        "# Managed by weir-operator: change spec.config of the KafkaCluster instead.\n",
    );
    for (k, v) in props {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// Builds the ConfigMap.
pub fn build(cluster: &KafkaCluster) -> ConfigMap {
    ConfigMap {
        metadata: metadata(cluster, names::config_map(&cluster.name_any())),
        data: Some(BTreeMap::from([(
            SERVER_PROPERTIES.to_string(),
            server_properties(cluster),
        )])),
        ..ConfigMap::default()
    }
}

/// A hash of the configuration, put on the pod template so that a change
/// rolls the brokers.
pub fn hash(config_map: &ConfigMap) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in config_map.data.iter().flatten() {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
