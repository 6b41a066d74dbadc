//! The Raft log of the metadata quorum on disk.
//!
//! Appends, truncations and purges are recorded in order in one journal
//! (`raft.log`), fsynced before openraft is told they are durable, and
//! replayed on start. The live entries are also held in memory: metadata is
//! small, and snapshots keep the log short. When purges have left the file
//! mostly dead, it is rewritten with only the live entries. The vote is kept
//! in `vote.json`, replaced atomically.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::File;
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, StorageError, StorageIOError, Vote};
use serde::{Deserialize, Serialize};

use super::types::{NodeId, TypeConfig};
use crate::metadata::journal::{Journal, JournalError};

/// One change to the log, as recorded in the journal.
#[derive(Debug, Serialize, Deserialize)]
enum LogOp {
    Append(Entry<TypeConfig>),
    /// Entries from this index on were removed.
    Truncate(u64),
    /// Entries up to and including this id were removed (covered by a snapshot).
    Purge(LogId<NodeId>),
}

/// Rewrite the journal once it is this many times larger than its live entries.
const REWRITE_RATIO: u64 = 4;
/// ... and at least this large, so a small log is never rewritten.
const REWRITE_MIN_BYTES: u64 = 1 << 20;

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    journal: Journal,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
}

/// The log store handed to openraft; clones share one log.
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

impl LogStore {
    /// Opens the log under `dir`, replaying the journal.
    pub fn open(dir: &Path) -> Result<LogStore, JournalError> {
        let (journal, ops) = Journal::open::<LogOp>(&dir.join("raft.log"))?;
        let mut entries = BTreeMap::new();
        let mut last_purged = None;
        for op in ops {
            match op {
                LogOp::Append(e) => {
                    entries.insert(e.log_id.index, e);
                }
                LogOp::Truncate(from) => {
                    entries.split_off(&from);
                }
                LogOp::Purge(id) => {
                    entries = entries.split_off(&(id.index + 1));
                    last_purged = Some(id);
                }
            }
        }
        let vote = read_json(&dir.join("vote.json"))?;
        let committed = read_json(&dir.join("committed.json"))?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                journal,
                entries,
                last_purged,
                vote,
                committed,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the log has never held anything: a node that has not joined a quorum yet.
    pub fn is_pristine(&self) -> bool {
        let inner = self.lock();
        inner.entries.is_empty() && inner.last_purged.is_none() && inner.vote.is_none()
    }
}

impl Inner {
    fn record(&mut self, op: &LogOp) -> Result<(), JournalError> {
        self.journal.append(op)
    }

    /// Rewrites the journal with only the live entries once it is mostly dead.
    fn maybe_rewrite(&mut self) -> Result<(), JournalError> {
        let live: u64 = self.entries.len() as u64 * 256;
        let size = self.journal.len();
        if size < REWRITE_MIN_BYTES || size < live.saturating_mul(REWRITE_RATIO) {
            return Ok(());
        }
        let mut ops: Vec<LogOp> = Vec::with_capacity(self.entries.len() + 1);
        if let Some(id) = self.last_purged {
            ops.push(LogOp::Purge(id));
        }
        ops.extend(self.entries.values().cloned().map(LogOp::Append));
        self.journal.rewrite(ops.iter())
    }
}

/// Reads a small JSON file, `None` if it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, JournalError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| JournalError::Undecodable {
                    path: path.to_path_buf(),
                    position: 0,
                    reason: e.to_string(),
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(JournalError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces a small JSON file atomically (write, fsync, rename, fsync dir).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, sync: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec(value).map_err(io::Error::other)?;
    let mut file = File::create(&tmp)?;
    file.write_all(&body)?;
    if sync {
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if sync {
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

/// Writes a small text file durably (write, fsync, rename, fsync dir).
pub(crate) fn write_json_text(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.lock();
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(inner.last_purged);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        write_json(&inner.dir.join("vote.json"), vote, true)
            .map_err(|e| StorageError::from(StorageIOError::write_vote(&e)))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        // A committed index that is older than the truth is harmless (it is
        // only where re-applying starts on restart), so this is not fsynced.
        let mut inner = self.lock();
        write_json(&inner.dir.join("committed.json"), &committed, false).map_err(write_err)?;
        inner.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.lock();
        let ops: Vec<LogOp> = entries.into_iter().map(LogOp::Append).collect();
        let written = inner.journal.append_all(ops.iter());
        if let Err(e) = written {
            let io = io::Error::other(e.to_string());
            callback.log_io_completed(Err(io));
            return Err(write_err(e));
        }
        for op in ops {
            if let LogOp::Append(e) = op {
                inner.entries.insert(e.log_id.index, e);
            }
        }
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        inner
            .record(&LogOp::Truncate(log_id.index))
            .map_err(write_err)?;
        inner.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        inner.record(&LogOp::Purge(log_id)).map_err(write_err)?;
        inner.entries = inner.entries.split_off(&(log_id.index + 1));
        inner.last_purged = Some(log_id);
        inner.maybe_rewrite().map_err(write_err)?;
        Ok(())
    }
}
