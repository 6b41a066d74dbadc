//! Cluster metadata: a log of [`MetadataRecord`]s applied to a
//! [`MetadataImage`].
//!
//! The store serialises changes: a change is decided against the current
//! image, written to the journal, then applied and published. With one voter
//! the journal is the commit point; the Raft quorum will replace it with a
//! replicated log without changing the records or the image.

pub mod image;
pub mod journal;
pub mod meta_properties;
pub mod record;

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub use image::{MetadataImage, TopicImage};
pub use record::{
    BrokerRecord, ConfigRecord, ConfigResource, Endpoint, MetadataRecord, PartitionRecord,
    TopicRecord,
};

use journal::{Journal, JournalError};

/// Why a metadata change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError<E> {
    /// The decision refused the change; nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// The change could not be made durable; nothing was applied.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// The metadata log and its current image.
#[derive(Debug)]
pub struct MetadataStore {
    journal: Mutex<Journal>,
    image: watch::Sender<Arc<MetadataImage>>,
}

impl MetadataStore {
    /// Opens the journal under `dir` and replays it into an image.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (journal, entries) = Journal::open(&dir.join("metadata.log"))?;
        let mut image = MetadataImage::default();
        for entry in &entries {
            image.apply_all(entry);
        }
        let (image, _) = watch::channel(Arc::new(image));
        Ok(MetadataStore {
            journal: Mutex::new(journal),
            image,
        })
    }

    /// The current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.borrow().clone()
    }

    /// A receiver that sees every new image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image.subscribe()
    }

    /// Decides a change against the current image and commits it. `decide`
    /// runs under the store's lock, so no other change can slip in between
    /// the check and the write. An empty decision commits nothing.
    pub fn commit<T, E>(
        &self,
        decide: impl FnOnce(&MetadataImage) -> Result<(Vec<MetadataRecord>, T), E>,
    ) -> Result<(Arc<MetadataImage>, T), CommitError<E>> {
        let mut journal = self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.image();
        let (records, outcome) = decide(&current).map_err(CommitError::Rejected)?;
        if records.is_empty() {
            return Ok((current, outcome));
        }
        journal.append(&records)?;
        let mut next = (*current).clone();
        next.apply_all(&records);
        let next = Arc::new(next);
        self.image.send_replace(next.clone());
        Ok((next, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn committed_changes_are_replayed_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(dir.path()).unwrap();
        let id = Uuid::new_v4();
        store
            .commit(|_| {
                Ok::<_, ()>((
                    vec![MetadataRecord::Topic(TopicRecord {
                        name: "a".into(),
                        topic_id: id,
                    })],
                    (),
                ))
            })
            .unwrap();
        let rejected = store.commit(|_| Err::<(Vec<MetadataRecord>, ()), _>("no"));
        assert!(matches!(rejected, Err(CommitError::Rejected("no"))));
        drop(store);
        let store = MetadataStore::open(dir.path()).unwrap();
        assert_eq!(store.image().topic("a").map(|t| t.id), Some(id));
    }
}
