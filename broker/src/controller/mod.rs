//! The controller: the Raft leader of the metadata quorum decides every
//! change to the cluster's metadata, as Kafka's `QuorumController` does.
//!
//! Decisions and effects live apart. `decisions` holds pure functions from
//! the current metadata image and a request to the records that carry it
//! out, or a Kafka error (Kafka's `*ControlManager`s); nothing there does
//! I/O. The effects run them: `forwarding` gets a request decided by
//! whichever broker is the controller and commits the records through the
//! quorum, `liveness` keeps broker sessions (heartbeats, fencing,
//! controlled shutdown) and `leader_balance` runs the periodic preferred
//! leader elections.

pub mod decisions;
pub mod forwarding;
pub mod leader_balance;
pub mod liveness;

use kafka_protocol::error::ResponseError;

/// A refused request: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(into = "WireRejection", try_from = "WireRejection")]
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

/// A rejection as it travels between brokers: the error as its Kafka code.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireRejection {
    code: i16,
    message: String,
}

impl From<Rejection> for WireRejection {
    fn from(r: Rejection) -> Self {
        WireRejection {
            code: r.error.code(),
            message: r.message,
        }
    }
}

impl TryFrom<WireRejection> for Rejection {
    type Error = String;

    fn try_from(w: WireRejection) -> Result<Self, String> {
        ResponseError::try_from_code(w.code)
            .map(|error| Rejection::new(error, w.message))
            .ok_or_else(|| format!("unknown Kafka error code {}", w.code))
    }
}
