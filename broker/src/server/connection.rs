//! One client connection: read a request, handle it, write the response.
//!
//! Like Kafka, a connection handles one request at a time, so pipelined
//! requests are answered in order and produce order on a connection is the
//! append order. Responses are flushed when no further request is already
//! buffered, which batches writes for pipelining clients.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use super::dispatch::{self, Outcome};
use super::frame::{read_frame, FrameError};
use crate::broker::Broker;

/// Serves a connection until the client leaves, sends something Kafka would
/// disconnect for, or the broker shuts down.
pub async fn serve(broker: Arc<Broker>, socket: TcpStream, peer: SocketAddr) {
    broker.metrics.connections.inc();
    if let Err(e) = socket.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let (read, write) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut writer = BufWriter::with_capacity(64 * 1024, write);
    let max = broker.config.socket_request_max_bytes;
    let mut out = BytesMut::new();
    loop {
        let frame = match read_frame(&mut reader, max).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(FrameError::Io(e)) => {
                tracing::debug!(%peer, error = %e, "connection error");
                break;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection");
                break;
            }
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
                if let Err(e) = written.await {
                    tracing::debug!(%peer, error = %e, "write failed");
                    break;
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
    let _ = writer.flush().await;
    broker.metrics.connections.dec();
}
