//! The openraft type configuration of the metadata quorum: what a log entry
//! carries and what applying it answers.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::metadata::MetadataRecord;

/// One metadata change as a Raft log entry: a batch of records decided
/// against the image at `base_version`. The state machine applies it only if
/// the image is still at that version, so a decision made against a stale
/// image (a controller racing its own successor) can never be applied on top
/// of changes it did not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataEntry {
    /// The image version the records were decided against.
    pub base_version: u64,
    /// The records, applied all-or-nothing.
    pub records: Vec<MetadataRecord>,
}

/// What applying an entry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    /// The records were applied; the image is now at this version.
    Applied {
        /// The new image version.
        version: u64,
    },
    /// The image had moved on; nothing was applied and the controller decides again.
    Stale,
    /// A blank or membership entry.
    Nothing,
}

impl std::fmt::Display for MetadataEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records at version {}",
            self.records.len(),
            self.base_version
        )
    }
}

/// A member of the quorum: where its internal listener is.
pub type Node = openraft::BasicNode;

/// Node ids are Kafka node ids (non-negative `i32`s) widened to openraft's `u64`.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The metadata quorum's openraft types.
    pub TypeConfig:
        D = MetadataEntry,
        R = ApplyOutcome,
        NodeId = NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
