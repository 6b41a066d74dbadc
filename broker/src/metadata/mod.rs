//! Cluster metadata: a log of [`MetadataRecord`]s applied to a
//! [`MetadataImage`].
//!
//! The records are what the metadata quorum (`crate::quorum`) replicates;
//! every broker applies the committed ones, in order, to its image.

pub mod dynamic_configs;
#[cfg(test)]
pub mod fixtures;
pub mod image;
pub mod journal;
pub mod meta_properties;
pub mod record;

pub use dynamic_configs::CLUSTER_DEFAULT;
pub use image::{MetadataImage, TopicImage};
pub use record::{
    BrokerRecord, ConfigRecord, ConfigResource, Endpoint, MetadataRecord, PartitionRecord,
    TopicRecord,
};

/// A partition's identity across renames: topic id and index.
pub type TopicIdPartition = (uuid::Uuid, i32);
