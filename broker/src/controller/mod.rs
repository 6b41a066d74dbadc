//! The controller's decisions: pure functions from the current metadata image
//! and a request to the metadata records that carry it out, or a Kafka error.
//!
//! Nothing here does I/O; `MetadataStore::commit` runs a decision under its
//! lock and makes the records durable. With a quorum, the controller is the
//! Raft leader and these same functions run there.

pub mod configs;
pub mod partitions;
pub mod producer_ids;
pub mod topics;

use kafka_protocol::error::ResponseError;

/// A refused request: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error:?}: {message}")]
pub struct Rejection {
    /// The error code returned on the wire.
    pub error: ResponseError,
    /// A human-readable reason, returned where the API has an error message.
    pub message: String,
}

impl Rejection {
    /// Builds a rejection.
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Rejection {
            error,
            message: message.into(),
        }
    }
}
