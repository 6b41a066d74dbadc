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
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Record, RecordBatchDecoder};

use super::batch::{encode_one_batch, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
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

/// Reads every batch of a segment file, in order.
fn read_batches(path: &Path) -> Result<Vec<Bytes>, LogError> {
    let file = File::open(path).map_err(|e| LogError::io(path, "open segment for cleaning", e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut batches = Vec::new();
    loop {
        let mut head = [0u8; LOG_OVERHEAD];
        match reader.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(LogError::io(path, "read segment for cleaning", e)),
        }
        let len = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        let total = usize::try_from(len)
            .ok()
            .map(|l| l + LOG_OVERHEAD)
            .filter(|t| *t >= HEADER_LEN)
            .ok_or_else(|| {
                LogError::CorruptMessage(format!("{}: batch length {len}", path.display()))
            })?;
        let mut buf = vec![0u8; total];
        buf[..LOG_OVERHEAD].copy_from_slice(&head);
        reader
            .read_exact(&mut buf[LOG_OVERHEAD..])
            .map_err(|e| LogError::io(path, "read segment for cleaning", e))?;
        batches.push(Bytes::from(buf));
    }
    Ok(batches)
}

fn decode(batch: &Bytes) -> Result<Vec<Record>, LogError> {
    let mut buf = batch.clone();
    RecordBatchDecoder::decode(&mut buf)
        .map(|set| set.records)
        .map_err(|e| {
            LogError::CorruptMessage(format!("batch does not decode during cleaning: {e:#}"))
        })
}

/// The latest offset of every key in the batches given.
pub fn build_offset_map<'a>(
    batches: impl IntoIterator<Item = &'a Bytes>,
) -> Result<HashMap<Bytes, i64>, LogError> {
    let mut map = HashMap::new();
    for batch in batches {
        if BatchHeader::parse(batch).is_some_and(|h| h.is_control()) {
            continue;
        }
        for record in decode(batch)? {
            if let Some(key) = record.key {
                // Copied so the map does not pin whole decompressed batches.
                let key = Bytes::copy_from_slice(&key);
                map.insert(key, record.offset);
            }
        }
    }
    Ok(map)
}

/// What is left of a batch after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanedBatch {
    /// Every record stays: the batch is kept byte for byte.
    Unchanged,
    /// Nothing stays.
    Empty,
    /// Some records stay, re-encoded with their original offsets.
    Rewritten(Bytes),
}

/// Cleans one batch: a record stays if it is the latest of its key (or has
/// no key), and a tombstone stays unless `drop_tombstones`.
pub fn clean_batch(
    batch: &Bytes,
    latest: &HashMap<Bytes, i64>,
    drop_tombstones: bool,
) -> Result<CleanedBatch, LogError> {
    let header = BatchHeader::parse(batch)
        .ok_or_else(|| LogError::CorruptMessage("truncated batch during cleaning".into()))?;
    if header.is_control() {
        return Ok(CleanedBatch::Unchanged);
    }
    let records = decode(batch)?;
    let total = records.len();
    let mut kept: Vec<Record> = records
        .into_iter()
        .filter(|r| match &r.key {
            None => true,
            Some(key) => {
                latest.get(key).is_none_or(|o| *o <= r.offset)
                    && !(drop_tombstones && r.value.is_none())
            }
        })
        .collect();
    if kept.len() == total {
        return Ok(CleanedBatch::Unchanged);
    }
    if kept.is_empty() {
        return Ok(CleanedBatch::Empty);
    }
    let mut out = encode_one_batch(&mut kept, header.compression())?;
    // The encoder knows nothing of the leader epoch, which the CRC does not
    // cover: put the original back.
    super::batch::set_leader_epoch(&mut out, header.partition_leader_epoch);
    Ok(CleanedBatch::Rewritten(out.freeze()))
}

/// Cleans the planned segments; returns the cleaned copies of those that
/// changed. Reads only closed segments, so it runs without the log's lock.
pub fn clean(plan: &CleaningPlan) -> Result<Vec<CleanedSegment>, LogError> {
    let mut segments = Vec::with_capacity(plan.segments.len());
    for s in &plan.segments {
        segments.push((s, read_batches(&s.path)?));
    }
    let latest = build_offset_map(segments.iter().flat_map(|(_, batches)| batches.iter()))?;
    let mut cleaned = Vec::new();
    for (segment, batches) in &segments {
        let drop_tombstones =
            segment.max_timestamp >= 0 && segment.max_timestamp < plan.tombstone_horizon_ms;
        let mut out = BytesMut::new();
        let mut changed = false;
        for batch in batches {
            match clean_batch(batch, &latest, drop_tombstones)? {
                CleanedBatch::Unchanged => out.extend_from_slice(batch),
                CleanedBatch::Empty => changed = true,
                CleanedBatch::Rewritten(b) => {
                    changed = true;
                    out.extend_from_slice(&b);
                }
            }
        }
        if !changed {
            continue;
        }
        let path = segment.path.with_extension("log.cleaned");
        let mut file =
            File::create(&path).map_err(|e| LogError::io(&path, "create cleaned segment", e))?;
        file.write_all(&out)
            .and_then(|_| file.sync_all())
            .map_err(|e| LogError::io(&path, "write cleaned segment", e))?;
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
    use kafka_protocol::records::{Compression, TimestampType};

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

    fn kept(b: &Bytes) -> Vec<(i64, String, Option<String>)> {
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
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let old = batch(
                &[
                    (0, "a", Some("1")),
                    (1, "b", Some("1")),
                    (2, "a", Some("2")),
                ],
                compression,
            );
            let new = batch(&[(3, "b", Some("2")), (4, "c", Some("1"))], compression);
            let latest = build_offset_map([&old, &new]).unwrap();
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
        let latest = build_offset_map([&b]).unwrap();
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
