//! The operator's list of configs it applies live matches what a real
//! weir-broker accepts as cluster-wide dynamic defaults: a key missing from
//! the list would roll for nothing, a key the broker does not accept live
//! would be refused and never applied.

use std::collections::BTreeSet;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_e2e::Broker;
use weir_operator::cluster::live_config::LIVE_KEYS;

/// The broker's own keys Kafka lets an admin change that are not about
/// replication throttles or cordoning (the operator sets those itself).
/// Kafka's dynamic keys weir accepts but has no use for (SSL, SASL, thread
/// pools) are not among them: a change to one rolls like any static key.
#[test]
fn the_live_keys_are_exactly_the_brokers_dynamic_topic_defaults() {
    let broker = Broker::start();
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("0"))
            .with_configuration_keys(None)])
        .with_include_documentation(true);
    let response: DescribeConfigsResponse = broker.raw().call(ApiKey::DescribeConfigs, 4, &request);
    let operator_managed = [
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
        "cordoned.log.dirs",
    ];
    let dynamic: BTreeSet<String> = response.results[0]
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
