//! Custom resource types; the CRD YAML in `crds/` is generated from them by
//! `weir-crdgen`.

pub mod kafka_cluster;
pub mod kafka_topic;

use kube::CustomResourceExt;

pub use kafka_cluster::{KafkaCluster, KafkaClusterSpec, KafkaClusterStatus};
pub use kafka_topic::{KafkaTopic, KafkaTopicSpec, KafkaTopicStatus};

/// Every CRD with the file name it is written to.
pub fn all() -> Vec<(
    &'static str,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
)> {
    vec![
        ("kafkaclusters.weir.dev.yaml", KafkaCluster::crd()),
        ("kafkatopics.weir.dev.yaml", KafkaTopic::crd()),
    ]
}

/// The YAML of a CRD, as committed in `crds/`.
pub fn to_yaml(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(crd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn repo_root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn committed_crd_yaml_is_current_in_crds_and_the_chart() {
        for (name, crd) in all() {
            let yaml = to_yaml(&crd).unwrap();
            for dir in ["crds", "charts/weir-operator/crds"] {
                let path = repo_root().join(dir).join(name);
                let committed = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(
                    committed == yaml,
                    "{} is stale: run `cargo run -p weir-operator --bin weir-crdgen -- {dir}`",
                    path.display()
                );
            }
        }
    }

    /// Checks the rules of a structural schema (Kubernetes rejects others):
    /// every node has a type (or is int-or-string / preserves unknown
    /// fields), no references, no type-changing combinators.
    fn check_structural(schema: &Value, path: &str, problems: &mut Vec<String>) {
        let Some(object) = schema.as_object() else {
            problems.push(format!("{path}: not an object"));
            return;
        };
        let exempt = object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
            || object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        if !object.contains_key("type") && !exempt {
            problems.push(format!("{path}: no type"));
        }
        for forbidden in [
            "$ref",
            "definitions",
            "$defs",
            "oneOf",
            "anyOf",
            "allOf",
            "not",
        ] {
            if object.contains_key(forbidden) && !(exempt && forbidden == "anyOf") {
                problems.push(format!("{path}: uses {forbidden}"));
            }
        }
        if let Some(Value::Object(props)) = object.get("properties") {
            for (k, v) in props {
                check_structural(v, &format!("{path}.{k}"), problems);
            }
        }
        if let Some(items) = object.get("items") {
            check_structural(items, &format!("{path}[]"), problems);
        }
        if let Some(extra @ Value::Object(_)) = object.get("additionalProperties") {
            check_structural(extra, &format!("{path}{{}}"), problems);
        }
    }

    #[test]
    fn crds_are_structural_with_status_printer_columns_and_cel_rules() {
        for (name, crd) in all() {
            let json = serde_json::to_value(&crd).unwrap();
            let version = &json["spec"]["versions"][0];
            assert_eq!(version["name"], "v1alpha1", "{name}");
            assert!(
                version["subresources"]["status"].is_object(),
                "{name}: status subresource"
            );
            assert!(
                version["additionalPrinterColumns"]
                    .as_array()
                    .is_some_and(|c| c.len() >= 4),
                "{name}"
            );
            assert!(json["spec"]["names"]["shortNames"]
                .as_array()
                .is_some_and(|s| !s.is_empty()));
            assert_eq!(json["spec"]["scope"], "Namespaced");
            let schema = &version["schema"]["openAPIV3Schema"];
            let mut problems = Vec::new();
            check_structural(schema, name, &mut problems);
            assert!(
                problems.is_empty(),
                "{name} is not structural: {problems:#?}"
            );
            assert!(serde_json::to_string(schema)
                .unwrap()
                .contains("x-kubernetes-validations"));
        }
    }
}
