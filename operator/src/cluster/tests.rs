//! Fixtures shared by the cluster module's tests.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodCondition, PodStatus,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::observe::Observed;
use super::roll::REVISION_LABEL;
use crate::crd::kafka_cluster::{ListenerPorts, MetricsSpec, RebalanceSpec, StorageSpec};
use crate::crd::{KafkaCluster, KafkaClusterSpec};
use crate::kafka::cluster::{BrokerInfo, ClusterView, PartitionInfo};

/// A valid three-broker spec.
pub fn spec() -> KafkaClusterSpec {
    KafkaClusterSpec {
        replicas: 3,
        version: "0.1.0".into(),
        image: None,
        controller_voters: 3,
        storage: StorageSpec {
            size: "10Gi".into(),
            storage_class_name: Some("standard".into()),
            delete_claim: false,
        },
        resources: None,
        config: BTreeMap::from([("num.partitions".to_string(), "3".to_string())]),
        listeners: ListenerPorts::default(),
        rack: None,
        pod_template: None,
        metrics: MetricsSpec::default(),
        rebalance: RebalanceSpec::default(),
    }
}

/// A cluster named `demo` in namespace `kafka`, as the API server returns it.
pub fn cluster(spec: KafkaClusterSpec) -> KafkaCluster {
    let mut c = KafkaCluster::new("demo", spec);
    c.metadata.namespace = Some("kafka".into());
    c.metadata.uid = Some("8f9a4c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b".into());
    c.metadata.generation = Some(1);
    c
}

/// Broker pod `ordinal` at template `revision`.
pub fn pod(ordinal: i32, revision: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("demo-broker-{ordinal}")),
            labels: Some(BTreeMap::from([(
                REVISION_LABEL.to_string(),
                revision.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
        ..Pod::default()
    }
}

/// An observation with a StatefulSet at `update_revision` and these pods.
pub fn observed_with_pods(pods: Vec<Pod>, update_revision: &str) -> Observed {
    Observed {
        stateful_set: Some(StatefulSet {
            metadata: ObjectMeta {
                generation: Some(2),
                ..ObjectMeta::default()
            },
            status: Some(StatefulSetStatus {
                observed_generation: Some(2),
                update_revision: Some(update_revision.into()),
                ..StatefulSetStatus::default()
            }),
            ..StatefulSet::default()
        }),
        pods,
        ..Observed::default()
    }
}

/// A data claim requesting `size`.
pub fn claim(name: &str, size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.into()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// What cluster `c1` reports: brokers `0..brokers` (all live), voters 0-2,
/// `controller`, and partitions `t-0, t-1, ...` given as (replicas, ISR,
/// min.insync.replicas), led by their first in-sync replica.
pub fn cluster_view(
    brokers: i32,
    controller: i32,
    partitions: &[(&[i32], &[i32], i32)],
) -> ClusterView {
    ClusterView {
        cluster_id: "c1".into(),
        controller,
        brokers: (0..brokers)
            .map(|id| BrokerInfo {
                id,
                rack: None,
                fenced: false,
            })
            .collect(),
        voters: vec![0, 1, 2],
        throttled_topics: vec![],
        partitions: partitions
            .iter()
            .enumerate()
            .map(|(i, (replicas, isr, min_isr))| PartitionInfo {
                topic: "t".into(),
                partition: i32::try_from(i).unwrap_or(0),
                leader: isr.first().copied().unwrap_or(-1),
                replicas: replicas.to_vec(),
                isr: isr.to_vec(),
                min_isr: *min_isr,
                reassigning: false,
                target: replicas.to_vec(),
            })
            .collect(),
    }
}
