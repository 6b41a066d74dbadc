//! Tests of the whole log: appends, reads, rolls, recovery and retention.

use std::io::Write;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use proptest::prelude::*;

use super::batch::tests::batch_with;
use super::batch::BatchHeader;
use super::*;

const NOW: i64 = 1_700_000_000_000;

fn small_segments(bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes: bytes,
        index_interval_bytes: 64,
        ..LogConfig::default()
    }
}

fn batch(n: usize) -> Bytes {
    batch_with(n, &[NOW], Compression::None, true)
}

/// Offsets of every batch in a read result, checking each batch is intact.
fn offsets(bytes: &[u8]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = BatchHeader::parse(&bytes[pos..]) {
        let size = h.total_size().unwrap();
        assert!(super::batch::crc_matches(&bytes[pos..pos + size]));
        out.push((h.base_offset, h.last_offset()));
        pos += size;
    }
    assert_eq!(pos, bytes.len());
    out
}

fn read_all(log: &Log) -> Vec<(i64, i64)> {
    let mut all = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let got = offsets(&log.read(next, 1 << 20, i64::MAX, true).unwrap());
        assert!(!got.is_empty(), "no progress at {next}");
        next = got.last().unwrap().1 + 1;
        all.extend(got);
    }
    all
}

#[test]
fn appended_batches_are_read_back_with_assigned_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    let a = log.append_as_leader(batch(3), 0, NOW).unwrap();
    let b = log.append_as_leader(batch(2), 0, NOW).unwrap();
    assert_eq!((a.base_offset, a.last_offset, a.record_count), (0, 2, 3));
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(
        offsets(&log.read(0, 1 << 20, i64::MAX, true).unwrap()),
        vec![(0, 2), (3, 4)]
    );
    assert_eq!(
        offsets(&log.read(4, 1 << 20, i64::MAX, true).unwrap()),
        vec![(3, 4)]
    );
    assert!(log.read(5, 1 << 20, i64::MAX, true).unwrap().is_empty());
    assert!(matches!(
        log.read(6, 100, i64::MAX, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn reads_respect_high_watermark_and_byte_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    for _ in 0..3 {
        log.append_as_leader(batch(2), 0, NOW).unwrap();
    }
    assert_eq!(
        offsets(&log.read(0, 1 << 20, 4, true).unwrap()),
        vec![(0, 1), (2, 3)]
    );
    assert_eq!(
        offsets(&log.read(0, 1, i64::MAX, true).unwrap()),
        vec![(0, 1)]
    );
    assert!(log.read(0, 1, i64::MAX, false).unwrap().is_empty());
    assert!(log.read(0, 1 << 20, 1, true).unwrap().is_empty());
}

#[test]
fn segments_roll_by_size_and_time_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(400), NOW).unwrap();
    for _ in 0..20 {
        log.append_as_leader(batch(2), 0, NOW).unwrap();
    }
    assert!(log.segment_count() > 3);
    let all = read_all(&log);
    assert_eq!(all.len(), 20);
    assert_eq!(all.last().unwrap().1, 39);
    for offset in [0, 7, 21, 39] {
        let got = offsets(&log.read(offset, 100, i64::MAX, true).unwrap());
        assert!(got[0].0 <= offset && offset <= got[0].1, "{offset} {got:?}");
    }
    let segments = log.segment_count();
    let mut cfg = small_segments(1 << 30);
    cfg.segment_ms = 1000;
    log.update_config(cfg);
    log.append_as_leader(batch(1), 0, NOW + 5000).unwrap();
    assert_eq!(log.segment_count(), segments + 1);
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(300), NOW).unwrap();
    for (i, codec) in [Compression::None, Compression::Gzip, Compression::Lz4]
        .iter()
        .enumerate()
    {
        let base = NOW + 100 * i as i64;
        log.append_as_leader(
            batch_with(3, &[base, base + 10, base + 20], *codec, true),
            0,
            NOW,
        )
        .unwrap();
    }
    let at = |t| {
        log.offset_for_timestamp(t)
            .unwrap()
            .map(|f| (f.offset, f.timestamp))
    };
    assert_eq!(at(0), Some((0, NOW)));
    assert_eq!(at(NOW + 5), Some((1, NOW + 10)));
    assert_eq!(at(NOW + 110), Some((4, NOW + 110)));
    assert_eq!(at(NOW + 201), Some((7, NOW + 210)));
    assert_eq!(at(NOW + 221), None);
    let max = log.max_timestamp().unwrap().unwrap();
    assert_eq!((max.offset, max.timestamp), (8, NOW + 220));
}

#[test]
fn torn_tail_is_truncated_on_recovery_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
        for _ in 0..5 {
            log.append_as_leader(batch(2), 0, NOW).unwrap();
        }
        // dropped without close(): like kill -9
    }
    let seg = dir.path().join("00000000000000000000.log");
    let good = std::fs::metadata(&seg).unwrap().len();
    let partial = batch(4);
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&partial[..partial.len() / 2]).unwrap();
    drop(f);

    let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good);
    assert_eq!(log.log_end_offset(), 10);
    assert_eq!(read_all(&log).len(), 5);
    assert_eq!(
        log.append_as_leader(batch(1), 0, NOW).unwrap().base_offset,
        10
    );
}

#[test]
fn a_corrupt_batch_ends_the_recovered_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
        for _ in 0..4 {
            log.append_as_leader(batch(2), 0, NOW).unwrap();
        }
    }
    let seg = dir.path().join("00000000000000000000.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let third = 2 * batch(2).len() + 70;
    bytes[third] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    assert_eq!(read_all(&log), vec![(0, 1), (2, 3)]);
}

#[test]
fn missing_indexes_are_rebuilt_after_a_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(500), NOW).unwrap();
    for _ in 0..30 {
        log.append_as_leader(batch(2), 0, NOW).unwrap();
    }
    log.close().unwrap();
    let indexes = || -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "index" || e == "timeindex")
            })
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let written = indexes();
    assert!(
        written.len() >= 2,
        "segments with their indexes: {written:?}"
    );
    for p in written.keys() {
        std::fs::remove_file(p).unwrap();
    }
    let log = Log::open(dir.path(), small_segments(500), NOW).unwrap();
    assert_eq!(read_all(&log).len(), 30);
    assert_eq!(
        offsets(&log.read(33, 10, i64::MAX, true).unwrap()),
        vec![(32, 33)]
    );
    log.close().unwrap();
    assert_eq!(
        indexes(),
        written,
        "the rebuilt indexes are the ones the appends wrote"
    );
}

#[test]
fn retention_by_size_and_time_deletes_whole_segments_and_moves_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_segments(400);
    let mut log = Log::open(dir.path(), cfg.clone(), NOW).unwrap();
    for _ in 0..20 {
        log.append_as_leader(batch(2), 0, NOW).unwrap();
    }
    let before = log.segment_count();
    cfg.retention_bytes = 1000;
    log.update_config(cfg.clone());
    let deleted = log.enforce_retention(NOW, i64::MAX).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), before - deleted);
    assert!(log.size_bytes() <= 1000 + 400);
    let start = log.log_start_offset();
    assert!(start > 0);
    assert_eq!(read_all(&log).first().unwrap().0, start);
    log.close().unwrap();

    let mut log = Log::open(dir.path(), cfg.clone(), NOW).unwrap();
    assert_eq!(log.log_start_offset(), start);
    cfg.retention_bytes = -1;
    cfg.retention_ms = 1000;
    log.update_config(cfg);
    log.enforce_retention(NOW + 10_000, i64::MAX).unwrap();
    assert_eq!(log.log_start_offset(), 40);
    assert_eq!(log.log_end_offset(), 40);
    assert_eq!(
        log.append_as_leader(batch(1), 0, NOW + 10_000)
            .unwrap()
            .base_offset,
        40
    );
}

#[test]
fn delete_records_moves_log_start_and_refuses_offsets_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(300), NOW).unwrap();
    for _ in 0..10 {
        log.append_as_leader(batch(2), 0, NOW).unwrap();
    }
    assert_eq!(log.delete_records_before(7).unwrap(), 7);
    assert!(matches!(
        log.read(5, 100, i64::MAX, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        offsets(&log.read(7, 100, i64::MAX, true).unwrap())[0],
        (6, 7)
    );
    assert!(log.delete_records_before(21).is_err());
    drop(log);
    let log = Log::open(dir.path(), small_segments(300), NOW).unwrap();
    assert_eq!(log.log_start_offset(), 7);
}

#[test]
fn leader_epochs_are_checkpointed_and_answer_end_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    log.append_as_leader(batch(2), 0, NOW).unwrap();
    log.append_as_leader(batch(2), 3, NOW).unwrap();
    drop(log);
    let log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 4)));
    assert_eq!(log.end_offset_for_epoch(9), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_cut_anywhere_never_loses_an_earlier_batch_or_returns_a_corrupt_one(
        sizes in prop::collection::vec(1usize..6, 1..15),
        cut_fraction in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut ends = Vec::new();
        {
            let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
            for n in &sizes {
                log.append_as_leader(batch(*n), 0, NOW).unwrap();
                ends.push((log.size_bytes(), log.log_end_offset()));
            }
        }
        let seg = dir.path().join("00000000000000000000.log");
        let total = std::fs::metadata(&seg).unwrap().len();
        let cut = (total as f64 * cut_fraction) as u64;
        std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(cut).unwrap();
        let log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
        let expected_end = ends.iter().filter(|(size, _)| *size <= cut).map(|(_, end)| *end).next_back().unwrap_or(0);
        prop_assert_eq!(log.log_end_offset(), expected_end);
        let all = read_all(&log);
        prop_assert_eq!(all.last().map_or(0, |b| b.1 + 1), expected_end);
    }
}

/// A batch of keyed records with the given (key, value) pairs.
fn keyed(pairs: &[(&str, Option<&str>)]) -> Bytes {
    use kafka_protocol::records::{Record, TimestampType};
    let mut records: Vec<Record> = pairs
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: NOW,
            key: Some(Bytes::copy_from_slice(k.as_bytes())),
            value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    super::batch::encode_one_batch(&mut records, Compression::None)
        .unwrap()
        .freeze()
}

/// Every (offset, key, value) in the log.
fn records(log: &Log) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let mut bytes = log.read(next, 1 << 20, i64::MAX, true).unwrap();
        if bytes.is_empty() {
            break;
        }
        for set in kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes).unwrap() {
            for r in set.records {
                next = r.offset + 1;
                out.push((
                    r.offset,
                    String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                    r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
                ));
            }
        }
    }
    out
}

#[test]
fn compaction_keeps_the_latest_value_per_key_at_its_offset_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        compact: true,
        delete: false,
        segment_bytes: 200,
        ..small_segments(200)
    };
    let mut log = Log::open(dir.path(), config.clone(), NOW).unwrap();
    for round in 0..6 {
        let v = format!("v{round}");
        log.append_as_leader(keyed(&[("a", Some(&v)), ("b", Some(&v))]), 0, NOW)
            .unwrap();
    }
    log.append_as_leader(keyed(&[("b", None)]), 0, NOW).unwrap();
    log.append_as_leader(keyed(&[("c", Some("last"))]), 0, NOW)
        .unwrap();
    assert!(log.segment_count() > 2);
    let end = log.log_end_offset();

    let plan = log.cleaning_plan(NOW).expect("dirty log gets a plan");
    assert!(plan
        .segments
        .iter()
        .all(|s| s.base_offset < log.active().base_offset()));
    let cleaned = cleaner::clean(&plan).unwrap();
    log.install_cleaned(&plan, cleaned, NOW).unwrap();
    assert!(log.cleaning_plan(NOW).is_none(), "nothing new to clean");

    let after = records(&log);
    assert_eq!(log.log_end_offset(), end, "offsets never change");
    let keys: Vec<&str> = after.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(keys.iter().filter(|k| **k == "a").count(), 1, "{after:?}");
    let a = after.iter().find(|(_, k, _)| k == "a").unwrap();
    assert_eq!((a.0, a.2.as_deref()), (10, Some("v5")));
    assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(after.last().unwrap().2.as_deref(), Some("last"));

    log.close().unwrap();
    let reopened = Log::open(dir.path(), config, NOW).unwrap();
    assert_eq!(records(&reopened), after);
    assert_eq!(reopened.log_end_offset(), end);
}

#[test]
fn tombstones_go_after_delete_retention_ms() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        compact: true,
        delete: false,
        delete_retention_ms: 1_000,
        ..small_segments(150)
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    log.append_as_leader(keyed(&[("gone", Some("x"))]), 0, NOW)
        .unwrap();
    log.append_as_leader(keyed(&[("gone", None)]), 0, NOW)
        .unwrap();
    for i in 0..4 {
        log.append_as_leader(keyed(&[("other", Some(&i.to_string()))]), 0, NOW)
            .unwrap();
    }
    let later = NOW + 10_000;
    let plan = log.cleaning_plan(later).unwrap();
    let cleaned = cleaner::clean(&plan).unwrap();
    log.install_cleaned(&plan, cleaned, later).unwrap();
    assert!(
        records(&log).iter().all(|(_, k, _)| k != "gone"),
        "{:?}",
        records(&log)
    );
}

#[test]
fn retention_keeps_what_is_above_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_bytes: 0,
        ..small_segments(100)
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    for _ in 0..4 {
        log.append_as_leader(batch(1), 0, NOW).unwrap();
    }
    // Offsets 0..4 are stored in four segments; only 0 and 1 are replicated.
    log.enforce_retention(NOW, 2).unwrap();
    assert_eq!(log.log_start_offset(), 2);
    assert_eq!(log.log_end_offset(), 4);
}
