//! Partition replication, Kafka's model: followers pull from the leader over
//! the internal listener, the leader tracks how far each follower got, keeps
//! the in-sync replica set (ISR) honest through the controller, and moves the
//! high watermark to what every ISR member has.
//!
//! The decisions are pure functions (`replica_view`, `high_watermark`, `isr`,
//! `divergence`) that `Partition` applies to its state; `fetcher` runs a
//! follower's fetch loop per leader. The leader's side of a fetch is served
//! by `server::replication`, and its ISR changes go to the controller
//! through `isr_changes`.

pub mod divergence;
pub mod fetcher;
pub mod high_watermark;
pub mod isr;
pub mod replica_view;
pub mod throttle;
