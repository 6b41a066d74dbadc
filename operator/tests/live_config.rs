//! The operator's list of configs it applies live matches what a real
//! weir-broker accepts as cluster-wide dynamic defaults: a key missing from
//! the list would roll for nothing, a key the broker does not accept live
//! would be refused and never applied.

use std::collections::BTreeSet;

use weir_e2e::Broker;
use weir_operator::cluster::live_config::LIVE_KEYS;

/// The broker's own keys Kafka lets an admin change that are not about
/// replication throttles or cordoning (the operator sets those itself).
/// Kafka's dynamic keys weir accepts but has no use for (SSL, SASL, thread
/// pools) are not among them: a change to one rolls like any static key.
#[test]
fn the_live_keys_are_exactly_the_brokers_dynamic_topic_defaults() {
    let broker = Broker::start();
    let described = broker.raw().describe_configs(4, "0", None);
    let operator_managed = [
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
        "cordoned.log.dirs",
    ];
    let dynamic: BTreeSet<String> = described
        .configs
        .iter()
        .filter(|c| !c.read_only && !operator_managed.contains(&c.name.as_str()))
        .filter(|c| {
            c.documentation
                .as_deref()
                .is_none_or(|d| !d.contains("weir accepts and reports but has no use for"))
        })
        .map(|c| c.name.to_string())
        .collect();
    let live: BTreeSet<String> = LIVE_KEYS.iter().map(|k| k.to_string()).collect();
    assert_eq!(dynamic, live);
}
