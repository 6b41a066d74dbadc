//! One client connection: read a request, handle it, write the response.
//!
//! Like Kafka, a connection handles one request at a time, so pipelined
//! requests are answered in order and produce order on a connection is the
//! append order. Responses are flushed when no further request is already
//! buffered, which batches writes for pipelining clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::time::error::Elapsed;
use tokio::time::timeout;

use super::admission::Admission;
use super::dispatch::{self, Outcome};
use super::frame::{read_body, read_size, FrameError};
use crate::broker::Broker;

/// Serves a connection until the client leaves, sends something Kafka would
/// disconnect for, stays silent for `connections.max.idle.ms`, or the broker
/// shuts down.
pub async fn serve(
    broker: Arc<Broker>,
    admission: Arc<Admission>,
    socket: TcpStream,
    peer: SocketAddr,
) {
    broker.metrics.connections.inc();
    if let Err(e) = socket.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let (read, write) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut writer = BufWriter::with_capacity(64 * 1024, write);
    let max = broker.config.socket_request_max_bytes;
    let idle = Duration::from_millis(broker.config.connections.connections_max_idle_ms);
    let mut out = BytesMut::new();
    loop {
        // Idle is the time waiting for the client's bytes; waiting for room
        // in the request queue is the broker's doing and does not count.
        let Some(size) = received(timeout(idle, read_size(&mut reader, max)).await, peer) else {
            break;
        };
        let _queued = admission.reserve(size).await;
        let body = timeout(idle, read_body(&mut reader, size))
            .await
            .map(|r| r.map(Some));
        let Some(frame) = received(body, peer) else {
            break;
        };
        match dispatch::handle_frame(&broker, frame, peer, &mut out).await {
            Outcome::Respond(framed) => {
                let written = async {
                    writer.write_all(&framed).await?;
                    if reader.buffer().is_empty() {
                        writer.flush().await?;
                    }
                    Ok::<_, std::io::Error>(())
                };
                // A client that stops reading is dropped like an idle one,
                // rather than holding its response and queue bytes forever.
                match timeout(idle, written).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "write failed");
                        break;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "closing connection that stopped reading");
                        break;
                    }
                }
            }
            Outcome::NoResponse => {
                if reader.buffer().is_empty() && writer.flush().await.is_err() {
                    break;
                }
            }
            Outcome::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        }
    }
    let _ = timeout(idle, writer.flush()).await;
    broker.metrics.connections.dec();
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
