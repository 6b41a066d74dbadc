//! One partition's log, Kafka-style: a directory of segments holding record
//! batches in Kafka's v2 format exactly as producers sent them, sparse offset
//! and time indexes, a leader-epoch checkpoint and a log start offset that
//! retention and DeleteRecords move forward.
//!
//! The `Log` is not synchronised; its owner (`Partition`) holds it in a mutex.
//! Reads use positional I/O, so they never disturb appends.
//!
//! One file, over the usual size: open/recovery, append, read, truncation
//! and retention all keep the same invariants on the segment list and the
//! log start and end offsets; segments, indexes, the epoch cache, producer
//! state, validation and the cleaner are already modules of their own.

pub mod batch;
pub mod cleaner;
pub mod codec;
pub mod epoch;
pub mod follower;
pub mod index;
pub mod producer_state;
pub mod recompress;
pub mod records;
pub mod segment;
pub mod validate;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::RecordBatchDecoder;

use batch::BatchHeader;
use cleaner::{CleanedSegment, CleaningPlan, SegmentToClean};
use epoch::EpochCache;
use producer_state::{ProducerState, SequenceCheck};
use segment::Segment;

/// Marker written on clean shutdown; without it the last segment is recovered.
const CLEAN_SHUTDOWN: &str = ".clean-shutdown";
/// Where the log start offset is checkpointed.
const LOG_START_FILE: &str = "log-start-offset";

/// Whether record timestamps are the producer's or the broker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamps are kept.
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

/// The topic settings a log obeys (Kafka's `LogConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: i64,
    /// `retention.ms`; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`; -1 for no limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u32,
    /// `segment.index.bytes`.
    pub segment_index_bytes: u32,
    /// `max.message.bytes`.
    pub max_message_bytes: u32,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`.
    pub timestamp_after_max_ms: i64,
    /// `cleanup.policy` contains `compact`.
    pub compact: bool,
    /// `cleanup.policy` contains `delete`.
    pub delete: bool,
    /// `delete.retention.ms`: how long tombstones outlive compaction.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: share of uncleaned bytes that starts a clean.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: records younger than this are not compacted.
    pub min_compaction_lag_ms: i64,
    /// `compression.type` and its level: the codec appended batches are
    /// stored with.
    pub compression: codec::TopicCompression,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 604_800_000,
            retention_ms: 604_800_000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 << 20,
            max_message_bytes: 1_048_588,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            compact: false,
            delete: true,
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            compression: codec::TopicCompression::Producer,
        }
    }
}

/// Why a log operation failed; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// A batch is malformed or its CRC does not match.
    #[error("corrupt message: {0}")]
    CorruptMessage(String),
    /// A batch breaks a rule of the log (format, transactions).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Records of a batch break a rule of the topic (a keyless record in a
    /// compacted topic): the whole batch is refused and, as in KIP-467, each
    /// offending record is named by its index in the batch.
    #[error("{message}")]
    RecordErrors {
        /// Kafka's summary of the record errors.
        message: String,
        /// (index of the record in its batch, why it was refused).
        records: Vec<(i32, String)>,
    },
    /// A batch is larger than `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes={max}")]
    MessageTooLarge {
        /// Batch size.
        size: usize,
        /// The limit.
        max: u32,
    },
    /// A request's batches together exceed `segment.bytes`.
    #[error("{size} bytes of records exceed segment.bytes={max}")]
    RecordListTooLarge {
        /// Total size.
        size: usize,
        /// The limit.
        max: u64,
    },
    /// A CreateTime timestamp is outside the allowed window.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// The offset is not in the log.
    #[error("offset {offset} is outside the log [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// Requested offset.
        offset: i64,
        /// First offset in the log.
        log_start_offset: i64,
        /// Offset after the last record.
        log_end_offset: i64,
    },
    /// An idempotent producer's batch does not follow its last one.
    #[error("out of order sequence: {0}")]
    OutOfOrderSequence(String),
    /// An idempotent producer's epoch is older than the one in the log.
    #[error("invalid producer epoch: {0}")]
    InvalidProducerEpoch(String),
}

impl LogError {
    /// An I/O error with the path and the operation.
    pub fn io(path: &Path, context: &'static str, source: io::Error) -> Self {
        LogError::Io {
            path: path.to_path_buf(),
            context,
            source,
        }
    }

    /// The Kafka error code for this failure.
    pub fn error_code(&self) -> ResponseError {
        match self {
            LogError::Io { .. } => ResponseError::KafkaStorageError,
            LogError::CorruptMessage(_) => ResponseError::CorruptMessage,
            LogError::InvalidRecord(_) | LogError::RecordErrors { .. } => {
                ResponseError::InvalidRecord
            }
            LogError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
            LogError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            LogError::OutOfOrderSequence(_) => ResponseError::OutOfOrderSequenceNumber,
            LogError::InvalidProducerEpoch(_) => ResponseError::InvalidProducerEpoch,
        }
    }
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first appended record.
    pub base_offset: i64,
    /// Offset of the last appended record.
    pub last_offset: i64,
    /// The broker's timestamp with LogAppendTime, else -1.
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
    /// Records appended.
    pub record_count: i64,
}

/// A record found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The record's timestamp.
    pub timestamp: i64,
    /// The record's offset.
    pub offset: i64,
    /// Leader epoch of its batch.
    pub leader_epoch: i32,
}

/// One partition's log.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    epochs: EpochCache,
    producers: ProducerState,
    /// Offsets below this were covered by the last clean (compacted topics).
    cleaned_up_to: i64,
}

impl Log {
    /// Opens the log in `dir`, creating it if absent and recovering it if the
    /// last shutdown was not clean.
    pub fn open(dir: &Path, config: LogConfig, now_ms: i64) -> Result<Log, LogError> {
        std::fs::create_dir_all(dir).map_err(|e| LogError::io(dir, "create log directory", e))?;
        let marker = dir.join(CLEAN_SHUTDOWN);
        let clean = marker.exists();
        let mut bases = Vec::new();
        for entry in
            std::fs::read_dir(dir).map_err(|e| LogError::io(dir, "list log directory", e))?
        {
            let entry = entry.map_err(|e| LogError::io(dir, "list log directory", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") || name.ends_with(".deleted") || name.ends_with(".cleaned") {
                let _ = std::fs::remove_file(entry.path());
            } else if let Some(base) = name
                .strip_suffix(".log")
                .and_then(|b| b.parse::<i64>().ok())
            {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        let mut epochs = EpochCache::load(dir);
        let mut segments = BTreeMap::new();
        let last = bases.last().copied();
        for base in bases {
            let recover = !clean && Some(base) == last;
            let segment = Segment::open(
                dir,
                base,
                recover,
                now_ms,
                &mut epochs,
                config.index_interval_bytes,
            )?;
            segments.insert(base, segment);
        }
        let checkpoint = std::fs::read_to_string(dir.join(LOG_START_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if segments.is_empty() {
            let base = checkpoint.max(0);
            segments.insert(base, Segment::create(dir, base, now_ms)?);
        }
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset: 0,
            epochs,
            producers: ProducerState::default(),
            cleaned_up_to: 0,
        };
        log.rebuild_producer_state()?;
        let first_base = log.segments.keys().next().copied().unwrap_or(0);
        log.log_start_offset = checkpoint.max(first_base).min(log.log_end_offset());
        if clean {
            std::fs::remove_file(&marker)
                .map_err(|e| LogError::io(&marker, "remove clean-shutdown marker", e))?;
        }
        Ok(log)
    }

    /// Replays the batch headers of every segment into the producer state,
    /// as Kafka does when it has no producer snapshot.
    fn rebuild_producer_state(&mut self) -> Result<(), LogError> {
        let mut state = ProducerState::default();
        for segment in self.segments.values() {
            for (_, h) in segment.headers_from(segment.base_offset())? {
                state.record(&h);
            }
        }
        self.producers = state;
        Ok(())
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }

    /// Validates, assigns offsets to and appends a producer's batches.
    pub fn append_as_leader(
        &mut self,
        records: Bytes,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let mut buf = BytesMut::from(&records[..]);
        let mut placed = validate::validate_and_assign(
            &mut buf,
            &self.config,
            self.log_end_offset(),
            leader_epoch,
            now_ms,
        )?;
        if let Some((rebuilt, moved)) =
            recompress::to_topic_codec(&buf, &placed, self.config.compression)?
        {
            buf = BytesMut::from(&rebuilt[..]);
            placed = moved;
        }
        let (Some(first), Some(last)) = (placed.first(), placed.last()) else {
            return Err(LogError::InvalidRecord("no record batch".into()));
        };
        let headers: Vec<BatchHeader> = placed.iter().map(|p| p.header).collect();
        if let SequenceCheck::Duplicate {
            first_offset,
            last_offset,
        } = self.producers.check_all(&headers)?
        {
            return Ok(AppendInfo {
                base_offset: first_offset,
                last_offset,
                log_append_time: -1,
                log_start_offset: self.log_start_offset,
                record_count: 0,
            });
        }
        let (base_offset, last_offset) = (first.header.base_offset, last.header.last_offset());
        self.maybe_roll(buf.len(), last_offset, now_ms)?;
        let interval = self.config.index_interval_bytes;
        self.active_mut().append(&buf, &placed, interval)?;
        for h in &headers {
            self.producers.record(h);
        }
        if self.epochs.assign(leader_epoch, base_offset) {
            self.save_epochs()?;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_append_time: if self.config.timestamp_type == TimestampType::LogAppendTime {
                now_ms
            } else {
                -1
            },
            log_start_offset: self.log_start_offset,
            record_count: placed
                .iter()
                .map(|p| i64::from(p.header.records_count))
                .sum(),
        })
    }

    fn maybe_roll(&mut self, size: usize, last_offset: i64, now_ms: i64) -> Result<(), LogError> {
        let active = self.active();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size() + size as u64 > self.config.segment_bytes;
        let old = now_ms.saturating_sub(active.roll_base_ms()) > self.config.segment_ms;
        let index_full =
            active.index_entries() as u64 * 8 >= u64::from(self.config.segment_index_bytes);
        let overflow = last_offset - active.base_offset() > i64::from(i32::MAX);
        if full || old || index_full || overflow {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    /// Closes the active segment (flushing it) and starts a new one at the log end.
    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        let next = self.log_end_offset();
        self.active_mut().flush()?;
        let segment = Segment::create(&self.dir, next, now_ms)?;
        self.segments.insert(next, segment);
        Ok(())
    }

    /// Reads whole batches starting with the one that holds `offset`, never a
    /// batch reaching `max_offset`, up to `max_bytes` (at least one batch when
    /// `min_one_batch`).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one_batch: bool,
    ) -> Result<Bytes, LogError> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        let first = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(0, |(b, _)| *b);
        // Compaction can leave segments empty, or end them before the next
        // segment's base: such gaps are skipped to the next record.
        for segment in self.segments.range(first..).map(|(_, s)| s) {
            if !segment.is_empty() && offset < segment.next_offset() {
                return segment.read(
                    offset.max(segment.base_offset()),
                    max_bytes,
                    max_offset,
                    min_one_batch,
                );
            }
        }
        Ok(Bytes::new())
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    /// Bytes of segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The first record with a timestamp at or after `timestamp`.
    pub fn offset_for_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        for segment in self.segments.values() {
            if segment.max_timestamp() < timestamp || segment.next_offset() <= self.log_start_offset
            {
                continue;
            }
            let start = segment
                .time_lookup_start(timestamp)
                .max(self.log_start_offset);
            for (pos, h) in segment.headers_from(start)? {
                if h.max_timestamp < timestamp || h.last_offset() < self.log_start_offset {
                    continue;
                }
                if h.is_log_append_time() {
                    return Ok(Some(TimestampOffset {
                        timestamp: h.max_timestamp,
                        offset: h.base_offset.max(self.log_start_offset),
                        leader_epoch: h.partition_leader_epoch,
                    }));
                }
                let found = decode(segment.batch_at(pos, &h)?)?
                    .into_iter()
                    .find(|(offset, ts)| *ts >= timestamp && *offset >= self.log_start_offset);
                if let Some((offset, ts)) = found {
                    return Ok(Some(TimestampOffset {
                        timestamp: ts,
                        offset,
                        leader_epoch: h.partition_leader_epoch,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (the first one, on ties).
    pub fn max_timestamp(&self) -> Result<Option<TimestampOffset>, LogError> {
        let Some(segment) = self
            .segments
            .values()
            .filter(|s| s.max_timestamp() >= 0 && s.next_offset() > self.log_start_offset)
            .max_by_key(|s| s.max_timestamp())
        else {
            return Ok(None);
        };
        let max = segment.max_timestamp();
        for (pos, h) in
            segment.headers_from(segment.offset_of_max_timestamp().max(self.log_start_offset))?
        {
            if h.max_timestamp != max {
                continue;
            }
            let offset = if h.is_log_append_time() {
                h.base_offset
            } else {
                decode(segment.batch_at(pos, &h)?)?
                    .into_iter()
                    .find(|(_, ts)| *ts == max)
                    .map_or(h.base_offset, |(o, _)| o)
            };
            return Ok(Some(TimestampOffset {
                timestamp: max,
                offset,
                leader_epoch: h.partition_leader_epoch,
            }));
        }
        Ok(None)
    }

    /// Raises the log start offset to `offset` (DeleteRecords) and deletes
    /// the segments wholly below it.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        let end = self.log_end_offset();
        if offset > end || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        if offset > self.log_start_offset {
            self.log_start_offset = offset;
            self.save_log_start()?;
            while self.segments.len() > 1 {
                let Some((&base, first)) = self.segments.iter().next() else {
                    break;
                };
                if first.next_offset() > offset {
                    break;
                }
                self.delete_segment(base)?;
            }
        }
        Ok(self.log_start_offset)
    }

    /// Deletes segments past `retention.ms` or beyond `retention.bytes`.
    /// Like Kafka, an expired active segment is rolled first so it can go.
    ///
    /// Only segments wholly below `upper_bound` (the high watermark) go, as
    /// in Kafka: what the in-sync replicas may not all have is kept.
    pub fn enforce_retention(&mut self, now_ms: i64, upper_bound: i64) -> Result<usize, LogError> {
        if !self.config.delete {
            return Ok(0);
        }
        let mut deleted = 0;
        if self.config.retention_ms >= 0 {
            while let Some((&base, first)) = self.segments.iter().next() {
                // A closed segment compaction emptied holds nothing to keep.
                let emptied = first.is_empty() && self.segments.len() > 1;
                let expired = emptied
                    || (!first.is_empty()
                        && first.max_timestamp() >= 0
                        && now_ms.saturating_sub(first.max_timestamp()) > self.config.retention_ms);
                if !expired || first.next_offset() > upper_bound {
                    break;
                }
                if self.segments.len() == 1 {
                    self.roll(now_ms)?;
                }
                self.delete_segment(base)?;
                deleted += 1;
            }
        }
        if self.config.retention_bytes >= 0 {
            let mut excess =
                i64::try_from(self.size_bytes()).unwrap_or(i64::MAX) - self.config.retention_bytes;
            while self.segments.len() > 1 {
                let Some((&base, first)) = self.segments.iter().next() else {
                    break;
                };
                let size = i64::try_from(first.size()).unwrap_or(i64::MAX);
                if excess < size || first.next_offset() > upper_bound {
                    break;
                }
                excess -= size;
                self.delete_segment(base)?;
                deleted += 1;
            }
        }
        let first_base = self.segments.keys().next().copied().unwrap_or(0);
        if first_base > self.log_start_offset {
            self.log_start_offset = first_base;
            self.save_log_start()?;
        }
        Ok(deleted)
    }

    fn delete_segment(&mut self, base: i64) -> Result<(), LogError> {
        if let Some(segment) = self.segments.remove(&base) {
            segment.delete()?;
        }
        let first_base = self.segments.keys().next().copied().unwrap_or(base);
        if first_base > self.log_start_offset {
            self.log_start_offset = first_base;
            self.save_log_start()?;
        }
        Ok(())
    }

    fn save_epochs(&self) -> Result<(), LogError> {
        self.epochs
            .save()
            .map_err(|e| LogError::io(&self.dir, "write leader-epoch-checkpoint", e))
    }

    fn save_log_start(&self) -> Result<(), LogError> {
        let path = self.dir.join(LOG_START_FILE);
        let tmp = self.dir.join(format!("{LOG_START_FILE}.tmp"));
        std::fs::write(&tmp, format!("{}\n", self.log_start_offset))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| LogError::io(&path, "write log start offset", e))
    }

    /// Decides whether the log needs compacting and which closed segments
    /// to clean: every closed segment old enough for `min.compaction.lag.ms`,
    /// once the bytes not cleaned before reach `min.cleanable.dirty.ratio`.
    pub fn cleaning_plan(&self, now_ms: i64) -> Option<CleaningPlan> {
        if !self.config.compact {
            return None;
        }
        let active_base = self.active().base_offset();
        let lag_limit = now_ms.saturating_sub(self.config.min_compaction_lag_ms);
        let mut segments = Vec::new();
        let (mut total, mut dirty) = (0u64, 0u64);
        let mut end_offset = active_base;
        for segment in self.segments.values() {
            if segment.base_offset() == active_base {
                break;
            }
            if segment.max_timestamp() > lag_limit {
                end_offset = segment.base_offset();
                break;
            }
            total += segment.size();
            if segment.base_offset() >= self.cleaned_up_to {
                dirty += segment.size();
            }
            segments.push(SegmentToClean {
                base_offset: segment.base_offset(),
                path: segment.log_path(),
                max_timestamp: segment.max_timestamp(),
            });
        }
        if dirty == 0 || (dirty as f64) < self.config.min_cleanable_dirty_ratio * total as f64 {
            return None;
        }
        Some(CleaningPlan {
            segments,
            tombstone_horizon_ms: now_ms.saturating_sub(self.config.delete_retention_ms),
            end_offset,
        })
    }

    /// Swaps cleaned copies in for their segments. A segment deleted by
    /// retention meanwhile is skipped (its copy removed). Index files go
    /// first, so a crash in between leaves a segment whose indexes are
    /// rebuilt on open, never stale ones.
    pub fn install_cleaned(
        &mut self,
        plan: &CleaningPlan,
        cleaned: Vec<CleanedSegment>,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let active_base = self.active().base_offset();
        for c in cleaned {
            if c.base_offset == active_base || !self.segments.contains_key(&c.base_offset) {
                let _ = std::fs::remove_file(&c.path);
                continue;
            }
            for ext in ["index", "timeindex"] {
                let path = self.dir.join(segment::file_name(c.base_offset, ext));
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(&path, "remove stale index", e)),
                }
            }
            let target = self.dir.join(segment::file_name(c.base_offset, "log"));
            std::fs::rename(&c.path, &target)
                .map_err(|e| LogError::io(&target, "install cleaned segment", e))?;
            let reopened = Segment::open_cleaned(
                &self.dir,
                c.base_offset,
                now_ms,
                self.config.index_interval_bytes,
            )?;
            self.segments.insert(c.base_offset, reopened);
        }
        self.cleaned_up_to = self.cleaned_up_to.max(plan.end_offset);
        Ok(())
    }

    /// Applies changed topic settings.
    pub fn update_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Kafka's end offset for a leader epoch (see [`EpochCache::end_offset_for`]).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        match self.epochs.end_offset_for(epoch, self.log_end_offset()) {
            (-1, -1) => None,
            found => Some(found),
        }
    }

    /// Forces the active segment and its indexes to disk.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.active_mut().flush()
    }

    /// Flushes and marks a clean shutdown, so the next open skips recovery.
    pub fn close(mut self) -> Result<(), LogError> {
        self.flush()?;
        let marker = self.dir.join(CLEAN_SHUTDOWN);
        std::fs::write(&marker, b"")
            .map_err(|e| LogError::io(&marker, "write clean-shutdown marker", e))
    }

    /// Deletes the log and its directory.
    pub fn delete(self) -> Result<(), LogError> {
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| LogError::io(&self.dir, "delete log directory", e))
    }
}

/// Offsets and timestamps of the records of one stored batch.
fn decode(batch: Bytes) -> Result<Vec<(i64, i64)>, LogError> {
    let mut buf = batch;
    let set = RecordBatchDecoder::decode(&mut buf)
        .map_err(|e| LogError::CorruptMessage(format!("stored batch does not decode: {e:#}")))?;
    Ok(set
        .records
        .iter()
        .map(|r| (r.offset, r.timestamp))
        .collect())
}

#[cfg(test)]
mod tests;
