//! The broker configs of KIP-848 consumer groups (`group.consumer.*` and
//! `group.coordinator.rebalance.protocols`), checked as Kafka checks them at
//! startup.

use std::collections::BTreeMap;

use crate::group::consumer::assignor::Assignor;
use crate::group::consumer::ConsumerGroupLimits;
use crate::properties::{invalid, parse, ConfigError};

/// The keys this module reads.
pub const KEYS: &[&str] = &[
    "group.coordinator.rebalance.protocols",
    "group.consumer.session.timeout.ms",
    "group.consumer.min.session.timeout.ms",
    "group.consumer.max.session.timeout.ms",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.min.heartbeat.interval.ms",
    "group.consumer.max.heartbeat.interval.ms",
    "group.consumer.max.size",
    "group.consumer.assignors",
    "group.consumer.migration.policy",
];

/// Consumer group settings: the limits, and whether the consumer protocol
/// is enabled at all (`group.coordinator.rebalance.protocols`).
pub fn parse_consumer_groups(
    props: &BTreeMap<String, String>,
) -> Result<(ConsumerGroupLimits, bool), ConfigError> {
    let protocols = props
        .get("group.coordinator.rebalance.protocols")
        .map_or("classic,consumer", |v| v.as_str());
    let mut consumer_enabled = false;
    let mut classic_enabled = false;
    for p in protocols.split(',').map(str::trim) {
        match p {
            "classic" => classic_enabled = true,
            "consumer" => consumer_enabled = true,
            // Share and streams groups are protocols weir does not run.
            _ => {
                return Err(invalid(
                    "group.coordinator.rebalance.protocols",
                    protocols,
                    format!("unknown or unsupported protocol `{p}` (classic, consumer)"),
                ))
            }
        }
    }
    if !classic_enabled {
        return Err(invalid(
            "group.coordinator.rebalance.protocols",
            protocols,
            "must contain classic",
        ));
    }
    let min_session: i32 = parse(props, "group.consumer.min.session.timeout.ms", 45_000)?;
    let max_session: i32 = parse(props, "group.consumer.max.session.timeout.ms", 60_000)?;
    let session: i32 = parse(props, "group.consumer.session.timeout.ms", 45_000)?;
    let min_interval: i32 = parse(props, "group.consumer.min.heartbeat.interval.ms", 5_000)?;
    let max_interval: i32 = parse(props, "group.consumer.max.heartbeat.interval.ms", 15_000)?;
    let interval: i32 = parse(props, "group.consumer.heartbeat.interval.ms", 5_000)?;
    let within = |key: &str, v: i32, lo: i32, hi: i32| {
        if v < 1 || v < lo || v > hi {
            Err(invalid(
                key,
                &v.to_string(),
                format!("must be at least 1 and within [{lo}, {hi}]"),
            ))
        } else {
            Ok(())
        }
    };
    within(
        "group.consumer.session.timeout.ms",
        session,
        min_session,
        max_session,
    )?;
    within(
        "group.consumer.heartbeat.interval.ms",
        interval,
        min_interval,
        max_interval,
    )?;
    if interval >= session {
        return Err(invalid(
            "group.consumer.heartbeat.interval.ms",
            &interval.to_string(),
            "must be less than group.consumer.session.timeout.ms",
        ));
    }
    let max_size: i64 = parse(props, "group.consumer.max.size", i64::from(i32::MAX))?;
    if max_size < 1 {
        return Err(invalid(
            "group.consumer.max.size",
            &max_size.to_string(),
            "must be at least 1",
        ));
    }
    let names = props
        .get("group.consumer.assignors")
        .map_or("uniform,range", |v| v.as_str());
    let assignors = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            Assignor::by_name(n).ok_or_else(|| {
                invalid(
                    "group.consumer.assignors",
                    names,
                    format!("unknown assignor `{n}` (uniform, range)"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if assignors.is_empty() {
        return Err(invalid(
            "group.consumer.assignors",
            names,
            "must not be empty",
        ));
    }
    let policy = props
        .get("group.consumer.migration.policy")
        .map_or("bidirectional", |v| v.as_str());
    if !["disabled", "upgrade", "downgrade", "bidirectional"].contains(&policy.trim()) {
        return Err(invalid(
            "group.consumer.migration.policy",
            policy,
            "must be one of disabled, upgrade, downgrade, bidirectional",
        ));
    }
    Ok((
        ConsumerGroupLimits {
            session_timeout_ms: session,
            heartbeat_interval_ms: interval,
            session_timeout_bounds: (min_session, max_session),
            heartbeat_interval_bounds: (min_interval, max_interval),
            max_size: usize::try_from(max_size).unwrap_or(usize::MAX),
            assignors,
            online_upgrade: matches!(policy.trim(), "upgrade" | "bidirectional"),
            online_downgrade: matches!(policy.trim(), "downgrade" | "bidirectional"),
        },
        consumer_enabled,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafkas_defaults_enable_the_consumer_protocol() {
        let (limits, enabled) = parse_consumer_groups(&props(&[])).expect("defaults");
        assert!(enabled);
        assert_eq!(limits, ConsumerGroupLimits::default());
    }

    #[test]
    fn a_session_timeout_outside_its_bounds_is_refused() {
        let bad = props(&[("group.consumer.session.timeout.ms", "10000")]);
        assert!(parse_consumer_groups(&bad).is_err());
        let lowered = props(&[
            ("group.consumer.session.timeout.ms", "10000"),
            ("group.consumer.min.session.timeout.ms", "6000"),
            ("group.consumer.heartbeat.interval.ms", "1000"),
            ("group.consumer.min.heartbeat.interval.ms", "500"),
        ]);
        let (limits, _) = parse_consumer_groups(&lowered).expect("lowered bounds");
        assert_eq!(limits.session_timeout_ms, 10_000);
        assert_eq!(limits.heartbeat_interval_ms, 1_000);
    }

    #[test]
    fn unknown_assignors_and_protocols_are_refused() {
        assert!(parse_consumer_groups(&props(&[("group.consumer.assignors", "sticky")])).is_err());
        let classic_only = props(&[("group.coordinator.rebalance.protocols", "classic")]);
        assert!(
            !parse_consumer_groups(&classic_only)
                .expect("classic only")
                .1
        );
        let consumer_only = props(&[("group.coordinator.rebalance.protocols", "consumer")]);
        assert!(parse_consumer_groups(&consumer_only).is_err());
    }
}
