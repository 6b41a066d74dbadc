//! The leader-epoch cache: the first offset written in each leader epoch,
//! checkpointed in Kafka's `leader-epoch-checkpoint` text format. Followers
//! use it (through OffsetForLeaderEpoch semantics) to find where their log
//! diverged from a new leader's.

use std::io;
use std::path::{Path, PathBuf};

/// File name inside the partition directory, as in Kafka.
pub const FILE_NAME: &str = "leader-epoch-checkpoint";

/// Epoch start offsets, in increasing epoch and offset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochCache {
    path: PathBuf,
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    /// Loads the checkpoint in `dir`; a missing or unreadable file gives an
    /// empty cache (it is rebuilt from batches on recovery).
    pub fn load(dir: &Path) -> EpochCache {
        let path = dir.join(FILE_NAME);
        let entries = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| parse(&text))
            .unwrap_or_default();
        EpochCache { path, entries }
    }

    /// Records that `epoch` starts at `offset` if it is newer than the last
    /// epoch; returns whether the cache changed.
    pub fn assign(&mut self, epoch: i32, offset: i64) -> bool {
        if epoch < 0 || self.entries.last().is_some_and(|(e, _)| *e >= epoch) {
            return false;
        }
        self.entries.push((epoch, offset));
        true
    }

    /// Drops entries starting at or after `offset` (the log was truncated there).
    pub fn truncate_from(&mut self, offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(_, start)| *start < offset);
        before != self.entries.len()
    }

    /// The latest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|(e, _)| *e)
    }

    /// Kafka's `LeaderEpochFileCache.endOffsetFor`: the largest epoch at most
    /// `requested` and the offset where the next epoch starts (the log end
    /// for the latest epoch); `(-1, -1)` when unknown.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        const UNDEFINED: (i32, i64) = (-1, -1);
        if requested < 0 {
            return UNDEFINED;
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let Some(&(_, higher_start)) = self.entries.iter().find(|(e, _)| *e > requested) else {
            return UNDEFINED;
        };
        match self.entries.iter().rev().find(|(e, _)| *e <= requested) {
            Some(&(floor, _)) => (floor, higher_start),
            None => (requested, higher_start),
        }
    }

    /// Writes the checkpoint (temp file, fsync, rename).
    pub fn save(&self) -> io::Result<()> {
        let mut text = format!("0\n{}\n", self.entries.len());
        for (e, o) in &self.entries {
            text.push_str(&format!("{e} {o}\n"));
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn parse(text: &str) -> Option<Vec<(i32, i64)>> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let entries: Vec<(i32, i64)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (e, o) = l.trim().split_once(' ')?;
            Some((e.parse().ok()?, o.trim().parse().ok()?))
        })
        .collect::<Option<_>>()?;
    (entries.len() == count).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_in_kafka_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EpochCache::load(dir.path());
        assert!(c.assign(0, 0));
        assert!(!c.assign(0, 5));
        assert!(c.assign(2, 10));
        c.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap(),
            "0\n2\n0 0\n2 10\n"
        );
        assert_eq!(EpochCache::load(dir.path()), c);
    }

    #[test]
    fn end_offset_follows_kafka_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EpochCache::load(dir.path());
        c.assign(1, 0);
        c.assign(3, 10);
        c.assign(4, 25);
        assert_eq!(c.end_offset_for(4, 40), (4, 40));
        assert_eq!(c.end_offset_for(3, 40), (3, 25));
        assert_eq!(c.end_offset_for(2, 40), (1, 10));
        assert_eq!(c.end_offset_for(0, 40), (0, 0));
        assert_eq!(c.end_offset_for(5, 40), (-1, -1));
        assert_eq!(c.end_offset_for(-1, 40), (-1, -1));
        c.truncate_from(25);
        assert_eq!(c.latest_epoch(), Some(3));
    }
}
