//! Partition replication, Kafka's model: followers pull from the leader over
//! the internal listener, the leader tracks how far each follower got, keeps
//! the in-sync replica set (ISR) honest through the controller, and moves the
//! high watermark to what every ISR member has.
//!
//! The decisions are pure functions (`replica_view`, `high_watermark`, `isr`,
//! `divergence`, `throttle`) that `Partition` applies to its state. What
//! runs them (the follower's fetcher, the leader's side of a fetch, ISR
//! changes sent to the controller) is the `replica_manager`'s.

pub mod divergence;
pub mod high_watermark;
pub mod isr;
pub mod replica_view;
pub mod throttle;
