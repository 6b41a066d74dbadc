//! Validation and offset assignment of produced batches, as Kafka's
//! `LogValidator` does: a pure function over the request's bytes, so every
//! rule is tested without touching a file.

use super::batch::{self, BatchHeader, LOG_OVERHEAD};
use super::records;
use super::segment::PlacedBatch;
use super::{LogConfig, LogError, TimestampType};

/// Checks every batch in `buf`, then assigns offsets from `next_offset` and
/// the leader epoch in place (and LogAppendTime when configured). Nothing is
/// modified unless every batch is valid.
pub fn validate_and_assign(
    buf: &mut [u8],
    config: &LogConfig,
    next_offset: i64,
    leader_epoch: i32,
    now_ms: i64,
) -> Result<Vec<PlacedBatch>, LogError> {
    if buf.is_empty() {
        return Err(LogError::InvalidRecord(
            "produce request carries no record batch".into(),
        ));
    }
    if buf.len() as u64 > config.segment_bytes {
        return Err(LogError::RecordListTooLarge {
            size: buf.len(),
            max: config.segment_bytes,
        });
    }
    let mut placed = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        if rest.len() < LOG_OVERHEAD + 5 {
            return Err(LogError::CorruptMessage(format!(
                "{} trailing bytes are too short for a record batch",
                rest.len()
            )));
        }
        let magic = rest[16] as i8;
        if magic != 2 {
            return Err(LogError::InvalidRecord(format!(
                "record batch magic {magic} is not supported: produce v3+ requires magic 2"
            )));
        }
        let header = BatchHeader::parse(rest)
            .ok_or_else(|| LogError::CorruptMessage("truncated record batch header".into()))?;
        let size = header.total_size().ok_or_else(|| {
            LogError::CorruptMessage(format!("invalid batch length {}", header.batch_length))
        })?;
        if size > rest.len() {
            return Err(LogError::CorruptMessage(format!(
                "batch length {size} exceeds the {} bytes remaining in the request",
                rest.len()
            )));
        }
        if size > config.max_message_bytes as usize {
            return Err(LogError::MessageTooLarge {
                size,
                max: config.max_message_bytes,
            });
        }
        let bytes = &rest[..size];
        if !batch::crc_matches(bytes) {
            return Err(LogError::CorruptMessage("record batch CRC mismatch".into()));
        }
        validate_header(&header, config, now_ms)?;
        inspect_records(bytes, config.compact)?;
        placed.push(PlacedBatch {
            header,
            start: pos,
            len: size,
        });
        pos += size;
    }

    let mut offset = next_offset;
    for p in &mut placed {
        let b = &mut buf[p.start..p.start + p.len];
        batch::set_base_offset(b, offset);
        batch::set_leader_epoch(b, leader_epoch);
        if config.timestamp_type == TimestampType::LogAppendTime {
            batch::set_log_append_time(b, now_ms);
        }
        if let Some(h) = BatchHeader::parse(b) {
            p.header = h;
        }
        offset = p.header.next_offset();
    }
    Ok(placed)
}

fn validate_header(h: &BatchHeader, config: &LogConfig, now_ms: i64) -> Result<(), LogError> {
    if h.records_count < 1 || h.last_offset_delta != h.records_count - 1 {
        return Err(LogError::InvalidRecord(format!(
            "batch has {} records but last offset delta {}",
            h.records_count, h.last_offset_delta
        )));
    }
    if h.is_transactional() || h.is_control() {
        return Err(LogError::InvalidRecord(
            "transactional and control batches are not supported yet".into(),
        ));
    }
    if config.timestamp_type == TimestampType::CreateTime {
        for ts in [h.base_timestamp, h.max_timestamp] {
            if ts == -1 {
                continue;
            }
            if ts < now_ms.saturating_sub(config.timestamp_before_max_ms) {
                return Err(LogError::InvalidTimestamp(format!(
                    "timestamp {ts} is more than message.timestamp.before.max.ms={} before the broker time {now_ms}",
                    config.timestamp_before_max_ms
                )));
            }
            if ts > now_ms.saturating_add(config.timestamp_after_max_ms) {
                return Err(LogError::InvalidTimestamp(format!(
                    "timestamp {ts} is more than message.timestamp.after.max.ms={} after the broker time {now_ms}",
                    config.timestamp_after_max_ms
                )));
            }
        }
    }
    Ok(())
}

/// Kafka's reason for a keyless record in a compacted topic.
const KEYLESS: &str = "Compacted topic cannot accept message without key.";

/// Reads every record as Kafka's `LogValidator` does, streaming and
/// skipping values: their count and sizes must match the header, and a
/// compacted topic needs a key on each; every keyless record is named.
fn inspect_records(batch: &[u8], compact: bool) -> Result<(), LogError> {
    let mut keyless = Vec::new();
    records::scan(batch, None, |index, record| {
        if compact && !record.has_key {
            keyless.push((
                i32::try_from(index).unwrap_or(i32::MAX),
                KEYLESS.to_string(),
            ));
        }
        Ok(())
    })?;
    if keyless.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = keyless
        .iter()
        .take(3)
        .map(|(i, m)| format!("RecordError(batchIndex={i}, message='{m}')"))
        .collect();
    Err(LogError::RecordErrors {
        message: format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            keyless.len(),
            shown.join(", ")
        ),
        records: keyless,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::tests::batch_with;
    use kafka_protocol::error::ResponseError;
    use kafka_protocol::records::Compression;

    const NOW: i64 = 1_700_000_000_000;

    fn code(r: Result<Vec<PlacedBatch>, LogError>) -> ResponseError {
        r.unwrap_err().error_code()
    }

    #[test]
    fn offsets_are_assigned_across_several_batches() {
        let mut buf = batch_with(3, &[NOW], Compression::None, true).to_vec();
        buf.extend_from_slice(&batch_with(2, &[NOW], Compression::Lz4, true));
        let placed = validate_and_assign(&mut buf, &LogConfig::default(), 100, 4, NOW).unwrap();
        assert_eq!(placed.len(), 2);
        assert_eq!(
            (placed[0].header.base_offset, placed[0].header.last_offset()),
            (100, 102)
        );
        assert_eq!(
            (placed[1].header.base_offset, placed[1].header.last_offset()),
            (103, 104)
        );
        assert_eq!(placed[1].header.partition_leader_epoch, 4);
        assert!(batch::crc_matches(&buf[placed[1].start..]));
    }

    #[test]
    fn corrupt_and_invalid_batches_get_kafka_errors_and_are_left_untouched() {
        let cfg = LogConfig::default();
        let good = batch_with(2, &[NOW], Compression::None, true).to_vec();

        let mut bad_crc = good.clone();
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 0xff;
        let before = bad_crc.clone();
        assert_eq!(
            code(validate_and_assign(&mut bad_crc, &cfg, 0, 0, NOW)),
            ResponseError::CorruptMessage
        );
        assert_eq!(bad_crc, before);

        let mut truncated = good[..good.len() - 3].to_vec();
        assert_eq!(
            code(validate_and_assign(&mut truncated, &cfg, 0, 0, NOW)),
            ResponseError::CorruptMessage
        );

        let mut magic1 = good.clone();
        magic1[16] = 1;
        assert_eq!(
            code(validate_and_assign(&mut magic1, &cfg, 0, 0, NOW)),
            ResponseError::InvalidRecord
        );

        let mut empty: Vec<u8> = vec![];
        assert_eq!(
            code(validate_and_assign(&mut empty, &cfg, 0, 0, NOW)),
            ResponseError::InvalidRecord
        );

        let mut garbage = vec![7u8; 100];
        assert!(validate_and_assign(&mut garbage, &cfg, 0, 0, NOW).is_err());
    }

    #[test]
    fn oversized_batches_are_refused() {
        let cfg = LogConfig {
            max_message_bytes: 50,
            ..LogConfig::default()
        };
        let mut b = batch_with(5, &[NOW], Compression::None, true).to_vec();
        assert_eq!(
            code(validate_and_assign(&mut b, &cfg, 0, 0, NOW)),
            ResponseError::MessageTooLarge
        );
        let cfg = LogConfig {
            segment_bytes: 50,
            ..LogConfig::default()
        };
        assert_eq!(
            code(validate_and_assign(&mut b, &cfg, 0, 0, NOW)),
            ResponseError::RecordListTooLarge
        );
    }

    #[test]
    fn timestamps_outside_the_allowed_window_are_refused() {
        let cfg = LogConfig {
            timestamp_before_max_ms: 1000,
            ..LogConfig::default()
        };
        let mut old = batch_with(1, &[NOW - 5000], Compression::None, true).to_vec();
        assert_eq!(
            code(validate_and_assign(&mut old, &cfg, 0, 0, NOW)),
            ResponseError::InvalidTimestamp
        );
        let mut future = batch_with(1, &[NOW + 3_600_001], Compression::None, true).to_vec();
        assert_eq!(
            code(validate_and_assign(
                &mut future,
                &LogConfig::default(),
                0,
                0,
                NOW
            )),
            ResponseError::InvalidTimestamp
        );
    }

    #[test]
    fn log_append_time_overrides_the_producer_timestamp() {
        let cfg = LogConfig {
            timestamp_type: TimestampType::LogAppendTime,
            ..LogConfig::default()
        };
        let mut b = batch_with(2, &[5, 6], Compression::Snappy, true).to_vec();
        let placed = validate_and_assign(&mut b, &cfg, 0, 0, NOW).unwrap();
        assert!(placed[0].header.is_log_append_time());
        assert_eq!(placed[0].header.max_timestamp, NOW);
        assert!(batch::crc_matches(&b));
    }

    #[test]
    fn compacted_topics_require_keys() {
        let cfg = LogConfig {
            compact: true,
            ..LogConfig::default()
        };
        let mut keyless = batch_with(2, &[NOW], Compression::Zstd, false).to_vec();
        assert_eq!(
            code(validate_and_assign(&mut keyless, &cfg, 0, 0, NOW)),
            ResponseError::InvalidRecord
        );
        let mut keyed = batch_with(2, &[NOW], Compression::Zstd, true).to_vec();
        assert!(validate_and_assign(&mut keyed, &cfg, 0, 0, NOW).is_ok());
    }
}
