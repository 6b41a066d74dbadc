//! One partition hosted by this broker: its log plus the replication state a
//! leader keeps (leader epoch, ISR, high watermark), like Kafka's `Partition`.
//!
//! The log is behind a mutex: appends are serialised per partition (never
//! across partitions), and reads take the lock only for positional reads.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use crate::log::{AppendInfo, Log, LogConfig, LogError, TimestampOffset};

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
    /// The Kafka error code for this failure.
    pub fn error_code(&self) -> ResponseError {
        match self {
            PartitionError::NotLeader(_) => ResponseError::NotLeaderOrFollower,
            PartitionError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
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

/// Leader-side state of a partition.
#[derive(Debug)]
struct State {
    log: Option<Log>,
    leader_epoch: i32,
    isr: Vec<i32>,
    min_insync_replicas: i32,
    high_watermark: i64,
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
    dir: PathBuf,
    state: Mutex<State>,
}

/// Settings of a partition that follow metadata and config changes.
#[derive(Debug, Clone)]
pub struct PartitionSettings {
    /// Log settings from the topic config.
    pub log: LogConfig,
    /// The topic's min.insync.replicas.
    pub min_insync_replicas: i32,
    /// Current leader epoch.
    pub leader_epoch: i32,
    /// Current in-sync replicas.
    pub isr: Vec<i32>,
}

impl Partition {
    /// Opens (or creates) the partition's log under `dir`. A directory left
    /// by an earlier topic of the same name is removed first.
    pub fn open(
        dir: &Path,
        topic: &str,
        topic_id: Uuid,
        index: i32,
        settings: PartitionSettings,
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
        let log = Log::open(dir, settings.log, now_ms)?;
        if !marker.exists() {
            std::fs::write(&marker, format!("version: 0\ntopic_id: {topic_id}\n"))
                .map_err(|e| LogError::io(&marker, "write partition.metadata", e))?;
        }
        let high_watermark = log.log_end_offset();
        Ok(Partition {
            topic: topic.to_string(),
            topic_id,
            index,
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                log: Some(log),
                leader_epoch: settings.leader_epoch,
                isr: settings.isr,
                min_insync_replicas: settings.min_insync_replicas,
                high_watermark,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn name(&self) -> String {
        format!("{}-{}", self.topic, self.index)
    }

    /// Applies new settings from metadata or config changes.
    pub fn update(&self, settings: PartitionSettings) {
        let mut state = self.lock();
        state.leader_epoch = settings.leader_epoch;
        state.isr = settings.isr;
        state.min_insync_replicas = settings.min_insync_replicas;
        if let Some(log) = state.log.as_mut() {
            log.update_config(settings.log);
        }
    }

    /// Appends a producer's batches as leader. With `acks=all` the ISR must
    /// be at least min.insync.replicas. Returns where the batches landed.
    pub fn append(
        &self,
        records: Bytes,
        acks: i16,
        now_ms: i64,
    ) -> Result<AppendInfo, PartitionError> {
        let mut state = self.lock();
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
        // With this broker the only ISR member, an appended batch is on every
        // in-sync replica at once.
        state.high_watermark = info.last_offset + 1;
        Ok(info)
    }

    /// Checks the leader epoch a client believes in (-1 skips the check).
    pub fn check_leader_epoch(&self, client: i32) -> Result<(), PartitionError> {
        let current = self.lock().leader_epoch;
        match client {
            -1 => Ok(()),
            c if c < current => Err(PartitionError::FencedLeaderEpoch { client: c, current }),
            c if c > current => Err(PartitionError::UnknownLeaderEpoch { client: c, current }),
            _ => Ok(()),
        }
    }

    /// Reads committed batches for a consumer, starting at `offset`.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<FetchedData, PartitionError> {
        let state = self.lock();
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

    /// The current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.lock().leader_epoch
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
        match state.log.as_mut() {
            Some(log) => Ok(log.enforce_retention(now_ms)?),
            None => Ok(0),
        }
    }

    /// Closes the log cleanly (shutdown).
    pub fn close(&self) -> Result<(), PartitionError> {
        let log = self.lock().log.take();
        match log {
            Some(log) => Ok(log.close()?),
            None => Ok(()),
        }
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
