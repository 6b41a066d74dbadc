//! The metadata log on disk.
//!
//! Each entry is one committed batch of metadata records, framed as
//! `[length u32][crc32c u32][JSON array]`, appended and fsynced before the
//! change is applied. A torn last entry (crash mid-write) fails its length or
//! CRC check and is cut off on open; entries are applied all-or-nothing.
//! The Raft quorum will store its log entries in the same shape.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::record::MetadataRecord;

/// Frame overhead: length and CRC.
const HEADER: usize = 8;
/// Largest entry accepted when reading, to refuse a garbage length.
const MAX_ENTRY: u32 = 64 << 20;

/// Why the metadata log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O error on the journal file.
    #[error("metadata journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An entry passed its CRC but did not decode: a bug or an incompatible version.
    #[error("metadata journal {path}: entry at byte {position} does not decode: {reason}")]
    Undecodable {
        /// The journal file.
        path: PathBuf,
        /// Byte position of the entry.
        position: u64,
        /// The decoder's complaint.
        reason: String,
    },
}

/// An open metadata journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) the journal and returns every entry in it.
    /// A torn tail is truncated.
    pub fn open(path: &Path) -> Result<(Journal, Vec<Vec<MetadataRecord>>), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_err)?;
        let mut reader = BufReader::new(file.try_clone().map_err(io_err)?);
        let mut entries = Vec::new();
        let mut position = 0u64;
        loop {
            let mut header = [0u8; HEADER];
            if !read_full(&mut reader, &mut header).map_err(io_err)? {
                break;
            }
            let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
            if len > MAX_ENTRY {
                break;
            }
            let mut body = vec![0u8; len as usize];
            if !read_full(&mut reader, &mut body).map_err(io_err)? || crc32c::crc32c(&body) != crc {
                break;
            }
            let records = serde_json::from_slice(&body).map_err(|e| JournalError::Undecodable {
                path: path.to_path_buf(),
                position,
                reason: e.to_string(),
            })?;
            entries.push(records);
            position += (HEADER + body.len()) as u64;
        }
        let size = file.metadata().map_err(io_err)?.len();
        if size > position {
            tracing::warn!(
                path = %path.display(),
                valid_bytes = position,
                dropped_bytes = size - position,
                "truncating torn tail of metadata journal"
            );
            file.set_len(position).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
            },
            entries,
        ))
    }

    /// Appends one entry and fsyncs it.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<(), JournalError> {
        let io_err = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let body = serde_json::to_vec(records).map_err(|e| io_err(io::Error::other(e)))?;
        let len = u32::try_from(body.len())
            .ok()
            .filter(|l| *l <= MAX_ENTRY)
            .ok_or_else(|| io_err(io::Error::other("metadata entry too large")))?;
        let mut frame = Vec::with_capacity(HEADER + body.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        frame.extend_from_slice(&body);
        self.file.write_all(&frame).map_err(io_err)?;
        self.file.sync_data().map_err(io_err)
    }
}

/// Reads exactly `buf.len()` bytes; `false` at a clean or torn end of file.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::record::MetadataRecord;
    use uuid::Uuid;

    fn entry() -> Vec<MetadataRecord> {
        vec![MetadataRecord::RemoveTopic {
            topic_id: Uuid::new_v4(),
        }]
    }

    #[test]
    fn entries_survive_reopen_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.log");
        let (mut j, existing) = Journal::open(&path).unwrap();
        assert!(existing.is_empty());
        let (a, b) = (entry(), entry());
        j.append(&a).unwrap();
        j.append(&b).unwrap();
        drop(j);
        let good_len = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 0, 0, 40, 1, 2, 3, 4, b'[']).unwrap();
        drop(f);

        let (mut j, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries, vec![a.clone(), b.clone()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        let c = entry();
        j.append(&c).unwrap();
        drop(j);
        let (_, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries, vec![a, b, c]);
    }

    #[test]
    fn a_corrupted_entry_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.log");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append(&entry()).unwrap();
        j.append(&entry()).unwrap();
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries.len(), 1);
    }
}
