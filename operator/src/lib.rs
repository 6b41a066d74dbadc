//! weir-operator: runs weir clusters on Kubernetes.
//!
//! `crd` holds the custom resources; `cluster` reconciles a `KafkaCluster` as
//! a pipeline (observe → validate → build desired objects → apply → status),
//! one file per step and one builder per Kubernetes object; `topic`
//! manages topics through the Kafka admin API (`kafka`); `controller`
//! wires it into kube-runtime; `http` and `metrics` serve operations;
//! `rebalance` plans partition moves for scaling.

pub mod cluster;
pub mod controller;
pub mod crd;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod placement;
pub mod topic;
