//! A read-only view of a record batch header in Kafka's v2 format, and the
//! few in-place rewrites a broker makes.
//!
//! Layout (big-endian): baseOffset i64 @0, batchLength i32 @8,
//! partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17 (CRC-32C of bytes
//! 21..end), attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64
//! @27, maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51,
//! baseSequence i32 @53, recordsCount i32 @57, records @61. Only the fields
//! the CRC does not cover (base offset, leader epoch) are rewritten on
//! append; records are decoded, when needed at all, with `kafka-protocol`.

use bytes::BytesMut;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};

use super::LogError;

/// Size of the v2 batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength`'s count starts: base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
/// Where the CRC-covered part of a batch begins.
const CRC_START: usize = 21;

/// The fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the length field.
    pub batch_length: i32,
    /// Leader epoch when the batch was appended.
    pub partition_leader_epoch: i32,
    /// Format version; 2 for every batch we store.
    pub magic: i8,
    /// CRC-32C of the attributes onward.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// Offset of the last record relative to the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp (or the append time with LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Idempotent producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub records_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Reads a header from the start of `buf`; `None` if `buf` is shorter
    /// than a header.
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < HEADER_LEN {
            return None;
        }
        Some(BatchHeader {
            base_offset: i64_at(buf, 0),
            batch_length: i32_at(buf, 8),
            partition_leader_epoch: i32_at(buf, 12),
            magic: buf[16] as i8,
            crc: u32::from_be_bytes([buf[17], buf[18], buf[19], buf[20]]),
            attributes: i16_at(buf, 21),
            last_offset_delta: i32_at(buf, 23),
            base_timestamp: i64_at(buf, 27),
            max_timestamp: i64_at(buf, 35),
            producer_id: i64_at(buf, 43),
            producer_epoch: i16_at(buf, 51),
            base_sequence: i32_at(buf, 53),
            records_count: i32_at(buf, 57),
        })
    }

    /// Whole size of the batch on disk, or `None` for an impossible length.
    pub fn total_size(&self) -> Option<usize> {
        let len = usize::try_from(self.batch_length).ok()?;
        (len >= HEADER_LEN - LOG_OVERHEAD).then_some(len + LOG_OVERHEAD)
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Offset after the last record.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Whether the batch carries LogAppendTime timestamps.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & 0x08 != 0
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    /// Whether the batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    /// Whether the records are compressed.
    pub fn is_compressed(&self) -> bool {
        self.attributes & 0x07 != 0
    }

    /// The codec the records are compressed with.
    pub fn compression(&self) -> Compression {
        match self.attributes & 0x07 {
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// Encodes records the broker writes itself (coordinator records, cleaned
/// batches) as one v2 batch, each record at its own offset.
///
/// `kafka-protocol`'s encoder starts a new batch wherever `offset -
/// sequence` changes. Idempotent records keep that difference; the others
/// (sequence -1) get sequences that follow their offsets, starting at -1 so
/// the batch's base sequence stays -1 as Kafka writes it.
pub fn encode_one_batch(
    records: &mut [Record],
    compression: Compression,
) -> Result<BytesMut, LogError> {
    if let Some(first) = records.first().map(|r| r.offset) {
        for r in records.iter_mut().filter(|r| r.producer_id < 0) {
            r.sequence = i32::try_from(r.offset - first)
                .unwrap_or(i32::MAX)
                .wrapping_sub(1);
        }
    }
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &*records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| LogError::InvalidRecord(format!("encoding a record batch failed: {e:#}")))?;
    Ok(buf)
}

/// Whether the CRC stored in `batch` (one whole batch) matches its contents.
pub fn crc_matches(batch: &[u8]) -> bool {
    match BatchHeader::parse(batch) {
        Some(h) => crc32c::crc32c(&batch[CRC_START..]) == h.crc,
        None => false,
    }
}

/// Sets the base offset (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], offset: i64) {
    batch[0..8].copy_from_slice(&offset.to_be_bytes());
}

/// Sets the partition leader epoch (not covered by the CRC).
pub fn set_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks the batch as LogAppendTime with `now` as its max timestamp and
/// recomputes the CRC, as Kafka does for `message.timestamp.type=LogAppendTime`.
pub fn set_log_append_time(batch: &mut [u8], now: i64) {
    let attributes = i16_at(batch, 21) | 0x08;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&now.to_be_bytes());
    set_crc(batch);
}

/// Recomputes the CRC after a change to the fields it covers.
pub fn set_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::records::TimestampType;

    /// Encodes `n` keyed records with the given timestamps into one v2 batch.
    pub(crate) fn batch_with(
        n: usize,
        timestamps: &[i64],
        compression: Compression,
        keyed: bool,
    ) -> Bytes {
        let mut records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: timestamps.get(i).copied().unwrap_or(1_000),
                key: keyed.then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("value-{i}"))),
                headers: Default::default(),
            })
            .collect();
        encode_one_batch(&mut records, compression)
            .unwrap()
            .freeze()
    }

    #[test]
    fn header_fields_are_read_and_offsets_rewritten_without_breaking_the_crc() {
        let bytes = batch_with(3, &[10, 30, 20], Compression::None, true);
        let mut b = bytes.to_vec();
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!((h.magic, h.records_count, h.last_offset_delta), (2, 3, 2));
        assert_eq!((h.base_timestamp, h.max_timestamp), (10, 30));
        assert_eq!(h.total_size(), Some(b.len()));
        set_base_offset(&mut b, 42);
        set_leader_epoch(&mut b, 7);
        assert!(crc_matches(&b));
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.last_offset()),
            (42, 7, 44)
        );
    }

    #[test]
    fn log_append_time_rewrite_keeps_the_batch_valid() {
        let mut b = batch_with(2, &[1, 2], Compression::Gzip, true).to_vec();
        set_log_append_time(&mut b, 99);
        assert!(crc_matches(&b));
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99);
        b[70] ^= 1;
        assert!(!crc_matches(&b));
    }
}
