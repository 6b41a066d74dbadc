//! Sparse per-segment indexes in Kafka's file formats.
//!
//! The offset index maps a batch's base offset (relative to the segment's
//! base, u32) to its byte position (u32): 8 bytes per entry. The time index
//! maps a running maximum timestamp (i64) to the relative base offset of the
//! batch that reached it: 12 bytes per entry. Entries are added every
//! `index.interval.bytes` of log, so the cost is about 0.2% of the log size in
//! memory with the default 4096 bytes (2 MiB per GiB of log). Both are kept in
//! memory and written to their files when the segment is rolled or the log
//! closed; after a crash the active segment's indexes are rebuilt by recovery.

use std::io;
use std::path::Path;

/// Offset index of one segment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OffsetIndex {
    entries: Vec<(u32, u32)>,
}

impl OffsetIndex {
    /// Adds an entry; entries must arrive in increasing offset order.
    pub fn append(&mut self, relative_offset: u32, position: u32) {
        if self
            .entries
            .last()
            .is_none_or(|(o, _)| *o < relative_offset)
        {
            self.entries.push((relative_offset, position));
        }
    }

    /// The position of the last indexed batch whose base offset is at most
    /// `relative_offset` (0 when none is).
    pub fn lookup(&self, relative_offset: u32) -> u32 {
        let i = self.entries.partition_point(|(o, _)| *o <= relative_offset);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].1
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last entry.
    pub fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    /// Serialises the index in Kafka's `.index` format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 8);
        for (o, p) in &self.entries {
            out.extend_from_slice(&o.to_be_bytes());
            out.extend_from_slice(&p.to_be_bytes());
        }
        out
    }

    /// Reads an index file; `None` when its size is not a whole number of
    /// entries or entries are out of order, i.e. when it cannot be trusted.
    pub fn read(path: &Path, segment_size: u64) -> io::Result<Option<OffsetIndex>> {
        let bytes = std::fs::read(path)?;
        if bytes.len() % 8 != 0 {
            return Ok(None);
        }
        let mut index = OffsetIndex::default();
        for e in bytes.chunks_exact(8) {
            let o = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let p = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            let ordered = index
                .entries
                .last()
                .is_none_or(|(lo, lp)| *lo < o && *lp < p);
            if !ordered || u64::from(p) >= segment_size {
                return Ok(None);
            }
            index.entries.push((o, p));
        }
        Ok(Some(index))
    }
}

/// Time index of one segment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TimeIndex {
    entries: Vec<(i64, u32)>,
}

impl TimeIndex {
    /// Adds an entry if `timestamp` exceeds every earlier one.
    pub fn maybe_append(&mut self, timestamp: i64, relative_offset: u32) {
        if self.entries.last().is_none_or(|(t, _)| *t < timestamp) {
            self.entries.push((timestamp, relative_offset));
        }
    }

    /// The relative offset of the last entry whose timestamp is below
    /// `timestamp`: every batch before that entry's batch has only smaller
    /// timestamps, so a search for `timestamp` can start there.
    pub fn lookup_before(&self, timestamp: i64) -> u32 {
        let i = self.entries.partition_point(|(t, _)| *t < timestamp);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].1
        }
    }

    /// The largest timestamp and the relative offset of its batch.
    pub fn max(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    /// Serialises the index in Kafka's `.timeindex` format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 12);
        for (t, o) in &self.entries {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&o.to_be_bytes());
        }
        out
    }

    /// Reads a time index file; `None` when it cannot be trusted.
    pub fn read(path: &Path) -> io::Result<Option<TimeIndex>> {
        let bytes = std::fs::read(path)?;
        if bytes.len() % 12 != 0 {
            return Ok(None);
        }
        let mut index = TimeIndex::default();
        for e in bytes.chunks_exact(12) {
            let mut t = [0u8; 8];
            t.copy_from_slice(&e[0..8]);
            let t = i64::from_be_bytes(t);
            let o = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
            if index
                .entries
                .last()
                .is_some_and(|(lt, lo)| *lt >= t || *lo > o)
            {
                return Ok(None);
            }
            index.entries.push((t, o));
        }
        Ok(Some(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_lookup_finds_the_nearest_entry_at_or_below() {
        let mut i = OffsetIndex::default();
        i.append(0, 0);
        i.append(10, 4000);
        i.append(20, 8000);
        assert_eq!(i.lookup(0), 0);
        assert_eq!(i.lookup(15), 4000);
        assert_eq!(i.lookup(20), 8000);
        assert_eq!(i.lookup(99), 8000);
    }

    #[test]
    fn indexes_round_trip_through_kafka_file_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = OffsetIndex::default();
        o.append(0, 0);
        o.append(5, 100);
        let mut t = TimeIndex::default();
        t.maybe_append(10, 0);
        t.maybe_append(5, 3);
        t.maybe_append(20, 5);
        std::fs::write(dir.path().join("a.index"), o.to_bytes()).unwrap();
        std::fs::write(dir.path().join("a.timeindex"), t.to_bytes()).unwrap();
        assert_eq!(
            OffsetIndex::read(&dir.path().join("a.index"), 200).unwrap(),
            Some(o)
        );
        assert_eq!(
            TimeIndex::read(&dir.path().join("a.timeindex")).unwrap(),
            Some(t.clone())
        );
        assert_eq!(t.lookup_before(15), 0);
        assert_eq!(t.lookup_before(21), 5);
        assert_eq!(t.max(), Some((20, 5)));
    }

    #[test]
    fn a_damaged_index_file_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.index");
        std::fs::write(&p, [0u8; 7]).unwrap();
        assert_eq!(OffsetIndex::read(&p, 100).unwrap(), None);
        let mut o = OffsetIndex::default();
        o.append(0, 0);
        o.append(1, 500);
        std::fs::write(&p, o.to_bytes()).unwrap();
        assert_eq!(OffsetIndex::read(&p, 100).unwrap(), None);
    }
}
