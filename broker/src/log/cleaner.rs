//! Log compaction (`cleanup.policy=compact`), as Kafka's `LogCleaner` does
//! it: keep the latest record of every key, drop tombstones once
//! `delete.retention.ms` has passed, never touch the active segment and never
//! change an offset.
//!
//! Cleaning runs in three steps so produce and fetch are not stalled: the
//! log picks the segments to clean under the partition lock
//! ([`super::Log::cleaning_plan`]); [`clean`] reads them and writes cleaned
//! copies beside them without any lock (closed segments never change); the
//! log swaps the copies in under the lock ([`super::Log::install_cleaned`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::batch::{BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use super::recompress::{self, Rebuild};
use super::records::{self, KeyHash, KeyHasher};
use super::LogError;

/// One segment to clean.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentToClean {
    /// Its base offset.
    pub base_offset: i64,
    /// Its `.log` file.
    pub path: PathBuf,
    /// Largest record timestamp in it; tombstones in segments older than
    /// `delete.retention.ms` are dropped.
    pub max_timestamp: i64,
}

/// What the log asks the cleaner to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CleaningPlan {
    /// Segments to clean, oldest first; never the active one.
    pub segments: Vec<SegmentToClean>,
    /// Tombstones in segments whose records are all older than this are dropped.
    pub tombstone_horizon_ms: i64,
    /// The first offset the plan does not cover (the active segment's base
    /// or the first too-young segment).
    pub end_offset: i64,
}

/// A cleaned segment, written beside the original as `<base>.log.cleaned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanedSegment {
    /// The base offset of the segment it replaces.
    pub base_offset: i64,
    /// The cleaned file.
    pub path: PathBuf,
}

/// Passes every batch of a segment file to `visit`, in order, holding one
/// batch in memory at a time.
fn for_each_batch(
    path: &Path,
    mut visit: impl FnMut(&[u8]) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let file = File::open(path).map_err(|e| LogError::io(path, "open segment for cleaning", e))?;
    let mut left = file
        .metadata()
        .map_err(|e| LogError::io(path, "read segment for cleaning", e))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    loop {
        let mut head = [0u8; LOG_OVERHEAD];
        match reader.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(LogError::io(path, "read segment for cleaning", e)),
        }
        let len = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        let total = usize::try_from(len)
            .ok()
            .map(|l| l + LOG_OVERHEAD)
            .filter(|t| *t >= HEADER_LEN && *t as u64 <= left)
            .ok_or_else(|| {
                LogError::CorruptMessage(format!("{}: batch length {len}", path.display()))
            })?;
        left -= total as u64;
        buf.clear();
        buf.resize(total, 0);
        buf[..LOG_OVERHEAD].copy_from_slice(&head);
        reader
            .read_exact(&mut buf[LOG_OVERHEAD..])
            .map_err(|e| LogError::io(path, "read segment for cleaning", e))?;
        visit(&buf)?;
    }
}

/// The latest offset of every key (by digest) in the batches it is fed.
#[derive(Debug, Default)]
pub struct OffsetMap {
    hasher: KeyHasher,
    latest: HashMap<KeyHash, i64>,
}

impl OffsetMap {
    /// Records the offsets of the keys in one batch.
    pub fn add(&mut self, batch: &[u8]) -> Result<(), LogError> {
        let header = BatchHeader::parse(batch)
            .ok_or_else(|| LogError::CorruptMessage("truncated batch during cleaning".into()))?;
        if header.is_control() {
            return Ok(());
        }
        let latest = &mut self.latest;
        records::scan(batch, Some(&self.hasher), |_, record| {
            if let Some(key) = record.key {
                latest.insert(key, header.base_offset + i64::from(record.offset_delta));
            }
            Ok(())
        })
    }
}

/// What is left of a batch after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanedBatch {
    /// Every record stays: the batch is kept byte for byte.
    Unchanged,
    /// Nothing stays.
    Empty,
    /// Some records stay, copied byte for byte at their original offsets.
    Rewritten(Vec<u8>),
}

/// Cleans one batch: a record stays if it is the latest of its key (or has
/// no key), and a tombstone stays unless `drop_tombstones`.
pub fn clean_batch(
    batch: &[u8],
    map: &OffsetMap,
    drop_tombstones: bool,
) -> Result<CleanedBatch, LogError> {
    let header = BatchHeader::parse(batch)
        .ok_or_else(|| LogError::CorruptMessage("truncated batch during cleaning".into()))?;
    if header.is_control() {
        return Ok(CleanedBatch::Unchanged);
    }
    let mut keep = Vec::new();
    let mut max_timestamp = i64::MIN;
    records::scan(batch, Some(&map.hasher), |_, record| {
        let offset = header.base_offset + i64::from(record.offset_delta);
        let stays = match record.key {
            None => true,
            Some(key) => {
                map.latest.get(&key).is_none_or(|o| *o <= offset)
                    && !(drop_tombstones && record.tombstone)
            }
        };
        if stays {
            max_timestamp = max_timestamp.max(header.base_timestamp + record.timestamp_delta);
        }
        keep.push(stays);
        Ok(())
    })?;
    let kept = keep.iter().filter(|k| **k).count();
    if kept == keep.len() {
        return Ok(CleanedBatch::Unchanged);
    }
    if kept == 0 {
        return Ok(CleanedBatch::Empty);
    }
    let max_timestamp = if header.is_log_append_time() {
        header.max_timestamp
    } else {
        max_timestamp
    };
    rewrite(batch, &header, &keep, kept, max_timestamp).map(CleanedBatch::Rewritten)
}

/// Builds a batch of the kept records under the original header, as
/// Kafka's cleaner does: same base offset, last offset delta, producer
/// fields, leader epoch and codec; new count, max timestamp, length and CRC.
fn rewrite(
    batch: &[u8],
    header: &BatchHeader,
    keep: &[bool],
    kept: usize,
    max_timestamp: i64,
) -> Result<Vec<u8>, LogError> {
    recompress::rebuild(
        batch,
        header,
        Rebuild {
            codec: header.compression(),
            level: None,
            keep: |i| keep.get(i).copied().unwrap_or(false),
            kept,
            max_timestamp,
        },
    )
}

/// Cleans the planned segments; returns the cleaned copies of those that
/// changed. Reads only closed segments, so it runs without the log's lock,
/// and holds one batch at a time (and one digest per key).
pub fn clean(plan: &CleaningPlan) -> Result<Vec<CleanedSegment>, LogError> {
    let mut map = OffsetMap::default();
    for s in &plan.segments {
        for_each_batch(&s.path, |batch| map.add(batch))?;
    }
    let mut cleaned = Vec::new();
    for segment in &plan.segments {
        let drop_tombstones =
            segment.max_timestamp >= 0 && segment.max_timestamp < plan.tombstone_horizon_ms;
        let path = segment.path.with_extension("log.cleaned");
        let file =
            File::create(&path).map_err(|e| LogError::io(&path, "create cleaned segment", e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut changed = false;
        let written = for_each_batch(&segment.path, |batch| {
            let kept = match clean_batch(batch, &map, drop_tombstones)? {
                CleanedBatch::Unchanged => Some(std::borrow::Cow::Borrowed(batch)),
                CleanedBatch::Empty => None,
                CleanedBatch::Rewritten(b) => Some(std::borrow::Cow::Owned(b)),
            };
            changed |= !matches!(kept, Some(std::borrow::Cow::Borrowed(_)));
            match kept {
                Some(b) => out
                    .write_all(&b)
                    .map_err(|e| LogError::io(&path, "write cleaned segment", e)),
                None => Ok(()),
            }
        })
        .and_then(|()| {
            out.into_inner()
                .map_err(|e| LogError::io(&path, "write cleaned segment", e.into_error()))?
                .sync_all()
                .map_err(|e| LogError::io(&path, "write cleaned segment", e))
        });
        if written.is_err() || !changed {
            let _ = std::fs::remove_file(&path);
            written?;
            continue;
        }
        cleaned.push(CleanedSegment {
            base_offset: segment.base_offset,
            path,
        });
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::encode_one_batch;
    use bytes::Bytes;
    use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, TimestampType};

    fn decode(batch: &[u8]) -> Result<Vec<Record>, LogError> {
        let mut buf = Bytes::copy_from_slice(batch);
        RecordBatchDecoder::decode(&mut buf)
            .map(|set| set.records)
            .map_err(|e| LogError::CorruptMessage(format!("{e:#}")))
    }

    fn offset_map(batches: &[&Bytes]) -> OffsetMap {
        let mut map = OffsetMap::default();
        for b in batches {
            map.add(b).unwrap();
        }
        map
    }

    fn batch(records: &[(i64, &str, Option<&str>)], compression: Compression) -> Bytes {
        let mut records: Vec<Record> = records
            .iter()
            .map(|(offset, key, value)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 3,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: *offset,
                sequence: -1,
                timestamp: 1_000 + offset,
                key: Some(Bytes::copy_from_slice(key.as_bytes())),
                value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                headers: Default::default(),
            })
            .collect();
        encode_one_batch(&mut records, compression)
            .unwrap()
            .freeze()
    }

    fn kept(b: &[u8]) -> Vec<(i64, String, Option<String>)> {
        decode(b)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.offset,
                    String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                    r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn only_the_latest_value_of_each_key_stays_at_its_offset() {
        for compression in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let old = batch(
                &[
                    (0, "a", Some("1")),
                    (1, "b", Some("1")),
                    (2, "a", Some("2")),
                ],
                compression,
            );
            let new = batch(&[(3, "b", Some("2")), (4, "c", Some("1"))], compression);
            let latest = offset_map(&[&old, &new]);
            let CleanedBatch::Rewritten(cleaned) = clean_batch(&old, &latest, false).unwrap()
            else {
                panic!("expected a rewrite")
            };
            assert_eq!(kept(&cleaned), vec![(2, "a".into(), Some("2".into()))]);
            let h = BatchHeader::parse(&cleaned).unwrap();
            assert_eq!(h.partition_leader_epoch, 3);
            assert!(super::super::batch::crc_matches(&cleaned));
            assert_eq!(
                clean_batch(&new, &latest, false).unwrap(),
                CleanedBatch::Unchanged
            );
        }
    }

    #[test]
    fn tombstones_stay_until_the_horizon_and_hide_older_values() {
        let b = batch(&[(0, "a", Some("1")), (1, "a", None)], Compression::None);
        let latest = offset_map(&[&b]);
        let CleanedBatch::Rewritten(kept_tombstone) = clean_batch(&b, &latest, false).unwrap()
        else {
            panic!()
        };
        assert_eq!(kept(&kept_tombstone), vec![(1, "a".into(), None)]);
        assert_eq!(clean_batch(&b, &latest, true).unwrap(), CleanedBatch::Empty);
    }

    #[test]
    fn cleaning_writes_copies_only_of_segments_that_change() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("00000000000000000000.log");
        let second = dir.path().join("00000000000000000002.log");
        std::fs::write(
            &first,
            batch(
                &[(0, "k", Some("old")), (1, "j", Some("x"))],
                Compression::None,
            ),
        )
        .unwrap();
        std::fs::write(&second, batch(&[(2, "k", Some("new"))], Compression::None)).unwrap();
        let plan = CleaningPlan {
            segments: vec![
                SegmentToClean {
                    base_offset: 0,
                    path: first,
                    max_timestamp: 1_001,
                },
                SegmentToClean {
                    base_offset: 2,
                    path: second,
                    max_timestamp: 1_002,
                },
            ],
            tombstone_horizon_ms: 0,
            end_offset: 3,
        };
        let cleaned = clean(&plan).unwrap();
        assert_eq!(cleaned.len(), 1);
        assert_eq!(cleaned[0].base_offset, 0);
        let bytes = Bytes::from(std::fs::read(&cleaned[0].path).unwrap());
        assert_eq!(kept(&bytes), vec![(1, "j".into(), Some("x".into()))]);
    }
}
