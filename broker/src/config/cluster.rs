//! How a broker finds and joins its cluster: the internal listener, the
//! fixed voter set of the metadata quorum (`controller.quorum.voters`, in
//! Kafka's `id@host:port` format) and the liveness and replication timings.

use std::collections::BTreeMap;

use super::{invalid, parse, parse_at_least_one, ConfigError};

/// One voter of the metadata quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    /// The voter's node id.
    pub node_id: i32,
    /// `host:port` of its internal listener.
    pub address: String,
}

/// The cluster settings of a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Where this broker serves the quorum and replication.
    pub internal_listener: String,
    /// Whether the internal listener was configured; a one-voter broker
    /// with the default may fall back to any free port (it has no peers).
    pub internal_listener_explicit: bool,
    /// Where other brokers reach this broker's internal listener.
    pub internal_advertised: String,
    /// The voters, sorted by id. Empty means a one-voter quorum of this broker.
    pub voters: Vec<Voter>,
    /// `broker.session.timeout.ms`: a broker silent this long is fenced.
    pub session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`.
    pub heartbeat_interval_ms: u64,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.max.bytes`.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.wait.max.ms`.
    pub replica_fetch_wait_max_ms: i32,
    /// `controller.quorum.election.timeout.ms`: the shortest election
    /// timeout; each election waits a random time up to three times this.
    pub election_timeout_ms: u64,
    /// `auto.leader.rebalance.enable`: the controller moves leadership back
    /// to preferred replicas.
    pub auto_leader_rebalance: bool,
    /// `leader.imbalance.check.interval.seconds`.
    pub leader_imbalance_check_interval_s: u64,
    /// `leader.imbalance.per.broker.percentage`.
    pub leader_imbalance_percent: u32,
}

/// The keys this module reads.
pub const KEYS: &[&str] = &[
    "weir.internal.listener",
    "weir.internal.advertised.listener",
    "controller.quorum.voters",
    "broker.session.timeout.ms",
    "broker.heartbeat.interval.ms",
    "replica.lag.time.max.ms",
    "replica.fetch.max.bytes",
    "replica.fetch.wait.max.ms",
    "controller.quorum.election.timeout.ms",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "leader.imbalance.per.broker.percentage",
];

/// Parses `controller.quorum.voters`: `id@host:port,...`.
pub fn parse_voters(value: &str) -> Result<Vec<Voter>, String> {
    let mut voters: Vec<Voter> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, address) = item
            .split_once('@')
            .ok_or_else(|| format!("'{item}' is not id@host:port"))?;
        let node_id: i32 = id
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("'{id}' in '{item}' is not a node id"))?;
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("'{address}' in '{item}' has no port"))?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("'{address}' in '{item}' is not host:port"));
        }
        if voters.iter().any(|v| v.node_id == node_id) {
            return Err(format!("node id {node_id} is listed twice"));
        }
        voters.push(Voter {
            node_id,
            address: address.to_string(),
        });
    }
    voters.sort_by_key(|v| v.node_id);
    Ok(voters)
}

impl ClusterConfig {
    /// Reads the cluster keys. `node_id` and `advertised_host` fill in the
    /// defaults that depend on them.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
        node_id: i32,
        advertised_host: &str,
    ) -> Result<ClusterConfig, ConfigError> {
        let get = |k: &str| props.get(k).map(|v| v.trim());
        let internal_listener = get("weir.internal.listener")
            .unwrap_or("127.0.0.1:9093")
            .to_string();
        let (host, port) = internal_listener
            .rsplit_once(':')
            .filter(|(_, p)| p.parse::<u16>().is_ok())
            .ok_or_else(|| {
                invalid(
                    "weir.internal.listener",
                    &internal_listener,
                    "expected host:port",
                )
            })?;
        let voters = match get("controller.quorum.voters") {
            Some(v) => parse_voters(v).map_err(|e| invalid("controller.quorum.voters", v, e))?,
            None => Vec::new(),
        };
        let internal_advertised = match get("weir.internal.advertised.listener") {
            Some(a) => a.to_string(),
            None => match voters.iter().find(|v| v.node_id == node_id) {
                Some(v) => v.address.clone(),
                None if host == "0.0.0.0" || host == "::" || host.is_empty() => {
                    format!("{advertised_host}:{port}")
                }
                None => internal_listener.clone(),
            },
        };
        let session_timeout_ms: u64 =
            parse_at_least_one(props, "broker.session.timeout.ms", 9_000)?;
        let heartbeat_interval_ms: u64 =
            parse_at_least_one(props, "broker.heartbeat.interval.ms", 2_000)?;
        if heartbeat_interval_ms >= session_timeout_ms {
            return Err(invalid(
                "broker.heartbeat.interval.ms",
                &heartbeat_interval_ms.to_string(),
                "must be less than broker.session.timeout.ms",
            ));
        }
        Ok(ClusterConfig {
            internal_listener_explicit: get("weir.internal.listener").is_some(),
            internal_listener,
            internal_advertised,
            voters,
            session_timeout_ms,
            heartbeat_interval_ms,
            replica_lag_time_max_ms: parse_at_least_one(props, "replica.lag.time.max.ms", 30_000)?,
            replica_fetch_max_bytes: parse_at_least_one(
                props,
                "replica.fetch.max.bytes",
                1_048_576,
            )?,
            replica_fetch_wait_max_ms: parse(props, "replica.fetch.wait.max.ms", 500)?,
            election_timeout_ms: parse_at_least_one(
                props,
                "controller.quorum.election.timeout.ms",
                1_000,
            )?,
            auto_leader_rebalance: parse(props, "auto.leader.rebalance.enable", true)?,
            leader_imbalance_check_interval_s: parse_at_least_one(
                props,
                "leader.imbalance.check.interval.seconds",
                300,
            )?,
            leader_imbalance_percent: parse(props, "leader.imbalance.per.broker.percentage", 10)?,
        })
    }

    /// The voters in Kafka's format, as configured (sorted by id).
    pub fn voters_text(&self) -> String {
        self.voters
            .iter()
            .map(|v| format!("{}@{}", v.node_id, v.address))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether `node_id` votes in the quorum.
    pub fn is_voter(&self, node_id: i32) -> bool {
        self.voters.is_empty() || self.voters.iter().any(|v| v.node_id == node_id)
    }

    /// The voters as given, or this broker alone when none are.
    pub fn effective_voters(&self, node_id: i32) -> Vec<Voter> {
        if self.voters.is_empty() {
            vec![Voter {
                node_id,
                address: self.internal_advertised.clone(),
            }]
        } else {
            self.voters.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_parse_in_kafka_format_and_sort_by_id() {
        let v = parse_voters("2@c:9093, 0@a:9093,1@[::1]:9093").unwrap();
        assert_eq!(
            v.iter()
                .map(|v| (v.node_id, v.address.as_str()))
                .collect::<Vec<_>>(),
            vec![(0, "a:9093"), (1, "[::1]:9093"), (2, "c:9093")]
        );
    }

    #[test]
    fn bad_voter_lists_are_refused_with_a_reason() {
        for bad in [
            "0@a",
            "x@a:1",
            "-1@a:1",
            "0@:1",
            "0@a:0",
            "0@a:1,0@b:1",
            "a:1",
        ] {
            assert!(parse_voters(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_voter_advertises_its_own_voter_address() {
        let mut props = BTreeMap::new();
        props.insert(
            "controller.quorum.voters".into(),
            "0@n0:9093,1@n1:9093".into(),
        );
        props.insert("weir.internal.listener".into(), "0.0.0.0:9093".into());
        let c = ClusterConfig::from_properties(&props, 1, "pod1").unwrap();
        assert_eq!(c.internal_advertised, "n1:9093");
        assert!(c.is_voter(1) && !c.is_voter(2));
        let learner = ClusterConfig::from_properties(&props, 2, "pod2").unwrap();
        assert_eq!(learner.internal_advertised, "pod2:9093");
    }
}
