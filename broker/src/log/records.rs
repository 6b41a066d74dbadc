//! Reads the records of one v2 batch one at a time, as Kafka's validator
//! and cleaner do, without ever holding the decompressed records whole:
//! keys are hashed as they stream past, values and headers are skipped or
//! copied through fixed buffers. A batch whose records do not match its
//! header (count, sizes, trailing bytes) is refused here.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, Read, Write};

use super::batch::{BatchHeader, HEADER_LEN};
use super::codec;
use super::LogError;

/// Bytes read from a decompressor at a time.
const READ_BUFFER: usize = 16 * 1024;

/// Keyed 128-bit hashes of record keys, the way Kafka's cleaner keeps a
/// digest per key instead of the key: the offset map's memory no longer
/// depends on key sizes, and the random keys make collisions unforceable.
#[derive(Debug, Default)]
pub struct KeyHasher {
    a: RandomState,
    b: RandomState,
}

/// The digest of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(u64, u64);

/// What the validator and cleaner need of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSummary {
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp relative to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// The key's digest (when asked for), or `None` for a null key.
    pub key: Option<KeyHash>,
    /// Whether the key is non-null (also when no digest was asked for).
    pub has_key: bool,
    /// Whether the value is null: a tombstone.
    pub tombstone: bool,
}

fn invalid(msg: String) -> LogError {
    LogError::InvalidRecord(msg)
}

fn corrupt(e: io::Error) -> LogError {
    LogError::CorruptMessage(format!("records do not decompress: {e}"))
}

/// Counts the bytes of one record as they are read, so its declared
/// length can be checked. Reads straight out of the reader's buffer: no
/// byte is copied to be skipped.
struct Counted<'r, R: BufRead> {
    inner: &'r mut R,
    left: u64,
}

impl<R: BufRead> Counted<'_, R> {
    /// The buffered bytes, refilled when empty; an error at the end.
    fn available(&mut self) -> Result<&[u8], LogError> {
        let buf = self.inner.fill_buf().map_err(corrupt)?;
        if buf.is_empty() {
            return Err(truncated(io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(buf)
    }

    fn byte(&mut self) -> Result<u8, LogError> {
        if self.left == 0 {
            return Err(invalid(
                "a record field runs past the record's length".into(),
            ));
        }
        let b = self.available()?[0];
        self.inner.consume(1);
        self.left -= 1;
        Ok(b)
    }

    fn varlong(&mut self) -> Result<i64, LogError> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(invalid("a varint is longer than 10 bytes".into()))
    }

    fn varint(&mut self) -> Result<i32, LogError> {
        i32::try_from(self.varlong()?).map_err(|_| invalid("a varint overflows 32 bits".into()))
    }

    /// Passes `len` bytes to `sink` as they sit in the reader's buffer.
    fn stream(&mut self, len: u64, mut sink: impl FnMut(&[u8])) -> Result<(), LogError> {
        if len > self.left {
            return Err(invalid(format!(
                "a field of {len} bytes runs past the record's length"
            )));
        }
        let mut left = len;
        while left > 0 {
            let buf = self.available()?;
            let n = left.min(buf.len() as u64) as usize;
            sink(&buf[..n]);
            self.inner.consume(n);
            left -= n as u64;
        }
        self.left -= len;
        Ok(())
    }

    /// Reads a nullable length-prefixed field; `None` for null.
    fn field(&mut self, sink: impl FnMut(&[u8])) -> Result<Option<()>, LogError> {
        match self.varint()? {
            -1 => Ok(None),
            len if len < -1 => Err(invalid(format!("negative field length {len}"))),
            len => self.stream(len as u64, sink).map(Some),
        }
    }
}

fn truncated(e: io::Error) -> LogError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        invalid("the records end before the batch header's record count".into())
    } else {
        corrupt(e)
    }
}

/// Reads one record's fields, hashing the key when `hasher` is given.
fn read_record<R: BufRead>(
    r: &mut R,
    hasher: Option<&KeyHasher>,
) -> Result<RecordSummary, LogError> {
    let len = Counted {
        inner: &mut *r,
        left: 10,
    }
    .varint()?;
    let len = u64::try_from(len).map_err(|_| invalid(format!("negative record length {len}")))?;
    let mut rec = Counted {
        inner: r,
        left: len,
    };
    rec.byte()?;
    let timestamp_delta = rec.varlong()?;
    let offset_delta = rec.varint()?;
    let mut digest = hasher.map(|h| (h.a.build_hasher(), h.b.build_hasher()));
    let has_key = rec
        .field(|chunk| {
            if let Some((a, b)) = digest.as_mut() {
                a.write(chunk);
                b.write(chunk);
            }
        })?
        .is_some();
    let tombstone = rec.field(|_| {})?.is_none();
    let headers = rec.varint()?;
    if headers < 0 {
        return Err(invalid(format!("negative header count {headers}")));
    }
    for _ in 0..headers {
        if rec.field(|_| {})?.is_none() {
            return Err(invalid("a record header has a null key".into()));
        }
        rec.field(|_| {})?;
    }
    if rec.left != 0 {
        return Err(invalid(format!(
            "a record's length is {len} but its fields end {} bytes early",
            rec.left
        )));
    }
    let key = match (has_key, digest) {
        (true, Some((a, b))) => Some(KeyHash(a.finish(), b.finish())),
        _ => None,
    };
    Ok(RecordSummary {
        offset_delta,
        timestamp_delta,
        key,
        has_key,
        tombstone,
    })
}

fn records_of(batch: &[u8]) -> Result<(BatchHeader, &[u8]), LogError> {
    let header = BatchHeader::parse(batch)
        .ok_or_else(|| LogError::CorruptMessage("truncated record batch header".into()))?;
    let end = header
        .total_size()
        .filter(|s| *s <= batch.len())
        .ok_or_else(|| {
            LogError::CorruptMessage(format!("invalid batch length {}", header.batch_length))
        })?;
    Ok((header, &batch[HEADER_LEN..end]))
}

/// The records section of `batch` as a buffered stream: the bytes
/// themselves when uncompressed, else a decompressor behind a fixed buffer.
enum Records<'a> {
    Plain(&'a [u8]),
    Compressed(BufReader<Box<dyn Read + 'a>>),
}

impl Read for Records<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Records::Plain(r) => r.read(buf),
            Records::Compressed(r) => r.read(buf),
        }
    }
}

impl BufRead for Records<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Records::Plain(r) => r.fill_buf(),
            Records::Compressed(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Records::Plain(r) => r.consume(n),
            Records::Compressed(r) => r.consume(n),
        }
    }
}

fn open(batch: &[u8]) -> Result<(BatchHeader, Records<'_>), LogError> {
    let (header, payload) = records_of(batch)?;
    let compression = codec::codec_of(header.attributes)?;
    if compression == kafka_protocol::records::Compression::None {
        return Ok((header, Records::Plain(payload)));
    }
    let reader = codec::decompressor(compression, payload).map_err(corrupt)?;
    Ok((
        header,
        Records::Compressed(BufReader::with_capacity(READ_BUFFER, reader)),
    ))
}

/// Streams every record of `batch` (a whole v2 batch) to `visit`, checking
/// that there are exactly as many as the header says, each as long as it
/// claims, with offset deltas inside the header's, and nothing after them.
pub fn scan(
    batch: &[u8],
    hasher: Option<&KeyHasher>,
    mut visit: impl FnMut(usize, &RecordSummary) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let (header, mut reader) = open(batch)?;
    for index in 0..usize::try_from(header.records_count).unwrap_or(0) {
        let record = read_record(&mut reader, hasher)?;
        if record.offset_delta < 0 || record.offset_delta > header.last_offset_delta {
            return Err(invalid(format!(
                "record offset delta {} is outside the batch's 0..={}",
                record.offset_delta, header.last_offset_delta
            )));
        }
        visit(index, &record)?;
    }
    match reader.fill_buf() {
        Ok([]) => Ok(()),
        Ok(_) => Err(invalid(format!(
            "the records continue past the header's count of {}",
            header.records_count
        ))),
        Err(e) => Err(corrupt(e)),
    }
}

/// Writes the records of `batch` whose index `keep` accepts to `out`,
/// decompressed and byte for byte; returns how many were written.
pub fn copy_records(
    batch: &[u8],
    mut keep: impl FnMut(usize) -> bool,
    out: &mut dyn Write,
) -> Result<usize, LogError> {
    let (header, mut reader) = open(batch)?;
    let mut written = 0;
    for index in 0..usize::try_from(header.records_count).unwrap_or(0) {
        let mut raw = Recorder {
            inner: &mut reader,
            out: if keep(index) { Some(&mut *out) } else { None },
            failed: None,
        };
        let kept = raw.out.is_some();
        read_record(&mut raw, None)?;
        if let Some(e) = raw.failed {
            return Err(LogError::CorruptMessage(format!(
                "writing a cleaned record failed: {e}"
            )));
        }
        written += usize::from(kept);
    }
    Ok(written)
}

/// A buffered reader that also writes what is consumed from it to `out`,
/// so a record is copied as it is parsed.
struct Recorder<'a, R: BufRead> {
    inner: &'a mut R,
    out: Option<&'a mut dyn Write>,
    failed: Option<io::Error>,
}

impl<R: BufRead> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Recorder<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Some(out) = self.out.as_mut() {
            if let Ok(buf) = self.inner.fill_buf() {
                if let Err(e) = out.write_all(&buf[..n.min(buf.len())]) {
                    self.failed.get_or_insert(e);
                }
            }
        }
        self.inner.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::tests::batch_with;
    use crate::log::codec::CODECS;
    use kafka_protocol::records::Compression;

    fn summaries(batch: &[u8], hasher: Option<&KeyHasher>) -> Vec<RecordSummary> {
        let mut out = Vec::new();
        scan(batch, hasher, |_, r| {
            out.push(*r);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn every_record_of_every_codec_is_read_in_order() {
        let hasher = KeyHasher::default();
        for codec in CODECS {
            let b = batch_with(5, &[10, 11, 12, 13, 14], codec, true);
            let got = summaries(&b, Some(&hasher));
            assert_eq!(got.len(), 5, "{codec:?}");
            for (i, r) in got.iter().enumerate() {
                assert_eq!(r.offset_delta, i as i32);
                assert_eq!(r.timestamp_delta, i as i64);
                assert!(r.has_key && r.key.is_some() && !r.tombstone);
            }
            assert_ne!(got[0].key, got[1].key);
            let again = batch_with(5, &[10, 11, 12, 13, 14], Compression::None, true);
            assert_eq!(summaries(&again, Some(&hasher))[3].key, got[3].key);
        }
    }

    #[test]
    fn null_keys_are_seen_without_a_digest() {
        let b = batch_with(2, &[1, 2], Compression::Lz4, false);
        let got = summaries(&b, None);
        assert!(got.iter().all(|r| !r.has_key && r.key.is_none()));
    }

    #[test]
    fn a_record_count_that_disagrees_with_the_records_is_invalid() {
        for codec in [Compression::None, Compression::Zstd] {
            let good = batch_with(3, &[1, 2, 3], codec, true).to_vec();
            for count in [2i32, 4] {
                let mut b = good.clone();
                b[57..61].copy_from_slice(&count.to_be_bytes());
                assert!(
                    matches!(
                        scan(&b, None, |_, _| Ok(())),
                        Err(LogError::InvalidRecord(_))
                    ),
                    "{codec:?} count {count}"
                );
            }
        }
    }

    #[test]
    fn garbage_where_compressed_records_should_be_is_corrupt() {
        let mut b = batch_with(3, &[1, 2, 3], Compression::Gzip, true).to_vec();
        for byte in &mut b[HEADER_LEN..] {
            *byte = 0x5a;
        }
        assert!(matches!(
            scan(&b, None, |_, _| Ok(())),
            Err(LogError::CorruptMessage(_))
        ));
    }

    #[test]
    fn a_record_length_beyond_its_fields_is_invalid() {
        let mut b = batch_with(1, &[1], Compression::None, true).to_vec();
        // The first record's length varint (zigzag) sits right after the header.
        b[HEADER_LEN] += 2;
        assert!(scan(&b, None, |_, _| Ok(())).is_err());
    }

    #[test]
    fn kept_records_are_copied_byte_for_byte() {
        let b = batch_with(4, &[1, 2, 3, 4], Compression::Snappy, true);
        let mut all = Vec::new();
        assert_eq!(copy_records(&b, |_| true, &mut all).unwrap(), 4);
        let plain = batch_with(4, &[1, 2, 3, 4], Compression::None, true);
        assert_eq!(all, plain[HEADER_LEN..]);
        let mut odd = Vec::new();
        assert_eq!(copy_records(&b, |i| i % 2 == 1, &mut odd).unwrap(), 2);
        assert!(odd.len() < all.len() && !odd.is_empty());
    }
}
