//! The controller's decisions: pure functions from the current metadata
//! image and a request to the metadata records that carry it out, or a
//! Kafka error. Nothing here does I/O: `super::forwarding::decide_here`
//! runs a decision on the controller and commits its records.

pub mod alter_partition;
pub mod broker_configs;
pub mod brokers;
pub mod configs;
pub mod elections;
pub mod group_configs;
pub mod limits;
pub mod partitions;
pub mod producer_ids;
pub mod reassignment;
pub mod request;
pub mod topics;

pub use super::Rejection;
