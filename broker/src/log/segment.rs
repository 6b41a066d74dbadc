//! One log segment: a `.log` file of record batches starting at a base
//! offset, with its offset and time indexes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use super::epoch::EpochCache;
use super::index::{OffsetIndex, TimeIndex};
use super::LogError;

/// Kafka's file name for a segment file: the base offset padded to 20 digits.
pub fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

/// Reads a file from a position of its own with `pread`, whatever the
/// descriptor's shared cursor says.
struct ReadFrom {
    file: File,
    at: u64,
}

impl Read for ReadFrom {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// A segment of the log.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    dir: PathBuf,
    file: File,
    size: u64,
    next_offset: i64,
    index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    first_batch_timestamp: Option<i64>,
    created_ms: i64,
}

/// Where a batch of an append lands: its header and its range in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct PlacedBatch {
    /// The batch header, with offsets already assigned.
    pub header: BatchHeader,
    /// Start of the batch in the appended buffer.
    pub start: usize,
    /// Length of the batch.
    pub len: usize,
}

impl Segment {
    fn path(&self, extension: &str) -> PathBuf {
        self.dir.join(file_name(self.base_offset, extension))
    }

    fn io(&self, context: &'static str, e: io::Error) -> LogError {
        LogError::io(&self.path("log"), context, e)
    }

    /// Creates an empty segment.
    pub fn create(dir: &Path, base_offset: i64, now_ms: i64) -> Result<Segment, LogError> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LogError::io(&path, "create segment", e))?;
        let size = file
            .metadata()
            .map_err(|e| LogError::io(&path, "stat segment", e))?
            .len();
        let segment = Segment {
            base_offset,
            dir: dir.to_path_buf(),
            file,
            size,
            next_offset: base_offset,
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            first_batch_timestamp: None,
            created_ms: now_ms,
        };
        Ok(segment)
    }

    /// Opens an existing segment. With `recover`, or when its index files are
    /// missing or damaged, every batch is validated and the first invalid one
    /// and everything after it truncated; otherwise the indexes are loaded and
    /// only the tail after the last index entry is scanned.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        recover: bool,
        now_ms: i64,
        epochs: &mut EpochCache,
        index_interval: u32,
    ) -> Result<Segment, LogError> {
        let mut segment = Segment::create(dir, base_offset, now_ms)?;
        if let Ok(meta) = segment.file.metadata() {
            if let Ok(modified) = meta.modified() {
                if let Ok(age) = modified.duration_since(std::time::UNIX_EPOCH) {
                    segment.created_ms = i64::try_from(age.as_millis()).unwrap_or(now_ms);
                }
            }
        }
        let loaded = if recover {
            None
        } else {
            segment.load_indexes()?
        };
        match loaded {
            Some((index, time_index)) => {
                segment.index = index;
                segment.time_index = time_index;
                if let Some((t, rel)) = segment.time_index.max() {
                    segment.max_timestamp = t;
                    segment.offset_of_max_timestamp = base_offset + i64::from(rel);
                }
                segment.scan_tail()?;
            }
            // Only the tail segment of an unclean shutdown can hold epochs the
            // checkpoint lacks; a middle segment missing its index files (say,
            // after a crash during cleaning) just gets them rebuilt.
            None if recover => segment.recover(Some(epochs), index_interval)?,
            None => segment.recover(None, index_interval)?,
        }
        segment.first_batch_timestamp = segment.first_header()?.map(|h| h.max_timestamp);
        Ok(segment)
    }

    fn load_indexes(&self) -> Result<Option<(OffsetIndex, TimeIndex)>, LogError> {
        let index =
            self.missing_is_none(OffsetIndex::read(&self.path("index"), self.size.max(1)))?;
        let time_index = self.missing_is_none(TimeIndex::read(&self.path("timeindex")))?;
        Ok(index.zip(time_index))
    }

    fn missing_is_none<T>(&self, r: io::Result<Option<T>>) -> Result<Option<T>, LogError> {
        match r {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read index", e)),
        }
    }

    /// Reads headers from the last indexed position to the end to learn the
    /// next offset; a torn tail here means the marker lied, so recover.
    fn scan_tail(&mut self) -> Result<(), LogError> {
        let mut pos = u64::from(self.index.last().map_or(0, |(_, p)| p));
        while pos < self.size {
            match self.header_at(pos)? {
                Some(h) if h.total_size().is_some_and(|s| pos + s as u64 <= self.size) => {
                    self.next_offset = h.next_offset();
                    pos += h.total_size().map_or(0, |s| s as u64);
                }
                _ => {
                    self.size = pos;
                    self.file
                        .set_len(pos)
                        .map_err(|e| self.io("truncate segment", e))?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Opens a segment the cleaner rewrote: its indexes are rebuilt from the
    /// file, and the leader epochs (which compaction does not change) are
    /// left alone.
    pub fn open_cleaned(
        dir: &Path,
        base_offset: i64,
        now_ms: i64,
        index_interval: u32,
    ) -> Result<Segment, LogError> {
        let mut segment = Segment::create(dir, base_offset, now_ms)?;
        segment.recover(None, index_interval)?;
        segment.first_batch_timestamp = segment.first_header()?.map(|h| h.max_timestamp);
        Ok(segment)
    }

    /// The segment's `.log` file.
    pub fn log_path(&self) -> PathBuf {
        self.path("log")
    }

    /// Validates every batch, rebuilds the indexes and truncates a torn tail;
    /// with `epochs`, also rebuilds the leader epoch cache.
    fn recover(
        &mut self,
        mut epochs: Option<&mut EpochCache>,
        index_interval: u32,
    ) -> Result<(), LogError> {
        self.index = OffsetIndex::default();
        self.time_index = TimeIndex::default();
        self.bytes_since_index = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        let file = self
            .file
            .try_clone()
            .map_err(|e| self.io("recover segment", e))?;
        // Positional reads: the descriptor's cursor is shared with every
        // clone and left wherever an earlier scan stopped, so reading
        // through it would start mid-file and cut valid batches as torn.
        let mut reader = BufReader::with_capacity(1 << 20, ReadFrom { file, at: 0 });
        let mut buf = Vec::new();
        let mut pos = 0u64;
        let file_size = self.size;
        let mut epochs_changed = false;
        loop {
            let mut head = [0u8; LOG_OVERHEAD];
            if pos + LOG_OVERHEAD as u64 > file_size || reader.read_exact(&mut head).is_err() {
                break;
            }
            let len = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
            let Ok(len) = usize::try_from(len) else { break };
            let total = len + LOG_OVERHEAD;
            if total < HEADER_LEN || pos + total as u64 > file_size {
                break;
            }
            buf.clear();
            buf.extend_from_slice(&head);
            buf.resize(total, 0);
            if reader.read_exact(&mut buf[LOG_OVERHEAD..]).is_err() {
                break;
            }
            let Some(h) = BatchHeader::parse(&buf) else {
                break;
            };
            if h.magic != 2
                || !batch::crc_matches(&buf)
                || h.base_offset < self.next_offset
                || h.last_offset_delta < 0
            {
                break;
            }
            if let Some(epochs) = epochs.as_deref_mut() {
                epochs_changed |= epochs.assign(h.partition_leader_epoch, h.base_offset);
            }
            self.track(&h, pos, total as u64, index_interval);
            pos += total as u64;
        }
        if pos < file_size {
            tracing::warn!(
                segment = %self.path("log").display(),
                valid_bytes = pos,
                truncated_bytes = file_size - pos,
                "truncating torn or corrupt tail of log segment"
            );
            self.file
                .set_len(pos)
                .map_err(|e| self.io("truncate segment", e))?;
            self.size = pos;
        }
        if let Some(epochs) = epochs {
            if epochs.truncate_from(self.next_offset) {
                epochs_changed = true;
            }
            if epochs_changed {
                epochs
                    .save()
                    .map_err(|e| self.io("write leader-epoch-checkpoint", e))?;
            }
        }
        self.write_indexes()
    }

    /// Cuts the batch holding `offset` and everything after it, then
    /// rebuilds the indexes from what is left.
    pub fn truncate_to(&mut self, offset: i64, index_interval: u32) -> Result<(), LogError> {
        let Some(pos) = self.position_of(offset)? else {
            return Ok(());
        };
        self.file
            .set_len(pos)
            .map_err(|e| self.io("truncate segment", e))?;
        self.size = pos;
        self.first_batch_timestamp = None;
        self.recover(None, index_interval)
    }

    /// Updates in-memory bookkeeping for a batch written at `pos`.
    fn track(&mut self, h: &BatchHeader, pos: u64, len: u64, index_interval: u32) {
        let relative = u32::try_from(h.base_offset - self.base_offset).unwrap_or(u32::MAX);
        if self.index.is_empty() || self.bytes_since_index > u64::from(index_interval) {
            self.index
                .append(relative, u32::try_from(pos).unwrap_or(u32::MAX));
            if h.max_timestamp > self.max_timestamp {
                self.time_index.maybe_append(h.max_timestamp, relative);
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.base_offset;
        }
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(h.max_timestamp);
        }
        self.next_offset = h.next_offset();
    }

    /// Writes already-validated batches with one write call.
    pub fn append(
        &mut self,
        buf: &[u8],
        batches: &[PlacedBatch],
        index_interval: u32,
    ) -> Result<(), LogError> {
        let mut written = 0usize;
        while written < buf.len() {
            match self
                .file
                .write_at(&buf[written..], self.size + written as u64)
            {
                Ok(0) => return Err(self.io("append", io::Error::from(io::ErrorKind::WriteZero))),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = self.file.set_len(self.size);
                    return Err(self.io("append", e));
                }
            }
        }
        let start = self.size;
        for b in batches {
            self.track(
                &b.header,
                start + b.start as u64,
                b.len as u64,
                index_interval,
            );
        }
        self.size += buf.len() as u64;
        Ok(())
    }

    fn header_at(&self, pos: u64) -> Result<Option<BatchHeader>, LogError> {
        if pos + HEADER_LEN as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_LEN];
        self.file
            .read_exact_at(&mut buf, pos)
            .map_err(|e| self.io("read batch header", e))?;
        Ok(BatchHeader::parse(&buf))
    }

    fn first_header(&self) -> Result<Option<BatchHeader>, LogError> {
        self.header_at(0)
    }

    /// Position of the first batch whose last offset is at least `offset`.
    fn position_of(&self, offset: i64) -> Result<Option<u64>, LogError> {
        let relative = u32::try_from((offset - self.base_offset).max(0)).unwrap_or(u32::MAX);
        let mut pos = u64::from(self.index.lookup(relative));
        while let Some(h) = self.header_at(pos)? {
            if h.last_offset() >= offset {
                return Ok(Some(pos));
            }
            match h.total_size() {
                Some(s) => pos += s as u64,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Reads whole batches from the one containing `offset`, stopping before
    /// a batch reaching `max_offset` and after `max_bytes` (but returning at
    /// least one batch when `min_one_batch`).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one_batch: bool,
    ) -> Result<Bytes, LogError> {
        let Some(start) = self.position_of(offset)? else {
            return Ok(Bytes::new());
        };
        let available = usize::try_from(self.size - start).unwrap_or(usize::MAX);
        let want = available.min(max_bytes.max(HEADER_LEN));
        let mut buf = vec![0u8; want];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| self.io("read", e))?;
        let mut end = 0usize;
        while let Some(h) = BatchHeader::parse(&buf[end..]) {
            let Some(size) = h.total_size() else { break };
            if h.last_offset() >= max_offset {
                break;
            }
            if end + size > max_bytes && !(end == 0 && min_one_batch) {
                break;
            }
            if end + size > buf.len() {
                if end == 0 && min_one_batch && size <= available {
                    let mut whole = vec![0u8; size];
                    self.file
                        .read_exact_at(&mut whole, start)
                        .map_err(|e| self.io("read", e))?;
                    return Ok(Bytes::from(whole));
                }
                break;
            }
            end += size;
        }
        buf.truncate(end);
        Ok(Bytes::from(buf))
    }

    /// Every batch header from the one containing `offset` on, with the
    /// batch's position, for searches by timestamp.
    pub fn headers_from(&self, offset: i64) -> Result<Vec<(u64, BatchHeader)>, LogError> {
        let mut out = Vec::new();
        let Some(mut pos) = self.position_of(offset)? else {
            return Ok(out);
        };
        while let Some(h) = self.header_at(pos)? {
            let Some(size) = h.total_size() else { break };
            out.push((pos, h));
            pos += size as u64;
        }
        Ok(out)
    }

    /// Reads one whole batch at `pos`.
    pub fn batch_at(&self, pos: u64, header: &BatchHeader) -> Result<Bytes, LogError> {
        let size = header.total_size().unwrap_or(HEADER_LEN);
        let mut buf = vec![0u8; size];
        self.file
            .read_exact_at(&mut buf, pos)
            .map_err(|e| self.io("read", e))?;
        Ok(Bytes::from(buf))
    }

    /// The first offset of the relative offset search window for `timestamp`.
    pub fn time_lookup_start(&self, timestamp: i64) -> i64 {
        self.base_offset + i64::from(self.time_index.lookup_before(timestamp))
    }

    /// Persists the indexes, first recording the segment's max timestamp so
    /// a reopen knows it without scanning.
    pub fn write_indexes(&mut self) -> Result<(), LogError> {
        if self.offset_of_max_timestamp >= self.base_offset {
            let rel =
                u32::try_from(self.offset_of_max_timestamp - self.base_offset).unwrap_or(u32::MAX);
            self.time_index.maybe_append(self.max_timestamp, rel);
        }
        for (ext, bytes) in [
            ("index", self.index.to_bytes()),
            ("timeindex", self.time_index.to_bytes()),
        ] {
            let path = self.path(ext);
            std::fs::write(&path, bytes).map_err(|e| LogError::io(&path, "write index", e))?;
        }
        Ok(())
    }

    /// Flushes data and indexes to disk.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.file.sync_data().map_err(|e| self.io("fsync", e))?;
        self.write_indexes()
    }

    /// Removes the segment's files.
    pub fn delete(self) -> Result<(), LogError> {
        for ext in ["log", "index", "timeindex"] {
            let path = self.path(ext);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&path, "delete segment", e)),
            }
        }
        Ok(())
    }

    /// First offset this segment can hold.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Offset after its last batch.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Bytes in the `.log` file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether no batch has been written.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Largest timestamp in the segment, or -1.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// Base offset of the batch holding the largest timestamp, or -1.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// The time the segment's age is measured from for `segment.ms`.
    pub fn roll_base_ms(&self) -> i64 {
        match self.first_batch_timestamp {
            Some(t) if t >= 0 => t,
            _ => self.created_ms,
        }
    }

    /// Entries in the offset index, for `segment.index.bytes`.
    pub fn index_entries(&self) -> usize {
        self.index.len()
    }
}
