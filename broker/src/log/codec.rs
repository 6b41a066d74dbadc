//! Streaming decompression and compression of a batch's records section.
//!
//! A produced batch is a few kilobytes on the wire but may inflate to
//! hundreds of megabytes, so nothing here inflates a batch whole: readers
//! hand out decompressed bytes a buffer at a time and writers compress as
//! records arrive. Every codec's working memory is bounded whatever the
//! input claims: gzip's 32 KiB window, lz4's largest block (4 MiB), zstd's
//! window capped at [`ZSTD_WINDOW_LOG_MAX`], and snappy, which cannot
//! expand a block more than about 21 times, one block at a time.

use std::io::{self, Read, Write};

use kafka_protocol::records::Compression;

use super::LogError;

/// The largest zstd window (2^23 = 8 MiB) a batch may need. Encoders size
/// the window to their input, and neither Kafka's producers (zstd-jni,
/// level 3 by default) nor librdkafka come near it for any batch within
/// `max.message.bytes`; a frame asking for more is refused rather than
/// letting one request reserve up to 2 GiB.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;
/// Snappy emits at most 64 bytes per 3-byte copy element, so a block cannot
/// decompress to more than ~21.3 times its size.
const SNAPPY_MAX_RATIO: usize = 22;
/// snappy-java's stream header ("xerial" framing), which Kafka's Java
/// client writes: magic, then version and compatible version.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// Uncompressed bytes per xerial block, snappy-java's default.
const XERIAL_BLOCK: usize = 32 * 1024;

/// The codec named by a batch's attributes; ids Kafka does not define are
/// a corrupt batch.
pub fn codec_of(attributes: i16) -> Result<Compression, LogError> {
    match attributes & 0x07 {
        0 => Ok(Compression::None),
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Snappy),
        3 => Ok(Compression::Lz4),
        4 => Ok(Compression::Zstd),
        other => Err(LogError::CorruptMessage(format!(
            "unknown compression codec id {other}"
        ))),
    }
}

/// A reader of the decompressed bytes of `data`.
pub fn decompressor<'a>(
    compression: Compression,
    data: &'a [u8],
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(data),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        Compression::Snappy => Box::new(SnappyReader::new(data)),
        Compression::Lz4 => Box::new(lz4::Decoder::new(data)?),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(data)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(decoder)
        }
    })
}

/// What a topic's `compression.type` asks of the batches appended to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicCompression {
    /// Store batches as the producer compressed them (Kafka's `producer`).
    #[default]
    Producer,
    /// Store every batch with this codec (`uncompressed` is
    /// `Compression::None`), recompressing those that differ, at this
    /// level (`None`: the codec's default).
    Codec(Compression, Option<i32>),
}

impl TopicCompression {
    /// The codec a batch compressed with `sent` must be rewritten with,
    /// `None` when it is stored as sent (the fast path).
    pub fn recompress_to(self, sent: Compression) -> Option<(Compression, Option<i32>)> {
        match self {
            TopicCompression::Codec(codec, level) if codec != sent => Some((codec, level)),
            _ => None,
        }
    }
}

/// A compressing writer that must be told when the input ends.
pub trait Compress: Write {
    /// Writes whatever the codec still holds and its end marker.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// A writer that compresses into `out` as Kafka's clients do for each codec.
pub fn compressor<'a>(
    compression: Compression,
    out: &'a mut Vec<u8>,
) -> io::Result<Box<dyn Compress + 'a>> {
    compressor_at(compression, None, out)
}

/// A writer that compresses into `out` at `level` (KIP-390's
/// `compression.<codec>.level`; `None` or -1: the codec's default, which
/// for lz4 is the fast level 4 Kafka's clients use).
pub fn compressor_at<'a>(
    compression: Compression,
    level: Option<i32>,
    out: &'a mut Vec<u8>,
) -> io::Result<Box<dyn Compress + 'a>> {
    let level = level.filter(|l| *l != -1);
    Ok(match compression {
        Compression::None => Box::new(Plain(out)),
        Compression::Gzip => Box::new(Gzip(flate2::write::GzEncoder::new(
            out,
            level
                .and_then(|l| u32::try_from(l).ok())
                .map_or_else(flate2::Compression::default, |l| {
                    flate2::Compression::new(l.min(9))
                }),
        ))),
        Compression::Snappy => Box::new(SnappyWriter::new(out)),
        Compression::Lz4 => Box::new(Lz4(lz4::EncoderBuilder::new()
            .level(level.and_then(|l| u32::try_from(l).ok()).unwrap_or(4))
            .block_mode(lz4::BlockMode::Independent)
            .build(out)?)),
        Compression::Zstd => Box::new(Zstd(zstd::stream::write::Encoder::new(
            out,
            level.unwrap_or(3),
        )?)),
    })
}

struct Plain<'a>(&'a mut Vec<u8>);
struct Gzip<'a>(flate2::write::GzEncoder<&'a mut Vec<u8>>);
struct Lz4<'a>(lz4::Encoder<&'a mut Vec<u8>>);
struct Zstd<'a>(zstd::stream::write::Encoder<'static, &'a mut Vec<u8>>);

macro_rules! forward_write {
    ($t:ident) => {
        impl Write for $t<'_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
    };
}
forward_write!(Plain);
forward_write!(Gzip);
forward_write!(Lz4);
forward_write!(Zstd);

impl Compress for Plain<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}
impl Compress for Gzip<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish().map(drop)
    }
}
impl Compress for Lz4<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish().1
    }
}
impl Compress for Zstd<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish().map(drop)
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Decompresses snappy as snappy-java reads it: xerial-framed blocks when
/// the stream starts with the xerial header, otherwise one raw block (what
/// librdkafka writes).
struct SnappyReader<'a> {
    rest: &'a [u8],
    framed: bool,
    block: Vec<u8>,
    pos: usize,
    decoder: snap::raw::Decoder,
}

impl<'a> SnappyReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        let framed = data.len() >= XERIAL_HEADER.len() && data.starts_with(XERIAL_MAGIC);
        SnappyReader {
            rest: if framed {
                &data[XERIAL_HEADER.len()..]
            } else {
                data
            },
            framed,
            block: Vec::new(),
            pos: 0,
            decoder: snap::raw::Decoder::new(),
        }
    }

    /// Decompresses the next block; `false` at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        if self.rest.is_empty() {
            return Ok(false);
        }
        let compressed = if self.framed {
            let Some((len, tail)) = self.rest.split_first_chunk::<4>() else {
                return Err(invalid("truncated xerial snappy block length"));
            };
            let len = usize::try_from(i32::from_be_bytes(*len))
                .map_err(|_| invalid("negative xerial snappy block length"))?;
            if len > tail.len() {
                return Err(invalid("xerial snappy block runs past the batch"));
            }
            let (block, rest) = tail.split_at(len);
            self.rest = rest;
            block
        } else {
            std::mem::take(&mut self.rest)
        };
        let size = snap::raw::decompress_len(compressed).map_err(|e| invalid(e.to_string()))?;
        if size > compressed.len() * SNAPPY_MAX_RATIO + 64 {
            return Err(invalid(format!(
                "a snappy block of {} bytes claims {size} bytes",
                compressed.len()
            )));
        }
        self.block.resize(size, 0);
        self.decoder
            .decompress(compressed, &mut self.block)
            .map_err(|e| invalid(e.to_string()))?;
        self.pos = 0;
        Ok(true)
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Compresses into xerial-framed snappy, as Kafka's Java client writes it.
struct SnappyWriter<'a> {
    out: &'a mut Vec<u8>,
    pending: Vec<u8>,
    encoder: snap::raw::Encoder,
}

impl<'a> SnappyWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.extend_from_slice(XERIAL_HEADER);
        SnappyWriter {
            out,
            pending: Vec::with_capacity(XERIAL_BLOCK),
            encoder: snap::raw::Encoder::new(),
        }
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let block = self
            .encoder
            .compress_vec(&self.pending)
            .map_err(|e| invalid(e.to_string()))?;
        let len = i32::try_from(block.len()).map_err(|_| invalid("snappy block too large"))?;
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(&block);
        self.pending.clear();
        Ok(())
    }
}

impl Write for SnappyWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(XERIAL_BLOCK - self.pending.len());
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == XERIAL_BLOCK {
            self.flush_block()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Compress for SnappyWriter<'_> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.flush_block()
    }
}

/// Every codec Kafka defines, for tests that must cover each.
#[cfg(test)]
pub(crate) const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_through_the_streaming_reader_and_writer() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        for codec in CODECS {
            let mut out = Vec::new();
            let mut w = compressor(codec, &mut out).unwrap();
            for chunk in data.chunks(7_777) {
                w.write_all(chunk).unwrap();
            }
            w.finish().unwrap();
            let mut back = Vec::new();
            decompressor(codec, &out)
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{codec:?}");
        }
    }

    #[test]
    fn raw_snappy_as_librdkafka_writes_it_is_read() {
        let data = b"raw snappy without xerial framing".repeat(100);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        let mut back = Vec::new();
        decompressor(Compression::Snappy, &raw)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_snappy_block_claiming_more_than_snappy_can_expand_is_refused() {
        // Preamble varint of 1 GiB, then nothing.
        let bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
        let mut back = Vec::new();
        let err = decompressor(Compression::Snappy, &bomb)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(back.capacity() < 1 << 20);
    }

    #[test]
    fn a_zstd_frame_asking_for_a_larger_window_than_allowed_is_refused() {
        let data = vec![7u8; 1 << 20];
        let mut out = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut out, 3).unwrap();
        encoder
            .set_parameter(zstd::zstd_safe::CParameter::WindowLog(
                ZSTD_WINDOW_LOG_MAX + 2,
            ))
            .unwrap();
        encoder.set_pledged_src_size(None).unwrap();
        encoder.write_all(&data).unwrap();
        encoder.finish().unwrap();
        let mut back = Vec::new();
        assert!(decompressor(Compression::Zstd, &out)
            .unwrap()
            .read_to_end(&mut back)
            .is_err());
    }

    #[test]
    fn unknown_codec_ids_are_corrupt() {
        assert!(codec_of(4).is_ok());
        for id in 5..8 {
            assert!(matches!(codec_of(id), Err(LogError::CorruptMessage(_))));
        }
    }
}
