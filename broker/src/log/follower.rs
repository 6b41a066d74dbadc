//! What a follower does to its log that a leader never does: append batches
//! that already carry the leader's offsets and epochs, and cut off a tail
//! that diverged from the leader's log (Kafka's `appendAsFollower` and
//! `truncateTo`).

use bytes::Bytes;

use super::batch::{self, BatchHeader, LOG_OVERHEAD};
use super::segment::{PlacedBatch, Segment};
use super::{AppendInfo, Log, LogError};

impl Log {
    /// Appends batches fetched from the leader as they are: offsets, epochs
    /// and timestamps were assigned there. Every batch's CRC is checked and
    /// offsets must move forward from this log's end; the producer state and
    /// epoch cache follow, so a follower that becomes leader deduplicates
    /// retried batches and answers OffsetForLeaderEpoch like its old leader.
    pub fn append_as_follower(
        &mut self,
        records: Bytes,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let placed = parse_fetched(&records, self.log_end_offset())?;
        let (Some(first), Some(last)) = (placed.first(), placed.last()) else {
            return Err(LogError::InvalidRecord("no record batch".into()));
        };
        let (base_offset, last_offset) = (first.header.base_offset, last.header.last_offset());
        self.maybe_roll(records.len(), last_offset, now_ms)?;
        let interval = self.config.index_interval_bytes;
        self.active_mut().append(&records, &placed, interval)?;
        let mut epochs_changed = false;
        for p in &placed {
            self.producers.record(&p.header);
            epochs_changed |= self
                .epochs
                .assign(p.header.partition_leader_epoch, p.header.base_offset);
        }
        if epochs_changed {
            self.save_epochs()?;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_append_time: -1,
            log_start_offset: self.log_start_offset,
            record_count: placed
                .iter()
                .map(|p| i64::from(p.header.records_count))
                .sum(),
        })
    }

    /// Removes every batch holding an offset at or above `offset` (a batch
    /// straddling it goes whole, as in Kafka), with the epochs and producer
    /// state they contributed. Offsets below the log start are never cut.
    pub fn truncate_to(&mut self, offset: i64, now_ms: i64) -> Result<(), LogError> {
        let offset = offset.max(self.log_start_offset);
        if offset >= self.log_end_offset() {
            // No batch to cut, but an epoch this broker began at its log end
            // while it led without writing may be one the new leader never
            // had; kept, it is the follower's last fetched epoch, the leader
            // reports divergence on every fetch, and the follower never
            // rejoins the ISR of an idle partition.
            if self.epochs.truncate_from(offset) {
                self.save_epochs()?;
            }
            return Ok(());
        }
        let doomed: Vec<i64> = self
            .segments
            .range(offset..)
            .map(|(base, _)| *base)
            .filter(|base| *base > offset || *base == offset && *base > self.first_base())
            .collect();
        for base in doomed {
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        if self.segments.is_empty() {
            self.segments
                .insert(offset, Segment::create(&self.dir, offset, now_ms)?);
        }
        let interval = self.config.index_interval_bytes;
        self.active_mut().truncate_to(offset, interval)?;
        if self.epochs.truncate_from(self.log_end_offset()) {
            self.save_epochs()?;
        }
        self.cleaned_up_to = self.cleaned_up_to.min(self.log_end_offset());
        self.rebuild_producer_state()?;
        tracing::info!(
            dir = %self.dir.display(),
            log_end_offset = self.log_end_offset(),
            "truncated the log to the leader's"
        );
        Ok(())
    }

    /// Empties the log and restarts it at `offset`: the follower is behind
    /// the leader's log start (retention deleted what it missed), so it
    /// starts over where the leader's log begins.
    pub fn reset_to(&mut self, offset: i64, now_ms: i64) -> Result<(), LogError> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for base in bases {
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        self.segments
            .insert(offset, Segment::create(&self.dir, offset, now_ms)?);
        self.log_start_offset = offset;
        self.save_log_start()?;
        self.cleaned_up_to = offset;
        if self.epochs.truncate_from(i64::MIN) {
            self.save_epochs()?;
        }
        self.rebuild_producer_state()?;
        tracing::info!(dir = %self.dir.display(), offset, "log restarted at the leader's log start");
        Ok(())
    }

    /// Marks where a new leader epoch starts (a broker becoming leader), so
    /// a follower asking about an older epoch learns where it ended.
    pub fn begin_epoch(&mut self, epoch: i32) -> Result<(), LogError> {
        if self.epochs.assign(epoch, self.log_end_offset()) {
            self.save_epochs()?;
        }
        Ok(())
    }

    /// The latest leader epoch in the log, -1 when it holds no batch.
    pub fn latest_epoch(&self) -> i32 {
        self.epochs.latest_epoch().unwrap_or(-1)
    }

    fn first_base(&self) -> i64 {
        self.segments.keys().next().copied().unwrap_or(0)
    }
}

/// Splits fetched bytes into whole, CRC-checked v2 batches whose offsets
/// start at or after `log_end_offset` and increase. A partial batch at the
/// end (the leader cut at `max_bytes`) is an error here: the leader sends
/// whole batches only.
fn parse_fetched(buf: &[u8], log_end_offset: i64) -> Result<Vec<PlacedBatch>, LogError> {
    let mut placed = Vec::new();
    let mut pos = 0usize;
    let mut next = log_end_offset;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let header = (rest.len() >= LOG_OVERHEAD + 5)
            .then(|| BatchHeader::parse(rest))
            .flatten()
            .ok_or_else(|| LogError::CorruptMessage("truncated fetched batch".into()))?;
        let size = header
            .total_size()
            .filter(|s| *s <= rest.len())
            .ok_or_else(|| {
                LogError::CorruptMessage("fetched batch overruns the response".into())
            })?;
        if header.magic != 2 || !batch::crc_matches(&rest[..size]) {
            return Err(LogError::CorruptMessage(
                "fetched batch fails its CRC".into(),
            ));
        }
        if header.base_offset < next || header.last_offset_delta < 0 {
            return Err(LogError::CorruptMessage(format!(
                "fetched batch at offset {} does not follow offset {next}",
                header.base_offset
            )));
        }
        // Offsets near i64::MAX would wrap: no leader assigns them.
        next = header
            .base_offset
            .checked_add(i64::from(header.last_offset_delta) + 1)
            .ok_or_else(|| {
                LogError::CorruptMessage(format!(
                    "fetched batch at offset {} overflows the offset range",
                    header.base_offset
                ))
            })?;
        placed.push(PlacedBatch {
            header,
            start: pos,
            len: size,
        });
        pos += size;
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::Compression;

    use super::super::batch::tests::batch_with;
    use super::super::LogConfig;
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn config() -> LogConfig {
        LogConfig {
            segment_bytes: 300,
            ..LogConfig::default()
        }
    }

    /// A leader log with three batches in epoch 0 and two in epoch 2.
    fn leader(dir: &std::path::Path) -> Log {
        let mut log = Log::open(dir, config(), NOW).unwrap();
        for epoch in [0, 0, 0, 2, 2] {
            log.append_as_leader(batch_with(2, &[NOW], Compression::None, true), epoch, NOW)
                .unwrap();
        }
        log
    }

    fn everything(log: &Log) -> Bytes {
        let mut out = Vec::new();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let chunk = log.read(offset, 1 << 20, i64::MAX, true).unwrap();
            assert!(!chunk.is_empty(), "nothing readable at {offset}");
            let mut pos = 0;
            while pos < chunk.len() {
                let h = BatchHeader::parse(&chunk[pos..]).unwrap();
                pos += h.total_size().unwrap();
                offset = h.next_offset();
            }
            out.extend_from_slice(&chunk);
        }
        Bytes::from(out)
    }

    /// A leader in `a` and a follower in `b` that fetched all of it.
    fn replicated(a: &std::path::Path, b: &std::path::Path) -> (Log, Log) {
        let leader = leader(a);
        let mut follower = Log::open(b, config(), NOW).unwrap();
        follower
            .append_as_follower(everything(&leader), NOW)
            .unwrap();
        (leader, follower)
    }

    #[test]
    fn a_follower_stores_the_leaders_batches_and_epochs_as_they_are() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (leader, follower) = replicated(a.path(), b.path());
        assert_eq!(everything(&follower), everything(&leader));
        assert_eq!(follower.latest_epoch(), 2);
        assert_eq!(
            follower.end_offset_for_epoch(0),
            leader.end_offset_for_epoch(0)
        );
        assert_eq!(follower.end_offset_for_epoch(1), Some((0, 6)));
    }

    #[test]
    fn batches_that_do_not_follow_the_log_end_or_fail_their_crc_are_refused() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let leader = leader(a.path());
        let mut follower = Log::open(b.path(), config(), NOW).unwrap();
        let all = everything(&leader);
        follower.append_as_follower(all.clone(), NOW).unwrap();
        // The same batches again start below the log end.
        assert!(follower.append_as_follower(all.clone(), NOW).is_err());
        let mut flipped = all.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let mut fresh = Log::open(tempfile::tempdir().unwrap().path(), config(), NOW).unwrap();
        assert!(fresh.append_as_follower(Bytes::from(flipped), NOW).is_err());
        assert_eq!(fresh.log_end_offset(), 0);
    }

    #[test]
    fn truncation_cuts_whole_batches_and_the_epochs_they_started() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (_leader, mut follower) = replicated(a.path(), b.path());
        // Offset 7 is inside the batch 6..8 (the first of epoch 2).
        follower.truncate_to(7, NOW).unwrap();
        assert_eq!(follower.log_end_offset(), 6);
        assert_eq!(follower.latest_epoch(), 0);
        follower
            .append_as_leader(batch_with(1, &[NOW], Compression::None, true), 3, NOW)
            .unwrap();
        assert_eq!(follower.log_end_offset(), 7);
        drop(follower);
        let reopened = Log::open(b.path(), config(), NOW).unwrap();
        assert_eq!(reopened.log_end_offset(), 7);
        assert_eq!(reopened.latest_epoch(), 3);
    }

    #[test]
    fn a_second_truncation_keeps_every_batch_below_its_offset() {
        // The first truncation's scan left the file cursor mid-segment; the
        // second once scanned from there and cut valid batches as torn
        // (acknowledged records lost in a rolling restart).
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
        let append = |log: &mut Log, batches: usize| {
            for _ in 0..batches {
                log.append_as_leader(batch_with(2, &[NOW], Compression::None, true), 0, NOW)
                    .unwrap();
            }
        };
        append(&mut log, 4);
        log.truncate_to(6, NOW).unwrap();
        append(&mut log, 5);
        let kept = everything(&log);
        append(&mut log, 2);
        log.truncate_to(16, NOW).unwrap();
        assert_eq!(log.log_end_offset(), 16);
        assert_eq!(everything(&log), kept);
        drop(log);
        let reopened = Log::open(dir.path(), LogConfig::default(), NOW).unwrap();
        assert_eq!(everything(&reopened), kept);
    }

    #[test]
    fn truncating_at_the_log_end_forgets_an_epoch_begun_there_without_batches() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (_leader, mut follower) = replicated(a.path(), b.path());
        let end = follower.log_end_offset();
        let before = follower.latest_epoch();
        // It led an idle partition for a while: an epoch with no batch.
        follower.begin_epoch(before + 5).unwrap();
        assert_eq!(follower.latest_epoch(), before + 5);
        follower.truncate_to(end, NOW).unwrap();
        assert_eq!(follower.log_end_offset(), end);
        assert_eq!(follower.latest_epoch(), before, "the empty epoch is gone");
        drop(follower);
        let reopened = Log::open(b.path(), config(), NOW).unwrap();
        assert_eq!(reopened.latest_epoch(), before);
    }

    #[test]
    fn a_follower_behind_the_leaders_log_start_starts_over_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(), NOW).unwrap();
        log.append_as_leader(batch_with(2, &[NOW], Compression::None, true), 0, NOW)
            .unwrap();
        log.reset_to(100, NOW).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
        assert_eq!(log.latest_epoch(), -1);
        drop(log);
        let log = Log::open(dir.path(), config(), NOW).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
    }
}
