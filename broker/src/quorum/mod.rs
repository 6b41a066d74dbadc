//! The metadata quorum: the cluster metadata log replicated with Raft
//! (openraft over tonic), Kafka's KRaft. The Raft leader is the active
//! controller; every broker applies the committed log to its image.
//!
//! `log_store` keeps the Raft log and vote on disk, `state_machine` applies
//! entries to the image and snapshots it, `network` and `service` carry Raft
//! RPCs between brokers.

pub mod log_store;
pub mod network;
pub mod service;
pub mod state_machine;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, ServerState, SnapshotPolicy};
use tokio::sync::watch;

use crate::config::{ClusterConfig, Voter};
use crate::metadata::journal::JournalError;
use crate::metadata::MetadataImage;
use log_store::LogStore;
use state_machine::StateMachine;
pub use types::{ApplyOutcome, MetadataEntry, Raft};

/// Why the quorum could not start.
#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    /// The Raft log, vote or snapshot could not be read.
    #[error(transparent)]
    Storage(#[from] JournalError),
    /// openraft refused its configuration or failed to start.
    #[error("metadata quorum: {0}")]
    Raft(String),
    /// The data directory was formed with other voters.
    #[error("the metadata log in {dir} was formed with voters {formed}, but controller.quorum.voters is {configured}; a voter set cannot change by restarting with another list")]
    VotersChanged {
        /// The metadata directory.
        dir: String,
        /// The voters the log was formed with.
        formed: String,
        /// The voters configured now.
        configured: String,
    },
}

/// Why a proposal did not commit.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// This broker is not the controller; `leader` is, if known.
    #[error("not the controller (leader: {leader:?})")]
    NotLeader {
        /// The current leader's node id.
        leader: Option<i32>,
    },
    /// Raft failed (shutting down, storage failure).
    #[error("metadata quorum: {0}")]
    Raft(String),
}

/// This broker's member of the metadata quorum.
pub struct MetadataQuorum {
    raft: Raft,
    node_id: i32,
    image: watch::Receiver<Arc<MetadataImage>>,
}

impl std::fmt::Debug for MetadataQuorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataQuorum")
            .field("node_id", &self.node_id)
            .finish()
    }
}

/// The voter ids, which is what must never change (addresses may: a pod's
/// DNS name resolves to a new IP after a restart).
fn voters_text(voters: &[Voter]) -> String {
    voters
        .iter()
        .map(|v| v.node_id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl MetadataQuorum {
    /// Opens the log under `dir` and starts this broker's Raft node. A voter
    /// that has never been part of a quorum forms it with the configured
    /// voters; a learner waits for the controller to add it.
    pub async fn start(
        dir: &Path,
        node_id: i32,
        cluster: &ClusterConfig,
        cluster_id: &str,
    ) -> Result<MetadataQuorum, QuorumError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let voters = cluster.effective_voters(node_id);
        check_voters(dir, &voters)?;
        let log = LogStore::open(dir)?;
        let pristine = log.is_pristine();
        let (state, image) = StateMachine::open(dir)?;
        let election = cluster.election_timeout_ms;
        let config = Config {
            cluster_name: cluster_id.to_string(),
            election_timeout_min: election,
            // openraft 0.9 can livelock in split votes: a wide random range
            // makes repeated ties unlikely.
            election_timeout_max: election * 3,
            heartbeat_interval: (election / 4).max(50),
            install_snapshot_timeout: 10_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(1_000),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        }
        .validate()
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let raft = Raft::new(
            raft_id(node_id),
            Arc::new(config),
            network::Network::new(cluster_id.to_string()),
            log,
            state,
        )
        .await
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        if pristine && voters.iter().any(|v| v.node_id == node_id) {
            let members: BTreeMap<u64, BasicNode> = voters
                .iter()
                .map(|v| (raft_id(v.node_id), BasicNode::new(&v.address)))
                .collect();
            // Every voter forms the quorum with the same members, which openraft allows.
            if let Err(e) = raft.initialize(members).await {
                tracing::debug!(error = %e, "quorum already initialised");
            }
        }
        Ok(MetadataQuorum {
            raft,
            node_id,
            image,
        })
    }

    /// The Raft handle, for the gRPC service.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The newest applied image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.borrow().clone()
    }

    /// A receiver that sees every applied image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image.clone()
    }

    /// The controller (Raft leader), if one is known.
    pub fn leader(&self) -> Option<i32> {
        self.raft
            .metrics()
            .borrow()
            .current_leader
            .and_then(|id| i32::try_from(id).ok())
    }

    /// Whether this broker is the controller.
    pub fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(raft_id(self.node_id))
    }

    /// The internal address of a quorum member (voter or learner).
    pub fn address_of(&self, node_id: i32) -> Option<String> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.membership_config
            .membership()
            .get_node(&raft_id(node_id))
            .map(|n| n.addr.clone())
    }

    /// A view of the quorum for DescribeQuorum and metrics.
    pub fn status(&self) -> QuorumStatus {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<i32> = membership
            .voter_ids()
            .filter_map(|id| i32::try_from(id).ok())
            .collect();
        let learners = membership
            .learner_ids()
            .filter_map(|id| i32::try_from(id).ok())
            .collect();
        let progress = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .filter_map(|(id, log)| {
                        Some((i32::try_from(*id).ok()?, log.map_or(-1, |l| l.index as i64)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        QuorumStatus {
            leader: m.current_leader.and_then(|id| i32::try_from(id).ok()),
            term: m.current_term,
            high_watermark: m.last_applied.map_or(-1, |l| l.index as i64),
            last_log_index: m.last_log_index.map_or(-1, |i| i as i64),
            voters,
            learners,
            progress,
        }
    }

    /// Waits until this broker is the leader or knows one, up to `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<i32> {
        let mut metrics = self.raft.metrics();
        let wait = metrics.wait_for(|m| m.current_leader.is_some());
        tokio::time::timeout(timeout, wait)
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|m| m.current_leader)
            .and_then(|id| i32::try_from(id).ok())
    }

    /// Waits until the image is at least at `version`.
    pub async fn wait_for_version(&self, version: u64, timeout: Duration) -> bool {
        let mut image = self.image.clone();
        tokio::time::timeout(timeout, image.wait_for(|i| i.version >= version))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Makes sure this leader's image reflects every committed entry, so a
    /// decision taken on it sees everything earlier controllers committed.
    pub async fn catch_up(&self) -> Result<(), ProposeError> {
        // Once this leader applied an entry of its own term it has applied
        // everything earlier leaders committed; a deposed leader that does
        // not know it yet cannot commit what it decides on a stale image.
        {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            let own_term_applied = m
                .last_applied
                .is_some_and(|l| l.leader_id.term == m.current_term);
            if m.state == ServerState::Leader && own_term_applied {
                return Ok(());
            }
        }
        self.raft.ensure_linearizable().await.map_err(|e| match e {
            RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f)) => {
                ProposeError::NotLeader {
                    leader: f.leader_id.and_then(|id| i32::try_from(id).ok()),
                }
            }
            other => ProposeError::Raft(other.to_string()),
        })?;
        Ok(())
    }

    /// Replicates an entry and waits until it is committed and applied here.
    pub async fn propose(&self, entry: MetadataEntry) -> Result<ApplyOutcome, ProposeError> {
        match self.raft.client_write(entry).await {
            Ok(r) => Ok(r.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ProposeError::NotLeader {
                    leader: f.leader_id.and_then(|id| i32::try_from(id).ok()),
                })
            }
            Err(e) => Err(ProposeError::Raft(e.to_string())),
        }
    }

    /// Adds a broker that does not vote as a learner, so it follows the log.
    pub async fn add_learner(&self, node_id: i32, address: &str) -> Result<(), ProposeError> {
        let known = self.address_of(node_id);
        if known.as_deref() == Some(address) {
            return Ok(());
        }
        match self
            .raft
            .add_learner(raft_id(node_id), BasicNode::new(address), false)
            .await
        {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ProposeError::NotLeader {
                    leader: f.leader_id.and_then(|id| i32::try_from(id).ok()),
                })
            }
            Err(e) => Err(ProposeError::Raft(e.to_string())),
        }
    }

    /// Removes an unregistered broker's learner seat, so the quorum stops
    /// replicating to it. A voter is never removed: the voter set is fixed.
    pub async fn remove_learner(&self, node_id: i32) -> Result<(), ProposeError> {
        let id = raft_id(node_id);
        let is_learner = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .learner_ids()
            .any(|l| l == id);
        if !is_learner {
            return Ok(());
        }
        let remove = openraft::ChangeMembers::RemoveNodes(std::iter::once(id).collect());
        match self.raft.change_membership(remove, false).await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ProposeError::NotLeader {
                    leader: f.leader_id.and_then(|id| i32::try_from(id).ok()),
                })
            }
            Err(e) => Err(ProposeError::Raft(e.to_string())),
        }
    }

    /// Stops the Raft node.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "metadata quorum did not stop cleanly");
        }
    }
}

/// What DescribeQuorum reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuorumStatus {
    /// The leader, if known.
    pub leader: Option<i32>,
    /// The current term (Kafka's leader epoch of the metadata partition).
    pub term: u64,
    /// The highest applied index.
    pub high_watermark: i64,
    /// The last index in this node's log.
    pub last_log_index: i64,
    /// Voter ids.
    pub voters: BTreeSet<i32>,
    /// Learner (observer) ids.
    pub learners: BTreeSet<i32>,
    /// On the leader, the last index each member has.
    pub progress: BTreeMap<i32, i64>,
}

/// Kafka node ids are non-negative `i32`s.
fn raft_id(node_id: i32) -> u64 {
    u64::try_from(node_id).unwrap_or_default()
}

/// Refuses to start with a voter set other than the one the log was formed
/// with (by node id); records the set on first start.
fn check_voters(dir: &Path, voters: &[Voter]) -> Result<(), QuorumError> {
    let path = dir.join("quorum-voters");
    let configured = voters_text(voters);
    match std::fs::read_to_string(&path) {
        Ok(formed) if formed.trim() == configured => Ok(()),
        Ok(formed) => Err(QuorumError::VotersChanged {
            dir: dir.display().to_string(),
            formed: formed.trim().to_string(),
            configured,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log_store::write_json_text(&path, &configured).map_err(|source| {
                QuorumError::Storage(JournalError::Io {
                    path: path.clone(),
                    source,
                })
            })
        }
        Err(source) => Err(QuorumError::Storage(JournalError::Io { path, source })),
    }
}
