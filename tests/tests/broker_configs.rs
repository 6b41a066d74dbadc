//! DescribeConfigs on a broker lists every static config it reads, each
//! marked as set in its properties or left at Kafka's default, with its type
//! and documentation, as Kafka reports them, and every other Kafka 4 broker
//! config; the ones Kafka changes at runtime change here too.

use weir_e2e::Broker;

const BROKER: i8 = 4;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;
const INVALID_REQUEST: i16 = 42;
const INVALID_CONFIG: i16 = 40;

#[test]
fn static_broker_configs_say_whether_they_were_set_or_defaulted() {
    let broker = Broker::start_with(&[
        "--override",
        "group.max.size=7",
        "--override",
        "num.io.threads=4",
    ]);
    let result = broker.raw().describe_configs(BROKER, "0", None);
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
    // Kafka's configs weir has no use for are there at Kafka's defaults,
    // secrets without their value.
    assert!(
        result.configs.len() > 250,
        "{} configs",
        result.configs.len()
    );
    let threads = find("num.network.threads");
    assert_eq!(threads.value.as_deref(), Some("3"));
    assert!(!threads.read_only, "cluster-wide in Kafka");
    let io = find("num.io.threads");
    assert_eq!(io.value.as_deref(), Some("4"));
    assert_eq!(io.config_source, STATIC_BROKER_CONFIG);
    let secret = find("ssl.keystore.password");
    assert!(secret.is_sensitive);
    assert_eq!(secret.value, None);
    assert_eq!(secret.config_type, 9, "PASSWORD");
    assert!(find("delete.topic.enable").read_only);
    assert!(
        !result
            .configs
            .iter()
            .any(|c| c.name.as_str().starts_with("zookeeper.")),
        "Kafka 4 has no ZooKeeper configs"
    );
}

/// librdkafka's own admin test changes a SASL setting on a broker; Kafka
/// takes it per broker and refuses it as a cluster-wide default.
#[test]
fn kafka_dynamic_configs_change_per_broker_as_in_kafka() {
    use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
    use weir_e2e::cluster::{admin, block_on};

    let broker = Broker::start();
    let admin = admin(&broker.bootstrap());
    let options = AdminOptions::new();
    let altered = block_on(
        admin.alter_configs(
            &[AlterConfig::new(ResourceSpecifier::Broker(0))
                .set("sasl.kerberos.min.time.before.relogin", "58000")],
            &options,
        ),
    )
    .expect("alter request");
    assert!(altered.iter().all(Result::is_ok), "{altered:?}");
    let described = block_on(admin.describe_configs(&[ResourceSpecifier::Broker(0)], &options))
        .expect("describe request");
    let resource = described
        .into_iter()
        .next()
        .and_then(Result::ok)
        .expect("broker 0 described");
    let relogin = resource
        .get("sasl.kerberos.min.time.before.relogin")
        .expect("described");
    assert_eq!(relogin.value.as_deref(), Some("58000"));
    assert_eq!(relogin.source, rdkafka::admin::ConfigSource::DynamicBroker);

    // rdkafka drops per-resource errors of AlterConfigs: refusals are read
    // off the wire.
    let mut raw = broker.raw();
    let mut refusal = |resource: &str, name: &str, value: &str| {
        let r = raw.alter_configs(BROKER, resource, &[(name, 0, Some(value))]);
        (
            r.error_code,
            r.error_message.map(|m| m.to_string()).unwrap_or_default(),
        )
    };
    let (code, message) = refusal("", "sasl.kerberos.min.time.before.relogin", "58000");
    assert_eq!(code, INVALID_REQUEST, "{message}");
    assert!(message.contains("broker id must be specified"), "{message}");
    let (code, message) = refusal("0", "delete.topic.enable", "false");
    assert_eq!(code, INVALID_REQUEST, "{message}");
    assert!(
        message.contains("Cannot update these configs dynamically"),
        "{message}"
    );
    assert_eq!(refusal("0", "num.io.threads", "many").0, INVALID_CONFIG);
    assert_eq!(refusal("", "num.io.threads", "16").0, 0, "cluster-wide");
}
