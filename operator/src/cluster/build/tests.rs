//! Snapshot and table tests of every generated object.

use k8s_openapi::api::core::v1::Toleration;

use super::*;
use crate::cluster::tests::{cluster, spec};
use crate::crd::kafka_cluster::{PodTemplateOverrides, RackSpec};

fn yaml<T: serde::Serialize>(object: &T) -> String {
    serde_yaml::to_string(object).expect("serializable")
}

#[test]
fn every_object_of_a_default_cluster_matches_its_snapshot() {
    let desired = build(&cluster(spec()), None, 3);
    insta::assert_snapshot!("config_map", yaml(&desired.config_map));
    insta::assert_snapshot!("headless_service", yaml(&desired.headless_service));
    insta::assert_snapshot!("bootstrap_service", yaml(&desired.bootstrap_service));
    insta::assert_snapshot!("stateful_set", yaml(&desired.stateful_set));
    insta::assert_snapshot!(
        "pod_disruption_budget",
        yaml(&desired.pod_disruption_budget)
    );
}

#[test]
fn pod_template_overrides_and_rack_awareness_reach_the_pods() {
    let mut s = spec();
    s.rack = Some(RackSpec {
        topology_key: "topology.kubernetes.io/zone".into(),
    });
    s.pod_template = Some(PodTemplateOverrides {
        labels: [("team".to_string(), "payments".to_string())].into(),
        node_selector: [("disk".to_string(), "ssd".to_string())].into(),
        tolerations: vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Equal".into()),
            value: Some("kafka".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        }],
        priority_class_name: Some("kafka-critical".into()),
        ..PodTemplateOverrides::default()
    });
    s.storage.delete_claim = true;
    s.metrics.enabled = false;
    let desired = build(&cluster(s), None, 3);
    insta::assert_snapshot!("stateful_set_with_overrides", yaml(&desired.stateful_set));
    let ports = desired.bootstrap_service.spec.unwrap().ports.unwrap();
    assert_eq!(ports.len(), 1, "no metrics port when metrics are off");
}

#[test]
fn the_same_input_builds_byte_identical_objects() {
    let all = |d: Desired| {
        [
            yaml(&d.config_map),
            yaml(&d.headless_service),
            yaml(&d.bootstrap_service),
            yaml(&d.stateful_set),
            yaml(&d.pod_disruption_budget),
        ]
        .concat()
    };
    assert_eq!(
        all(build(&cluster(spec()), None, 3)),
        all(build(&cluster(spec()), None, 3))
    );
}

#[test]
fn a_static_config_change_changes_the_pod_template_and_nothing_else_does() {
    let base = build(&cluster(spec()), None, 3);
    let mut changed = spec();
    changed.config.insert("num.partitions".into(), "6".into());
    let after = build(&cluster(changed), None, 3);
    assert_ne!(
        base.stateful_set.spec.as_ref().unwrap().template,
        after.stateful_set.spec.as_ref().unwrap().template
    );
    let mut live = spec();
    live.config.insert("log.retention.ms".into(), "1000".into());
    let live = build(&cluster(live), None, 3);
    assert_eq!(
        base.stateful_set.spec.as_ref().unwrap().template,
        live.stateful_set.spec.as_ref().unwrap().template,
        "a key Kafka changes live rolls nothing"
    );
    assert_eq!(base.config_map, live.config_map);
    let mut replicas_only = spec();
    replicas_only.replicas = 5;
    let scaled = build(&cluster(replicas_only), None, 5);
    assert_eq!(
        base.stateful_set.spec.as_ref().unwrap().template.metadata,
        scaled.stateful_set.spec.as_ref().unwrap().template.metadata,
        "scaling does not roll the existing brokers"
    );
}

#[test]
fn existing_claim_templates_are_kept_when_storage_grows() {
    let first = build(&cluster(spec()), None, 3).stateful_set;
    let mut bigger = spec();
    bigger.storage.size = "50Gi".into();
    let again = build(&cluster(bigger), Some(&first), 3).stateful_set;
    assert_eq!(
        first.spec.unwrap().volume_claim_templates,
        again.spec.unwrap().volume_claim_templates
    );
}

#[test]
fn the_cluster_id_is_kafkas_base64_form_of_the_uid() {
    let id = stateful_set::cluster_id(&cluster(spec()));
    assert_eq!(id.len(), 22);
    assert_eq!(id, "j5pMHis9Tl-KmwwdLj9KWw");
}
