//! Harness for end-to-end tests: real `weir-broker` processes on loopback,
//! real Kafka clients (librdkafka through `rdkafka`), and a raw protocol
//! client for sending what well-behaved clients never send.

pub mod broker;
pub mod certs;
pub mod clients;
pub mod cluster;
pub mod kube;
pub mod kubelet;
pub mod netns;
pub mod operator;
pub mod process;
pub mod raw;
pub mod records;
pub mod workload;

pub use broker::{broker_binary, free_port, operator_binary, Broker};
pub use clients::{close_consumer, payloads};
pub use raw::RawClient;
pub use records::{record_batch, ProducerSequence};
