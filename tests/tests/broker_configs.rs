//! DescribeConfigs on a broker lists every static config it reads, each
//! marked as set in its properties or left at Kafka's default, with its type
//! and documentation, as Kafka reports them.

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_e2e::Broker;

const BROKER: i8 = 4;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

#[test]
fn static_broker_configs_say_whether_they_were_set_or_defaulted() {
    let broker = Broker::start_with(&["--override", "group.max.size=7"]);
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(StrBytes::from_static_str("0"))
            .with_configuration_keys(None)])
        .with_include_synonyms(true)
        .with_include_documentation(true);
    let response: DescribeConfigsResponse = broker.raw().call(ApiKey::DescribeConfigs, 4, &request);
    let result = &response.results[0];
    assert_eq!(result.error_code, 0, "{result:?}");
    let find = |name: &str| {
        result
            .configs
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name} is not described"))
    };
    let set = find("group.max.size");
    assert_eq!(set.value.as_deref(), Some("7"));
    assert_eq!(set.config_source, STATIC_BROKER_CONFIG);
    assert!(set.read_only);
    assert_eq!(set.synonyms.len(), 2, "the static value and the default");
    let defaulted = find("group.consumer.session.timeout.ms");
    assert_eq!(defaulted.value.as_deref(), Some("45000"));
    assert_eq!(defaulted.config_source, DEFAULT_CONFIG);
    assert_eq!(defaulted.config_type, 3, "INT");
    assert!(defaulted
        .documentation
        .as_ref()
        .is_some_and(|d| !d.is_empty()));
    // A config with no default and no value is listed with a null value.
    let rack = find("broker.rack");
    assert_eq!(rack.value, None);
    assert!(
        !result.configs.iter().any(|c| c.is_sensitive),
        "weir has no secrets"
    );
}
