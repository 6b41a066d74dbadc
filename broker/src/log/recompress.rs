//! Rebuilding a batch's records section with another codec or without some
//! records: the topic's `compression.type` differs from the producer's (the
//! broker recompresses, as Kafka's `LogValidator` does) or the cleaner
//! dropped records. The header keeps its offsets, producer fields, leader
//! epoch and timestamps; length, count, codec bits and CRC are rewritten.

use kafka_protocol::records::Compression;

use super::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use super::codec::{self, TopicCompression};
use super::records;
use super::segment::PlacedBatch;
use super::LogError;

/// How a batch is rebuilt.
pub struct Rebuild<K: FnMut(usize) -> bool> {
    /// The codec of the new records section, at this level.
    pub codec: Compression,
    /// KIP-390's level; `None` for the codec's default.
    pub level: Option<i32>,
    /// Which records (by index in the batch) stay.
    pub keep: K,
    /// How many stay.
    pub kept: usize,
    /// The new batch's max timestamp.
    pub max_timestamp: i64,
}

/// Builds `batch` (whose header is `header`) anew as `how` says.
pub fn rebuild<K: FnMut(usize) -> bool>(
    batch: &[u8],
    header: &BatchHeader,
    how: Rebuild<K>,
) -> Result<Vec<u8>, LogError> {
    let mut out = batch[..HEADER_LEN].to_vec();
    let write_failed =
        |e: std::io::Error| LogError::CorruptMessage(format!("recompressing a batch: {e}"));
    {
        let mut payload =
            codec::compressor_at(how.codec, how.level, &mut out).map_err(write_failed)?;
        records::copy_records(batch, how.keep, &mut payload)?;
        payload.finish().map_err(write_failed)?;
    }
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| LogError::InvalidRecord("rebuilt batch over 2 GiB".into()))?;
    let count = i32::try_from(how.kept).unwrap_or(i32::MAX);
    let attributes = (header.attributes & !0x07) | codec_id(how.codec);
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    out[35..43].copy_from_slice(&how.max_timestamp.to_be_bytes());
    out[57..61].copy_from_slice(&count.to_be_bytes());
    batch::set_crc(&mut out);
    Ok(out)
}

fn codec_id(codec: Compression) -> i16 {
    match codec {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    }
}

/// A rebuilt request buffer and where its batches now are.
pub type Rebuilt = (Vec<u8>, Vec<PlacedBatch>);

/// The validated batches of `buf` (at `placed`) with every batch whose
/// codec is not the topic's rewritten in it; `None` when all are stored as
/// sent, the fast path.
pub fn to_topic_codec(
    buf: &[u8],
    placed: &[PlacedBatch],
    target: TopicCompression,
) -> Result<Option<Rebuilt>, LogError> {
    if !placed
        .iter()
        .any(|p| target.recompress_to(p.header.compression()).is_some())
    {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(buf.len());
    let mut moved = Vec::with_capacity(placed.len());
    for p in placed {
        let bytes = &buf[p.start..p.start + p.len];
        let start = out.len();
        match target.recompress_to(p.header.compression()) {
            Some((codec, level)) => {
                let kept = usize::try_from(p.header.records_count).unwrap_or(0);
                out.extend_from_slice(&rebuild(
                    bytes,
                    &p.header,
                    Rebuild {
                        codec,
                        level,
                        keep: |_| true,
                        kept,
                        max_timestamp: p.header.max_timestamp,
                    },
                )?);
            }
            None => out.extend_from_slice(bytes),
        }
        let header = BatchHeader::parse(&out[start..])
            .ok_or_else(|| LogError::CorruptMessage("rebuilt batch lost its header".into()))?;
        moved.push(PlacedBatch {
            header,
            start,
            len: out.len() - start,
        });
    }
    Ok(Some((out, moved)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::tests::batch_with;
    use crate::log::validate::validate_and_assign;
    use crate::log::LogConfig;
    use bytes::Bytes;
    use kafka_protocol::records::RecordBatchDecoder;

    const NOW: i64 = 1_700_000_000_000;

    fn records_of(buf: &[u8]) -> Vec<(i64, Option<Bytes>, Option<Bytes>, i64)> {
        let mut bytes = Bytes::copy_from_slice(buf);
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        set.records
            .into_iter()
            .map(|r| (r.offset, r.key, r.value, r.timestamp))
            .collect()
    }

    #[test]
    fn a_batch_in_another_codec_is_rewritten_with_the_topics_and_keeps_its_records() {
        for (sent, target) in [
            (Compression::None, Compression::Zstd),
            (Compression::Lz4, Compression::Gzip),
            (Compression::Gzip, Compression::None),
            (Compression::Zstd, Compression::Snappy),
            (Compression::Snappy, Compression::Lz4),
        ] {
            let mut buf = batch_with(20, &[NOW], sent, true).to_vec();
            let placed = validate_and_assign(&mut buf, &LogConfig::default(), 40, 7, NOW).unwrap();
            let before = records_of(&buf);
            let (out, moved) = to_topic_codec(&buf, &placed, TopicCompression::Codec(target, None))
                .unwrap()
                .expect("rewritten");
            assert_eq!(
                moved[0].header.compression(),
                target,
                "{sent:?} → {target:?}"
            );
            assert_eq!(moved[0].header.base_offset, 40);
            assert_eq!(moved[0].header.partition_leader_epoch, 7);
            assert_eq!(moved[0].header.records_count, 20);
            assert_eq!(moved[0].header.producer_id, placed[0].header.producer_id);
            assert!(batch::crc_matches(&out));
            assert_eq!(records_of(&out), before, "{sent:?} → {target:?}");
        }
    }

    #[test]
    fn batches_already_in_the_topics_codec_or_under_producer_are_kept_as_sent() {
        let mut buf = batch_with(3, &[NOW], Compression::Zstd, true).to_vec();
        let placed = validate_and_assign(&mut buf, &LogConfig::default(), 0, 0, NOW).unwrap();
        let zstd = TopicCompression::Codec(Compression::Zstd, Some(19));
        assert!(to_topic_codec(&buf, &placed, zstd).unwrap().is_none());
        assert!(to_topic_codec(&buf, &placed, TopicCompression::Producer)
            .unwrap()
            .is_none());
    }
}
