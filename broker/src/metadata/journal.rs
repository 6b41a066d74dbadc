//! An append-only file of JSON entries, the shape the metadata quorum keeps
//! its Raft log in.
//!
//! Each entry is framed as `[length u32][crc32c u32][JSON]`, appended and
//! fsynced. A torn last entry (crash mid-write) fails its length or CRC
//! check and is cut off on open.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Opens (creating if needed) the journal and returns every entry in it.
    /// A torn tail is truncated.
    pub fn open<T: DeserializeOwned>(path: &Path) -> Result<(Journal, Vec<T>), JournalError> {
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
            let entry = serde_json::from_slice(&body).map_err(|e| JournalError::Undecodable {
                path: path.to_path_buf(),
                position,
                reason: e.to_string(),
            })?;
            entries.push(entry);
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
                len: position,
            },
            entries,
        ))
    }

    /// The journal's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the journal holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one entry and fsyncs it.
    pub fn append<T: Serialize + ?Sized>(&mut self, entry: &T) -> Result<(), JournalError> {
        self.append_all(std::iter::once(entry))
    }

    /// Appends several entries with one write and one fsync.
    pub fn append_all<'a, T: Serialize + ?Sized + 'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a T>,
    ) -> Result<(), JournalError> {
        let io_err = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut frames = Vec::new();
        for entry in entries {
            frames.extend_from_slice(&frame(entry).map_err(io_err)?);
        }
        self.file.write_all(&frames).map_err(io_err)?;
        self.file.sync_data().map_err(io_err)?;
        self.len += frames.len() as u64;
        Ok(())
    }

    /// Replaces the journal's contents with `entries`, atomically: they are
    /// written to a new file that is renamed over the old one.
    pub fn rewrite<'a, T: Serialize + ?Sized + 'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a T>,
    ) -> Result<(), JournalError> {
        let io_err = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("rewrite");
        let mut frames = Vec::new();
        for entry in entries {
            frames.extend_from_slice(&frame(entry).map_err(io_err)?);
        }
        let mut file = File::create(&tmp).map_err(io_err)?;
        file.write_all(&frames).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        std::fs::rename(&tmp, &self.path).map_err(io_err)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io_err)?;
        self.len = frames.len() as u64;
        Ok(())
    }
}

/// One entry framed for the file.
fn frame<T: Serialize + ?Sized>(entry: &T) -> io::Result<Vec<u8>> {
    {
        let body = serde_json::to_vec(entry).map_err(io::Error::other)?;
        let len = u32::try_from(body.len())
            .ok()
            .filter(|l| *l <= MAX_ENTRY)
            .ok_or_else(|| io::Error::other("journal entry too large"))?;
        let mut frame = Vec::with_capacity(HEADER + body.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        frame.extend_from_slice(&body);
        Ok(frame)
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
        let (mut j, existing) = Journal::open::<Vec<MetadataRecord>>(&path).unwrap();
        assert!(existing.is_empty());
        let (a, b) = (entry(), entry());
        j.append(&a).unwrap();
        j.append(&b).unwrap();
        drop(j);
        let good_len = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 0, 0, 40, 1, 2, 3, 4, b'[']).unwrap();
        drop(f);

        let (mut j, entries) = Journal::open::<Vec<MetadataRecord>>(&path).unwrap();
        assert_eq!(entries, vec![a.clone(), b.clone()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        let c = entry();
        j.append(&c).unwrap();
        drop(j);
        let (_, entries) = Journal::open::<Vec<MetadataRecord>>(&path).unwrap();
        assert_eq!(entries, vec![a, b, c]);
    }

    #[test]
    fn a_corrupted_entry_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.log");
        let (mut j, _) = Journal::open::<Vec<MetadataRecord>>(&path).unwrap();
        j.append(&entry()).unwrap();
        j.append(&entry()).unwrap();
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, entries) = Journal::open::<Vec<MetadataRecord>>(&path).unwrap();
        assert_eq!(entries.len(), 1);
    }
}
