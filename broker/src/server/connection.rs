//! One client connection: read requests, handle them, write the responses
//! in request order.
//!
//! Requests are handled one at a time in arrival order, so produce order on
//! a connection is the append order, as in Kafka. One thing may overlap: an
//! `acks=all` produce whose batches are appended answers only when the ISR
//! has them, and meanwhile the connection goes on reading and appending
//! further produce requests (up to [`MAX_PENDING`]); any other request
//! first waits until every earlier answer is written. One high-watermark
//! move then completes many pipelined produce requests instead of one
//! round trip to the followers each. Responses are flushed when nothing
//! further is ready to write, which batches writes for pipelining clients.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::error::Elapsed;
use tokio::time::timeout;

use super::admission::Admission;
use super::dispatch::{self, Later, Outcome};
use super::frame::{read_body, read_size, FrameError};
use crate::api::ClientContext;
use crate::broker::Broker;

/// The reading half of a connection, plain TCP or TLS.
pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection, plain TCP or TLS.
pub type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Most produce requests one connection may have waiting for the ISR.
pub const MAX_PENDING: usize = 64;

/// A request frame read off the socket, with its share of
/// `queued.max.request.bytes`, held until its answer is written.
struct Incoming {
    frame: Bytes,
    _queued: Option<OwnedSemaphorePermit>,
}

/// An answer in the queue: ready to write, or waiting for the ISR.
enum Pending {
    Ready(Outcome, Option<OwnedSemaphorePermit>),
    Waiting(Later, Option<OwnedSemaphorePermit>),
}

/// Serves a connection until the client leaves, sends something Kafka would
/// disconnect for, stays silent for `connections.max.idle.ms`, or the broker
/// shuts down.
pub async fn serve(
    broker: Arc<Broker>,
    admission: Arc<Admission>,
    (read, write_half): (ReadHalf, WriteHalf),
    client: ClientContext,
) {
    let peer = client.peer;
    broker.metrics.connections.inc();
    let idle = Duration::from_millis(broker.config.connections.connections_max_idle_ms);
    let (frames_tx, mut frames) = mpsc::channel(MAX_PENDING);
    let reader = tokio::spawn(read_frames(
        read,
        broker.config.socket_request_max_bytes,
        idle,
        admission,
        peer,
        frames_tx,
    ));
    let mut writer = BufWriter::with_capacity(64 * 1024, write_half);
    let mut out = BytesMut::new();
    let mut pending: VecDeque<Pending> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            () = oldest_ready(&mut pending, &broker), if !pending.is_empty() => {
                let Some(Pending::Ready(outcome, _queued)) = pending.pop_front() else { continue };
                let flush = frames.is_empty() && !matches!(pending.front(), Some(Pending::Ready(..)));
                if !write(&mut writer, outcome, flush, idle, peer).await {
                    break;
                }
            }
            incoming = frames.recv(), if pending.len() < MAX_PENDING => {
                let Some(Incoming { frame, _queued }) = incoming else { break };
                // Only produce requests overlap earlier answers; anything
                // else sees every earlier request answered first.
                if !is_produce(&frame) && !drain(&mut pending, &broker, &mut writer, idle, peer).await {
                    break;
                }
                let outcome = dispatch::handle_frame(&broker, frame, &client, &mut out).await;
                match outcome {
                    Outcome::Later(later) => pending.push_back(Pending::Waiting(later, _queued)),
                    outcome if !pending.is_empty() => pending.push_back(Pending::Ready(outcome, _queued)),
                    outcome => {
                        let flush = frames.is_empty();
                        if !write(&mut writer, outcome, flush, idle, peer).await {
                            break;
                        }
                    }
                }
            }
        }
    }
    reader.abort();
    let _ = timeout(idle, writer.flush()).await;
    broker.metrics.connections.dec();
}

/// Produce is API key 0.
fn is_produce(frame: &Bytes) -> bool {
    frame.len() >= 2 && frame[0] == 0 && frame[1] == 0
}

/// Waits until the oldest answer is ready to write, leaving it first in the
/// queue. Cancel-safe: the queue is only changed once the answer is in.
async fn oldest_ready(pending: &mut VecDeque<Pending>, broker: &Broker) {
    let reply = match pending.front_mut() {
        Some(Pending::Waiting(later, _)) => later.wait().await,
        _ => return,
    };
    if let Some(Pending::Waiting(later, queued)) = pending.pop_front() {
        pending.push_front(Pending::Ready(later.finish(broker, reply), queued));
    }
}

/// Writes every queued answer in order; `false` when the connection is to close.
async fn drain(
    pending: &mut VecDeque<Pending>,
    broker: &Broker,
    writer: &mut BufWriter<WriteHalf>,
    idle: Duration,
    peer: SocketAddr,
) -> bool {
    loop {
        oldest_ready(pending, broker).await;
        let Some(Pending::Ready(outcome, _queued)) = pending.pop_front() else {
            return true;
        };
        if !write(writer, outcome, pending.is_empty(), idle, peer).await {
            return false;
        }
    }
}

/// Sends one outcome; `false` when the connection is to close.
async fn write(
    writer: &mut BufWriter<WriteHalf>,
    outcome: Outcome,
    flush: bool,
    idle: Duration,
    peer: SocketAddr,
) -> bool {
    match outcome {
        Outcome::Respond(framed) => {
            let written = async {
                writer.write_all(&framed).await?;
                if flush {
                    writer.flush().await?;
                }
                Ok::<_, std::io::Error>(())
            };
            // A client that stops reading is dropped like an idle one,
            // rather than holding its response and queue bytes forever.
            match timeout(idle, written).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "write failed");
                    false
                }
                Err(_) => {
                    tracing::debug!(%peer, "closing connection that stopped reading");
                    false
                }
            }
        }
        Outcome::NoResponse => !flush || writer.flush().await.is_ok(),
        Outcome::Close(reason) => {
            tracing::warn!(%peer, %reason, "closing connection");
            false
        }
        Outcome::Later(_) => {
            tracing::error!(%peer, "an answer resolved to another deferred answer");
            false
        }
    }
}

/// Reads request frames and hands them over in order, until the client
/// leaves, idles out, sends a refused frame, or the connection stops taking
/// them.
async fn read_frames(
    read: ReadHalf,
    max: i32,
    idle: Duration,
    admission: Arc<Admission>,
    peer: SocketAddr,
    frames: mpsc::Sender<Incoming>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    loop {
        // Idle is the time waiting for the client's bytes; waiting for room
        // in the request queue is the broker's doing and does not count.
        let Some(size) = received(timeout(idle, read_size(&mut reader, max)).await, peer) else {
            break;
        };
        let queued = admission.reserve(size).await;
        let body = timeout(idle, read_body(&mut reader, size))
            .await
            .map(|r| r.map(Some));
        let Some(frame) = received(body, peer) else {
            break;
        };
        let incoming = Incoming {
            frame,
            _queued: queued,
        };
        if frames.send(incoming).await.is_err() {
            break;
        }
    }
}

/// What a read gave: the value, or `None` (logged) when the connection is
/// to be closed: the client left, idled out or sent a refused frame.
fn received<T>(
    read: Result<Result<Option<T>, FrameError>, Elapsed>,
    peer: SocketAddr,
) -> Option<T> {
    match read {
        Ok(Ok(value)) => value,
        Err(_) => {
            tracing::debug!(%peer, "closing idle connection (connections.max.idle.ms)");
            None
        }
        Ok(Err(FrameError::Io(e))) => {
            tracing::debug!(%peer, error = %e, "connection error");
            None
        }
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "closing connection");
            None
        }
    }
}
