//! Fetch sessions (KIP-227): a consumer of many partitions sends its whole
//! partition list once; later fetches carry only the partitions whose fetch
//! position changed (and those to forget), and answers carry only the
//! partitions with news: records, an error, or a moved high watermark or
//! log start. Kafka's `FetchSession` and `FetchSessionCache`.
//!
//! The cache holds at most `max.incremental.fetch.session.cache.slots`
//! sessions; a new one takes the slot of the least recently used session
//! idle for longer than [`EVICTABLE_AFTER`], else it is not created and the
//! client goes on with full fetches (session id 0), as in Kafka.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// Kafka's `min.incremental.fetch.session.eviction.ms` default.
pub const EVICTABLE_AFTER: Duration = Duration::from_secs(120);

/// A partition as a fetch names it: topic id (v13+) or name, and index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FetchPartition {
    /// The topic name (empty from v13 on).
    pub topic: String,
    /// The topic id (nil before v13).
    pub topic_id: Uuid,
    /// The partition index.
    pub partition: i32,
}

/// What the consumer asked of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Where to read from.
    pub fetch_offset: i64,
    /// At most this many bytes of this partition.
    pub partition_max_bytes: i32,
    /// The leader epoch the consumer believes in (-1: unchecked).
    pub current_leader_epoch: i32,
}

/// What an answer last told the consumer of a partition's offsets; an
/// incremental answer repeats the partition only when these move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    /// The high watermark sent.
    pub high_watermark: i64,
    /// The log start offset sent.
    pub log_start_offset: i64,
}

#[derive(Debug)]
struct Session {
    /// The epoch the next incremental fetch must carry.
    next_epoch: i32,
    partitions: BTreeMap<FetchPartition, (Wanted, Option<Told>)>,
    last_used: Instant,
}

/// The partitions a fetch reads, and how its answer is shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The session id to answer with; 0 for none.
    pub session_id: i32,
    /// Whether only partitions with news go into the answer.
    pub incremental: bool,
    /// Every partition to read, with what the consumer wants of it.
    pub partitions: Vec<(FetchPartition, Wanted)>,
}

/// The broker's fetch sessions.
#[derive(Debug)]
pub struct FetchSessions {
    slots: usize,
    sessions: Mutex<HashMap<i32, Session>>,
}

impl FetchSessions {
    /// A cache of at most `slots` sessions.
    pub fn new(slots: usize) -> Self {
        FetchSessions {
            slots,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Interprets a fetch's session fields (Kafka's `FetchManager.newContext`):
    /// epoch -1 is a full fetch without a session (closing `session_id` if
    /// given), epoch 0 a full fetch opening a new session, any other epoch
    /// an incremental fetch of session `session_id`, which must exist and
    /// expect that epoch.
    pub fn open(
        &self,
        session_id: i32,
        epoch: i32,
        requested: Vec<(FetchPartition, Wanted)>,
        forgotten: &[FetchPartition],
        now: Instant,
    ) -> Result<Opened, ResponseError> {
        let mut sessions = self.lock();
        if epoch == -1 || epoch == 0 {
            if session_id != 0 {
                sessions.remove(&session_id);
            }
            let session_id = if epoch == 0 {
                self.create(&mut sessions, &requested, now)
            } else {
                0
            };
            return Ok(Opened {
                session_id,
                incremental: false,
                partitions: requested,
            });
        }
        let session = sessions
            .get_mut(&session_id)
            .ok_or(ResponseError::FetchSessionIdNotFound)?;
        if session.next_epoch != epoch {
            return Err(ResponseError::InvalidFetchSessionEpoch);
        }
        for gone in forgotten {
            session.partitions.remove(gone);
        }
        for (partition, wanted) in requested {
            session
                .partitions
                .entry(partition)
                .and_modify(|(w, _)| *w = wanted)
                .or_insert((wanted, None));
        }
        session.next_epoch = next_epoch(epoch);
        session.last_used = now;
        Ok(Opened {
            session_id,
            incremental: true,
            partitions: session
                .partitions
                .iter()
                .map(|(p, (w, _))| (p.clone(), *w))
                .collect(),
        })
    }

    /// A new session holding `partitions`, or 0 when no slot is free.
    fn create(
        &self,
        sessions: &mut HashMap<i32, Session>,
        partitions: &[(FetchPartition, Wanted)],
        now: Instant,
    ) -> i32 {
        if self.slots == 0 {
            return 0;
        }
        if sessions.len() >= self.slots {
            let evictable = sessions
                .iter()
                .filter(|(_, s)| now.duration_since(s.last_used) > EVICTABLE_AFTER)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| *id);
            match evictable {
                Some(id) => {
                    sessions.remove(&id);
                }
                None => return 0,
            }
        }
        let id = loop {
            let candidate = (Uuid::new_v4().as_u128() as i32) & i32::MAX;
            if candidate != 0 && !sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        sessions.insert(
            id,
            Session {
                next_epoch: 1,
                partitions: partitions
                    .iter()
                    .map(|(p, w)| (p.clone(), (*w, None)))
                    .collect(),
                last_used: now,
            },
        );
        id
    }

    /// Whether an answer of session `session_id` includes a partition that
    /// read no records and had no error, given the offsets it would tell;
    /// records what it told. Full answers tell everything.
    pub fn tell(
        &self,
        session_id: i32,
        incremental: bool,
        partition: &FetchPartition,
        told: Told,
        news: bool,
    ) -> bool {
        let mut sessions = self.lock();
        let Some(entry) = sessions
            .get_mut(&session_id)
            .and_then(|s| s.partitions.get_mut(partition))
        else {
            return true;
        };
        let include = !incremental || news || entry.1 != Some(told);
        if include {
            entry.1 = Some(told);
        }
        include
    }

    /// How many sessions are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The epoch after `epoch`, wrapping past `i32::MAX` to 1 as Kafka does.
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(topic: &str, partition: i32) -> FetchPartition {
        FetchPartition {
            topic: topic.into(),
            topic_id: Uuid::nil(),
            partition,
        }
    }

    fn at(offset: i64) -> Wanted {
        Wanted {
            fetch_offset: offset,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: -1,
        }
    }

    fn names(opened: &Opened) -> Vec<(i32, i64)> {
        opened
            .partitions
            .iter()
            .map(|(p, w)| (p.partition, w.fetch_offset))
            .collect()
    }

    #[test]
    fn a_full_fetch_opens_a_session_that_later_fetches_change_incrementally() {
        let cache = FetchSessions::new(10);
        let now = Instant::now();
        let full = cache
            .open(0, 0, vec![(p("t", 0), at(0)), (p("t", 1), at(0))], &[], now)
            .unwrap();
        assert!(full.session_id != 0 && !full.incremental);
        let id = full.session_id;
        let next = cache
            .open(
                id,
                1,
                vec![(p("t", 1), at(5)), (p("t", 2), at(0))],
                &[],
                now,
            )
            .unwrap();
        assert!(next.incremental);
        assert_eq!(names(&next), [(0, 0), (1, 5), (2, 0)]);
        let after = cache.open(id, 2, vec![], &[p("t", 0)], now).unwrap();
        assert_eq!(names(&after), [(1, 5), (2, 0)]);
    }

    #[test]
    fn wrong_epochs_unknown_sessions_and_closing_get_kafkas_answers() {
        let cache = FetchSessions::new(10);
        let now = Instant::now();
        let id = cache
            .open(0, 0, vec![(p("t", 0), at(0))], &[], now)
            .unwrap()
            .session_id;
        assert_eq!(
            cache.open(id, 5, vec![], &[], now),
            Err(ResponseError::InvalidFetchSessionEpoch)
        );
        assert_eq!(
            cache.open(id + 1, 1, vec![], &[], now),
            Err(ResponseError::FetchSessionIdNotFound)
        );
        let closed = cache
            .open(id, -1, vec![(p("t", 0), at(3))], &[], now)
            .unwrap();
        assert_eq!((closed.session_id, closed.incremental), (0, false));
        assert!(cache.is_empty());
        assert_eq!(
            cache.open(id, 1, vec![], &[], now),
            Err(ResponseError::FetchSessionIdNotFound)
        );
    }

    #[test]
    fn a_full_cache_evicts_only_sessions_idle_long_enough() {
        let cache = FetchSessions::new(1);
        let t0 = Instant::now();
        let first = cache.open(0, 0, vec![], &[], t0).unwrap().session_id;
        assert_ne!(first, 0);
        let refused = cache
            .open(0, 0, vec![], &[], t0 + Duration::from_secs(5))
            .unwrap();
        assert_eq!(refused.session_id, 0, "no free slot: full fetches go on");
        let later = t0 + EVICTABLE_AFTER + Duration::from_secs(1);
        let second = cache.open(0, 0, vec![], &[], later).unwrap().session_id;
        assert!(second != 0 && second != first);
        assert_eq!(cache.len(), 1);
        assert_eq!(
            FetchSessions::new(0)
                .open(0, 0, vec![], &[], t0)
                .unwrap()
                .session_id,
            0
        );
    }

    #[test]
    fn an_incremental_answer_repeats_a_partition_only_when_it_has_news() {
        let cache = FetchSessions::new(10);
        let now = Instant::now();
        let id = cache
            .open(0, 0, vec![(p("t", 0), at(0))], &[], now)
            .unwrap()
            .session_id;
        let told = Told {
            high_watermark: 10,
            log_start_offset: 0,
        };
        assert!(cache.tell(id, false, &p("t", 0), told, false));
        assert!(!cache.tell(id, true, &p("t", 0), told, false));
        assert!(
            cache.tell(id, true, &p("t", 0), told, true),
            "records or an error"
        );
        let moved = Told {
            high_watermark: 11,
            ..told
        };
        assert!(cache.tell(id, true, &p("t", 0), moved, false));
        assert!(!cache.tell(id, true, &p("t", 0), moved, false));
    }

    #[test]
    fn epochs_wrap_to_one() {
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(1), 2);
    }
}
