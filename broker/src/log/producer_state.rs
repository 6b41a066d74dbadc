//! Idempotent producer state of one partition, like Kafka's
//! `ProducerStateManager`: per producer id the current epoch and the last few
//! batches appended, so a retried batch is recognised as a duplicate and a
//! gap in sequence numbers is refused.
//!
//! The state is not stored: it is rebuilt from the batch headers in the log
//! when the log opens, so it is exactly as durable as the records it
//! describes.

use std::collections::{HashMap, VecDeque};

use super::batch::BatchHeader;
use super::LogError;

/// How many recent batches per producer are remembered for duplicate
/// detection: a producer has at most this many requests in flight
/// (`max.in.flight.requests.per.connection` ≤ 5 with idempotence).
pub const CACHED_BATCHES: usize = 5;

/// Where one appended batch landed, in sequence and in offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMetadata {
    first_seq: i32,
    last_seq: i32,
    first_offset: i64,
    last_offset: i64,
}

/// One producer's state in this partition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
}

/// The outcome of checking a batch against producer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not from an idempotent producer, or the next batch in sequence.
    Append,
    /// A retry of a batch already in the log, at these offsets.
    Duplicate {
        /// Offset of the original batch's first record.
        first_offset: i64,
        /// Offset of the original batch's last record.
        last_offset: i64,
    },
}

/// Producer ids to their state, for one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
}

/// The sequence number after `seq`; sequences wrap to 0 after `i32::MAX`.
fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

/// The sequence of a batch's last record, wrapping like Kafka.
fn last_seq(h: &BatchHeader) -> i32 {
    let last = i64::from(h.base_sequence) + i64::from(h.last_offset_delta);
    i32::try_from(last % (i64::from(i32::MAX) + 1)).unwrap_or(0)
}

impl ProducerState {
    /// Decides what to do with a batch (offsets not yet assigned), without
    /// changing anything. Batches of several producers, or several batches
    /// of one, are checked with [`ProducerState::check_all`].
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, LogError> {
        if h.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        if h.base_sequence < 0 {
            return Err(LogError::InvalidRecord(format!(
                "batch of producer {} has no sequence number",
                h.producer_id
            )));
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown producer (new, or its records were deleted by
            // retention): any sequence starts it, as in Kafka.
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(LogError::InvalidProducerEpoch(format!(
                "producer {} epoch {} is older than the current epoch {}",
                h.producer_id, h.producer_epoch, entry.epoch
            )));
        }
        if h.producer_epoch > entry.epoch {
            return if h.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(LogError::OutOfOrderSequence(format!(
                    "producer {} new epoch {} must start at sequence 0, not {}",
                    h.producer_id, h.producer_epoch, h.base_sequence
                )))
            };
        }
        let last = last_seq(h);
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last)
        {
            return Ok(SequenceCheck::Duplicate {
                first_offset: dup.first_offset,
                last_offset: dup.last_offset,
            });
        }
        match entry.batches.back() {
            Some(prev) if next_seq(prev.last_seq) != h.base_sequence => {
                Err(LogError::OutOfOrderSequence(format!(
                    "producer {} epoch {}: expected sequence {}, got {}",
                    h.producer_id,
                    h.producer_epoch,
                    next_seq(prev.last_seq),
                    h.base_sequence
                )))
            }
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Checks every batch of one append in order, as if the earlier ones were
    /// already appended. A duplicate anywhere answers the whole append with
    /// the original offsets, as Kafka does.
    pub fn check_all(&self, headers: &[BatchHeader]) -> Result<SequenceCheck, LogError> {
        if headers.len() == 1 {
            return self.check(&headers[0]);
        }
        let mut scratch = self.clone();
        for (i, h) in headers.iter().enumerate() {
            match scratch.check(h)? {
                SequenceCheck::Append => scratch.record(&placeholder(h, i)),
                dup @ SequenceCheck::Duplicate { .. } => return Ok(dup),
            }
        }
        Ok(SequenceCheck::Append)
    }

    /// Records a batch that is now in the log (offsets assigned).
    pub fn record(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::with_capacity(CACHED_BATCHES),
            });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == CACHED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq: h.base_sequence,
            last_seq: last_seq(h),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
        });
    }
}

/// A header standing in for a not-yet-placed batch while checking a
/// multi-batch append; its offsets are never reported (a duplicate can only
/// match batches already in the log, which precede it).
fn placeholder(h: &BatchHeader, i: usize) -> BatchHeader {
    BatchHeader {
        base_offset: -1 - i64::try_from(i).unwrap_or(0),
        ..*h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, seq: i32, records: i32, offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset: offset,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: records,
        }
    }

    fn state_with(batches: &[BatchHeader]) -> ProducerState {
        let mut s = ProducerState::default();
        for b in batches {
            s.record(b);
        }
        s
    }

    #[test]
    fn batches_in_sequence_are_appended_and_gaps_are_refused() {
        let s = state_with(&[batch(7, 0, 0, 3, 0)]);
        assert_eq!(
            s.check(&batch(7, 0, 3, 2, 0)).unwrap(),
            SequenceCheck::Append
        );
        let gap = s.check(&batch(7, 0, 5, 1, 0)).unwrap_err();
        assert!(matches!(gap, LogError::OutOfOrderSequence(_)), "{gap}");
    }

    #[test]
    fn a_retried_batch_is_a_duplicate_with_its_original_offsets() {
        let s = state_with(&[batch(7, 0, 0, 3, 10), batch(7, 0, 3, 2, 13)]);
        assert_eq!(
            s.check(&batch(7, 0, 0, 3, -1)).unwrap(),
            SequenceCheck::Duplicate {
                first_offset: 10,
                last_offset: 12
            }
        );
        assert_eq!(
            s.check(&batch(7, 0, 3, 2, -1)).unwrap(),
            SequenceCheck::Duplicate {
                first_offset: 13,
                last_offset: 14
            }
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let batches: Vec<_> = (0..6).map(|i| batch(1, 0, i, 1, i64::from(i))).collect();
        let s = state_with(&batches);
        assert!(matches!(
            s.check(&batch(1, 0, 1, 1, -1)).unwrap(),
            SequenceCheck::Duplicate { .. }
        ));
        assert!(matches!(
            s.check(&batch(1, 0, 0, 1, -1)),
            Err(LogError::OutOfOrderSequence(_))
        ));
    }

    #[test]
    fn epochs_fence_old_producers_and_new_epochs_restart_at_zero() {
        let s = state_with(&[batch(7, 3, 0, 1, 0)]);
        assert!(matches!(
            s.check(&batch(7, 2, 1, 1, 0)),
            Err(LogError::InvalidProducerEpoch(_))
        ));
        assert_eq!(
            s.check(&batch(7, 4, 0, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            s.check(&batch(7, 4, 9, 1, 0)),
            Err(LogError::OutOfOrderSequence(_))
        ));
    }

    #[test]
    fn unknown_producers_start_at_any_sequence_and_plain_batches_pass() {
        let s = ProducerState::default();
        assert_eq!(
            s.check(&batch(9, 0, 42, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            s.check(&batch(-1, -1, -1, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            s.check(&batch(9, 0, -1, 1, 0)),
            Err(LogError::InvalidRecord(_))
        ));
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let s = state_with(&[batch(1, 0, i32::MAX - 1, 2, 0)]);
        assert_eq!(
            s.check(&batch(1, 0, 0, 1, 2)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn several_batches_in_one_append_are_checked_in_order() {
        let s = state_with(&[batch(1, 0, 0, 1, 0)]);
        let ok = [batch(1, 0, 1, 1, -1), batch(1, 0, 2, 1, -1)];
        assert_eq!(s.check_all(&ok).unwrap(), SequenceCheck::Append);
        let gap = [batch(1, 0, 1, 1, -1), batch(1, 0, 3, 1, -1)];
        assert!(s.check_all(&gap).is_err());
    }
}
