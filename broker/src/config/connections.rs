//! Limits on client connections and the requests they queue, under Kafka's
//! keys and with Kafka's defaults.

use std::collections::BTreeMap;

use super::{invalid, parse, parse_at_least_one, ConfigError};

/// How many connections the broker serves and how much request memory
/// they may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `queued.max.request.bytes`: bytes of requests read but not yet
    /// answered, over all connections; `None` (Kafka's -1) is no limit.
    pub queued_max_request_bytes: Option<u32>,
    /// `max.connections`: connections over all listeners; more wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// `max.connections.per.ip`: connections from one address; more are
    /// closed at once.
    pub max_connections_per_ip: usize,
    /// `connections.max.idle.ms`: a connection with no traffic for this
    /// long is closed.
    pub connections_max_idle_ms: u64,
}

/// The keys [`ConnectionLimits`] reads.
pub const KEYS: &[&str] = &[
    "queued.max.request.bytes",
    "max.connections",
    "max.connections.per.ip",
    "connections.max.idle.ms",
];

impl ConnectionLimits {
    /// Reads the limits; `socket_request_max_bytes` bounds the queue from
    /// below, as in Kafka, so every accepted request fits.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
        socket_request_max_bytes: i32,
    ) -> Result<Self, ConfigError> {
        let queued: i64 = parse(props, "queued.max.request.bytes", -1)?;
        let queued_max_request_bytes = match queued {
            -1 => None,
            n if n >= i64::from(socket_request_max_bytes) => {
                Some(u32::try_from(n).unwrap_or(u32::MAX))
            }
            n => {
                return Err(invalid(
                    "queued.max.request.bytes",
                    &n.to_string(),
                    format!(
                        "must be -1 or at least socket.request.max.bytes={socket_request_max_bytes}"
                    ),
                ))
            }
        };
        let count = |key: &str| -> Result<usize, ConfigError> {
            let n = parse_at_least_one(props, key, i64::from(i32::MAX))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        };
        let idle: u64 = parse_at_least_one(props, "connections.max.idle.ms", 600_000)?;
        Ok(ConnectionLimits {
            queued_max_request_bytes,
            max_connections: count("max.connections")?,
            max_connections_per_ip: count("max.connections.per.ip")?,
            connections_max_idle_ms: idle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(pairs: &[(&str, &str)]) -> Result<ConnectionLimits, ConfigError> {
        let props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConnectionLimits::from_properties(&props, 1000)
    }

    #[test]
    fn kafka_defaults_apply_when_nothing_is_set() {
        let l = limits(&[]).unwrap();
        assert_eq!(l.queued_max_request_bytes, None);
        assert_eq!(l.max_connections, i32::MAX as usize);
        assert_eq!(l.max_connections_per_ip, i32::MAX as usize);
        assert_eq!(l.connections_max_idle_ms, 600_000);
    }

    #[test]
    fn a_queue_smaller_than_one_request_and_zero_limits_are_refused() {
        assert!(limits(&[("queued.max.request.bytes", "999")]).is_err());
        assert_eq!(
            limits(&[("queued.max.request.bytes", "1000")])
                .unwrap()
                .queued_max_request_bytes,
            Some(1000)
        );
        assert!(limits(&[("max.connections", "0")]).is_err());
        assert!(limits(&[("max.connections.per.ip", "-3")]).is_err());
        assert!(limits(&[("connections.max.idle.ms", "0")]).is_err());
        assert!(limits(&[("max.connections", "many")]).is_err());
    }
}
