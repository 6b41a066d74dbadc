//! One partition hosted by this broker: its log plus the replication state
//! it has as leader or follower (leader epoch, ISR, high watermark, the
//! leader's view of its followers), like Kafka's `Partition`. The rules of
//! replication live in `replication/`; this file applies them to the state.
//!
//! The log is behind a mutex: appends are serialised per partition (never
//! across partitions), and reads take the lock only for positional reads.
//!
//! One file, over the usual size: appends, reads, the follower's fetched
//! data, ISR proposals and the high watermark all change the same guarded
//! state under one lock, and the order of those changes is the correctness
//! argument (see `docs/architecture.md`, "Replication"); the pure rules it
//! applies are already out in `replication/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::watch;
use uuid::Uuid;

use crate::log::{AppendInfo, Log, LogConfig, LogError, TimestampOffset};
use crate::replication::replica_view::ReplicaView;
use crate::replication::{divergence, high_watermark, isr};

/// Where the high watermark is checkpointed on shutdown.
const HIGH_WATERMARK_FILE: &str = "high-watermark-checkpoint";

/// ListOffsets' special timestamps.
pub mod special_timestamps {
    /// The latest offset (the high watermark for consumers).
    pub const LATEST: i64 = -1;
    /// The log start offset.
    pub const EARLIEST: i64 = -2;
    /// The offset of the record with the largest timestamp.
    pub const MAX_TIMESTAMP: i64 = -3;
    /// The earliest offset on local storage; without tiered storage, the log start.
    pub const EARLIEST_LOCAL: i64 = -4;
}

/// Why a partition operation failed; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// The partition was deleted or is not led here.
    #[error("this broker does not lead {0}")]
    NotLeader(String),
    /// acks=all with fewer in-sync replicas than min.insync.replicas.
    #[error("ISR has {isr} replica(s), fewer than min.insync.replicas={min}")]
    NotEnoughReplicas {
        /// Current ISR size.
        isr: usize,
        /// The topic's min.insync.replicas.
        min: i32,
    },
    /// acks=all: the batch is stored, but the ISR shrank below
    /// min.insync.replicas before it was replicated.
    #[error(
        "appended, but the ISR shrank to {isr} replica(s), fewer than min.insync.replicas={min}"
    )]
    NotEnoughReplicasAfterAppend {
        /// ISR size when the batch reached the high watermark.
        isr: usize,
        /// The topic's min.insync.replicas.
        min: i32,
    },
    /// acks=all: the ISR did not replicate the batch within the request's timeout.
    #[error("the in-sync replicas did not acknowledge within {0:?}")]
    Timeout(Duration),
    /// The client's leader epoch is older than ours.
    #[error("leader epoch {client} is older than the current epoch {current}")]
    FencedLeaderEpoch {
        /// Epoch the client sent.
        client: i32,
        /// Our epoch.
        current: i32,
    },
    /// The client's leader epoch is newer than ours.
    #[error("leader epoch {client} is newer than the current epoch {current}")]
    UnknownLeaderEpoch {
        /// Epoch the client sent.
        client: i32,
        /// Our epoch.
        current: i32,
    },
    /// The log refused or failed the operation.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl PartitionError {
    /// The records of the batch that were refused (KIP-467), by index in
    /// their batch; empty when the batch failed as a whole.
    pub fn record_errors(&self) -> &[(i32, String)] {
        match self {
            PartitionError::Log(LogError::RecordErrors { records, .. }) => records,
            _ => &[],
        }
    }

    /// The Kafka error code for this failure.
    pub fn error_code(&self) -> ResponseError {
        match self {
            PartitionError::NotLeader(_) => ResponseError::NotLeaderOrFollower,
            PartitionError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
            PartitionError::NotEnoughReplicasAfterAppend { .. } => {
                ResponseError::NotEnoughReplicasAfterAppend
            }
            PartitionError::Timeout(_) => ResponseError::RequestTimedOut,
            PartitionError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
            PartitionError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
            PartitionError::Log(e) => e.error_code(),
        }
    }
}

/// What a fetch read from a partition.
#[derive(Debug, Clone)]
pub struct FetchedData {
    /// Stored record batches, unmodified.
    pub records: Bytes,
    /// Offsets below this are committed and visible to consumers.
    pub high_watermark: i64,
    /// The earliest offset still in the log.
    pub log_start_offset: i64,
}

/// What a leader answers a follower's fetch with.
#[derive(Debug, Clone)]
pub struct ReplicaFetched {
    /// Batches from the fetch offset on (not limited by the high watermark).
    pub records: Bytes,
    /// The leader's high watermark after this fetch.
    pub high_watermark: i64,
    /// The leader's log start offset.
    pub log_start_offset: i64,
    /// Where the follower's log diverged: truncate to this epoch's end.
    pub diverging: Option<(i32, i64)>,
    /// An ISR the leader should ask the controller for (the follower caught up).
    pub expand_isr: Option<IsrProposal>,
}

/// A change of ISR the leader proposes to the controller (AlterPartition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrProposal {
    /// The leader epoch the proposal was made in.
    pub leader_epoch: i32,
    /// The partition epoch the proposal builds on.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub isr: Vec<i32>,
}

/// Where a follower fetches from next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPosition {
    /// The leader this broker follows.
    pub leader: i32,
    /// The leader epoch this broker knows.
    pub leader_epoch: i32,
    /// This log's end.
    pub fetch_offset: i64,
    /// The epoch of the last batch in this log, -1 if none.
    pub last_fetched_epoch: i32,
}

/// Replication state of a partition, as leader or follower.
#[derive(Debug)]
struct State {
    log: Option<Log>,
    leader: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    min_insync_replicas: i32,
    high_watermark: i64,
    /// On the leader: what each follower has.
    followers: BTreeMap<i32, ReplicaView>,
    /// On the leader: the log end when this epoch began.
    leader_epoch_start: i64,
    /// On the leader: an ISR change is on its way to the controller; no
    /// other is proposed until it is answered.
    isr_change_in_flight: bool,
    /// On the leader: replicas a proposed ISR added that may have been
    /// committed though this broker's image does not show it yet. The high
    /// watermark waits for them too (Kafka's maximal ISR): the controller
    /// may already elect one of them, and a record acknowledged past its
    /// log end would be lost with that election.
    isr_maybe_added: Vec<i32>,
}

/// A partition this broker hosts.
#[derive(Debug)]
pub struct Partition {
    /// The topic name.
    pub topic: String,
    /// The topic id.
    pub topic_id: Uuid,
    /// The partition index.
    pub index: i32,
    node_id: i32,
    dir: PathBuf,
    state: Mutex<State>,
    /// Bumped whenever the high watermark or leadership changes, for
    /// acks=all producers waiting on the ISR.
    changed: watch::Sender<u64>,
    /// The broker-wide signal long-polling fetches wait on.
    appended: watch::Sender<u64>,
}

/// Settings of a partition that follow metadata and config changes.
#[derive(Debug, Clone)]
pub struct PartitionSettings {
    /// Log settings from the topic config.
    pub log: LogConfig,
    /// The topic's min.insync.replicas.
    pub min_insync_replicas: i32,
    /// The current leader, -1 when offline.
    pub leader: i32,
    /// Current leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch, bumped on every change of the partition.
    pub partition_epoch: i32,
    /// Assigned replicas.
    pub replicas: Vec<i32>,
    /// Current in-sync replicas.
    pub isr: Vec<i32>,
}

impl Partition {
    /// Opens (or creates) the partition's log under `dir`. A directory left
    /// by an earlier topic of the same name is removed first.
    pub fn open(
        node_id: i32,
        dir: &Path,
        (topic, topic_id, index): (&str, Uuid, i32),
        settings: PartitionSettings,
        appended: watch::Sender<u64>,
        now_ms: i64,
    ) -> Result<Partition, LogError> {
        let marker = dir.join("partition.metadata");
        if let Ok(text) = std::fs::read_to_string(&marker) {
            if !text.contains(&topic_id.to_string()) {
                tracing::warn!(dir = %dir.display(), "removing log of a deleted topic with the same name");
                std::fs::remove_dir_all(dir)
                    .map_err(|e| LogError::io(dir, "remove stale partition", e))?;
            }
        }
        let log = Log::open(dir, settings.log.clone(), now_ms)?;
        if !marker.exists() {
            std::fs::write(&marker, format!("version: 0\ntopic_id: {topic_id}\n"))
                .map_err(|e| LogError::io(&marker, "write partition.metadata", e))?;
        }
        // Only what every ISR member had is known to be committed; a
        // checkpoint lost in a crash starts lower and catches up as the
        // followers fetch.
        let high_watermark = std::fs::read_to_string(dir.join(HIGH_WATERMARK_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(log.log_start_offset(), log.log_end_offset());
        let partition = Partition {
            topic: topic.to_string(),
            topic_id,
            index,
            node_id,
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                log: Some(log),
                leader: -1,
                leader_epoch: -1,
                partition_epoch: -1,
                replicas: Vec::new(),
                isr: Vec::new(),
                min_insync_replicas: settings.min_insync_replicas,
                high_watermark,
                followers: BTreeMap::new(),
                leader_epoch_start: 0,
                isr_change_in_flight: false,
                isr_maybe_added: Vec::new(),
            }),
            changed: watch::channel(0).0,
            appended,
        };
        partition.update(settings, now_ms)?;
        Ok(partition)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn name(&self) -> String {
        format!("{}-{}", self.topic, self.index)
    }

    /// Applies new settings from metadata or config changes. A new leader
    /// epoch naming this broker makes it leader: it starts the epoch in its
    /// log and forgets what earlier leaderships knew of the followers.
    pub fn update(&self, settings: PartitionSettings, now_ms: i64) -> Result<(), LogError> {
        let mut state = self.lock();
        let becomes_leader = settings.leader == self.node_id
            && (state.leader != self.node_id || state.leader_epoch != settings.leader_epoch);
        // A proposal names the partition epoch it builds on: once the epoch
        // moved, it either is in this image or can never commit.
        if settings.partition_epoch != state.partition_epoch {
            state.isr_change_in_flight = false;
            state.isr_maybe_added.clear();
        }
        state.leader = settings.leader;
        state.leader_epoch = settings.leader_epoch;
        state.partition_epoch = settings.partition_epoch;
        state.replicas = settings.replicas;
        state.isr = settings.isr;
        state.min_insync_replicas = settings.min_insync_replicas;
        if let Some(log) = state.log.as_mut() {
            log.update_config(settings.log);
            if becomes_leader {
                log.begin_epoch(settings.leader_epoch)?;
            }
        }
        if becomes_leader {
            state.leader_epoch_start = state.log.as_ref().map_or(0, Log::log_end_offset);
            state.followers = state
                .replicas
                .iter()
                .filter(|r| **r != self.node_id)
                .map(|r| (*r, ReplicaView::new(now_ms)))
                .collect();
        } else if settings.leader != self.node_id {
            state.followers.clear();
        }
        self.advance_high_watermark(&mut state);
        drop(state);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    /// On the leader, moves the high watermark to what the whole ISR has
    /// and wakes whoever waits on it.
    fn advance_high_watermark(&self, state: &mut State) {
        if state.leader != self.node_id {
            return;
        }
        let end = state.log.as_ref().map_or(0, Log::log_end_offset);
        let maximal_isr = isr::maximal(&state.isr, &state.isr_maybe_added);
        let hw = high_watermark::advance(
            state.high_watermark,
            self.node_id,
            end,
            &maximal_isr,
            &state.followers,
        );
        if hw != state.high_watermark {
            state.high_watermark = hw;
            self.changed.send_modify(|n| *n = n.wrapping_add(1));
            self.appended.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn check_leader(&self, state: &State) -> Result<(), PartitionError> {
        if state.leader == self.node_id && state.log.is_some() {
            Ok(())
        } else {
            Err(PartitionError::NotLeader(self.name()))
        }
    }

    /// Appends a producer's batches as leader. With `acks=all` the ISR must
    /// be at least min.insync.replicas. Returns where the batches landed and
    /// the leader epoch they were written in.
    pub fn append(
        &self,
        records: Bytes,
        acks: i16,
        now_ms: i64,
    ) -> Result<(AppendInfo, i32), PartitionError> {
        let mut state = self.lock();
        self.check_leader(&state)?;
        if acks == -1 && state.isr.len() < usize::try_from(state.min_insync_replicas).unwrap_or(0) {
            return Err(PartitionError::NotEnoughReplicas {
                isr: state.isr.len(),
                min: state.min_insync_replicas,
            });
        }
        let epoch = state.leader_epoch;
        let name = self.name();
        let log = state.log.as_mut().ok_or(PartitionError::NotLeader(name))?;
        let info = log.append_as_leader(records, epoch, now_ms)?;
        self.advance_high_watermark(&mut state);
        Ok((info, epoch))
    }

    /// Waits until the whole ISR has every offset below `end` (acks=all).
    /// Fails when this broker stops leading in `epoch`, when the ISR shrank
    /// below min.insync.replicas meanwhile, or after `timeout`.
    pub async fn wait_for_isr(
        &self,
        end: i64,
        epoch: i32,
        timeout: Duration,
    ) -> Result<(), PartitionError> {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let state = self.lock();
                if state.leader != self.node_id || state.leader_epoch != epoch {
                    return Err(PartitionError::NotLeader(self.name()));
                }
                if state.high_watermark >= end {
                    let min = state.min_insync_replicas;
                    if state.isr.len() < usize::try_from(min).unwrap_or(0) {
                        return Err(PartitionError::NotEnoughReplicasAfterAppend {
                            isr: state.isr.len(),
                            min,
                        });
                    }
                    return Ok(());
                }
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(PartitionError::Timeout(timeout)),
            }
        }
    }

    /// Checks the leader epoch a client believes in (-1 skips the check).
    pub fn check_leader_epoch(&self, client: i32) -> Result<(), PartitionError> {
        let current = self.lock().leader_epoch;
        epoch_check(client, current)
    }

    /// Reads committed batches for a consumer, starting at `offset`.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<FetchedData, PartitionError> {
        let state = self.lock();
        self.check_leader(&state)?;
        let log = state
            .log
            .as_ref()
            .ok_or_else(|| PartitionError::NotLeader(self.name()))?;
        let records = log.read(offset, max_bytes, state.high_watermark, min_one_batch)?;
        Ok(FetchedData {
            records,
            high_watermark: state.high_watermark,
            log_start_offset: log.log_start_offset(),
        })
    }

    /// Reads stored batches up to the log end, whatever this broker's role
    /// (a new group coordinator replaying its partition).
    pub fn read_local(&self, offset: i64, max_bytes: usize) -> Result<Bytes, PartitionError> {
        let state = self.lock();
        let log = state
            .log
            .as_ref()
            .ok_or_else(|| PartitionError::NotLeader(self.name()))?;
        Ok(log.read(offset, max_bytes, i64::MAX, true)?)
    }

    /// The offset after the last stored batch.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log.as_ref().map_or(0, Log::log_end_offset)
    }

    /// The current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.lock().leader_epoch
    }

    /// Whether `replica` is in the ISR as this broker knows it.
    pub fn in_sync(&self, replica: i32) -> bool {
        self.lock().isr.contains(&replica)
    }

    /// The current high watermark.
    pub fn high_watermark(&self) -> i64 {
        self.lock().high_watermark
    }

    /// The earliest offset in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.lock().log.as_ref().map_or(0, Log::log_start_offset)
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.lock().log.as_ref().map_or(0, Log::size_bytes)
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Resolves a ListOffsets timestamp (or special value) for a consumer.
    /// Offsets at or past the high watermark are not visible.
    pub fn offset_for(&self, timestamp: i64) -> Result<Option<TimestampOffset>, PartitionError> {
        use special_timestamps::*;
        let state = self.lock();
        let log = state
            .log
            .as_ref()
            .ok_or_else(|| PartitionError::NotLeader(self.name()))?;
        let at = |offset| TimestampOffset {
            timestamp: -1,
            offset,
            leader_epoch: state.leader_epoch,
        };
        let found = match timestamp {
            LATEST => Some(at(state.high_watermark)),
            EARLIEST | EARLIEST_LOCAL => Some(at(log.log_start_offset())),
            MAX_TIMESTAMP => log.max_timestamp()?,
            t if t >= 0 => log.offset_for_timestamp(t)?,
            _ => None,
        };
        Ok(found.filter(|f| timestamp < 0 || f.offset < state.high_watermark))
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 means the
    /// high watermark). Offsets past the high watermark are refused.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, PartitionError> {
        let mut state = self.lock();
        let hw = state.high_watermark;
        let target = if offset == -1 { hw } else { offset };
        if target < 0 || target > hw {
            return Err(PartitionError::Log(LogError::OffsetOutOfRange {
                offset: target,
                log_start_offset: state.log.as_ref().map_or(0, Log::log_start_offset),
                log_end_offset: hw,
            }));
        }
        let name = self.name();
        let log = state.log.as_mut().ok_or(PartitionError::NotLeader(name))?;
        Ok(log.delete_records_before(target)?)
    }

    /// Compacts the log if its topic asks for it and enough of it is dirty;
    /// returns how many segments were rewritten. The segments are read and
    /// rewritten without holding the partition lock, so produce and fetch
    /// go on meanwhile.
    pub fn clean(&self, now_ms: i64) -> Result<usize, PartitionError> {
        let Some(plan) = self
            .lock()
            .log
            .as_ref()
            .and_then(|l| l.cleaning_plan(now_ms))
        else {
            return Ok(0);
        };
        let cleaned = crate::log::cleaner::clean(&plan)?;
        let count = cleaned.len();
        let mut state = self.lock();
        match state.log.as_mut() {
            Some(log) => log.install_cleaned(&plan, cleaned, now_ms)?,
            None => {
                for c in cleaned {
                    let _ = std::fs::remove_file(c.path);
                }
            }
        }
        Ok(count)
    }

    /// Deletes expired segments; returns how many went.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<usize, PartitionError> {
        let mut state = self.lock();
        let hw = state.high_watermark;
        match state.log.as_mut() {
            Some(log) => Ok(log.enforce_retention(now_ms, hw)?),
            None => Ok(0),
        }
    }

    /// Closes the log cleanly (shutdown), checkpointing the high watermark.
    pub fn close(&self) -> Result<(), PartitionError> {
        let mut state = self.lock();
        let hw = state.high_watermark;
        let log = state.log.take();
        drop(state);
        let path = self.dir.join(HIGH_WATERMARK_FILE);
        std::fs::write(&path, format!("{hw}\n"))
            .map_err(|e| LogError::io(&path, "write high watermark", e))?;
        match log {
            Some(log) => Ok(log.close()?),
            None => Ok(()),
        }
    }

    /// The leader this broker follows for this partition, `None` when it
    /// leads it or the partition has no leader.
    pub fn followed_leader(&self) -> Option<i32> {
        self.fetch_position().map(|p| p.leader)
    }

    /// On a follower: where the next fetch from the leader starts.
    pub fn fetch_position(&self) -> Option<FetchPosition> {
        let state = self.lock();
        let log = state.log.as_ref()?;
        (state.leader >= 0 && state.leader != self.node_id).then(|| FetchPosition {
            leader: state.leader,
            leader_epoch: state.leader_epoch,
            fetch_offset: log.log_end_offset(),
            last_fetched_epoch: log.latest_epoch(),
        })
    }

    /// On the leader: answers a follower's fetch and records how far the
    /// follower got, which may advance the high watermark.
    pub fn fetch_for_follower(
        &self,
        replica: i32,
        position: FetchPosition,
        max_bytes: usize,
        now_ms: i64,
    ) -> Result<ReplicaFetched, PartitionError> {
        let mut state = self.lock();
        self.check_leader(&state)?;
        epoch_check(position.leader_epoch, state.leader_epoch)?;
        if !state.replicas.contains(&replica) {
            return Err(PartitionError::NotLeader(format!(
                "{}: broker {replica} is not a replica",
                self.name()
            )));
        }
        let name = self.name();
        let log = state.log.as_ref().ok_or(PartitionError::NotLeader(name))?;
        let log_start_offset = log.log_start_offset();
        let end = log.log_end_offset();
        let epoch_end = (position.last_fetched_epoch >= 0)
            .then(|| log.end_offset_for_epoch(position.last_fetched_epoch))
            .flatten();
        if let Some(diverging) = divergence::diverged_at(
            position.last_fetched_epoch,
            position.fetch_offset,
            epoch_end,
        ) {
            return Ok(ReplicaFetched {
                records: Bytes::new(),
                high_watermark: state.high_watermark,
                log_start_offset,
                diverging: Some(diverging),
                expand_isr: None,
            });
        }
        // A throttled fetch gets no records but still reports the
        // follower's position.
        let records = if max_bytes == 0 {
            Bytes::new()
        } else {
            log.read(position.fetch_offset, max_bytes, i64::MAX, true)?
        };
        let view = state
            .followers
            .entry(replica)
            .or_insert_with(|| ReplicaView::new(now_ms));
        view.record_fetch(position.fetch_offset, end, now_ms);
        let view = *view;
        self.advance_high_watermark(&mut state);
        let expand_isr = if state.isr_change_in_flight {
            None
        } else {
            isr::expand(
                &state.isr,
                replica,
                &view,
                state.high_watermark,
                state.leader_epoch_start,
            )
        };
        let expand_isr = expand_isr.map(|isr| {
            state.isr_change_in_flight = true;
            let maybe_added = isr::maximal(&state.isr_maybe_added, &isr);
            state.isr_maybe_added = maybe_added;
            IsrProposal {
                leader_epoch: state.leader_epoch,
                partition_epoch: state.partition_epoch,
                isr,
            }
        });
        Ok(ReplicaFetched {
            records,
            high_watermark: state.high_watermark,
            log_start_offset,
            diverging: None,
            expand_isr,
        })
    }

    /// On the leader: the ISR without followers that lagged longer than
    /// `lag_max_ms`, to propose to the controller.
    pub fn shrink_isr(&self, now_ms: i64, lag_max_ms: i64) -> Option<IsrProposal> {
        let mut state = self.lock();
        if state.leader != self.node_id || state.isr_change_in_flight {
            return None;
        }
        let isr = isr::shrink(
            &state.isr,
            self.node_id,
            &state.followers,
            now_ms,
            lag_max_ms,
        )?;
        state.isr_change_in_flight = true;
        Some(IsrProposal {
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            isr,
        })
    }

    /// The controller answered an ISR proposal: another may be made. Only
    /// a refusal the controller decided lets the high watermark stop
    /// waiting for the replicas it added. An accepted change ends with the
    /// partition epoch it brings (one that changed nothing added nobody
    /// the ISR lacks); after a timeout or a lost answer it may still have
    /// committed, so the wait lasts until the partition epoch moves.
    pub fn isr_proposal_answered(&self, refused: bool) {
        let mut state = self.lock();
        state.isr_change_in_flight = false;
        if refused {
            state.isr_maybe_added.clear();
        }
    }

    /// On a follower: stores what the leader sent for the fetch made from
    /// `position`. A divergence truncates the log first; nothing is stored
    /// when this broker's view of the partition moved on since the fetch.
    pub fn append_from_leader(
        &self,
        position: FetchPosition,
        fetched: ReplicaFetched,
        now_ms: i64,
    ) -> Result<(), PartitionError> {
        let mut state = self.lock();
        if state.leader != position.leader || state.leader_epoch != position.leader_epoch {
            return Ok(());
        }
        let hw = state.high_watermark;
        let name = self.name();
        let log = state.log.as_mut().ok_or(PartitionError::NotLeader(name))?;
        if log.log_end_offset() != position.fetch_offset {
            return Ok(());
        }
        if let Some((epoch, end)) = fetched.diverging {
            let own = (epoch >= 0)
                .then(|| log.end_offset_for_epoch(epoch))
                .flatten();
            let to = divergence::truncation_offset((epoch, end), own, log.log_end_offset(), hw);
            log.truncate_to(to, now_ms)?;
        } else if !fetched.records.is_empty() {
            log.append_as_follower(fetched.records, now_ms)?;
        }
        let end = log.log_end_offset();
        let start = fetched.log_start_offset.min(end);
        if start > log.log_start_offset() {
            log.delete_records_before(start)?;
        }
        let start = log.log_start_offset();
        state.high_watermark = fetched.high_watermark.min(end).max(start.min(end));
        Ok(())
    }

    /// On a follower whose fetch offset is below the leader's log start:
    /// restarts the log at the leader's log start.
    pub fn restart_at(
        &self,
        position: FetchPosition,
        leader_log_start: i64,
        now_ms: i64,
    ) -> Result<(), PartitionError> {
        let mut state = self.lock();
        if state.leader != position.leader || state.leader_epoch != position.leader_epoch {
            return Ok(());
        }
        let name = self.name();
        let log = state.log.as_mut().ok_or(PartitionError::NotLeader(name))?;
        if position.fetch_offset < leader_log_start {
            log.reset_to(leader_log_start, now_ms)?;
            state.high_watermark = leader_log_start;
        }
        Ok(())
    }

    /// Deletes the log and its directory (topic deleted).
    pub fn delete(&self) -> Result<(), PartitionError> {
        let log = self.lock().log.take();
        match log {
            Some(log) => Ok(log.delete()?),
            None => Ok(()),
        }
    }
}

/// Kafka's leader-epoch check of a request (-1 skips it).
fn epoch_check(client: i32, current: i32) -> Result<(), PartitionError> {
    match client {
        -1 => Ok(()),
        c if c < current => Err(PartitionError::FencedLeaderEpoch { client: c, current }),
        c if c > current => Err(PartitionError::UnknownLeaderEpoch { client: c, current }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
