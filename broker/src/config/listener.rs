//! Kafka-style listener strings such as `PLAINTEXT://127.0.0.1:9092`.

use std::fmt;
use std::str::FromStr;

/// One endpoint the broker binds or advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener name; only `PLAINTEXT` is served.
    pub name: String,
    /// Host name or address; empty means all interfaces, as in Kafka.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// Why a listener string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid listener '{input}': {reason} (expected NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092)")]
pub struct ListenerError {
    input: String,
    reason: &'static str,
}

impl FromStr for Listener {
    type Err = ListenerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ListenerError {
            input: s.to_string(),
            reason,
        };
        let (name, rest) = s
            .trim()
            .split_once("://")
            .ok_or_else(|| err("missing '://'"))?;
        if name.is_empty() {
            return Err(err("empty listener name"));
        }
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| err("missing port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port
            .parse()
            .map_err(|_| err("port is not a number 0-65535"))?;
        Ok(Listener {
            name: name.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

/// Parses a comma-separated listener list.
pub fn parse_list(s: &str) -> Result<Vec<Listener>, ListenerError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_ipv6() {
        let l: Listener = "PLAINTEXT://127.0.0.1:9092".parse().unwrap();
        assert_eq!((l.host.as_str(), l.port), ("127.0.0.1", 9092));
        let l: Listener = "PLAINTEXT://[::1]:9092".parse().unwrap();
        assert_eq!(l.host, "::1");
        assert_eq!(l.to_string(), "PLAINTEXT://[::1]:9092");
        let l: Listener = "PLAINTEXT://:9092".parse().unwrap();
        assert_eq!(l.host, "");
    }

    #[test]
    fn rejects_missing_scheme_or_port() {
        assert!("127.0.0.1:9092".parse::<Listener>().is_err());
        assert!("PLAINTEXT://host".parse::<Listener>().is_err());
        assert!("PLAINTEXT://host:99999".parse::<Listener>().is_err());
    }
}
