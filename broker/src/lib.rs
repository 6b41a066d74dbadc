//! weir-broker: a Kafka-compatible broker.
//!
//! The crate is split the way Kafka splits its broker: the network layer
//! (`server`) decodes requests and hands them to one handler per Kafka API
//! (`api`); handlers act on partitions through the `replica_manager`, which
//! owns one `partition::Partition` per hosted partition, each backed by a
//! `log::Log`. Cluster metadata (`metadata`) is a log of records applied to an
//! in-memory image and replicated by the Raft `quorum`; the `controller`
//! decides which records an admin request produces (`controller::decisions`)
//! and gets the decision made by whichever broker is the controller
//! (`controller::forwarding`).

pub mod api;
pub mod broker;
pub mod config;
pub mod controller;
pub mod fetch_session;
pub mod group;
pub mod http;
pub mod log;
pub mod metadata;
pub mod metrics;
pub mod partition;
pub mod properties;
pub mod quorum;
pub mod replica_manager;
pub mod replication;
pub mod rpc;
pub mod server;
pub mod time;
