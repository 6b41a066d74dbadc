//! The quorum's state machine: committed entries applied to the metadata
//! image, and snapshots of that image so the Raft log can be purged.
//!
//! The image lives in memory and is published through a watch channel; what
//! is durable is the snapshot (`snapshot.json`) plus the log after it, which
//! openraft re-applies on start up to the saved commit index.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::log_store::write_json;
use super::types::{ApplyOutcome, Node, NodeId, TypeConfig};
use crate::metadata::journal::JournalError;
use crate::metadata::MetadataImage;

/// A snapshot as stored and as sent to a lagging follower.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, Node>,
    image: MetadataImage,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    snapshot: Option<StoredSnapshot>,
    image: watch::Sender<Arc<MetadataImage>>,
}

/// The state machine handed to openraft; clones share one image.
#[derive(Debug, Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
}

impl StateMachine {
    /// Opens the state machine under `dir` from its last snapshot, if any.
    /// Returns it and the channel every new image is published on.
    pub fn open(
        dir: &Path,
    ) -> Result<(StateMachine, watch::Receiver<Arc<MetadataImage>>), JournalError> {
        let path = dir.join("snapshot.json");
        let snapshot: Option<StoredSnapshot> = match std::fs::read(&path) {
            Ok(bytes) => {
                Some(
                    serde_json::from_slice(&bytes).map_err(|e| JournalError::Undecodable {
                        path: path.clone(),
                        position: 0,
                        reason: e.to_string(),
                    })?,
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(JournalError::Io { path, source }),
        };
        let (image, last_applied, membership) = match &snapshot {
            Some(s) => (
                s.image.clone(),
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (MetadataImage::default(), None, StoredMembership::default()),
        };
        let (tx, rx) = watch::channel(Arc::new(image));
        Ok((
            StateMachine {
                inner: Arc::new(Mutex::new(Inner {
                    dir: dir.to_path_buf(),
                    last_applied,
                    membership,
                    snapshot,
                    image: tx,
                })),
            },
            rx,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    // openraft's own error type, returned as openraft expects it.
    #[allow(clippy::result_large_err)]
    fn install(&mut self, snapshot: StoredSnapshot) -> Result<(), StorageError<NodeId>> {
        write_json(&self.dir.join("snapshot.json"), &snapshot, true).map_err(|e| {
            StorageError::from(StorageIOError::write_snapshot(
                Some(snapshot.meta.signature()),
                &e,
            ))
        })?;
        self.last_applied = snapshot.meta.last_log_id;
        self.membership = snapshot.meta.last_membership.clone();
        self.image.send_replace(Arc::new(snapshot.image.clone()));
        self.snapshot = Some(snapshot);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut inner = self.lock();
        let image = (**inner.image.borrow()).clone();
        let id = match inner.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "empty".to_string(),
        };
        let stored = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: inner.last_applied,
                last_membership: inner.membership.clone(),
                snapshot_id: id,
            },
            image,
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| StorageError::from(StorageIOError::read_state_machine(&e)))?;
        inner.install(stored.clone())?;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        let inner = self.lock();
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyOutcome>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.lock();
        let mut image = (**inner.image.borrow()).clone();
        let mut outcomes = Vec::new();
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => ApplyOutcome::Nothing,
                EntryPayload::Membership(m) => {
                    inner.membership = StoredMembership::new(Some(entry.log_id), m);
                    ApplyOutcome::Nothing
                }
                EntryPayload::Normal(e) if e.base_version == image.version => {
                    image.apply_all(&e.records);
                    ApplyOutcome::Applied {
                        version: image.version,
                    }
                }
                EntryPayload::Normal(_) => ApplyOutcome::Stale,
            };
            outcomes.push(outcome);
        }
        inner.image.send_replace(Arc::new(image));
        Ok(outcomes)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        // The bytes come from another broker: a snapshot that does not decode
        // is refused, and the image stays as it was.
        let stored: StoredSnapshot = serde_json::from_slice(snapshot.get_ref()).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e))
        })?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            image: stored.image,
        };
        self.lock().install(stored)
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let inner = self.lock();
        let Some(stored) = &inner.snapshot else {
            return Ok(None);
        };
        let bytes = serde_json::to_vec(stored)
            .map_err(|e| StorageError::from(StorageIOError::read_state_machine(&e)))?;
        Ok(Some(Snapshot {
            meta: stored.meta.clone(),
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
