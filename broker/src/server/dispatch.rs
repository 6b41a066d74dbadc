//! Turns one request frame into a response frame: version checks, header and
//! body decoding with `kafka-protocol`, the handler call, metrics, encoding.
//!
//! Where Kafka closes the connection — an unknown API, an unsupported
//! version of anything but ApiVersions, a body that does not decode — so do
//! we, and say why in the log.

use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::api::{self, LaterReply, Reply};
use crate::broker::Broker;

/// What the connection does after a request.
pub enum Outcome {
    /// Send this response frame (size prefix included).
    Respond(Bytes),
    /// Send nothing (acks=0 produce).
    NoResponse,
    /// Close the connection for this reason.
    Close(String),
    /// The answer comes later, through [`Later::wait`] and [`Later::finish`].
    Later(Later),
}

/// A request whose answer is not ready yet, with what its response needs.
pub struct Later {
    reply: LaterReply,
    key: ApiKey,
    correlation_id: i32,
    version: i16,
    started: Instant,
}

impl Later {
    /// Waits for the answer. Cancel-safe: dropped before it completes, it
    /// may be awaited again; once it completed it must not be.
    pub async fn wait(&mut self) -> Reply {
        (&mut self.reply).await
    }

    /// Encodes the answer [`Later::wait`] gave.
    pub fn finish(self, broker: &Broker, reply: Reply) -> Outcome {
        finish(
            broker,
            self.key,
            self.correlation_id,
            self.version,
            self.started,
            reply,
            &mut BytesMut::new(),
        )
    }
}

/// Handles one request frame.
pub async fn handle_frame(
    broker: &Broker,
    mut frame: Bytes,
    client: &api::ClientContext,
    out: &mut BytesMut,
) -> Outcome {
    if frame.len() < 8 {
        return Outcome::Close(format!(
            "request of {} bytes is shorter than a header",
            frame.len()
        ));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(key) = ApiKey::try_from(raw_key) else {
        return Outcome::Close(format!("unknown API key {raw_key}"));
    };
    let Some(range) = api::supported_versions(key) else {
        return Outcome::Close(format!("API {key:?} is not supported"));
    };
    if version < range.min || version > range.max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer in v0 with UNSUPPORTED_VERSION and our ranges,
            // so the client can retry with a version we speak.
            let body = ApiVersionsResponse::default()
                .with_error_code(ResponseError::UnsupportedVersion.code())
                .with_api_keys(api::api_versions::supported_api_keys());
            return encode(
                broker,
                key,
                correlation_id,
                0,
                ResponseKind::ApiVersions(body),
                out,
            );
        }
        return Outcome::Close(format!(
            "{key:?} v{version} is not supported (supported: v{}-v{})",
            range.min, range.max
        ));
    }
    let header = match RequestHeader::decode(&mut frame, key.request_header_version(version)) {
        Ok(h) => h,
        Err(e) => return Outcome::Close(format!("malformed {key:?} request header: {e:#}")),
    };
    let request = match RequestKind::decode(key, &mut frame, version) {
        Ok(r) => r,
        Err(e) => return Outcome::Close(format!("malformed {key:?} v{version} request: {e:#}")),
    };
    if frame.has_remaining() {
        tracing::debug!(
            api = api::api_name(key),
            version,
            trailing = frame.remaining(),
            "ignoring trailing request bytes"
        );
    }

    let started = Instant::now();
    let reply = api::handle(broker, &header, client, request).await;
    finish(broker, key, correlation_id, version, started, reply, out)
}

/// Records the request's metrics once it is answered and encodes the answer.
fn finish(
    broker: &Broker,
    key: ApiKey,
    correlation_id: i32,
    version: i16,
    started: Instant,
    reply: Reply,
    out: &mut BytesMut,
) -> Outcome {
    if let Reply::Later(reply) = reply {
        return Outcome::Later(Later {
            reply,
            key,
            correlation_id,
            version,
            started,
        });
    }
    let name = api::api_name(key);
    broker.metrics.requests.with_label_values(&[name]).inc();
    broker
        .metrics
        .request_duration
        .with_label_values(&[name])
        .observe(started.elapsed().as_secs_f64());
    match reply {
        Reply::Respond(response) => encode(broker, key, correlation_id, version, *response, out),
        Reply::NoResponse => Outcome::NoResponse,
        Reply::Close(reason) => Outcome::Close(reason),
        Reply::Later(_) => Outcome::Close("a later reply resolved to another later reply".into()),
    }
}

/// Encodes a response as a whole frame (length prefix included) into the
/// connection's buffer and splits it off. The buffer is reused: once the
/// previous frame has been written and dropped, its memory is reclaimed
/// instead of allocating (and page-faulting) a fresh one per response,
/// which dominated the cost of large fetch responses.
fn encode(
    broker: &Broker,
    key: ApiKey,
    correlation_id: i32,
    version: i16,
    response: ResponseKind,
    out: &mut BytesMut,
) -> Outcome {
    out.clear();
    out.reserve(256);
    out.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let encoded = header
        .encode(out, key.response_header_version(version))
        .and_then(|_| response.encode(out, version));
    let framed = encoded.and_then(|_| {
        let len = i32::try_from(out.len() - 4).map_err(|_| {
            anyhow::anyhow!("response of {} bytes is too large to frame", out.len())
        })?;
        out[..4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    });
    match framed {
        Ok(()) => Outcome::Respond(out.split().freeze()),
        Err(e) => {
            out.clear();
            broker
                .metrics
                .errors
                .with_label_values(&[api::api_name(key), "ENCODE_FAILURE"])
                .inc();
            tracing::error!(api = api::api_name(key), version, error = %format!("{e:#}"), "failed to encode response");
            Outcome::Close(format!(
                "internal error encoding {key:?} v{version} response"
            ))
        }
    }
}
